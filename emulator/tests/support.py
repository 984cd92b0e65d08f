"""Shared test support: launching the emulator, the admin API, boto3 sessions per account,
job polling, and building the cross-account copy topology one prerequisite at a time."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from conformance import constant

EMULATOR_DIR = Path(__file__).resolve().parents[1]
RUN_PY = EMULATOR_DIR / "run.py"
WORLDS = EMULATOR_DIR / "worlds"
READY_PREFIX = "coffer-emulator listening on "
JOB_DELAY = 0.1
# The seed world's values; in conformance mode the AWS sandbox's (conformance.constant).
REGION = constant("region", "eu-west-1")
ORG_ID = constant("org_id", "o-coffer0seed")
MANAGEMENT = constant("management", "100200300400")
SOURCE = constant("source", "111222333444")
BACKUP = constant("backup", "666777888999")
ORG_PATH = constant("org_path", "o-coffer0seed/r-c0ff/ou-c0ff-w0rkload/")
BACKUP_ROLE = f"arn:aws:iam::{SOURCE}:role/service-role/AWSBackupDefaultServiceRole"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


class RunningEmulator:
    """A launched ``run.py`` process; stopped by PID."""

    def __init__(self, process: subprocess.Popen[str], url: str):
        self.process = process
        self.url = url

    @classmethod
    def start(cls, *args: str, timeout: float = 30.0) -> "RunningEmulator":
        process = subprocess.Popen(
            [sys.executable, str(RUN_PY), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            process.kill()
            process.wait()
            raise RuntimeError("emulator did not print its ready line") from None
        if not line.startswith(READY_PREFIX):
            process.kill()
            process.wait()
            raise RuntimeError(f"unexpected first line from emulator: {line!r}")
        return cls(process, line[len(READY_PREFIX) :].strip())

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.process.returncode


class Emulator:
    """Test-side handle: admin API, boto3 sessions per account, job polling."""

    def __init__(self, running: RunningEmulator):
        self.running = running
        self.url = running.url
        # One boto3 session (and so one botocore loader cache) for every client; credentials
        # are passed per client.
        self._boto = boto3.Session(region_name=REGION)
        self._credentials: dict[str, dict[str, str]] = {}

    # admin API
    def admin(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.url}/_coffer/{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return {"status": error.code, **json.loads(error.read())}

    def load_world(self, name: str = "seed.yaml", text: str | None = None) -> None:
        """Reset the emulator to a world; assumed-role credentials from before are forgotten."""
        result = self.admin("POST", "world", raw=text if text is not None else (WORLDS / name).read_text())
        assert result.get("loaded"), result
        self._credentials.clear()

    # AWS clients
    PLAIN_CREDENTIALS = {"aws_access_key_id": "AKIAPLAINTESTKEY", "aws_secret_access_key": "secret"}

    def credentials(self, account: str, role: str | None = None) -> dict[str, str]:
        """Credentials acting as ``account``: without ``role``, plain ones for the management
        account and ``CofferDeployRole`` (session ``coffer-tests``) elsewhere; with ``role``
        (a role name, e.g. ``OrganizationAccountAccessRole``), that role of the account."""
        if role is None and account == MANAGEMENT:
            return self.PLAIN_CREDENTIALS
        role = role or "CofferDeployRole"
        cached = account if role == "CofferDeployRole" else f"{account}/{role}"
        if cached not in self._credentials:
            sts = self._boto.client("sts", endpoint_url=self.url, **self.PLAIN_CREDENTIALS)
            issued = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="coffer-tests")[
                "Credentials"
            ]
            self._credentials[cached] = {
                "aws_access_key_id": issued["AccessKeyId"],
                "aws_secret_access_key": issued["SecretAccessKey"],
                "aws_session_token": issued["SessionToken"],
            }
        return self._credentials[cached]

    def client(
        self,
        service: str,
        account: str = MANAGEMENT,
        region: str = REGION,
        config: Config = NO_RETRIES,
        role: str | None = None,
    ) -> Any:
        return self._boto.client(
            service, endpoint_url=self.url, region_name=region, config=config, **self.credentials(account, role)
        )

    # jobs (``timeout``: seconds before a job that has not ended fails the test)
    def wait_backup_job(self, backup: Any, job_id: str, timeout: float = 15.0) -> dict[str, Any]:
        return _poll(lambda: backup.describe_backup_job(BackupJobId=job_id), "State", timeout)

    def wait_copy_job(self, backup: Any, job_id: str, timeout: float = 15.0) -> dict[str, Any]:
        return _poll(lambda: backup.describe_copy_job(CopyJobId=job_id)["CopyJob"], "State", timeout)

    def wait_restore_job(self, backup: Any, job_id: str, timeout: float = 15.0) -> dict[str, Any]:
        return _poll(lambda: backup.describe_restore_job(RestoreJobId=job_id), "Status", timeout)


def _poll(describe: Any, field: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = describe()
        if job[field] in ("COMPLETED", "FAILED", "ABORTED", "EXPIRED"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {job[field]} after {timeout}s")
        time.sleep(JOB_DELAY / 4)


# ----------------------------------------------------------------- policies


def failure_pattern(emu: Any, faults: dict[str, Any], account: str, calls: int = 24) -> list[bool]:
    """Set ``faults`` (which restarts their random sequence), then call ``GetCallerIdentity``
    ``calls`` times as ``account``: which calls succeeded."""
    from botocore.exceptions import ClientError

    sts = emu.client("sts", account)
    emu.admin("PUT", "faults", faults)
    outcome = []
    for _ in range(calls):
        try:
            sts.get_caller_identity()
            outcome.append(True)
        except ClientError:
            outcome.append(False)
    return outcome


def root(account: str) -> str:
    """The account's root principal, as policies name the whole account."""
    return f"arn:aws:iam::{account}:root"


