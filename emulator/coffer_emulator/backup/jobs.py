"""Backup, copy and restore jobs.

A job is created in its initial state (``CREATED``; ``PENDING`` for restore jobs, whose
state enum has no ``CREATED``), reports ``RUNNING`` after half the job delay and ends
``COMPLETED`` or ``FAILED`` once the delay has passed, so clients must poll as with AWS.
The state is computed lazily from timestamps on the emulator clock: the first time
anybody looks at a job that is due (any request to the emulator settles due jobs), the
job's checks run and its effects (a new recovery point, a restored DB instance) are
applied, exactly once.  [source: BOTO-BACKUP BackupJobState, CopyJobState, RestoreJobStatus]
"""

import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.core.parse import XFormedDict
from moto.rds.exceptions import RDSClientError
from moto.rds.models import rds_backends

from .. import identity, kms_use
from ..clock import CLOCK
from . import copy_rules, state
from . import lifecycle as lifecycles
from .models import BACKUP_SIZE_IN_BYTES, RecoveryPoint, Vault

_SETTLE_LOCK = threading.RLock()
# All that ``settle_due_jobs`` can have to do: the jobs not settled yet, and the vaults that were
# given a recovery point (whose retention may end). Held weakly and forgotten on reset
# (``resetting()``), so they never outlive the backends that hold them.
_UNSETTLED: "weakref.WeakSet[Job]" = weakref.WeakSet()
_HOLDING: "weakref.WeakSet[Vault]" = weakref.WeakSet()


class JobTiming:
    """How long jobs take before they finish (``--job-delay``, or the world file's setting)."""

    DEFAULT_SECONDS = 1.0
    delay_seconds = DEFAULT_SECONDS


@dataclass(frozen=True)
class JobStart:
    """What every job is started with: the account and Region that run it, the role it runs as,
    the ``IdempotencyToken`` of the call and how long it takes."""

    account: str
    region: str
    iam_role_arn: str
    idempotency_token: str | None
    delay_seconds: float


class Job:
    initial_state = "CREATED"
    success_state = "COMPLETED"
    # What the job's role must be allowed on the keys it uses through RDS.
    KEY_ACTIONS: tuple[str, ...] = ()

    def __init__(self, start: JobStart):
        self.job_id = str(uuid.uuid4()).upper()
        self.account = start.account
        self.region = start.region
        self.iam_role_arn = start.iam_role_arn
        self.idempotency_token = start.idempotency_token
        self.creation_date = CLOCK.now()
        self.due = self.creation_date + timedelta(seconds=start.delay_seconds)
        self._halfway = self.creation_date + timedelta(seconds=start.delay_seconds / 2)
        self.final_state: str | None = None
        self.status_message: str | None = None
        with _SETTLE_LOCK:
            _UNSETTLED.add(self)

    def run(self) -> str | None:
        """Check the job's prerequisites and apply its effects; return a failure message or None."""
        raise NotImplementedError

    def settle_if_due(self, now: datetime) -> None:
        if self.final_state is not None or now < self.due:
            return
        with _SETTLE_LOCK:
            # Not among the unsettled jobs: settled already, or forgotten by a reset that came
            # after this job was picked up (it must not end in the next world).
            if self.final_state is None and self in _UNSETTLED:
                failure = self.run()
                self.status_message = failure
                self.final_state = "FAILED" if failure else self.success_state
                _UNSETTLED.discard(self)

    def state(self) -> str:
        now = CLOCK.now()
        self.settle_if_due(now)
        if self.final_state is not None:
            return self.final_state
        return "RUNNING" if now >= self._halfway else self.initial_state

    def progress(self) -> dict[str, Any]:
        state = self.state()
        percent = {"RUNNING": "50.0", "COMPLETED": "100.0"}.get(state, "0.0")
        return {
            "State": state,
            "StatusMessage": self.status_message,
            "PercentDone": percent,
            "CompletionDate": self.due if self.final_state is not None else None,
        }

    def common_fields(self) -> dict[str, Any]:
        """The fields every kind of job describes alike (all jobs are of RDS resources)."""
        return {
            "AccountId": self.account,
            "CreationDate": self.creation_date,
            "IamRoleArn": self.iam_role_arn,
            "ResourceType": "RDS",
            "BackupSizeInBytes": BACKUP_SIZE_IN_BYTES,
            "IsParent": False,
        }

    def key_refusal(self, key_arn: str, *, missing_key_ok: bool = False) -> str | None:
        """Why RDS cannot use ``key_arn`` for the job's role (``KEY_ACTIONS``, ``kms:ViaService``
        RDS), in parentheses, or None."""
        return kms_use.refusal(
            key_arn,
            identity.job_role(self.iam_role_arn, self.account),
            f"role {self.iam_role_arn}",
            self.KEY_ACTIONS,
            kms_use.via("rds", self.region),
            missing_key_ok=missing_key_ok,
        )


