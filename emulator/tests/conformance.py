"""Conformance mode: the emulator's tests run against a real AWS sandbox organization.

Off by default. With ``COFFER_CONFORMANCE`` set (a JSON object, or the path of a JSON or YAML
file holding one), no emulator is started: the ``emulator`` / ``emu`` fixtures give an
``AwsSandbox`` handle with the interface the tests use (``client``, ``credentials``,
``wait_*_job``, ``load_world``), whose clients talk to AWS: the default credential chain for the
management account, ``sts:AssumeRole`` into the configured role for the other accounts. The
constants of support.py (accounts, Region, organization) come from :func:`constant`.

Settings (account IDs are quoted 12-digit strings)::

    {"management": "ID", "source": "ID", "backup": "ID",      # required
     "role": "CofferDeployRole", "region": "eu-west-1",       # defaults shown
     "org_id": "o-...", "org_path": "o-.../r-.../ou-.../",    # optional, else discovered
     "poll_seconds": 30, "job_timeout_seconds": 10800, "cleanup_timeout_seconds": 1800}

Nothing here contacts AWS at import or collection time: the organization is discovered
(``DescribeOrganization``, ``ListParents``) by the session fixture (:func:`sandbox_session`).
Tests marked ``emulator_only(reason=...)`` are deselected in conformance mode; in emulator mode
the mark changes nothing. Exercised here only as far as selecting and skipping; never run
against AWS by this project's CI (see emulator/README.md, "Conformance mode").
"""

import json
import os
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ENV = "COFFER_CONFORMANCE"
MARKER = "emulator_only"
MARKER_HELP = (
    f"{MARKER}(reason='<category>: <detail>'): the test cannot run against real AWS (categories: clock, faults, "
    "request log, admin API, world, launcher, job delay, eventual consistency, emulator-only feature, policy "
    f"engine, unsafe on AWS); deselected when {ENV} is set"
)
TESTS_DIR = Path(__file__).resolve().parent
# Stands for ORG_ID / ORG_PATH until the session fixture has discovered them (see ``publish``).
PLACEHOLDER = "<discovered at session start>"
ADMIN_ROLE = "OrganizationAccountAccessRole"
SESSION_NAME = "coffer-tests"
ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")
REGION_NAME_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
ORG_PATH_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}/r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*$")
# Job states after which a job changes no more (botocore model: BackupJobState, CopyJobState,
# RestoreJobStatus).
TERMINAL = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException")


class ConformanceError(Exception):
    """A conformance-mode problem the user must fix; the message names ``COFFER_CONFORMANCE``."""


class EmulatorOnlyError(RuntimeError):
    """A test reached an emulator-only facility while running against AWS."""

    def __init__(self, facility: str):
        super().__init__(
            f"{facility} exists only in the emulator; mark the test "
            f"@pytest.mark.{MARKER}(reason=...) so that {ENV} deselects it"
        )


class CleanupWarning(UserWarning):
    """Something the best-effort clean-up of the AWS sandbox could not remove or restore."""


# ----------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The sandbox described by ``COFFER_CONFORMANCE``."""

    management: str
    source: str
    backup: str
    role: str = "CofferDeployRole"
    region: str = "eu-west-1"
    org_id: str | None = None
    org_path: str | None = None
    poll_seconds: float = 30.0
    job_timeout_seconds: float = 10800.0
    cleanup_timeout_seconds: float = 1800.0

    @property
    def accounts(self) -> tuple[str, str, str]:
        return (self.management, self.source, self.backup)


REQUIRED = ("management", "source", "backup")
NUMBERS = ("poll_seconds", "job_timeout_seconds", "cleanup_timeout_seconds")
PATTERNS = {
    "role": ROLE_NAME_PATTERN,
    "region": REGION_NAME_PATTERN,
    "org_id": ORG_ID_PATTERN,
    "org_path": ORG_PATH_PATTERN,
}


def settings() -> Settings | None:
    """The conformance settings, or None when ``COFFER_CONFORMANCE`` is unset or empty."""
    raw = os.environ.get(ENV, "").strip()
    return parse(raw) if raw else None


def enabled() -> bool:
    """Whether the tests run against AWS (``COFFER_CONFORMANCE`` set)."""
    return settings() is not None


@cache
def parse(raw: str) -> Settings:
    """Settings from the variable's value: a JSON object, or the path of a JSON/YAML file."""
    return validate(_document(raw))


