"""HTTP handlers of the extended Backup service.

moto dispatches a restJson request to the method named after the operation (resolved from
method and path with the botocore service model) and parses its parameters from the model
(``automated_parameter_parsing``); handlers return plain dicts named as in the API, which
moto serializes with the operation's output shape.  Handlers moto already implements
correctly (tags, report plans) are inherited.  An operation of the AWS Backup API without a
handler here is answered with HTTP 400 ``InvalidRequestException`` naming it, never moto's
HTTP 500 ``NotImplementedError``.
"""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.utils import parse_timestamp
from moto.backup.responses import BackupResponse
from moto.core.request import Request
from moto.core.common_types import TYPE_RESPONSE
from moto.core import responses as moto_responses
from moto.core.responses import ActionResult, EmptyResult
from moto.core.routing import get_service_router
from moto.core.utils import camelcase_to_underscores

from . import operations
from .errors import BackupError, InvalidParameterValue, MissingParameterValue, NotImplementedOperation

DEFAULT_PAGE_SIZE = 1000
# Timestamp windows of the lists: field -> (after, before) parameters.
CREATED = ("ByCreatedAfter", "ByCreatedBefore")
JOB_WINDOWS = {"CreationDate": CREATED, "CompletionDate": ("ByCompleteAfter", "ByCompleteBefore")}
# The equality filters of each list: parameter -> the listed item's field.
RECOVERY_POINT_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByResourceType": "ResourceType",
    "ByBackupPlanId": "BackupPlanId",
    "ByParentRecoveryPointArn": "ParentRecoveryPointArn",
}
BACKUP_JOB_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByState": "State",
    "ByBackupVaultName": "BackupVaultName",
    "ByResourceType": "ResourceType",
    "ByParentJobId": "ParentJobId",
}
COPY_JOB_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByState": "State",
    "ByDestinationVaultArn": "DestinationBackupVaultArn",
    "BySourceRecoveryPointArn": "SourceRecoveryPointArn",
    "ByResourceType": "ResourceType",
    "ByParentJobId": "ParentJobId",
}
RESTORE_JOB_FILTERS = {
    "ByStatus": "Status",
    "ByResourceType": "ResourceType",
    "ByParentJobId": "ParentJobId",
    "ByRestoreTestingPlanArn": "RestoreTestingPlanArn",
}


