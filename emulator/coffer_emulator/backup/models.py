"""AWS Backup resources kept by the extension: vaults, locks, plans, selections, recovery points.

Timestamps are ``datetime`` objects from the emulator clock; moto's serializer turns them
into the epoch-seconds numbers AWS Backup's restJson protocol uses.
"""

import base64
import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..clock import CLOCK

DAY = timedelta(days=1)
# The size every recovery point and job reports (20 GiB): the emulator keeps no data.
BACKUP_SIZE_IN_BYTES = 21474836480


def new_id() -> str:
    return str(uuid.uuid4())


def vault_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def delete_after_days(lifecycle: dict[str, Any] | None) -> int | None:
    """Retention in days of a ``Lifecycle``; None means kept indefinitely (no DeleteAfterDays or -1)."""
    days = (lifecycle or {}).get("DeleteAfterDays")
    if days is None or int(days) < 0:
        return None
    return int(days)


@dataclass
class VaultLock:
    """A Backup Vault Lock configuration.

    The mode is decided by ``ChangeableForDays``: omitted means governance mode (removable at
    any time); present means compliance mode, with ``LockDate`` = time of the call +
    ``ChangeableForDays``. From ``LockDate`` on, the lock can be neither changed nor removed.
    ``Locked`` is true as soon as a lock is applied, grace time included.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html]
    [source: BOTO-BACKUP PutBackupVaultLockConfiguration, DeleteBackupVaultLockConfiguration]
    """

    min_retention_days: int | None
    max_retention_days: int | None
    changeable_for_days: int | None
    applied_at: datetime

    @property
    def lock_date(self) -> datetime | None:
        if self.changeable_for_days is None:
            return None
        return self.applied_at + self.changeable_for_days * DAY

    def immutable(self, now: datetime) -> bool:
        return self.lock_date is not None and now >= self.lock_date

    def retention_violation(self, lifecycle: dict[str, Any] | None) -> str | None:
        """Why a job writing a recovery point with ``lifecycle`` into the vault must fail, if it must.

        A backup or copy job whose retention is below ``MinRetentionDays`` or above
        ``MaxRetentionDays`` fails; an omitted bound is not enforced; indefinite retention
        exceeds any maximum. [source: BOTO-BACKUP PutBackupVaultLockConfiguration]
        """
        days = delete_after_days(lifecycle)
        too_short = self.min_retention_days is not None and days is not None and days < self.min_retention_days
        too_long = self.max_retention_days is not None and (days is None or days > self.max_retention_days)
        if not (too_short or too_long):
            return None
        retention = "indefinite retention" if days is None else f"a retention of {days} days"
        return (
            f"{retention} is outside the range allowed by the Backup Vault Lock "
            f"(MinRetentionDays={self.min_retention_days}, MaxRetentionDays={self.max_retention_days})"
        )


@dataclass
class RecoveryPoint:
    """A recovery point of an RDS DB instance (a snapshot AWS Backup manages)."""

    arn: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_name: str
    iam_role_arn: str
    creation_date: datetime
    completion_date: datetime
    encryption_key_arn: str | None
    lifecycle: dict[str, Any] | None
    # What a restore needs to recreate the DB instance (engine, class, storage, ...).
    snapshot: dict[str, Any]
    source_vault_arn: str | None = None
    resource_type: str = "RDS"
    backup_size_in_bytes: int = BACKUP_SIZE_IN_BYTES

    @property
    def delete_at(self) -> datetime | None:
        """When the retention ends (``CalculatedLifecycle.DeleteAt``); None: kept indefinitely."""
        return self.calculated_lifecycle().get("DeleteAt")

    def calculated_lifecycle(self) -> dict[str, datetime]:
        """Expiry counts from the (source) creation date, which copies keep.
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html]
        """
        result: dict[str, datetime] = {}
        lifecycle = self.lifecycle or {}
        days = delete_after_days(lifecycle)
        if days is not None:
            result["DeleteAt"] = self.creation_date + days * DAY
        cold = lifecycle.get("MoveToColdStorageAfterDays")
        if cold is not None and int(cold) >= 0:
            result["MoveToColdStorageAt"] = self.creation_date + int(cold) * DAY
        return result

    def describe(self) -> dict[str, Any]:
        return {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "SourceBackupVaultArn": self.source_vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "ResourceName": self.resource_name,
            "IamRoleArn": self.iam_role_arn,
            "Status": "COMPLETED",
            "CreationDate": self.creation_date,
            "InitiationDate": self.creation_date,
            "CompletionDate": self.completion_date,
            "BackupSizeInBytes": self.backup_size_in_bytes,
            "CalculatedLifecycle": self.calculated_lifecycle(),
            "Lifecycle": self.lifecycle,
            "EncryptionKeyArn": self.encryption_key_arn,
            "IsEncrypted": self.encryption_key_arn is not None,
            "StorageClass": "WARM",
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }

    def by_resource(self) -> dict[str, Any]:
        """An entry of ListRecoveryPointsByResource (``RecoveryPointByResource``): without
        ``BackupVaultName``, which only EFS and EC2 recovery points return there.
        [source: BOTO-BACKUP ListRecoveryPointsByResourceOutput.RecoveryPoints]
        """
        return {
            "RecoveryPointArn": self.arn,
            "CreationDate": self.creation_date,
            "Status": "COMPLETED",
            "EncryptionKeyArn": self.encryption_key_arn,
            "BackupSizeBytes": self.backup_size_in_bytes,
            "IsParent": False,
            "ResourceName": self.resource_name,
            "VaultType": "BACKUP_VAULT",
        }