def statement(
    effect: str, principal: Any, action: str | list[str], condition: dict[str, Any] | None = None, *, sid: str = ""
) -> dict[str, Any]:
    """A policy statement on every resource (``Resource: "*"``); ``principal`` as the document
    writes it (``"*"`` or ``{"AWS": ...}``); no ``Sid`` or ``Condition`` unless given."""
    made: dict[str, Any] = {"Sid": sid} if sid else {}
    made.update({"Effect": effect, "Principal": principal, "Action": action, "Resource": "*"})
    if condition is not None:
        made["Condition"] = condition
    return made


def policy_document(*statements: dict[str, Any]) -> dict[str, Any]:
    """A policy document (version 2012-10-17) of the statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


# ----------------------------------------------------------------- copy topology

ORDERS_ARN = f"arn:aws:rds:{REGION}:{SOURCE}:db:orders"
SOURCE_KEY_ALIAS = "alias/coffer/source-rds"


def key_policy(owner: str, shared_with: str | None) -> dict[str, Any]:
    """A key policy: the owner's root has kms:*; optionally another account gets the
    two-statement "use this key" sharing AWS documents for encrypted snapshot copies."""
    statements = [statement("Allow", {"AWS": root(owner)}, "kms:*", sid="Owner")]
    if shared_with is not None:
        use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        grants = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        for_aws = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        statements += [
            statement("Allow", {"AWS": root(shared_with)}, use, sid="UseKey"),
            statement("Allow", {"AWS": root(shared_with)}, grants, for_aws, sid="GrantsForAwsResources"),
        ]
    return policy_document(*statements)


def org_vault_policy() -> dict[str, Any]:
    """The documented "whole organization may copy into this vault" access policy."""
    return policy_document(
        statement("Allow", "*", "backup:CopyIntoBackupVault", {"StringEquals": {"aws:PrincipalOrgID": [ORG_ID]}})
    )


class CopySetup:
    """Source key + alias, backup-account key + vault (+ access policy), cross-account backup
    enabled, and a completed backup of ``orders`` in the source vault ``local``."""

    def __init__(
        self,
        emu: Emulator,
        *,
        share_source_key: bool = True,
        vault_policy: dict[str, Any] | None = None,
        with_vault_policy: bool = True,
        enable_cross_account: bool = True,
        destination_vault: str = "central",
    ):
        self.emu = emu
        source_kms = emu.client("kms", SOURCE)
        key = source_kms.create_key(Policy=json.dumps(key_policy(SOURCE, BACKUP if share_source_key else None)))
        self.source_key_arn = key["KeyMetadata"]["Arn"]
        source_kms.create_alias(AliasName=SOURCE_KEY_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])

        backup_kms = emu.client("kms", BACKUP)
        self.backup_key_arn = backup_kms.create_key(Policy=json.dumps(key_policy(BACKUP, None)))["KeyMetadata"]["Arn"]
        self.backup = emu.client("backup", BACKUP)
        self.backup.create_backup_vault(BackupVaultName=destination_vault, EncryptionKeyArn=self.backup_key_arn)
        self.destination_vault_arn = f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:{destination_vault}"
        if with_vault_policy:
            self.backup.put_backup_vault_access_policy(
                BackupVaultName=destination_vault, Policy=json.dumps(vault_policy or org_vault_policy())
            )
        if enable_cross_account:
            emu.client("backup", MANAGEMENT).update_global_settings(
                GlobalSettings={"isCrossAccountBackupEnabled": "true"}
            )

        self.source = local_vault(emu)
        job, done = backup_orders(emu, self.source, lifecycle={"DeleteAfterDays": 35})
        assert done["State"] == "COMPLETED", done
        self.recovery_point_arn = job["RecoveryPointArn"]

    def copy(self, lifecycle: dict[str, Any] | None = None, destination_vault_arn: str | None = None) -> dict[str, Any]:
        """Start a copy of the source recovery point and wait for it to end."""
        arguments: dict[str, Any] = {
            "RecoveryPointArn": self.recovery_point_arn,
            "SourceBackupVaultName": "local",
            "DestinationBackupVaultArn": destination_vault_arn or self.destination_vault_arn,
            "IamRoleArn": BACKUP_ROLE,
        }
        if lifecycle is not None:
            arguments["Lifecycle"] = lifecycle
        job = self.source.start_copy_job(**arguments)
        return self.emu.wait_copy_job(self.source, job["CopyJobId"])


def local_vault(emu: Any) -> Any:
    """The source account's Backup client, with its vault ``local`` created."""
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="local")
    return backup


def backup_orders(
    emu: Any, backup: Any, vault: str = "local", lifecycle: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A backup job of ``orders`` (the job's role ``BACKUP_ROLE``) into ``vault`` of the source
    account's Backup client ``backup``, waited for: StartBackupJob's answer and the ended job."""
    arguments: dict[str, Any] = {"BackupVaultName": vault, "ResourceArn": ORDERS_ARN, "IamRoleArn": BACKUP_ROLE}
    if lifecycle is not None:
        arguments["Lifecycle"] = lifecycle
    job = backup.start_backup_job(**arguments)
    return job, emu.wait_backup_job(backup, job["BackupJobId"])


def source_vault(emu: Any) -> tuple[Any, str]:
    """The source account's key behind ``SOURCE_KEY_ALIAS`` (so ``orders`` is encrypted with it)
    and its vault ``local``: the source account's Backup client and the key's ARN."""
    kms = emu.client("kms", SOURCE)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=SOURCE_KEY_ALIAS, TargetKeyId=key["KeyId"])
    return local_vault(emu), key["Arn"]