class CofferBackupResponse(BackupResponse):
    def __init__(self) -> None:
        super().__init__()
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> operations.BackupOperations:
        return operations.backend(self.current_account, self.region)

    def _dispatch(self, request: Request, full_url: str | None = None, headers: Any = None) -> TYPE_RESPONSE:
        """Serve the operation if a handler exists; any other request gets HTTP 400 naming it."""
        try:
            operation, _ = get_service_router("backup").match(request)
            name = operation.name
        except Exception:  # no operation of the model matches method and path
            name = None
        if name is None or camelcase_to_underscores(name) not in moto_responses.method_names_from_class(type(self)):
            return self._error(NotImplementedOperation(name or f"{request.method} {request.path}"))
        return super()._dispatch(request, full_url, headers)

    @staticmethod
    def _error(error: BackupError) -> TYPE_RESPONSE:
        headers = dict(error.get_headers())
        return error.code, headers, error.description

    def _required(self, name: str) -> Any:
        value = self._get_param(name)
        if value in (None, ""):
            raise MissingParameterValue(name)
        return value

    def _arguments(self, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
        """Parameters as the backend's keyword arguments (``IamRoleArn``: ``iam_role_arn``): the
        ``required`` ones, in order (the first one missing is refused), then the ``optional`` ones."""
        arguments = {camelcase_to_underscores(name): self._required(name) for name in required}
        arguments.update({camelcase_to_underscores(name): self._get_param(name) for name in optional})
        return arguments

    def _vault_name(self, action: str) -> str:
        """``BackupVaultName``, once a ``BackupVaultAccountId`` given names the caller's own account
        (``refuse_other_account``)."""
        name = self._required("BackupVaultName")
        self.backend.refuse_other_account(self._get_param("BackupVaultAccountId"), name, action)
        return name

    def _page(self, items: list[dict[str, Any]], key: str) -> ActionResult:
        """One page of ``items``: ``NextToken`` is the index of the next item."""
        size = int(self._get_param("MaxResults") or DEFAULT_PAGE_SIZE)
        token = self._get_param("NextToken")
        if token is not None and not str(token).isdigit():
            raise InvalidParameterValue(f"Invalid NextToken: {token}")
        start = int(token or 0)
        result: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    def _filtered(
        self,
        items: list[dict[str, Any]],
        filters: dict[str, str],
        windows: dict[str, tuple[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Keep the items that match every ``By...`` parameter given.

        ``filters`` maps an equality parameter to the field it must equal (an item without the
        field matches no value); ``windows`` maps a timestamp field to its ``(after, before)``
        parameters, both exclusive ("created after", "created before" the date).
        [source: BOTO-BACKUP ListBackupJobs, ListCopyJobs, ListRestoreJobs, ListRecoveryPointsByBackupVault]
        """
        wanted = {field: self._get_param(param) for param, field in filters.items()}
        result = [i for i in items if all(v is None or i.get(f) == v for f, v in wanted.items())]
        for field, (after_param, before_param) in (windows or {}).items():
            after, before = self._timestamp(after_param), self._timestamp(before_param)
            if after is not None:
                result = [i for i in result if i.get(field) is not None and i[field] > after]
            if before is not None:
                result = [i for i in result if i.get(field) is not None and i[field] < before]
        return result

    def _timestamp(self, name: str) -> datetime | None:
        """A timestamp parameter as an aware UTC datetime (moto parses them naive, in UTC)."""
        value = self._get_param(name)
        if value is None:
            return None
        if not isinstance(value, datetime):
            try:
                value = parse_timestamp(str(value))
            except (ValueError, TypeError) as error:
                raise InvalidParameterValue(f"Invalid {name}: {value}") from error
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def _message_category_filter(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``ByMessageCategory``: ``*`` and ``AGGREGATE_ALL`` match every job, any other value the
        jobs of that ``MessageCategory``. [source: BOTO-BACKUP ListBackupJobs.ByMessageCategory]"""
        category = self._get_param("ByMessageCategory")
        if category in (None, "*", "AGGREGATE_ALL"):
            return jobs
        return [j for j in jobs if j.get("MessageCategory") == category]

    # ----------------------------------------------------------------- vaults

    def _tagged_arn(self) -> str:
        """The ``{ResourceArn}`` of ``/tags/...`` and ``/untag/...`` (boto3 sends a trailing slash
        on ListTags, the AWS SDK for Rust none)."""
        path = self.path.split("?")[0].rstrip("/")
        for prefix in ("/tags/", "/untag/"):
            if prefix in path:
                return unquote(path.split(prefix, 1)[-1])
        return str(self._get_param("ResourceArn") or "")

    def list_tags(self) -> str:  # type: ignore[override]
        """``GET /tags/{ResourceArn}``. moto takes the second-to-last path segment, which
        only works with the trailing slash boto3 sends; the AWS SDK for Rust sends none."""
        arn = self._tagged_arn()
        self.backend.authorize_arn(arn, "ListTags")
        return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})

    def tag_resource(self) -> str:  # type: ignore[override]
        self.backend.authorize_arn(self._tagged_arn(), "TagResource")
        return super().tag_resource()

    def untag_resource(self) -> str:  # type: ignore[override]
        self.backend.authorize_arn(self._tagged_arn(), "UntagResource")
        return super().untag_resource()

    def create_backup_vault(self) -> ActionResult:  # type: ignore[override]
        vault = self.backend.create_backup_vault(
            backup_vault_name=self._required("BackupVaultName"),
            backup_vault_tags=self._get_param("BackupVaultTags"),
            encryption_key_arn=self._get_param("EncryptionKeyArn"),
            creator_request_id=self._get_param("CreatorRequestId"),
            strict_key=True,
        )
        return ActionResult(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                "CreationDate": vault.creation_date,
            }
        )

    def describe_backup_vault(self) -> ActionResult:
        name = self._vault_name("DescribeBackupVault")
        return ActionResult(self.backend.describe_backup_vault(name).describe())

    def list_backup_vaults(self) -> ActionResult:  # type: ignore[override]
        return self._page([v.describe() for v in self.backend.list_backup_vaults()], "BackupVaultList")

    def delete_backup_vault(self) -> EmptyResult:
        self.backend.delete_backup_vault(self._required("BackupVaultName"))
        return EmptyResult()

    def put_backup_vault_access_policy(self) -> EmptyResult:
        self.backend.put_backup_vault_access_policy(self._required("BackupVaultName"), self._get_param("Policy"))
        return EmptyResult()

    def get_backup_vault_access_policy(self) -> ActionResult:
        vault = self.backend.get_backup_vault_access_policy(self._required("BackupVaultName"))
        return ActionResult(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                "Policy": vault.access_policy,
            }
        )

    def delete_backup_vault_access_policy(self) -> EmptyResult:
        self.backend.delete_backup_vault_access_policy(self._required("BackupVaultName"))
        return EmptyResult()

    def put_backup_vault_lock_configuration(self) -> EmptyResult:  # type: ignore[override]
        self.backend.put_backup_vault_lock_configuration(
            backup_vault_name=self._required("BackupVaultName"),
            min_retention_days=self._get_param("MinRetentionDays"),
            max_retention_days=self._get_param("MaxRetentionDays"),
            changeable_for_days=self._get_param("ChangeableForDays"),
        )
        return EmptyResult()

    def delete_backup_vault_lock_configuration(self) -> EmptyResult:  # type: ignore[override]
        self.backend.delete_backup_vault_lock_configuration(self._required("BackupVaultName"))
        return EmptyResult()

    # -------------------------------------------------------- global settings

    def describe_global_settings(self) -> ActionResult:
        settings, updated = self.backend.describe_global_settings()
        return ActionResult({"GlobalSettings": settings, "LastUpdateTime": updated})

    def update_global_settings(self) -> EmptyResult:
        self.backend.update_global_settings(self._get_param("GlobalSettings"))
        return EmptyResult()

    # ------------------------------------------------------------------ plans

    def create_backup_plan(self) -> ActionResult:  # type: ignore[override]
        plan = self.backend.create_backup_plan(
            backup_plan=self._get_param("BackupPlan"),
            backup_plan_tags=self._get_param("BackupPlanTags"),
            creator_request_id=self._get_param("CreatorRequestId"),
        )
        return ActionResult(plan.summary(plan.current))

    def update_backup_plan(self) -> ActionResult:
        plan = self.backend.update_backup_plan(self._required("BackupPlanId"), self._get_param("BackupPlan"))
        return ActionResult(plan.summary(plan.current))

    def get_backup_plan(self) -> ActionResult:  # type: ignore[override]
        plan, version = self.backend.get_backup_plan(self._required("BackupPlanId"), self._get_param("VersionId"))
        return ActionResult(plan.describe(version))

    def list_backup_plans(self) -> ActionResult:  # type: ignore[override]
        plans = self.backend.list_backup_plans(bool(self._get_param("IncludeDeleted")))
        return self._page([p.list_entry(p.current) for p in plans], "BackupPlansList")

    def list_backup_plan_versions(self) -> ActionResult:
        plan, _ = self.backend.get_backup_plan(self._required("BackupPlanId"), None)
        return self._page([plan.list_entry(v) for v in reversed(plan.versions)], "BackupPlanVersionsList")

    def delete_backup_plan(self) -> ActionResult:  # type: ignore[override]
        plan = self.backend.delete_backup_plan(self._required("BackupPlanId"))
        return ActionResult(
            {
                "BackupPlanId": plan.backup_plan_id,
                "BackupPlanArn": plan.backup_plan_arn,
                "DeletionDate": plan.deletion_date,
                "VersionId": plan.current.version_id,
            }
        )

    # ------------------------------------------------------------- selections

    def create_backup_selection(self) -> ActionResult:
        selection = self.backend.create_backup_selection(
            backup_plan_id=self._required("BackupPlanId"),
            document=self._get_param("BackupSelection"),
            creator_request_id=self._get_param("CreatorRequestId"),
        )
        return ActionResult(
            {
                "SelectionId": selection.selection_id,
                "BackupPlanId": selection.backup_plan_id,
                "CreationDate": selection.creation_date,
            }
        )

    def get_backup_selection(self) -> ActionResult:
        selection = self.backend.get_backup_selection(self._required("BackupPlanId"), self._required("SelectionId"))
        return ActionResult(selection.describe())

    def list_backup_selections(self) -> ActionResult:
        selections = self.backend.list_backup_selections(self._required("BackupPlanId"))
        return self._page([s.list_entry() for s in selections], "BackupSelectionsList")

    def delete_backup_selection(self) -> EmptyResult:
        self.backend.delete_backup_selection(self._required("BackupPlanId"), self._required("SelectionId"))
        return EmptyResult()

    # -------------------------------------------------------- recovery points

    def list_recovery_points_by_backup_vault(self) -> ActionResult:
        name = self._vault_name("ListRecoveryPointsByBackupVault")
        points = [p.describe() for p in self.backend.list_recovery_points_by_backup_vault(name)]
        points = self._filtered(points, RECOVERY_POINT_FILTERS, {"CreationDate": CREATED})
        return self._page(points, "RecoveryPoints")

    def describe_recovery_point(self) -> ActionResult:
        name = self._vault_name("DescribeRecoveryPoint")
        _, point = self.backend.recovery_point(name, self._required("RecoveryPointArn"))
        return ActionResult(point.describe())

    def update_recovery_point_lifecycle(self) -> ActionResult:
        vault, point = self.backend.update_recovery_point_lifecycle(
            self._required("BackupVaultName"), self._required("RecoveryPointArn"), self._get_param("Lifecycle")
        )
        return ActionResult(
            {
                "BackupVaultArn": vault.backup_vault_arn,
                "RecoveryPointArn": point.arn,
                "Lifecycle": point.lifecycle,
                "CalculatedLifecycle": point.calculated_lifecycle(),
            }
        )

    def delete_recovery_point(self) -> EmptyResult:
        self.backend.delete_recovery_point(self._required("BackupVaultName"), self._required("RecoveryPointArn"))
        return EmptyResult()

    def get_recovery_point_restore_metadata(self) -> ActionResult:
        name = self._vault_name("GetRecoveryPointRestoreMetadata")
        vault, point, metadata = self.backend.get_recovery_point_restore_metadata(
            name, self._required("RecoveryPointArn")
        )
        return ActionResult(
            {
                "BackupVaultArn": vault.backup_vault_arn,
                "RecoveryPointArn": point.arn,
                "RestoreMetadata": metadata,
                "ResourceType": point.resource_type,
            }
        )

    def list_recovery_points_by_resource(self) -> ActionResult:
        """Only EFS and EC2 recovery points carry ``BackupVaultName`` here.
        [source: BOTO-BACKUP ListRecoveryPointsByResourceOutput.RecoveryPoints]"""
        max_results = self._get_param("MaxResults")
        points = self.backend.list_recovery_points_by_resource(
            self._required("ResourceArn"), int(max_results) if max_results is not None else None
        )
        return self._page([p.by_resource() for p in points], "RecoveryPoints")

    # ------------------------------------------------------------------- jobs

    def _list_jobs(self, kind: str, filters: dict[str, str], key: str, by_category: bool = True) -> ActionResult:
        """A List*Jobs answer: the ``kind`` jobs visible with ``ByAccountId``, filtered by the
        operation's ``filters`` (and ``ByMessageCategory`` for backup and copy jobs), one page."""
        jobs = [j.describe() for j in self.backend.visible_jobs(kind, self._get_param("ByAccountId"))]
        jobs = self._filtered(jobs, filters, JOB_WINDOWS)
        return self._page(self._message_category_filter(jobs) if by_category else jobs, key)

    def start_backup_job(self) -> ActionResult:
        job = self.backend.start_backup_job(
            **self._arguments(("BackupVaultName", "ResourceArn", "IamRoleArn"), ("IdempotencyToken", "Lifecycle"))
        )
        return ActionResult(
            {
                "BackupJobId": job.job_id,
                "RecoveryPointArn": job.recovery_point_arn,
                "CreationDate": job.creation_date,
                "IsParent": False,
            }
        )

    def describe_backup_job(self) -> ActionResult:
        return ActionResult(self.backend.describe_backup_job(self._required("BackupJobId")).describe())

    def stop_backup_job(self) -> EmptyResult:
        self.backend.stop_backup_job(self._required("BackupJobId"))
        return EmptyResult()

    def list_backup_jobs(self) -> ActionResult:
        return self._list_jobs("backup_jobs", BACKUP_JOB_FILTERS, "BackupJobs")

    def start_copy_job(self) -> ActionResult:
        required = ("RecoveryPointArn", "SourceBackupVaultName", "DestinationBackupVaultArn", "IamRoleArn")
        job = self.backend.start_copy_job(**self._arguments(required, ("IdempotencyToken", "Lifecycle")))
        return ActionResult({"CopyJobId": job.job_id, "CreationDate": job.creation_date, "IsParent": False})

    def describe_copy_job(self) -> ActionResult:
        return ActionResult({"CopyJob": self.backend.describe_copy_job(self._required("CopyJobId")).describe()})

    def list_copy_jobs(self) -> ActionResult:
        return self._list_jobs("copy_jobs", COPY_JOB_FILTERS, "CopyJobs")

    def start_restore_job(self) -> ActionResult:
        job = self.backend.start_restore_job(
            **self._arguments(("RecoveryPointArn", "Metadata", "IamRoleArn"), ("IdempotencyToken", "ResourceType"))
        )
        return ActionResult({"RestoreJobId": job.job_id})

    def describe_restore_job(self) -> ActionResult:
        return ActionResult(self.backend.describe_restore_job(self._required("RestoreJobId")).describe())

    def list_restore_jobs(self) -> ActionResult:
        return self._list_jobs("restore_jobs", RESTORE_JOB_FILTERS, "RestoreJobs", by_category=False)

    # -------------------------------------------------------- region settings

    REGION_SETTINGS = (
        "ResourceTypeOptInPreference",
        "ResourceTypeManagementPreference",
        "ResourceTypeOptInIncremental",
    )

    def describe_region_settings(self) -> ActionResult:
        return ActionResult(self.backend.describe_region_settings())

    def update_region_settings(self) -> EmptyResult:
        self.backend.update_region_settings({name: self._get_param(name) for name in self.REGION_SETTINGS})
        return EmptyResult()