def _document(raw: str) -> Any:
    if raw.startswith("{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConformanceError(f"{ENV} is not valid JSON: {error}") from None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConformanceError(f"{ENV}={raw!r} is neither a JSON object nor the path of an existing file")
    text = path.read_text()
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConformanceError(f"{ENV}: {path} is not valid JSON: {error}") from None
    except yaml.YAMLError as error:
        raise ConformanceError(f"{ENV}: {path} is not valid YAML: {error}") from None


def validate(document: Any) -> Settings:
    """Check every key of the settings document; the first problem is a ``ConformanceError``."""
    if not isinstance(document, dict):
        raise ConformanceError(f"{ENV} must hold an object with the keys {', '.join(REQUIRED)}")
    known = [f.name for f in fields(Settings)]
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise ConformanceError(f"{ENV}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise ConformanceError(f"{ENV}: missing key(s) {', '.join(missing)} (account IDs of the sandbox)")
    for key in REQUIRED:
        _check_account(key, document[key])
    if len({document[key] for key in REQUIRED}) != len(REQUIRED):
        raise ConformanceError(f"{ENV}: management, source and backup must be three different accounts")
    for key, pattern in PATTERNS.items():
        value = document.get(key)
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            raise ConformanceError(f"{ENV}: {key} {value!r} does not match {pattern.pattern}")
    for key in NUMBERS:
        value = document.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConformanceError(f"{ENV}: {key} must be a positive number of seconds, not {value!r}")
    return Settings(**document)


def _check_account(key: str, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConformanceError(f"{ENV}: {key} must be a quoted string of 12 digits, not the number {value}")
    if not (isinstance(value, str) and ACCOUNT_ID_PATTERN.match(value)):
        raise ConformanceError(f"{ENV}: {key} must be an AWS account ID (12 digits), not {value!r}")


def constant(name: str, emulated: str) -> str:
    """A constant of support.py: ``emulated`` (the seed world's value) in emulator mode, else the
    sandbox's value. ``org_id`` / ``org_path`` not given in the settings are ``PLACEHOLDER``
    until the session fixture has discovered them."""
    current = settings()
    if current is None:
        return emulated
    value = getattr(current, name)
    return value if value is not None else f"<{name.upper()}: {PLACEHOLDER}>"


# ----------------------------------------------------------------------------- pytest glue


def configure(config: pytest.Config) -> None:
    """Register the ``emulator_only`` marker (both modes)."""
    config.addinivalue_line("markers", MARKER_HELP)


def report_header() -> list[str]:
    """The session header line that says the run is against AWS (conformance mode only)."""
    current = settings()
    if current is None:
        return []
    return [
        f"conformance mode ({ENV}): real AWS, no emulator; management {current.management}, "
        f"source {current.source}, backup {current.backup}, role {current.role}, Region {current.region}"
    ]


def reason_of(mark: pytest.Mark) -> str:
    """The mark's reason (keyword or first argument); empty when missing or not a string."""
    reason = mark.kwargs.get("reason", mark.args[0] if mark.args else "")
    return reason if isinstance(reason, str) else ""


_REASONS = pytest.StashKey[Counter[str]]()


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In conformance mode: deselect ``emulator_only`` tests (each mark must give a reason), and
    skip cases whose parameters were computed from an organization value not yet discovered."""
    if not enabled():
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    reasons: Counter[str] = Counter()
    for item in items:
        mark = item.get_closest_marker(MARKER)
        if mark is None:
            kept.append(item)
            continue
        reason = reason_of(mark)
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{MARKER} needs a reason (reason='...')")
        dropped.append(item)
        reasons[reason.split(":", 1)[0]] += 1
    for item in kept:
        if _uses_placeholder(item):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"its parameters name the organization, computed before discovery: give org_id and "
                    f"org_path in {ENV} to run it"
                )
            )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[_REASONS] = reasons


def report_selection(config: pytest.Config) -> list[str]:
    """One line per reason category of the deselected tests (conformance mode only)."""
    reasons = config.stash.get(_REASONS, Counter[str]())
    if not reasons:
        return []
    total = sum(reasons.values())
    lines = [f"conformance mode: {total} emulator-only tests deselected:"]
    lines += [f"  {count:4d}  {reason}" for reason, count in sorted(reasons.items())]
    return lines


def _uses_placeholder(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and PLACEHOLDER in repr(callspec.params)


def publish(org_id: str, org_path: str, modules: Iterable[Any] | None = None) -> None:
    """Give ORG_ID / ORG_PATH their discovered values wherever the tests' modules still hold the
    placeholder (support.py, and test modules that imported the names); a value given in the
    settings must match what was discovered."""
    current = settings()
    assert current is not None
    for name, configured, found in (("org_id", current.org_id, org_id), ("org_path", current.org_path, org_path)):
        if configured is not None and configured != found:
            raise ConformanceError(f"{ENV}: {name} is {configured!r}, but the organization has {found!r}")
    values = {"ORG_ID": org_id, "ORG_PATH": org_path}
    for module in modules if modules is not None else list(sys.modules.values()):
        if not str(getattr(module, "__file__", None) or "").startswith(str(TESTS_DIR)):
            continue
        for name, value in values.items():
            held = getattr(module, name, None)
            if isinstance(held, str) and PLACEHOLDER in held:
                setattr(module, name, value)


# ----------------------------------------------------------------------------- the AWS handle


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