def message_category(state: str) -> str | None:
    """``MessageCategory`` of a backup or copy job: ``SUCCESS`` once it has completed (AWS's
    categories of failures, e.g. ``AccessDenied``, are not modelled: a failed job has none).
    [source: BOTO-BACKUP ListBackupJobs.ByMessageCategory]"""
    return "SUCCESS" if state == "COMPLETED" else None


def _vault(account: str, region: str, name: str) -> Vault | None:
    return state.backend(account, region).vaults.get(name)


def _stored_point(account: str, region: str, vault_name: str, arn: str) -> RecoveryPoint | None:
    """The recovery point a job reads, if its vault still holds it."""
    vault = _vault(account, region, vault_name)
    return vault.recovery_points.get(arn) if vault else None


class RecoveryPointJob(Job):
    """A job that writes a recovery point into a vault (backup and copy jobs): the recovery point
    is made with the job's role, completes when the job is due and keeps the job's lifecycle,
    which the vault's lock bounds must allow."""

    def __init__(self, start: JobStart, lifecycle: dict[str, Any] | None):
        super().__init__(start)
        self.lifecycle = lifecycle

    def store(self, vault: Vault, arn: str, **fields: Any) -> None:
        with _SETTLE_LOCK:
            _HOLDING.add(vault)
        vault.recovery_points[arn] = RecoveryPoint(
            arn=arn,
            vault_name=vault.backup_vault_name,
            vault_arn=vault.backup_vault_arn,
            iam_role_arn=self.iam_role_arn,
            completion_date=self.due,
            lifecycle=self.lifecycle,
            **fields,
        )

    def fields(self) -> dict[str, Any]:
        """The fields of this kind of job's description."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        progress = self.progress()  # first: a job that is due settles now, which sets some fields
        return {
            **self.common_fields(),
            **self.fields(),
            "MessageCategory": message_category(progress["State"]),
            **progress,
        }


class BackupJob(RecoveryPointJob):
    """An on-demand backup of an RDS DB instance.

    RDS is not fully managed by AWS Backup, so the recovery point is encrypted with the
    source DB instance's key (unencrypted DBs give unencrypted recovery points), not with
    the vault's key. [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html]

    The snapshot is taken through RDS with the job's role, so the DB key's policy must let that
    role use the key (``kms:DescribeKey``, ``kms:CreateGrant``, ``kms:ViaService`` RDS): a ``Deny``
    or a missing ``Allow`` fails the job (message: the emulator's wording). A key that does
    not exist (an unresolved deferred alias binding) is not checked here.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#backup-permissions-grants-deny-statements]
    """

    KEY_ACTIONS = ("kms:DescribeKey", "kms:CreateGrant")

    def __init__(
        self,
        start: JobStart,
        vault: Vault,
        resource_arn: str,
        lifecycle: dict[str, Any] | None,
        snapshot: dict[str, Any] | None,
    ):
        super().__init__(start, lifecycle)
        self.vault_name = vault.backup_vault_name
        self.vault_arn = vault.backup_vault_arn
        self.resource_arn = resource_arn
        # The DB instance as it was when the job started (None if it did not exist).
        self.snapshot = snapshot
        self.recovery_point_arn = (
            f"arn:aws:rds:{start.region}:{start.account}:snapshot:awsbackup:job-{self.job_id.lower()}"
        )

    def run(self) -> str | None:
        vault = _vault(self.account, self.region, self.vault_name)
        if vault is None:
            return f"Backup job failed. Backup vault {self.vault_name} does not exist."
        if self.snapshot is None:
            return f"Backup job failed. Resource {self.resource_arn} was not found."
        violation = vault.retention_violation(self.lifecycle)
        if violation:
            return f"Backup job failed. {violation} on backup vault {self.vault_name}."
        key_arn = self.snapshot["KmsKeyArn"]
        cause = self.key_refusal(key_arn, missing_key_ok=True) if key_arn is not None else None
        if cause:
            return (
                f"Backup job failed. The KMS key [{key_arn}] of resource {self.resource_arn} does not "
                f"exist, is not enabled or you do not have permissions to access it. {cause}"
            )
        self.store(
            vault,
            self.recovery_point_arn,
            resource_arn=self.resource_arn,
            resource_name=self.snapshot["DBInstanceIdentifier"],
            creation_date=self.creation_date,
            encryption_key_arn=key_arn,
            snapshot=self.snapshot,
        )
        return None

    def fields(self) -> dict[str, Any]:
        key = (self.snapshot or {}).get("KmsKeyArn")
        vault = _vault(self.account, self.region, self.vault_name)
        return {
            "BackupJobId": self.job_id,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "VaultType": "BACKUP_VAULT",
            "VaultLockState": vault.lock_state(CLOCK.now()) if vault else None,
            "RecoveryPointArn": self.recovery_point_arn,
            "RecoveryPointLifecycle": self.lifecycle,
            "EncryptionKeyArn": key,
            "IsEncrypted": key is not None,
            "ResourceArn": self.resource_arn,
            "ResourceName": (self.snapshot or {}).get("DBInstanceIdentifier"),
            "InitiationDate": self.creation_date,
        }


class CopyJob(RecoveryPointJob):
    """A copy of a recovery point into another vault, possibly in another account or Region.

    The job is started by the account that owns the source vault. On success the copy is a
    new recovery point in the destination vault, re-encrypted with the destination vault's
    key, carrying the copy's ``Lifecycle`` (without one, or with ``DeleteAfterDays`` -1, the
    source recovery point's retention: ``lifecycle.of_copy``) and the source's creation date.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption]
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html]
    """

    def __init__(
        self,
        start: JobStart,
        source_vault: Vault,
        recovery_point: RecoveryPoint,
        destination: state.VaultAddress,
        lifecycle: dict[str, Any] | None,
    ):
        super().__init__(start, lifecycle)
        self.source_vault_name = source_vault.backup_vault_name
        self.source_vault_arn = source_vault.backup_vault_arn
        self.source_recovery_point_arn = recovery_point.arn
        self.resource_arn = recovery_point.resource_arn
        self.resource_name = recovery_point.resource_name
        self.destination = destination
        self.destination_recovery_point_arn: str | None = None
        self.destination_encryption_key_arn: str | None = None

    def run(self) -> str | None:
        point = _stored_point(self.account, self.region, self.source_vault_name, self.source_recovery_point_arn)
        if point is None:
            return f"Copy job failed. Source recovery point {self.source_recovery_point_arn} was not found."
        failure = copy_rules.first_failure(
            copy_rules.CopyAttempt(
                source_account=self.account,
                source_region=self.region,
                destination=self.destination,
                iam_role_arn=self.iam_role_arn,
                recovery_point_key_arn=point.encryption_key_arn,
                resource_type=point.resource_type,
            )
        )
        if failure:
            return failure
        destination = self.destination.vault()
        assert destination is not None  # checked by copy_rules.destination_vault_exists
        self.lifecycle = lifecycles.of_copy(self.lifecycle, point.lifecycle)
        violation = destination.retention_violation(self.lifecycle)
        if violation:
            return f"Copy job failed. {violation} on destination backup vault {destination.backup_vault_arn}."
        arn = (
            f"arn:aws:rds:{self.destination.region}:{self.destination.account}:snapshot:"
            f"awsbackup:copyjob-{self.job_id.lower()}"
        )
        self.store(
            destination,
            arn,
            resource_arn=point.resource_arn,
            resource_name=point.resource_name,
            creation_date=point.creation_date,
            encryption_key_arn=destination.encryption_key_arn,
            snapshot={**point.snapshot, "KmsKeyArn": destination.encryption_key_arn},
            source_vault_arn=self.source_vault_arn,
        )
        self.destination_recovery_point_arn = arn
        self.destination_encryption_key_arn = destination.encryption_key_arn
        return None

    def fields(self) -> dict[str, Any]:
        destination = self.destination.vault()
        return {
            "CopyJobId": self.job_id,
            "SourceBackupVaultArn": self.source_vault_arn,
            "SourceRecoveryPointArn": self.source_recovery_point_arn,
            "DestinationBackupVaultArn": self.destination.arn,
            "DestinationVaultType": "BACKUP_VAULT",
            "DestinationVaultLockState": destination.lock_state(CLOCK.now()) if destination else None,
            "DestinationRecoveryPointArn": self.destination_recovery_point_arn,
            "DestinationEncryptionKeyArn": self.destination_encryption_key_arn,
            "DestinationRecoveryPointLifecycle": self.lifecycle,
            "ResourceArn": self.resource_arn,
            "ResourceName": self.resource_name,
        }


class RestoreJob(Job):
    """A restore of an RDS recovery point into a new DB instance in the vault's account.

    A restore always creates a new resource; the DB identifier comes from the
    ``DBInstanceIdentifier`` metadata key (keys are case-insensitive). The new instance is
    encrypted with the recovery point's key: passing ``KmsKeyId`` does not re-key it.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-rds.html]
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-a-backup.html]

    RDS restores the instance for AWS Backup with the job's role: the recovery point's key
    policy must let that role use the key (``kms:DescribeKey``, ``kms:CreateGrant``, ``kms:Decrypt``,
    ``kms:ViaService`` RDS), or the job fails (message: the emulator's wording).
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#backup-permissions-grants-deny-statements]
    """

    initial_state = "PENDING"
    KEY_ACTIONS = ("kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt")

    # Metadata keys (lower-cased) copied onto the new instance, with their RDS parameter names.
    METADATA_PARAMETERS = {
        "dbinstanceclass": "DBInstanceClass",
        "dbname": "DBName",
        "port": "Port",
        "multiaz": "MultiAZ",
        "publiclyaccessible": "PubliclyAccessible",
        "allocatedstorage": "AllocatedStorage",
    }

    def __init__(self, start: JobStart, vault: Vault, recovery_point: RecoveryPoint, metadata: dict[str, str]):
        super().__init__(start)
        self.vault_name = vault.backup_vault_name
        self.vault_arn = vault.backup_vault_arn
        self.recovery_point_arn = recovery_point.arn
        self.recovery_point_creation_date = recovery_point.creation_date
        self.source_resource_arn = recovery_point.resource_arn
        self.metadata = {k.lower(): v for k, v in metadata.items()}
        self.created_resource_arn: str | None = None

    def run(self) -> str | None:
        point = _stored_point(self.account, self.region, self.vault_name, self.recovery_point_arn)
        if point is None:
            return f"Restore job failed. Recovery point {self.recovery_point_arn} was not found."
        cause = self.key_refusal(point.encryption_key_arn) if point.encryption_key_arn is not None else None
        if cause:
            return (
                f"Restore job failed. The KMS key [{point.encryption_key_arn}] of recovery point "
                f"{self.recovery_point_arn} does not exist, is not enabled or you do not have "
                f"permissions to access it. {cause}"
            )
        parameters = XFormedDict(self._parameters(point))
        try:
            instance = rds_backends[self.account][self.region].create_db_instance(parameters)  # type: ignore[arg-type]
        except RDSClientError as error:
            return f"Restore job failed. {error.message}"
        self.created_resource_arn = instance.db_instance_arn
        return None

    def _parameters(self, point: RecoveryPoint) -> dict[str, Any]:
        """The ``CreateDBInstance`` parameters of the restored instance: the snapshot's, the
        recovery point's key, and the metadata's overrides."""
        snapshot = point.snapshot
        parameters: dict[str, Any] = {
            "DBInstanceIdentifier": self.metadata["dbinstanceidentifier"],
            "Engine": snapshot["Engine"],
            "EngineVersion": snapshot["EngineVersion"],
            "DBInstanceClass": snapshot["DBInstanceClass"],
            "AllocatedStorage": snapshot["AllocatedStorage"],
            "StorageEncrypted": point.encryption_key_arn is not None,
        }
        if point.encryption_key_arn is not None:
            parameters["KmsKeyId"] = point.encryption_key_arn
        for key, name in self.METADATA_PARAMETERS.items():
            if key in self.metadata:
                parameters[name] = self._typed(name, self.metadata[key])
        return parameters

    @staticmethod
    def _typed(name: str, value: str) -> Any:
        if name in ("Port", "AllocatedStorage"):
            return int(value)
        if name in ("MultiAZ", "PubliclyAccessible"):
            return value.lower() == "true"
        return value

    def describe(self) -> dict[str, Any]:
        progress = self.progress()
        return {
            **self.common_fields(),
            "RestoreJobId": self.job_id,
            "RecoveryPointArn": self.recovery_point_arn,
            "SourceResourceArn": self.source_resource_arn,
            "BackupVaultArn": self.vault_arn,
            "CompletionDate": progress["CompletionDate"],
            "Status": progress["State"],
            "StatusMessage": progress["StatusMessage"],
            "PercentDone": progress["PercentDone"],
            "CreatedResourceArn": self.created_resource_arn,
            "RecoveryPointCreationDate": self.recovery_point_creation_date,
        }


def settle_due_jobs() -> None:
    """Finish every job whose time has come, so other services (e.g. RDS) see its effects, then
    delete the recovery points whose retention has ended (``Vault.expire``)."""
    now = CLOCK.now()
    with _SETTLE_LOCK:
        jobs = list(_UNSETTLED)
        vaults = list(_HOLDING)
    for job in jobs:
        job.settle_if_due(now)
    with _SETTLE_LOCK:
        for vault in vaults:
            expired = vault.expire(now)
            if not expired:
                continue
            address = state.VaultAddress.parse(vault.backup_vault_arn)
            if address is not None:
                tagger = state.backend(address.account, address.region).tagger
                for arn in expired:
                    tagger.delete_all_tags_for_resource(arn)


@contextmanager
def resetting() -> Iterator[None]:
    """Hold off settling while the emulator's state is reset, then forget the jobs and vaults
    ``settle_due_jobs`` looks at: a job of the old state never ends in the new one."""
    with _SETTLE_LOCK:
        yield
        _UNSETTLED.clear()
        _HOLDING.clear()
