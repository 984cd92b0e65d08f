"""Backup, copy and restore jobs: starting them, and reading them (``JobOperations``, part of the
backend). The jobs themselves, and how they run, are ``jobs.py``'s."""

from typing import Any, TypeVar

from moto.organizations.models import organizations_backends
from moto.rds.models import rds_backends

from .. import keys, orgs, service_roles
from . import lifecycle as lifecycles
from . import state
from .errors import InvalidParameterValue, InvalidRequest, ResourceNotFound
from .jobs import BackupJob, CopyJob, Job, JobStart, JobTiming, RestoreJob
from .models import Vault
from .vault_operations import RDS_DB_ARN, VaultOperations

JobT = TypeVar("JobT", bound=Job)


class JobOperations(VaultOperations):
    """The backend's backup, copy and restore jobs by ID: the jobs this account started here."""

    backup_jobs: dict[str, BackupJob]
    copy_jobs: dict[str, CopyJob]
    restore_jobs: dict[str, RestoreJob]

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

    def _earlier_job(
        self,
        jobs: dict[str, JobT],
        holder: Vault | None,
        action: str,
        resource_arn: str | None,
        iam_role_arn: str,
        idempotency_token: str | None,
    ) -> JobT | None:
        """What every Start*Job checks first: the caller may do ``backup:<action>`` on the vault
        that holds the resource (when there is one; ``resource_arn`` None: the vault itself), and
        AWS Backup can assume the job's role. Then a retry with the ``IdempotencyToken`` of a job
        started earlier gets that job (a retry does nothing new)."""
        if holder is not None:
            self.authorize(holder, action, resource_arn)
        service_roles.require_assumable_role(self.account_id, iam_role_arn)
        if not idempotency_token:
            return None
        return next((job for job in jobs.values() if job.idempotency_token == idempotency_token), None)

    def _start(self, iam_role_arn: str, idempotency_token: str | None) -> JobStart:
        return JobStart(self.account_id, self.region_name, iam_role_arn, idempotency_token, JobTiming.delay_seconds)

    @staticmethod
    def _started(jobs: dict[str, JobT], job: JobT) -> JobT:
        jobs[job.job_id] = job
        return job

    def start_backup_job(
        self,
        backup_vault_name: str,
        resource_arn: str,
        iam_role_arn: str,
        idempotency_token: str | None,
        lifecycle: dict[str, Any] | None,
    ) -> BackupJob:
        holder = self.vaults.get(backup_vault_name)
        earlier = self._earlier_job(self.backup_jobs, holder, "StartBackupJob", None, iam_role_arn, idempotency_token)
        if earlier is not None:
            return earlier
        lifecycles.validate(lifecycle)
        vault = self._vault(backup_vault_name)
        match = RDS_DB_ARN.match(resource_arn or "")
        if match is None or match["account"] != self.account_id or match["region"] != self.region_name:
            raise InvalidParameterValue(
                f"Invalid ResourceArn {resource_arn}: the emulator backs up RDS DB instances of "
                f"account {self.account_id} in {self.region_name} (arn:aws:rds:<region>:<account>:db:<id>)"
            )
        snapshot = self._rds_snapshot(match["id"])
        job = BackupJob(self._start(iam_role_arn, idempotency_token), vault, resource_arn, lifecycle, snapshot)
        return self._started(self.backup_jobs, job)

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
        holder = self.vaults.get(source_backup_vault_name)
        earlier = self._earlier_job(
            self.copy_jobs, holder, "StartCopyJob", recovery_point_arn, iam_role_arn, idempotency_token
        )
        if earlier is not None:
            return earlier
        lifecycles.validate(lifecycle)
        vault, point = self.recovery_point(source_backup_vault_name, recovery_point_arn, "StartCopyJob")
        destination = state.VaultAddress.parse(destination_backup_vault_arn)
        if destination is None:
            raise InvalidParameterValue(f"Invalid DestinationBackupVaultArn: {destination_backup_vault_arn}")
        job = CopyJob(self._start(iam_role_arn, idempotency_token), vault, point, destination, lifecycle)
        return self._started(self.copy_jobs, job)

    def start_restore_job(
        self,
        recovery_point_arn: str,
        metadata: dict[str, str] | None,
        iam_role_arn: str,
        idempotency_token: str | None,
        resource_type: str | None,
    ) -> RestoreJob:
        holder = next((v for v in self.vaults.values() if recovery_point_arn in v.recovery_points), None)
        earlier = self._earlier_job(
            self.restore_jobs, holder, "StartRestoreJob", recovery_point_arn, iam_role_arn, idempotency_token
        )
        if earlier is not None:
            return earlier
        vault, point = self._find_recovery_point(recovery_point_arn, "StartRestoreJob")
        if resource_type not in (None, point.resource_type):
            raise InvalidParameterValue(
                f"ResourceType {resource_type} does not match the recovery point ({point.resource_type})"
            )
        if not any(k.lower() == "dbinstanceidentifier" for k in (metadata or {})):
            raise InvalidParameterValue("Restore metadata must contain DBInstanceIdentifier")
        job = RestoreJob(self._start(iam_role_arn, idempotency_token), vault, point, metadata or {})
        return self._started(self.restore_jobs, job)

    @staticmethod
    def _job(jobs: dict[str, JobT], job_id: str, kind: str) -> JobT:
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
