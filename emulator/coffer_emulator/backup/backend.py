"""The Backup backend moto serves, extended with the operations Coffer depends on.

``CofferBackupBackend`` replaces the class of moto's ``backup_backends`` (see
``coffer_emulator.patches``), so every account and Region gets one and moto's remaining
handlers (tags, report plans) keep working on the same state.
"""

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from moto.backup.models import BackupBackend
from moto.organizations.models import organizations_backends
from moto.rds.models import rds_backends

from .. import authz, consistency, identity, keys, orgs, service_roles
from ..clock import CLOCK
from ..policy import has_wildcard_action, statements
from . import lifecycle as lifecycles
from . import state, urls
from .errors import (
    AccessDenied,
    AlreadyExists,
    InvalidParameterValue,
    InvalidRequest,
    MissingParameterValue,
    NotInOrganization,
    ResourceNotFound,
)
from .jobs import BackupJob, CopyJob, Job, RestoreJob
from .models import Plan, RecoveryPoint, Selection, Vault, VaultLock, new_id, vault_arn

VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-\_]{2,50}$")  # BOTO-BACKUP BackupVaultName
RULE_OR_SELECTION_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")  # BackupRuleName, BackupSelectionName
PLAN_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")  # docs/aws-behaviour.md section 5.1
RDS_DB_ARN = re.compile(r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):db:(?P<id>[^:]+)$")
VAULT_ARN = re.compile(r"^arn:aws:backup:(?P<region>[^:]+):(?P<account>\d{12}):backup-vault:(?P<name>[^:]+)$")
KMS_ALIAS_ARN = re.compile(r"^arn:aws[\w-]*:kms:[^:]+:\d{12}:alias/.+$")
KMS_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:(?P<region>[^:]+):(?P<account>\d{12}):key/(?P<id>[^/]+)$")

# GlobalSettings keys and their values ("true"/"false" strings).
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html]
DEFAULT_GLOBAL_SETTINGS = {
    "isCrossAccountBackupEnabled": "false",
    "isMpaEnabled": "false",
    "isDelegatedAdministratorEnabled": "false",
}


# DescribeRegionSettings of a new account (the emulator's defaults: AWS does not document them).
# Keys are the resource types of BOTO-BACKUP ListBackupJobs.ByResourceType.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRegionSettings.html]
OPT_IN_RESOURCE_TYPES = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "EKS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)
DEFAULT_REGION_SETTINGS: dict[str, dict[str, bool]] = {
    "ResourceTypeOptInPreference": dict.fromkeys(OPT_IN_RESOURCE_TYPES, True),
    "ResourceTypeManagementPreference": {"DynamoDB": True, "EFS": True},
    "ResourceTypeOptInIncremental": {"DynamoDB": False},
}


# The server is threaded: a vault name's existence check and the vault's creation must be one
# step, or two concurrent CreateBackupVault calls for one name both succeed (AWS lets exactly
# one of them create it; the other gets AlreadyExistsException).
_CREATE_VAULT_LOCK = threading.Lock()


class JobTiming:
    """How long jobs take before they finish (``--job-delay``, or the world file's setting)."""

    DEFAULT_SECONDS = 1.0
    delay_seconds = DEFAULT_SECONDS