class Vault:
    """A standard backup vault (``VaultType`` ``BACKUP_VAULT``)."""

    def __init__(self, account: str, region: str, name: str, encryption_key_arn: str, creator_request_id: str | None):
        self.backup_vault_name = name
        self.backup_vault_arn = vault_arn(account, region, name)
        self.encryption_key_arn = encryption_key_arn
        self.creator_request_id = creator_request_id
        self.creation_date = CLOCK.now()
        self.access_policy: str | None = None
        self.lock: VaultLock | None = None
        self.recovery_points: dict[str, RecoveryPoint] = {}

    def describe(self) -> dict[str, Any]:
        """Fields of DescribeBackupVault / ListBackupVaults. ``NumberOfRecoveryPoints`` is exact here."""
        result: dict[str, Any] = {
            "BackupVaultName": self.backup_vault_name,
            "BackupVaultArn": self.backup_vault_arn,
            "VaultType": "BACKUP_VAULT",
            "VaultState": "AVAILABLE",
            "EncryptionKeyArn": self.encryption_key_arn,
            "CreationDate": self.creation_date,
            "CreatorRequestId": self.creator_request_id,
            "NumberOfRecoveryPoints": len(self.recovery_points),
            "Locked": self.lock is not None,
        }
        if self.lock is not None:
            result["MinRetentionDays"] = self.lock.min_retention_days
            result["MaxRetentionDays"] = self.lock.max_retention_days
            result["LockDate"] = self.lock.lock_date
        return result

    def expire(self, now: datetime) -> list[str]:
        """Delete the recovery points whose retention has ended (``DeleteAt`` reached); return their ARNs.

        AWS Backup deletes a recovery point when its lifecycle's ``DeleteAfterDays`` have passed,
        in a locked vault too: the lock keeps a recovery point until its retention ends, never
        longer. AWS deletes within 8 hours after expiry; the emulator at once, when the next
        request arrives. [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html
        ("Expired backups are deleted at a random point within the following 8 hours")]
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html]
        """
        expired = [
            arn for arn, point in list(self.recovery_points.items()) if point.delete_at and now >= point.delete_at
        ]
        for arn in expired:
            self.recovery_points.pop(arn, None)
        return expired

    def retention_violation(self, lifecycle: dict[str, Any] | None) -> str | None:
        """Why a job may not write a recovery point kept per ``lifecycle`` here (the lock's
        bounds, ``VaultLock.retention_violation``), if it may not."""
        return self.lock.retention_violation(lifecycle) if self.lock else None

    def lock_state(self, now: datetime) -> str:
        """``VaultLockState`` as reported on jobs."""
        if self.lock is None:
            return "UNLOCKED"
        return "LOCKED" if self.lock.immutable(now) else "GRACE_TIME"

    def deletion_refusal(self, point: RecoveryPoint, now: datetime) -> str | None:
        """Why ``point`` may not be deleted yet, if it may not.

        While a vault is locked (governance or compliance mode, grace time included) nobody can
        delete a recovery point before its retention ends, whether it was stored before or after
        the lock; a recovery point kept indefinitely can never be deleted.
        [source: BOTO-BACKUP PutBackupVaultLockConfiguration: "preventing attempts to delete any
        recovery point stored in or created in a backup vault"]
        [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html]
        """
        if self.lock is None:
            return None
        retention_end = point.calculated_lifecycle().get("DeleteAt")
        if retention_end is not None and now >= retention_end:
            return None
        until = "it is kept indefinitely" if retention_end is None else f"until {retention_end.isoformat()}"
        return (
            f"Recovery point {point.arn} cannot be deleted: the Backup Vault Lock on vault "
            f"{self.backup_vault_name} protects it until its retention ends ({until})."
        )

    def lifecycle_update_refusal(self, point: RecoveryPoint, lifecycle: dict[str, Any], now: datetime) -> str | None:
        """Why ``point``'s lifecycle may not become ``lifecycle``, if it may not.

        In a locked vault the retention of a recovery point cannot be shortened before it ends
        (from indefinite to any number of days counts as shortening); it can be lengthened, up
        to the lock's ``MaxRetentionDays`` (indefinite retention exceeds any maximum).
        [source: BOTO-BACKUP PutBackupVaultLockConfiguration]
        """
        lock = self.lock
        if lock is None:
            return None
        current_end = point.calculated_lifecycle().get("DeleteAt")
        if current_end is not None and now >= current_end:
            return None
        days = delete_after_days(lifecycle)
        new_end = None if days is None else point.creation_date + days * DAY
        if new_end is not None and (current_end is None or new_end < current_end):
            return (
                f"The retention of recovery point {point.arn} cannot be shortened: the Backup Vault Lock "
                f"on vault {self.backup_vault_name} protects it until its retention ends "
                f"({'it is kept indefinitely' if current_end is None else 'until ' + current_end.isoformat()})."
            )
        if lock.max_retention_days is not None and (days is None or days > lock.max_retention_days):
            retention = "indefinite retention" if days is None else f"a retention of {days} days"
            return (
                f"Recovery point {point.arn} cannot get {retention}: it is outside the range allowed by "
                f"the Backup Vault Lock (MinRetentionDays={lock.min_retention_days}, "
                f"MaxRetentionDays={lock.max_retention_days}) on vault {self.backup_vault_name}."
            )
        return None


