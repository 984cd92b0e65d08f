"""The IAM role passed to AWS Backup must exist and trust AWS Backup.

``StartBackupJob``, ``StartCopyJob``, ``StartRestoreJob`` and ``CreateBackupSelection`` take an
``IamRoleArn``: the role AWS Backup assumes to do the work. AWS Backup refuses a role it cannot
assume: one that does not exist, or whose trust policy does not let the service principal
``backup.amazonaws.com`` call ``sts:AssumeRole``.

* "The role must also have AWS Backup listed as a trusted entity, which enables AWS Backup to
  assume the role." and "When you assign resources to a backup plan, or if you perform an
  on-demand backup, copy, or restore, you must pass a service role"
  [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html].
* The answer, as AWS Backup sends it for ``CreateBackupSelection``: HTTP 400
  ``InvalidParameterValueException`` ``IAM Role arn:aws:iam::123456789012:role/XXX cannot be
  assumed by AWS Backup``
  [source: https://github.com/hashicorp/terraform-provider-aws/issues/9297]
  [source: https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/backup/selection.go
  (the retry on "cannot be assumed")]. The emulator answers the three ``Start*Job`` operations
  the same way (their wording for this case is not documented).
* A role of another account cannot be passed (``iam:PassRole`` passes roles of the caller's own
  account) [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html]:
  such an ARN gets the same answer.

The trust policy is evaluated with the emulator's policy engine (``policy.py``): the request is
``sts:AssumeRole`` by the service principal ``backup.amazonaws.com`` on the role's ARN (a trust
policy has no ``Resource`` element: the role is the resource), with ``aws:SourceAccount`` the
role's account. An explicit ``Deny`` wins; a trust policy that names only accounts or roles does
not trust AWS Backup. A trust policy that is not valid JSON trusts nobody.
[source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html]
"""

import json
import re
from functools import lru_cache
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend, iam_backends
from moto.iam.models import Role as MotoRole

from . import consistency, policy
from .backup.errors import BackupError, InvalidParameterValue

BACKUP_SERVICE = "backup.amazonaws.com"
_AWS_MANAGED_POLICY_ARN = re.compile(r"^arn:aws:iam::aws:policy(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)$")
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role/.+$")
_SERVICE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")


def job_role_problem(account_id: str, role_arn: str | None) -> BackupError | None:
    """The error AWS Backup answers when ``account_id`` passes ``role_arn`` as the
    ``IamRoleArn`` of a job or selection, or None when AWS Backup can assume the role."""
    if role_arn and _trusts_backup(account_id, role_arn):
        return None
    return InvalidParameterValue(f"IAM Role {role_arn} cannot be assumed by AWS Backup")


def _trusts_backup(account_id: str, role_arn: str) -> bool:
    match = _ROLE_ARN.match(role_arn)
    if match is None or match["account"] != account_id:
        return False
    role = find_role(account_id, match["partition"], role_arn)
    if role is None or not consistency.role_visible(role_arn):  # a new role may not be visible yet
        return False
    return trust_allows_backup(role.assume_role_policy_document, role_arn, account_id)


def find_role(account_id: str, partition: str, role_arn: str) -> MotoRole | None:
    """The role of moto's IAM in ``account_id`` with exactly this ARN (path included), without
    creating state for accounts IAM has never seen."""
    if account_id not in iam_backends or partition not in iam_backends[account_id].keys():
        return None
    return next((role for role in iam_backends[account_id][partition].get_roles() if role.arn == role_arn), None)


def trust_allows_backup(document: str | dict[str, Any] | None, role_arn: str, account_id: str) -> bool:
    """Whether the trust policy ``document`` lets ``backup.amazonaws.com`` assume the role."""
    try:
        statements = policy.statements(document or "")
    except (ValueError, TypeError):
        return False
    as_resource_policy = {"Version": "2012-10-17", "Statement": [_with_resource(s, role_arn) for s in statements]}
    request = policy.Request(
        action="sts:AssumeRole",
        account="",
        resource=role_arn,
        principal_arns=(BACKUP_SERVICE,),
        context={"aws:SourceAccount": account_id},
    )
    return policy.evaluate(as_resource_policy, request) is policy.Decision.ALLOW