class CofferBackupBackend(BackupBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.vaults: dict[str, Vault] = {}  # type: ignore[assignment]
        self.plans: dict[str, Plan] = {}  # type: ignore[assignment]
        self.global_settings = dict(DEFAULT_GLOBAL_SETTINGS)
        self.global_settings_updated: datetime | None = None
        self.region_settings = {name: dict(values) for name, values in DEFAULT_REGION_SETTINGS.items()}
        self.backup_jobs: dict[str, BackupJob] = {}
        self.copy_jobs: dict[str, CopyJob] = {}
        self.restore_jobs: dict[str, RestoreJob] = {}

    @property
    def _url_module(self) -> Any:
        """moto derives its Flask routes from this module (``url_bases`` / ``url_paths``)."""
        return urls

    # ----------------------------------------------------------------- vaults

    def create_backup_vault(  # type: ignore[override]
        self,
        backup_vault_name: str,
        backup_vault_tags: dict[str, str] | None,
        encryption_key_arn: str | None,
        creator_request_id: str | None,
        strict_key: bool = False,
    ) -> Vault:
        """CreateBackupVault. The same ``CreatorRequestId`` returns the existing vault (idempotent
        retry); without a key AWS Backup uses the AWS managed key ``aws/backup``.
        [source: BOTO-BACKUP CreateBackupVault; https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html]

        ``strict_key`` (API calls): ``EncryptionKeyArn`` must be an existing key's ARN, as AWS
        requires (see ``check_vault_key_arn``); world files may also name a key by id or alias.
        """
        if not VAULT_NAME.match(backup_vault_name or ""):
            raise InvalidParameterValue(f"Invalid backup vault name: {backup_vault_name}")
        if strict_key and encryption_key_arn:
            self.check_vault_key_arn(encryption_key_arn)
        with _CREATE_VAULT_LOCK:
            existing = self.vaults.get(backup_vault_name)
            if existing is not None:
                if creator_request_id and creator_request_id == existing.creator_request_id:
                    return existing
                raise AlreadyExists("Backup vault with the same name already exists")
            if consistency.vault_being_deleted(vault_arn(self.account_id, self.region_name, backup_vault_name)):
                # The name stays taken while a deletion propagates (consistency.py, vault_deleted).
                raise AlreadyExists("Backup vault with the same name already exists")
            vault = Vault(
                self.account_id,
                self.region_name,
                backup_vault_name,
                self._vault_key_arn(encryption_key_arn),
                creator_request_id,
            )
            self.vaults[backup_vault_name] = vault
            if backup_vault_tags:
                self.tag_resource(vault.backup_vault_arn, backup_vault_tags)
            return vault

    def check_vault_key_arn(self, encryption_key_arn: str) -> None:
        """Refuse an ``EncryptionKeyArn`` AWS Backup does not accept (InvalidParameterValueException).

        * an alias (name or ARN): ``KMS key Alias is not supported by AWS Backup`` (AWS's message);
          [source: https://github.com/aws/aws-cdk/issues/10979 (Status Code: 400; Error Code:
          InvalidParameterValueException)]
        * anything but a key ARN (a bare key id, say): the parameter is a key ARN;
          [source: BOTO-BACKUP CreateBackupVault.EncryptionKeyArn; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-backup-backupvault.html]
        * a key of another Region: KMS keys are Regional and the vault's key encrypts in the
          vault's Region; [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
        * a key that does not exist, in the vault's account or another one (a key of another
          account is allowed through the API). [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html]

        The messages but the alias one are the emulator's (AWS's wording is not documented).
        """
        if encryption_key_arn.startswith("alias/") or KMS_ALIAS_ARN.match(encryption_key_arn):
            raise InvalidParameterValue("KMS key Alias is not supported by AWS Backup")
        match = KMS_KEY_ARN.match(encryption_key_arn)
        if match is None:
            raise InvalidParameterValue(
                f"Invalid EncryptionKeyArn {encryption_key_arn}: it must be the ARN of a KMS key "
                "(arn:aws:kms:<region>:<account>:key/<key-id>)"
            )
        if match["region"] != self.region_name:
            raise InvalidParameterValue(
                f"Invalid EncryptionKeyArn {encryption_key_arn}: the KMS key is in Region {match['region']}, "
                f"the backup vault in {self.region_name}; a vault needs a key of its own Region"
            )
        if keys.find_key(encryption_key_arn, self.account_id, self.region_name) is None:
            raise InvalidParameterValue(f"Invalid EncryptionKeyArn: KMS key {encryption_key_arn} not found")

    def _vault_key_arn(self, encryption_key_arn: str | None) -> str:
        if not encryption_key_arn:
            return keys.aws_managed_key(self.account_id, self.region_name, "backup").arn
        location = keys.locate(encryption_key_arn, self.account_id, self.region_name)
        if location.account != self.account_id:
            return encryption_key_arn  # another account's key: only that account can resolve it
        key = keys.find_key(encryption_key_arn, self.account_id, self.region_name)
        if key is None:
            raise InvalidParameterValue(f"Invalid EncryptionKeyArn: KMS key {encryption_key_arn} not found")
        return key.arn

    # ---------------------------------------------------------- authorization

    def _vault(self, backup_vault_name: str) -> Vault:
        vault = self.vaults.get(backup_vault_name)
        if vault is None:
            raise ResourceNotFound(f"Backup vault {backup_vault_name} does not exist")
        return vault

    def authorize(self, vault: Vault, action: str, resource_arn: str | None = None) -> None:
        """Refuse the current caller ``backup:<action>`` on ``resource_arn`` (default: the vault)
        when the vault's access policy denies it: an explicit ``Deny`` for any caller, and no
        ``Allow`` for a caller of another account. Calls made outside a signed request (world
        loading, jobs) are not checked here. [source: authz.py]
        """
        caller = identity.current()
        if caller is None:
            return
        resource = resource_arn or vault.backup_vault_arn
        iam_action = f"backup:{action}"
        document = consistency.vault_policy(vault)  # the previous policy while a change propagates
        verdict = authz.decide(document, authz.request_for(caller, iam_action, resource), self.account_id)
        if not verdict.allowed:
            raise AccessDenied(verdict.message(caller.caller_arn, iam_action, resource))

    def authorized_vault(self, backup_vault_name: str, action: str, resource_arn: str | None = None) -> Vault:
        """The vault, once the caller may do ``backup:<action>`` on it (or on ``resource_arn``)."""
        vault = self._vault(backup_vault_name)
        self.authorize(vault, action, resource_arn)
        return vault

    def authorize_arn(self, resource_arn: str, action: str) -> None:
        """``backup:<action>`` on a vault or recovery point named by ARN (tag operations):
        checked against the policy of the vault that is, or holds, the resource."""
        for vault in self.vaults.values():
            if resource_arn == vault.backup_vault_arn or resource_arn in vault.recovery_points:
                self.authorize(vault, action, resource_arn)
                return

    def refuse_other_account(self, vault_account_id: str | None, backup_vault_name: str, action: str) -> None:
        """``BackupVaultAccountId`` naming another account: AWS Backup rejects cross-account
        access for every action but ``backup:CopyIntoBackupVault``, whatever the vault's policy.
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html]
        """
        caller = identity.current()
        if caller is None or not vault_account_id or vault_account_id == self.account_id:
            return
        resource = vault_arn(vault_account_id, self.region_name, backup_vault_name)
        raise AccessDenied(authz.denial_message(caller.caller_arn, f"backup:{action}", resource, explicit=False))

    # ----------------------------------------------------------------- vaults

    def describe_backup_vault(self, backup_vault_name: str) -> Vault:  # type: ignore[override]
        return self.authorized_vault(backup_vault_name, "DescribeBackupVault")

    def list_backup_vaults(self) -> list[Vault]:  # type: ignore[override]
        # A deleted vault may still be listed while its deletion propagates (consistency.py).
        return list(self.vaults.values()) + consistency.vaults_being_deleted(self.account_id, self.region_name)

    def delete_backup_vault(self, backup_vault_name: str) -> None:
        """DeleteBackupVault works only on an empty vault (locked or not).
        [source: BOTO-BACKUP DeleteBackupVault; https://github.com/gruntwork-io/cloud-nuke/issues/730]
        """
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVault")
        if vault.recovery_points:
            raise InvalidRequest("Backup vault cannot be deleted because it contains recovery points.", "ERROR_9101")
        del self.vaults[backup_vault_name]
        consistency.note_vault_deleted(vault)
        self.tagger.delete_all_tags_for_resource(vault.backup_vault_arn)

    def put_backup_vault_access_policy(self, backup_vault_name: str, policy_document: str | None) -> None:
        """PutBackupVaultAccessPolicy. AWS Backup access policies don't support a wildcard in
        ``Action`` (AWS does not document the error; the emulator answers InvalidParameterValue).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html]
        """
        vault = self.authorized_vault(backup_vault_name, "PutBackupVaultAccessPolicy")
        if not policy_document:
            raise MissingParameterValue("Policy")
        try:
            parsed = statements(policy_document)
        except ValueError as error:
            raise InvalidParameterValue(f"Invalid policy document: {error}") from error
        for index, statement in enumerate(parsed):
            if has_wildcard_action(statement):
                raise InvalidParameterValue(
                    "AWS Backup access policies don't support a wildcard in the Action key "
                    f"(statement {statement.get('Sid', index)})."
                )
        consistency.note_vault_policy_change(vault)
        vault.access_policy = policy_document

    def get_backup_vault_access_policy(self, backup_vault_name: str) -> Vault:
        vault = self.authorized_vault(backup_vault_name, "GetBackupVaultAccessPolicy")
        if vault.access_policy is None:
            raise ResourceNotFound(f"Backup vault {backup_vault_name} has no access policy")
        return vault

    def delete_backup_vault_access_policy(self, backup_vault_name: str) -> None:
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVaultAccessPolicy")
        consistency.note_vault_policy_change(vault)
        vault.access_policy = None

    def put_backup_vault_lock_configuration(
        self,
        backup_vault_name: str,
        min_retention_days: int | None,
        max_retention_days: int | None,
        changeable_for_days: int | None,
    ) -> None:
        """PutBackupVaultLockConfiguration: governance mode without ``ChangeableForDays``,
        compliance mode (``LockDate`` = now + ``ChangeableForDays``) with it; refused from
        ``LockDate`` on. Bounds: Min >= 1, Max <= 36500, ChangeableForDays 3..36500.
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html]
        """
        vault = self.authorized_vault(backup_vault_name, "PutBackupVaultLockConfiguration")
        now = CLOCK.now()
        if vault.lock is not None and vault.lock.immutable(now):
            raise InvalidRequest(
                f"Vault Lock configuration of backup vault {backup_vault_name} is immutable since "
                f"{vault.lock.lock_date.isoformat()} and cannot be modified"  # type: ignore[union-attr]
            )
        if min_retention_days is not None and min_retention_days < 1:
            raise InvalidParameterValue("MinRetentionDays must be at least 1 day")
        if max_retention_days is not None and max_retention_days > 36500:
            raise InvalidParameterValue("MaxRetentionDays cannot exceed 36500 days")
        if (
            min_retention_days is not None
            and max_retention_days is not None
            and min_retention_days > max_retention_days
        ):
            raise InvalidParameterValue("MinRetentionDays cannot be greater than MaxRetentionDays")
        if changeable_for_days is not None and not 3 <= changeable_for_days <= 36500:
            raise InvalidParameterValue("ChangeableForDays must be between 3 and 36500 days")
        vault.lock = VaultLock(min_retention_days, max_retention_days, changeable_for_days, applied_at=now)

    def delete_backup_vault_lock_configuration(self, backup_vault_name: str) -> None:
        """DeleteBackupVaultLockConfiguration: refused with InvalidRequestException from ``LockDate`` on.
        [source: BOTO-BACKUP DeleteBackupVaultLockConfiguration]
        """
        vault = self.authorized_vault(backup_vault_name, "DeleteBackupVaultLockConfiguration")
        if vault.lock is not None and vault.lock.immutable(CLOCK.now()):
            raise InvalidRequest(
                f"Vault Lock configuration of backup vault {backup_vault_name} is immutable since "
                f"{vault.lock.lock_date.isoformat()} and cannot be deleted"  # type: ignore[union-attr]
            )
        vault.lock = None

    # -------------------------------------------------------- global settings

    def describe_global_settings(self) -> tuple[dict[str, str], datetime | None]:
        """DescribeGlobalSettings errors outside an organization; inside one it reports the
        settings the management account set (members see the organization's setting).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html]
        """
        membership = orgs.membership(self.account_id)
        if membership is None:
            raise NotInOrganization()
        management = state.backend(membership.management_account, self.region_name)
        return dict(management.global_settings), management.global_settings_updated

    def update_global_settings(self, settings: dict[str, str] | None) -> None:
        """UpdateGlobalSettings returns an error unless the caller is the organization's
        management account. [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateGlobalSettings.html]
        """
        membership = orgs.membership(self.account_id)
        if membership is None:
            raise NotInOrganization()
        if membership.management_account != self.account_id:
            raise InvalidRequest(
                f"Account {self.account_id} is not the management account of organization "
                f"{membership.org_id}; only the management account "
                f"{membership.management_account} can update global settings."
            )
        for key, value in (settings or {}).items():
            if key not in DEFAULT_GLOBAL_SETTINGS:
                raise InvalidParameterValue(f"Unsupported global setting: {key}")
            if value not in ("true", "false"):
                raise InvalidParameterValue(f"Global setting {key} must be 'true' or 'false', not {value!r}")
        if "isCrossAccountBackupEnabled" in (settings or {}):
            consistency.note_cross_account_backup(
                self.account_id, self.region_name, self.global_settings.get("isCrossAccountBackupEnabled")
            )
        self.global_settings.update(settings or {})
        self.global_settings_updated = CLOCK.now()

    # -------------------------------------------------------- region settings

    def describe_region_settings(self) -> dict[str, dict[str, bool]]:
        """DescribeRegionSettings: the Region's service opt-in, full-management and incremental
        preferences per resource type (the resource types it lists are the ones
        UpdateRegionSettings accepts). The defaults are the emulator's (AWS's are not documented).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRegionSettings.html]
        """
        return {name: dict(values) for name, values in self.region_settings.items()}

    def update_region_settings(self, preferences: dict[str, dict[str, Any] | None]) -> None:
        """UpdateRegionSettings: only the resource types DescribeRegionSettings lists, with boolean
        values (InvalidParameterValueException otherwise; the message is the emulator's).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateRegionSettings.html]
        """
        for name, update in preferences.items():
            for resource_type, value in (update or {}).items():
                if resource_type not in self.region_settings[name]:
                    raise InvalidParameterValue(
                        f"Invalid {name}: unsupported resource type {resource_type}; supported: "
                        f"{', '.join(sorted(self.region_settings[name]))}"
                    )
                if not isinstance(value, bool):
                    raise InvalidParameterValue(f"Invalid {name}: the value of {resource_type} must be a boolean")
        for name, update in preferences.items():
            self.region_settings[name].update(update or {})

    # ------------------------------------------------------------------ plans

    def create_backup_plan(  # type: ignore[override]
        self,
        backup_plan: dict[str, Any] | None,
        backup_plan_tags: dict[str, str] | None,
        creator_request_id: str | None,
    ) -> Plan:
        """CreateBackupPlan. A matching ``CreatorRequestId`` returns the existing plan; an
        identical existing plan gives AlreadyExistsException.
        [source: BOTO-BACKUP CreateBackupPlan; docs/aws-behaviour.md section 5.1]
        """
        self._validate_plan(backup_plan)
        assert backup_plan is not None
        live = [p for p in self.plans.values() if p.deletion_date is None]
        if creator_request_id:
            for plan in live:
                if plan.creator_request_id == creator_request_id:
                    return plan
        if any(p.current.input_document == backup_plan for p in live):
            raise AlreadyExists("Backup plan with the same plan document already exists")
        plan = Plan(self.account_id, self.region_name, backup_plan, creator_request_id)
        self.plans[plan.backup_plan_id] = plan
        if backup_plan_tags:
            self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
        return plan

    @staticmethod
    def _validate_plan(document: dict[str, Any] | None) -> None:
        if not document:
            raise MissingParameterValue("BackupPlan")
        if not PLAN_NAME.match(document.get("BackupPlanName") or ""):
            raise InvalidParameterValue(f"Invalid backup plan name: {document.get('BackupPlanName')}")
        for rule in document.get("Rules") or []:
            if not RULE_OR_SELECTION_NAME.match(rule.get("RuleName") or ""):
                raise InvalidParameterValue(f"Invalid backup rule name: {rule.get('RuleName')}")
            if not rule.get("TargetBackupVaultName"):
                raise MissingParameterValue("TargetBackupVaultName")
        lifecycles.validate_plan(document)

    def _live_plan(self, backup_plan_id: str) -> Plan:
        plan = self.plans.get(backup_plan_id)
        if plan is None or plan.deletion_date is not None:
            raise ResourceNotFound(f"Failed reading Backup plan {backup_plan_id}")
        return plan

    def update_backup_plan(self, backup_plan_id: str, backup_plan: dict[str, Any] | None) -> Plan:
        """UpdateBackupPlan stores a new version with a new ``VersionId``. [source: BOTO-BACKUP UpdateBackupPlan]"""
        plan = self._live_plan(backup_plan_id)
        self._validate_plan(backup_plan)
        assert backup_plan is not None
        plan.add_version(backup_plan)
        return plan

    def get_backup_plan(self, backup_plan_id: str, version_id: str | None) -> tuple[Plan, Any]:  # type: ignore[override]
        plan = self.plans.get(backup_plan_id)
        version = plan.version(version_id) if plan is not None else None
        if plan is None or version is None:
            raise ResourceNotFound("Failed reading Backup plan with provided version")
        return plan, version

    def list_backup_plans(self, include_deleted: bool) -> list[Plan]:  # type: ignore[override]
        return [p for p in self.plans.values() if include_deleted or p.deletion_date is None]

    def delete_backup_plan(self, backup_plan_id: str) -> Plan:  # type: ignore[override]
        """DeleteBackupPlan works only after all the plan's selections are deleted.
        [source: BOTO-BACKUP DeleteBackupPlan]
        """
        plan = self._live_plan(backup_plan_id)
        if plan.selections:
            raise InvalidRequest("Related backup plan selections must be deleted prior to backup plan deletion")
        plan.deletion_date = CLOCK.now()
        return plan

    # ------------------------------------------------------------- selections

    def create_backup_selection(
        self, backup_plan_id: str, document: dict[str, Any] | None, creator_request_id: str | None
    ) -> Selection:
        """CreateBackupSelection. A selection needs ``Resources`` or ``ListOfTags``; a matching
        ``CreatorRequestId`` returns the existing selection.
        [source: BOTO-BACKUP BackupSelection; https://github.com/ministryofjustice/modernisation-platform-terraform-baselines/pull/90]
        """
        plan = self._live_plan(backup_plan_id)
        if not document:
            raise MissingParameterValue("BackupSelection")
        if creator_request_id:
            for selection in plan.selections.values():
                if selection.creator_request_id == creator_request_id:
                    return selection
        if not RULE_OR_SELECTION_NAME.match(document.get("SelectionName") or ""):
            raise InvalidParameterValue(f"Invalid backup selection name: {document.get('SelectionName')}")
        if not document.get("IamRoleArn"):
            raise MissingParameterValue("IamRoleArn")
        service_roles.require_assumable_role(self.account_id, document["IamRoleArn"])
        if not document.get("Resources") and not document.get("ListOfTags"):
            raise InvalidParameterValue(
                "Invalid backup selection. Either 'ListOfTags' or 'Resources' section must be non-empty."
            )
        selection = Selection(
            selection_id=new_id(),
            backup_plan_id=backup_plan_id,
            document=document,
            creator_request_id=creator_request_id,
        )
        plan.selections[selection.selection_id] = selection
        return selection

    def get_backup_selection(self, backup_plan_id: str, selection_id: str) -> Selection:
        selection = self._live_plan(backup_plan_id).selections.get(selection_id)
        if selection is None:
            raise ResourceNotFound(f"Failed reading backup selection {selection_id}")
        return selection

    def list_backup_selections(self, backup_plan_id: str) -> list[Selection]:
        return list(self._live_plan(backup_plan_id).selections.values())

    def delete_backup_selection(self, backup_plan_id: str, selection_id: str) -> None:
        self.get_backup_selection(backup_plan_id, selection_id)
        del self.plans[backup_plan_id].selections[selection_id]

    # -------------------------------------------------------- recovery points

    def list_recovery_points_by_backup_vault(self, backup_vault_name: str) -> list[RecoveryPoint]:
        vault = self.authorized_vault(backup_vault_name, "ListRecoveryPointsByBackupVault")
        return list(vault.recovery_points.values())

    def recovery_point(
        self, backup_vault_name: str, recovery_point_arn: str, action: str = "DescribeRecoveryPoint"
    ) -> tuple[Vault, RecoveryPoint]:
        """The recovery point, once the caller may do ``backup:<action>`` on it: the vault's
        access policy governs its recovery points, evaluated with the recovery point's ARN."""
        vault = self.authorized_vault(backup_vault_name, action, recovery_point_arn)
        point = vault.recovery_points.get(recovery_point_arn)
        if point is None:
            raise ResourceNotFound(f"Recovery point {recovery_point_arn} not found in backup vault {backup_vault_name}")
        return vault, point

    def delete_recovery_point(self, backup_vault_name: str, recovery_point_arn: str) -> None:
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "DeleteRecoveryPoint")
        refusal = vault.deletion_refusal(point, CLOCK.now())
        if refusal:
            raise InvalidRequest(refusal)
        del vault.recovery_points[recovery_point_arn]

    def update_recovery_point_lifecycle(
        self, backup_vault_name: str, recovery_point_arn: str, lifecycle: dict[str, Any] | None
    ) -> tuple[Vault, RecoveryPoint]:
        """UpdateRecoveryPointLifecycle: replaces the recovery point's ``Lifecycle``.

        * the lifecycle must be valid (``lifecycle.py``: 1..36,500 days or -1, cold storage at
          least 90 days; InvalidParameterValueException);
          [source: BOTO-BACKUP UpdateRecoveryPointLifecycle, Lifecycle.DeleteAfterDays]
        * in a locked vault (governance or compliance, grace time included) the retention of a
          recovery point cannot be shortened until it has ended, whether the recovery point was
          stored before or after the lock; lengthening is allowed up to ``MaxRetentionDays``
          (InvalidRequestException). [source: BOTO-BACKUP PutBackupVaultLockConfiguration:
          Vault Lock "prevents attempts to update the lifecycle policy that controls the
          retention period of any recovery point currently stored in a backup vault"]
        """
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "UpdateRecoveryPointLifecycle")
        new = dict(lifecycle or {})
        lifecycles.validate(new)
        refusal = vault.lifecycle_update_refusal(point, new, CLOCK.now())
        if refusal:
            raise InvalidRequest(refusal)
        point.lifecycle = new
        return vault, point

    def get_recovery_point_restore_metadata(
        self, backup_vault_name: str, recovery_point_arn: str
    ) -> tuple[Vault, RecoveryPoint, dict[str, str]]:
        """GetRecoveryPointRestoreMetadata: the key-value pairs that describe the backed-up DB
        instance, the ``Metadata`` a ``StartRestoreJob`` takes (all values are strings; ``KmsKeyId``
        only for an encrypted recovery point).
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetRecoveryPointRestoreMetadata.html]
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-rds.html]
        """
        vault, point = self.recovery_point(backup_vault_name, recovery_point_arn, "GetRecoveryPointRestoreMetadata")
        snapshot = point.snapshot
        metadata = {
            name: str(snapshot[name])
            for name in ("DBInstanceIdentifier", "Engine", "EngineVersion", "DBInstanceClass", "AllocatedStorage")
            if snapshot.get(name) is not None
        }
        metadata["StorageEncrypted"] = "true" if point.encryption_key_arn else "false"
        if point.encryption_key_arn:
            metadata["KmsKeyId"] = point.encryption_key_arn
        return vault, point, metadata

    def list_recovery_points_by_resource(self, resource_arn: str, max_results: int | None) -> list[RecoveryPoint]:
        """ListRecoveryPointsByResource: the resource's recovery points in every vault of the
        account and Region, newest first. For RDS, ``MaxResults`` must be at least 20
        (InvalidParameterValueException; the message is the emulator's).
        [source: BOTO-BACKUP ListRecoveryPointsByResource, ListRecoveryPointsByResourceInput.MaxResults]
        """
        if max_results is not None and max_results < 20 and RDS_DB_ARN.match(resource_arn or ""):
            raise InvalidParameterValue("Invalid MaxResults: Amazon RDS requires a value of at least 20")
        points = [p for v in self.vaults.values() for p in v.recovery_points.values() if p.resource_arn == resource_arn]
        return sorted(points, key=lambda p: p.creation_date, reverse=True)

    def _find_recovery_point(self, recovery_point_arn: str, action: str) -> tuple[Vault, RecoveryPoint]:
        for vault in self.vaults.values():
            if recovery_point_arn in vault.recovery_points:
                self.authorize(vault, action, recovery_point_arn)
                return vault, vault.recovery_points[recovery_point_arn]
        raise ResourceNotFound(f"Recovery point {recovery_point_arn} not found")

    # ------------------------------------------------------------------- jobs

    def all_jobs(self) -> Iterator[Job]:
        yield from self.backup_jobs.values()
        yield from self.copy_jobs.values()
        yield from self.restore_jobs.values()

    def visible_jobs(self, kind: str, by_account: str | None) -> list[Job]:
        """The jobs of ``kind`` (``backup_jobs``, ``copy_jobs``, ``restore_jobs``) a List*Jobs call
        sees with ``ByAccountId``: the account's own jobs; ``*`` from the organization's management
        account: the jobs of every account of the organization in this Region; another account's
        ID: none (the emulator's reading for callers that are not the management account).
        [source: BOTO-BACKUP ListBackupJobs.ByAccountId ("If used from an Organizations management
        account, passing * returns all jobs across the organization")]
        """
        accounts = [self.account_id]
        if by_account == "*":
            accounts = self._organization_accounts() or accounts
        elif by_account not in (None, self.account_id):
            return []
        return [job for account in accounts for job in getattr(state.backend(account, self.region_name), kind).values()]

    def _organization_accounts(self) -> list[str] | None:
        """Every account of the organization, when this account is its management account."""
        membership = orgs.membership(self.account_id)
        if membership is None or membership.management_account != self.account_id:
            return None
        members = organizations_backends[self.account_id][orgs.PARTITION].accounts
        return [self.account_id] + sorted({a.id for a in members} - {self.account_id})

    @staticmethod
    def _by_token(jobs: dict[str, Any], token: str | None) -> Any:
        """A job started earlier with the same IdempotencyToken (a retry does nothing new)."""
        if not token:
            return None
        return next((job for job in jobs.values() if job.idempotency_token == token), None)

    def start_backup_job(
        self,
        backup_vault_name: str,
        resource_arn: str,
        iam_role_arn: str,
        idempotency_token: str | None,
        lifecycle: dict[str, Any] | None,
    ) -> BackupJob:
        if backup_vault_name in self.vaults:
            self.authorize(self.vaults[backup_vault_name], "StartBackupJob")
        service_roles.require_assumable_role(self.account_id, iam_role_arn)
        previous = self._by_token(self.backup_jobs, idempotency_token)
        if previous is not None:
            return previous
        lifecycles.validate(lifecycle)
        vault = self._vault(backup_vault_name)
        match = RDS_DB_ARN.match(resource_arn or "")
        if match is None or match["account"] != self.account_id or match["region"] != self.region_name:
            raise InvalidParameterValue(
                f"Invalid ResourceArn {resource_arn}: the emulator backs up RDS DB instances of "
                f"account {self.account_id} in {self.region_name} (arn:aws:rds:<region>:<account>:db:<id>)"
            )
        job = BackupJob(
            self.account_id,
            self.region_name,
            iam_role_arn,
            idempotency_token,
            JobTiming.delay_seconds,
            vault=vault,
            resource_arn=resource_arn,
            lifecycle=lifecycle,
            snapshot=self._rds_snapshot(match["id"]),
        )
        self.backup_jobs[job.job_id] = job
        return job

    def _rds_snapshot(self, db_instance_identifier: str) -> dict[str, Any] | None:
        """The DB instance's restorable attributes, with its key resolved now (a deferred alias
        binding is resolved at this moment), or None if the instance does not exist."""
        instance = rds_backends[self.account_id][self.region_name].databases.get(db_instance_identifier.lower())
        if instance is None:
            return None
        key_arn = None
        reference = instance.kms_key_id
        if instance.storage_encrypted and reference:
            key = keys.find_key(reference, self.account_id, self.region_name)
            key_arn = key.arn if key is not None else reference
        return {
            "DBInstanceIdentifier": instance.db_instance_identifier,
            "Engine": instance.engine,
            "EngineVersion": instance.engine_version,
            "DBInstanceClass": instance.db_instance_class,
            "AllocatedStorage": instance.allocated_storage,
            "KmsKeyArn": key_arn,
        }

    def start_copy_job(
        self,
        recovery_point_arn: str,
        source_backup_vault_name: str,
        destination_backup_vault_arn: str,
        iam_role_arn: str,
        idempotency_token: str | None,
        lifecycle: dict[str, Any] | None,
    ) -> CopyJob:
        if source_backup_vault_name in self.vaults:
            self.authorize(self.vaults[source_backup_vault_name], "StartCopyJob", recovery_point_arn)
        service_roles.require_assumable_role(self.account_id, iam_role_arn)
        previous = self._by_token(self.copy_jobs, idempotency_token)
        if previous is not None:
            return previous
        lifecycles.validate(lifecycle)
        vault, point = self.recovery_point(source_backup_vault_name, recovery_point_arn, "StartCopyJob")
        match = VAULT_ARN.match(destination_backup_vault_arn or "")
        if match is None:
            raise InvalidParameterValue(f"Invalid DestinationBackupVaultArn: {destination_backup_vault_arn}")
        job = CopyJob(
            self.account_id,
            self.region_name,
            iam_role_arn,
            idempotency_token,
            JobTiming.delay_seconds,
            source_vault=vault,
            recovery_point=point,
            destination_vault_arn=destination_backup_vault_arn,
            destination_account=match["account"],
            destination_region=match["region"],
            destination_vault_name=match["name"],
            lifecycle=lifecycle,
        )
        self.copy_jobs[job.job_id] = job
        return job

    def start_restore_job(
        self,
        recovery_point_arn: str,
        metadata: dict[str, str] | None,
        iam_role_arn: str,
        idempotency_token: str | None,
        resource_type: str | None,
    ) -> RestoreJob:
        holder = next((v for v in self.vaults.values() if recovery_point_arn in v.recovery_points), None)
        if holder is not None:
            self.authorize(holder, "StartRestoreJob", recovery_point_arn)
        service_roles.require_assumable_role(self.account_id, iam_role_arn)
        previous = self._by_token(self.restore_jobs, idempotency_token)
        if previous is not None:
            return previous
        vault, point = self._find_recovery_point(recovery_point_arn, "StartRestoreJob")
        if resource_type not in (None, point.resource_type):
            raise InvalidParameterValue(
                f"ResourceType {resource_type} does not match the recovery point ({point.resource_type})"
            )
        if not any(k.lower() == "dbinstanceidentifier" for k in (metadata or {})):
            raise InvalidParameterValue("Restore metadata must contain DBInstanceIdentifier")
        job = RestoreJob(
            self.account_id,
            self.region_name,
            iam_role_arn,
            idempotency_token,
            JobTiming.delay_seconds,
            vault=vault,
            recovery_point=point,
            metadata=metadata or {},
        )
        self.restore_jobs[job.job_id] = job
        return job

    @staticmethod
    def _job(jobs: dict[str, Any], job_id: str, kind: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            raise ResourceNotFound(f"{kind} job {job_id} not found")
        return job

    def describe_backup_job(self, job_id: str) -> BackupJob:
        return self._job(self.backup_jobs, job_id, "Backup")

    def describe_copy_job(self, job_id: str) -> CopyJob:
        return self._job(self.copy_jobs, job_id, "Copy")

    def describe_restore_job(self, job_id: str) -> RestoreJob:
        return self._job(self.restore_jobs, job_id, "Restore")

    def stop_backup_job(self, job_id: str) -> None:
        """StopBackupJob is not supported for Amazon RDS, the only resource type the emulator backs
        up: an existing job is refused with InvalidRequestException (the message is the emulator's),
        an unknown one with ResourceNotFoundException.
        [source: BOTO-BACKUP StopBackupJob ("This action is not supported for the following
        services: ... Amazon RDS")]
        """
        job = self.describe_backup_job(job_id)
        raise InvalidRequest(
            f"Backup job {job.job_id} cannot be stopped: StopBackupJob is not supported for resource type RDS."
        )
