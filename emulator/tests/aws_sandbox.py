"""Conformance mode's handle on the AWS sandbox (see conformance.py): the emulator handle's
interface for the tests, and the best-effort clean-up that stands for loading the seed world."""

import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from conformance import ENV, ConformanceError, EmulatorOnlyError, Settings, publish, settings

ADMIN_ROLE = "OrganizationAccountAccessRole"
SESSION_NAME = "coffer-tests"
# Job states after which a job changes no more (botocore model: BackupJobState, CopyJobState,
# RestoreJobStatus).
TERMINAL = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException")


class CleanupWarning(UserWarning):
    """Something the best-effort clean-up of the AWS sandbox could not remove or restore."""


# Real AWS throttles: clients made here default to standard retries (throttling, 5xx).
RETRYING = Config(retries={"mode": "standard", "max_attempts": 5})


class AwsSandbox:
    """Test-side handle on the AWS sandbox, with the emulator handle's interface.

    ``url`` is None (boto3's own endpoints) and ``PLAIN_CREDENTIALS`` empty (the default
    credential chain), so helpers that build clients from ``_boto`` reach AWS too. Every client
    made here records what the clean-up must find again: the keys it creates, the restore jobs it
    starts, the Regions it uses, and the global settings before their first change.
    """

    url = None
    PLAIN_CREDENTIALS: dict[str, str] = {}

    def __init__(self, config: Settings):
        self.settings = config
        self._boto = boto3.Session(region_name=config.region)
        self._credentials: dict[tuple[str, str], tuple[dict[str, str], datetime]] = {}
        self._regions: dict[str, set[str]] = {account: {config.region} for account in config.accounts}
        self._keys: set[str] = set()
        self._restores: dict[str, tuple[str, str]] = {}
        self._found_settings: dict[str, dict[str, str]] = {}
        self._protected_keys: set[str] = set()
        self.orders_arn = f"arn:aws:rds:{config.region}:{config.source}:db:orders"

    # emulator-only facilities
    def admin(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        raise EmulatorOnlyError(f"the admin API ({method} /_coffer/{path})")

    def load_world(self, name: str = "seed.yaml", text: str | None = None) -> None:
        """The seed world's equivalent on AWS: a best-effort clean-up (see ``clean_up``)."""
        if name != "seed.yaml" or text is not None:
            raise EmulatorOnlyError(f"a world other than the seed world ({name if text is None else 'text'})")
        self.clean_up()

    # AWS clients
    def credentials(self, account: str, role: str | None = None) -> dict[str, str]:
        """Credentials acting as ``account``: the default credential chain for the management
        account without ``role``; else ``role`` (default: the settings' role) of the account,
        assumed from the management account (session ``coffer-tests``)."""
        if role is None and account == self.settings.management:
            return self._default_credentials()
        role = role or self.settings.role
        cached = self._credentials.get((account, role))
        if cached is None or cached[1] - datetime.now(UTC) < timedelta(minutes=10):
            cached = self._assume(account, role)
            self._credentials[(account, role)] = cached
        return cached[0]

    def client(
        self,
        service: str,
        account: str | None = None,
        region: str | None = None,
        config: Any = None,
        role: str | None = None,
    ) -> Any:
        """A boto3 client acting as ``account`` (default: management) in ``region`` (default: the
        settings' Region); ``config`` defaults to standard retries."""
        account = account or self.settings.management
        region = region or self.settings.region
        self._regions.setdefault(account, set()).add(region)
        client = self._make(service, account, region, config, role)
        events = client.meta.events
        events.register("after-call.kms.CreateKey", self._record_key)
        events.register("after-call.backup.StartRestoreJob", partial(self._record_restore, account, region))
        if account == self.settings.management:
            events.register("before-call.backup.UpdateGlobalSettings", partial(self._remember_settings, region))
        return client

    def _make(self, service: str, account: str, region: str, config: Any = None, role: str | None = None) -> Any:
        return self._boto.client(
            service, region_name=region, config=config or RETRYING, **self.credentials(account, role)
        )

    def _default_credentials(self) -> dict[str, str]:
        found = self._boto.get_credentials()
        if found is None:
            raise ConformanceError(f"{ENV}: no AWS credentials for the management account (default credential chain)")
        frozen = found.get_frozen_credentials()
        issued = {"aws_access_key_id": frozen.access_key, "aws_secret_access_key": frozen.secret_key}
        if frozen.token:
            issued["aws_session_token"] = frozen.token
        return issued

    def _assume(self, account: str, role: str) -> tuple[dict[str, str], datetime]:
        sts = self._boto.client(
            "sts", region_name=self.settings.region, config=RETRYING, **self._default_credentials()
        )
        issued = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName=SESSION_NAME)[
            "Credentials"
        ]
        credentials = {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }
        return credentials, issued["Expiration"]

    # jobs: AWS takes minutes (an RDS snapshot, a copy, a restore)
    def wait_backup_job(self, backup: Any, job_id: str) -> dict[str, Any]:
        return self._poll(lambda: backup.describe_backup_job(BackupJobId=job_id), "State")

    def wait_copy_job(self, backup: Any, job_id: str) -> dict[str, Any]:
        return self._poll(lambda: backup.describe_copy_job(CopyJobId=job_id)["CopyJob"], "State")

    def wait_restore_job(self, backup: Any, job_id: str) -> dict[str, Any]:
        return self._poll(lambda: backup.describe_restore_job(RestoreJobId=job_id), "Status")

    def _poll(self, describe: Callable[[], dict[str, Any]], field: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.settings.job_timeout_seconds
        while True:
            job = describe()
            if job[field] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {job[field]} after {self.settings.job_timeout_seconds}s")
            time.sleep(self.settings.poll_seconds)

    # what the clean-up must find again
    def _record_key(self, parsed: dict[str, Any], **_: Any) -> None:
        arn = parsed.get("KeyMetadata", {}).get("Arn")
        if arn:
            self._keys.add(arn)

    def _record_restore(self, account: str, region: str, parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("RestoreJobId"):
            self._restores[parsed["RestoreJobId"]] = (account, region)

    def _remember_settings(self, region: str, **_: Any) -> None:
        if region not in self._found_settings:
            described = self._call(self.settings.management, region, "backup", "describe_global_settings")
            self._found_settings[region] = dict(described.get("GlobalSettings", {}))

    # session start
    def check_identity(self) -> None:
        """The default credentials must act as the management account (the clean-up deletes)."""
        sts = self._make("sts", self.settings.management, self.settings.region)
        account = sts.get_caller_identity()["Account"]
        if account != self.settings.management:
            raise ConformanceError(
                f"{ENV}: the default credentials act as account {account}, not the management account "
                f"{self.settings.management}"
            )

    def discover_organization(self) -> tuple[str, str]:
        """(organization ID, Organizations path of the source account) from AWS Organizations;
        the management account must be the organization's and the backup account a member."""
        organizations = self._make("organizations", self.settings.management, self.settings.region)
        organization = organizations.describe_organization()["Organization"]
        if organization["MasterAccountId"] != self.settings.management:
            raise ConformanceError(
                f"{ENV}: management {self.settings.management} is not the management account of "
                f"{organization['Id']} ({organization['MasterAccountId']} is)"
            )
        self._parents(organizations, self.settings.backup)  # fails if not in the organization
        path = self._parents(organizations, self.settings.source)
        return organization["Id"], "/".join([organization["Id"], *path]) + "/"

    @staticmethod
    def _parents(organizations: Any, child: str) -> list[str]:
        """Root first, down to the child's parent."""
        chain = []
        while True:
            (parent,) = organizations.list_parents(ChildId=child)["Parents"]
            chain.append(parent["Id"])
            if parent["Type"] == "ROOT":
                return list(reversed(chain))
            child = parent["Id"]

    def protect_orders_key(self) -> None:
        """The clean-up never schedules the deletion of the key encrypting ``orders``."""
        rds = self._make("rds", self.settings.source, self.settings.region)
        (instance,) = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
        if instance.get("KmsKeyId"):
            self._protected_keys.add(instance["KmsKeyId"])

    # clean-up
    def clean_up(self, final: bool = False) -> None:
        """Best effort, never run against AWS by this project: in each account and Region used,
        delete backup plans (selections first), vaults (access policy, lock, recovery points
        first), aliases under ``alias/coffer/`` and aliases of keys this session created; schedule
        the deletion of those keys (7 days); delete DB instances restore jobs created; put back
        global settings changed. What it cannot do becomes a ``CleanupWarning``."""
        problems: list[str] = []
        for account in self.settings.accounts:
            for region in sorted(self._regions.get(account, ())):
                problems += self._attempt(f"{account}/{region} backup", partial(self._backup, account, region))
                problems += self._attempt(f"{account}/{region} kms", partial(self._kms, account, region))
        problems += self._attempt("restored DB instances", partial(self._restored_instances, final))
        problems += self._attempt("global settings", self._restore_settings)
        for problem in problems:
            warnings.warn(CleanupWarning(problem), stacklevel=2)

    @staticmethod
    def _attempt(what: str, step: Callable[[], list[str] | None]) -> list[str]:
        try:
            return step() or []
        except (BotoCoreError, ClientError) as error:
            return [f"clean-up of {what}: {error}"]

    def _roles(self, account: str) -> list[str | None]:
        """Identities the clean-up tries in turn when refused: the tests' own, then the
        administrator role (exempt from the tests' guard policies)."""
        first: list[str | None] = [None]
        return first + ([ADMIN_ROLE] if account != self.settings.management else [])

    def _call(self, account: str, region: str, service: str, operation: str, **params: Any) -> dict[str, Any]:
        refused: ClientError | None = None
        for role in self._roles(account):
            client = self._make(service, account, region, role=role)
            try:
                return getattr(client, operation)(**params)
            except ClientError as error:
                if error.response["Error"]["Code"] not in ACCESS_DENIED:
                    raise
                refused = error
        assert refused is not None
        raise refused

    def _list(self, account: str, region: str, service: str, operation: str, key: str, **params: Any) -> list[Any]:
        """Every page: Backup's NextToken, or KMS's Marker / NextMarker."""
        token_in, token_out = ("Marker", "NextMarker") if service == "kms" else ("NextToken", "NextToken")
        items: list[Any] = []
        while True:
            page = self._call(account, region, service, operation, **params)
            items += page.get(key, [])
            if not page.get(token_out):
                return items
            params[token_in] = page[token_out]

    def _backup(self, account: str, region: str) -> list[str]:
        call = partial(self._call, account, region, "backup")
        listed = partial(self._list, account, region, "backup")
        for plan in listed("list_backup_plans", "BackupPlansList"):
            plan_id = plan["BackupPlanId"]
            for selection in listed("list_backup_selections", "BackupSelectionsList", BackupPlanId=plan_id):
                call("delete_backup_selection", BackupPlanId=plan_id, SelectionId=selection["SelectionId"])
            call("delete_backup_plan", BackupPlanId=plan_id)
        problems = []
        for vault in listed("list_backup_vaults", "BackupVaultList"):
            problems += self._attempt(
                f"vault {vault['BackupVaultArn']}", partial(self._delete_vault, account, region, vault)
            )
        return problems

    def _delete_vault(self, account: str, region: str, vault: dict[str, Any]) -> list[str]:
        """Access policy first (the tests' guards deny deletions), then the lock (a governance
        lock, or a compliance lock in its grace time), the recovery points, the vault."""
        name, arn = vault["BackupVaultName"], vault["BackupVaultArn"]
        call = partial(self._call, account, region, "backup")
        points = partial(self._list, account, region, "backup", "list_recovery_points_by_backup_vault")
        try:
            call("delete_backup_vault_access_policy", BackupVaultName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        if vault.get("Locked"):
            call("delete_backup_vault_lock_configuration", BackupVaultName=name)
        refused = []
        for point in points("RecoveryPoints", BackupVaultName=name):
            if point.get("Status") != "DELETING":
                try:
                    call("delete_recovery_point", BackupVaultName=name, RecoveryPointArn=point["RecoveryPointArn"])
                except ClientError as error:
                    refused.append(f"{point['RecoveryPointArn']} ({error})")
        if refused:
            return [f"vault {arn} left: its recovery points could not be deleted: {'; '.join(refused)}"]
        deadline = time.monotonic() + self.settings.cleanup_timeout_seconds
        while points("RecoveryPoints", BackupVaultName=name) or not self._vault_deleted(call, name):
            if time.monotonic() > deadline:
                return [f"vault {arn} left: still not empty after {self.settings.cleanup_timeout_seconds}s"]
            time.sleep(self.settings.poll_seconds)
        return []

    @staticmethod
    def _vault_deleted(call: Callable[..., Any], name: str) -> bool:
        """DeleteBackupVault; AWS may still count just-deleted recovery points for a while
        (docs/aws-behaviour.md §3.3): False to try again."""
        try:
            call("delete_backup_vault", BackupVaultName=name)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "InvalidRequestException":
                return False
            raise

    def _kms(self, account: str, region: str) -> list[str]:
        created = {arn for arn in self._keys if arn.split(":")[3:5] == [region, account]}
        doomed = {arn.rsplit("/", 1)[1] for arn in created}
        for alias in self._list(account, region, "kms", "list_aliases", "Aliases"):
            name, target = alias["AliasName"], alias.get("TargetKeyId")
            if name.startswith("alias/coffer/") or target in doomed:
                self._call(account, region, "kms", "delete_alias", AliasName=name)
                if target:
                    doomed.add(target)
        self._keys -= created
        problems = []
        for key_id in sorted(doomed):
            problems += self._attempt(f"key {key_id}", partial(self._retire, account, region, key_id))
        return problems

    def _retire(self, account: str, region: str, key_id: str) -> list[str]:
        key = self._call(account, region, "kms", "describe_key", KeyId=key_id)["KeyMetadata"]
        if key["Arn"] in self._protected_keys or key_id in self._protected_keys:
            return [f"key {key['Arn']} encrypts the sandbox's orders instance: its alias was removed, the key kept"]
        if key["KeyManager"] == "CUSTOMER" and key["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion"):
            self._call(account, region, "kms", "schedule_key_deletion", KeyId=key_id, PendingWindowInDays=7)
        return []

    def _restored_instances(self, final: bool) -> list[str]:
        """Delete the DB instances restore jobs of this session created (never ``orders``);
        jobs still running are looked at again by the next clean-up, or waited for at the end."""
        deadline = time.monotonic() + (self.settings.cleanup_timeout_seconds if final else 0)
        while self._restores:
            for job_id, (account, region) in list(self._restores.items()):
                job = self._call(account, region, "backup", "describe_restore_job", RestoreJobId=job_id)
                if job["Status"] not in TERMINAL:
                    continue
                del self._restores[job_id]
                created = job.get("CreatedResourceArn") or ""
                if job["Status"] == "COMPLETED" and ":db:" in created and created != self.orders_arn:
                    self._call(
                        account, region, "rds", "delete_db_instance",
                        DBInstanceIdentifier=created.split(":db:", 1)[1],
                        SkipFinalSnapshot=True,
                        DeleteAutomatedBackups=True,
                    )
            if not self._restores or time.monotonic() > deadline:
                break
            time.sleep(self.settings.poll_seconds)
        if final and self._restores:
            return [f"restore jobs still running, their DB instances left: {', '.join(sorted(self._restores))}"]
        return []

    def _restore_settings(self) -> None:
        for region, found in self._found_settings.items():
            now = self._call(self.settings.management, region, "backup", "describe_global_settings")
            changed = {k: v for k, v in found.items() if now.get("GlobalSettings", {}).get(k) != v}
            if changed:
                self._call(self.settings.management, region, "backup", "update_global_settings", GlobalSettings=changed)


def sandbox_session() -> Iterator[AwsSandbox]:
    """The session fixture's body in conformance mode: check the credentials, discover the
    organization (``publish``), protect the ``orders`` key; clean up at the end."""
    current = settings()
    assert current is not None
    sandbox = AwsSandbox(current)
    sandbox.check_identity()
    publish(*sandbox.discover_organization())
    sandbox.protect_orders_key()
    try:
        yield sandbox
    finally:
        sandbox.clean_up(final=True)