def _with_resource(statement: Any, role_arn: str) -> Any:
    """A trust policy statement with the role as its resource (trust policies have none)."""
    if not isinstance(statement, dict) or "Resource" in statement or "NotResource" in statement:
        return statement
    return {**statement, "Resource": role_arn}


def trust_policy_for(services: Any) -> str:
    """A trust policy letting the service principals ``services`` (one name or a list, e.g.
    ``backup.amazonaws.com``) assume a role: world files' ``trusts``. Raises ValueError for
    anything but service principal names."""
    names = [services] if isinstance(services, str) else services
    if not isinstance(names, list) or not names or not all(_SERVICE.match(str(n)) for n in names):
        raise ValueError(f"expected a service principal or a list of them (e.g. {BACKUP_SERVICE}), got {services!r}")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": names[0] if len(names) == 1 else names}, "Action": "sts:AssumeRole"}],
        }
    )


def require_assumable_role(account_id: str, role_arn: str | None) -> None:
    """Raise AWS Backup's error unless AWS Backup can assume ``role_arn`` for ``account_id``
    (the one call each of StartBackupJob, StartCopyJob, StartRestoreJob and
    CreateBackupSelection makes)."""
    problem = job_role_problem(account_id, role_arn)
    if problem is not None:
        raise problem


# ------------------------------------------------------------ AWS managed policies


@lru_cache(maxsize=1)
def _aws_managed_policies() -> dict[str, Any]:
    """moto's copy of AWS's managed policies, by name (parsed once)."""
    return json.loads(aws_managed_policies_data)


def aws_managed_policy(backend: IAMBackend, policy_arn: str) -> None:
    """Make the AWS managed policy ``policy_arn`` (e.g.
    ``arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup``) known to
    ``backend``, when AWS has it and the backend does not yet.

    Every AWS account has AWS's managed policies; moto loads them only with
    ``MOTO_IAM_LOAD_MANAGED_POLICIES`` (all ~1,600 of them, in every account's IAM backend), so
    ``AttachRolePolicy`` of a role AWS Backup assumes answers ``NoSuchEntity``. The emulator
    materializes one on first use instead.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html
    (AWSBackupDefaultServiceRole carries AWSBackupServiceRolePolicyForBackup and
    AWSBackupServiceRolePolicyForRestores)]
    """
    match = _AWS_MANAGED_POLICY_ARN.match(policy_arn or "")
    if match is None or policy_arn in backend.managed_policies:
        return
    data = _aws_managed_policies().get(match["name"])
    if data is None or data.get("Path", "/") != match["path"]:
        return
    policy = AWSManagedPolicy.from_data(match["name"], backend.account_id, backend.region_name, data)
    backend.managed_policies[policy.arn] = policy
    backend.aws_managed_policies.append(policy)


def _attaching_aws_managed_policies(attach: Any) -> Any:
    def attach_role_policy(self: IAMBackend, policy_arn: str, role_name: str) -> None:
        aws_managed_policy(self, policy_arn)
        attach(self, policy_arn, role_name)

    attach_role_policy.coffer_patched = True  # type: ignore[attr-defined]
    return attach_role_policy


def install() -> None:
    """Let ``iam:AttachRolePolicy`` attach AWS managed policies (``aws_managed_policy``); called
    by ``patches.install()``; idempotent."""
    if not getattr(IAMBackend.attach_role_policy, "coffer_patched", False):
        IAMBackend.attach_role_policy = _attaching_aws_managed_policies(IAMBackend.attach_role_policy)  # type: ignore[method-assign]