# Rule fields AWS fills in when a rule omits them (moto's values; the schedule default is
# documented, the window defaults are UNCONFIRMED in docs/aws-behaviour.md section 5.1).
RULE_DEFAULTS = {
    "ScheduleExpression": "cron(0 5 ? * * *)",
    "StartWindowMinutes": 480,
    "CompletionWindowMinutes": 10080,
    "ScheduleExpressionTimezone": "Etc/UTC",
}


@dataclass
class PlanVersion:
    version_id: str
    input_document: dict[str, Any]  # as the caller sent it, to detect identical plans
    document: dict[str, Any]  # with rule defaults and RuleIds, as GetBackupPlan returns it


class Plan:
    """A backup plan and its versions: each UpdateBackupPlan adds a version with a new ``VersionId``.
    [source: BOTO-BACKUP UpdateBackupPlan]
    """

    def __init__(self, account: str, region: str, document: dict[str, Any], creator_request_id: str | None):
        self.backup_plan_id = new_id()
        self.backup_plan_arn = f"arn:aws:backup:{region}:{account}:backup-plan:{self.backup_plan_id}"
        self.creator_request_id = creator_request_id
        self.creation_date = CLOCK.now()
        self.deletion_date: datetime | None = None
        self.versions: list[PlanVersion] = []
        self.selections: dict[str, Selection] = {}
        self.add_version(document)

    @property
    def current(self) -> PlanVersion:
        return self.versions[-1]

    def add_version(self, document: dict[str, Any]) -> PlanVersion:
        previous_ids = {r["RuleName"]: r["RuleId"] for r in self.current.document["Rules"]} if self.versions else {}
        stored = copy.deepcopy(document)
        for rule in stored.get("Rules", []):
            for name, default in RULE_DEFAULTS.items():
                rule.setdefault(name, default)
            rule["RuleId"] = previous_ids.get(rule.get("RuleName"), new_id())
        version = PlanVersion(
            version_id=base64.b64encode(new_id().encode()).decode(),
            input_document=copy.deepcopy(document),
            document=stored,
        )
        self.versions.append(version)
        return version

    def version(self, version_id: str | None) -> PlanVersion | None:
        if not version_id:
            return self.current
        return next((v for v in self.versions if v.version_id == version_id), None)

    def summary(self, version: PlanVersion) -> dict[str, Any]:
        return {
            "BackupPlanId": self.backup_plan_id,
            "BackupPlanArn": self.backup_plan_arn,
            "CreationDate": self.creation_date,
            "VersionId": version.version_id,
            "AdvancedBackupSettings": version.document.get("AdvancedBackupSettings"),
        }

    def describe(self, version: PlanVersion) -> dict[str, Any]:
        return {
            **self.summary(version),
            "BackupPlan": version.document,
            "CreatorRequestId": self.creator_request_id,
            "DeletionDate": self.deletion_date,
        }

    def list_entry(self, version: PlanVersion) -> dict[str, Any]:
        return {
            **self.summary(version),
            "BackupPlanName": version.document.get("BackupPlanName"),
            "CreatorRequestId": self.creator_request_id,
            "DeletionDate": self.deletion_date,
        }


@dataclass
class Selection:
    """A backup selection. Selections are immutable: there is no update operation.
    [source: BOTO-BACKUP (operation list)]
    """

    selection_id: str
    backup_plan_id: str
    document: dict[str, Any]
    creator_request_id: str | None
    creation_date: datetime = field(default_factory=CLOCK.now)

    def describe(self) -> dict[str, Any]:
        return {
            "BackupSelection": self.document,
            "SelectionId": self.selection_id,
            "BackupPlanId": self.backup_plan_id,
            "CreationDate": self.creation_date,
            "CreatorRequestId": self.creator_request_id,
        }

    def list_entry(self) -> dict[str, Any]:
        return {
            "SelectionId": self.selection_id,
            "SelectionName": self.document.get("SelectionName"),
            "BackupPlanId": self.backup_plan_id,
            "CreationDate": self.creation_date,
            "CreatorRequestId": self.creator_request_id,
            "IamRoleArn": self.document.get("IamRoleArn"),
        }
