"""AWS Backup service errors, in the restJson wire shape (``X-Amzn-ErrorType`` + JSON body).

AWS Backup's modeled exceptions carry ``Code``, ``Message``, ``Type`` and ``Context``
members; ``Code`` holds values such as ``ERROR_9101``.  [source: BOTO-BACKUP
``InvalidRequestException``; https://github.com/gruntwork-io/cloud-nuke/issues/730]
"""

import json

from moto.core.exceptions import JsonRESTError


class BackupError(JsonRESTError):
    def __init__(self, error_type: str, message: str, aws_code: str | None = None):
        super().__init__(error_type, message)
        body: dict[str, str] = {"__type": error_type, "Message": message}
        if aws_code is not None:
            body["Code"] = aws_code
        self.description = json.dumps(body)


class ResourceNotFound(BackupError):
    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message)


class InvalidParameterValue(BackupError):
    def __init__(self, message: str):
        super().__init__("InvalidParameterValueException", message)


class MissingParameterValue(BackupError):
    def __init__(self, name: str):
        super().__init__("MissingParameterValueException", f"Missing required parameter: {name}")


class InvalidRequest(BackupError):
    def __init__(self, message: str, aws_code: str | None = None):
        super().__init__("InvalidRequestException", message, aws_code)


class AlreadyExists(BackupError):
    def __init__(self, message: str):
        super().__init__("AlreadyExistsException", message)


class NotInOrganization(InvalidRequest):
    """DescribeGlobalSettings / UpdateGlobalSettings from an account outside any organization.

    Observed from AWS: ``ERROR_9601: Your account is not a member of an organization.``
    [source: https://github.com/cloudquery/cq-provider-aws/issues/817]
    """

    def __init__(self) -> None:
        super().__init__("Your account is not a member of an organization.", "ERROR_9601")


class AccessDenied(BackupError):
    """A call refused by a vault access policy.

    AWS Backup answers ``AccessDeniedException`` with HTTP 403 (observed; the generic Common
    Errors page lists 400 for every service) and a message naming the caller, the action and
    the resource. [source: https://github.com/turbot/steampipe-plugin-aws/issues/1156 (status code: 403)]
    [source: https://github.com/lgallard/terraform-aws-backup/issues/6 (AccessDeniedException: status code: 403)]
    [source: https://github.com/ekristen/aws-nuke/issues/604 (the message)]
    """

    code = 403

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


class NotImplementedOperation(InvalidRequest):
    """A Backup operation of the AWS API that the emulator does not implement (HTTP 400, never 500)."""

    def __init__(self, operation: str):
        super().__init__(f"The Coffer emulator does not implement the AWS Backup operation {operation}.")
