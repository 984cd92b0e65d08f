"""Helpers for the end-to-end tests: the `coffer` binary run against the emulator, and the
independent boto3 side (out-of-band resources, an inventory of what exists).

The emulator launcher, the admin API and the AssumeRole boto3 clients are the emulator
tests' own (``emulator/tests/support.py``, on the path by tests/conftest.py), imported here
rather than copied.
"""

import json
import os
import pty
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import (
    BACKUP,
    MANAGEMENT,
    ORDERS_ARN,
    ORG_ID,
    REGION,
    SOURCE,
    Emulator,
    policy_document,
    root,
    statement,
)

REPO = Path(__file__).resolve().parents[2]

TOPOLOGY = REPO / "examples" / "seed" / "topology.yaml"
ACCOUNTS = (MANAGEMENT, SOURCE, BACKUP)
TOPOLOGY_TAGS = {"team": "platform", "coffer:topology": "seed"}
SOURCE_KEY_ALIAS = "alias/coffer/source-rds"
BACKUP_KEY_ALIAS = "alias/coffer/backup-vault"
SOURCE_VAULT = "orders-source"
CENTRAL_VAULT = "central"
CENTRAL_VAULT_ARN = f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:{CENTRAL_VAULT}"
PLAN_NAME = "orders-daily"
SELECTION_NAME = "orders-db"
SELECTION_ROLE = f"arn:aws:iam::{SOURCE}:role/service-role/AWSBackupDefaultServiceRole"
COFFER_ROLE = "CofferDeployRole"

# Every resource of the seed topology, as `coffer plan` addresses them.
TOPOLOGY_ADDRESSES = {
    "key.source-rds",
    "key.backup-vault",
    "alias.source-rds",
    "alias.backup-vault",
    "vault.source",
    "vault.central",
    "vault_policy.source",
    "vault_policy.central",
    "vault_lock.central",
    "backup_plan.orders-daily",
    "selection.orders-daily.orders-db",
    "cross_account_backup.eu-west-1",
}


def coffer_binary() -> Path:
    """`target/debug/coffer` of this repository, or `$CARGO_TARGET_DIR/debug/coffer`."""
    target = os.environ.get("CARGO_TARGET_DIR")
    base = Path(target) if target else REPO / "target"
    if not base.is_absolute():
        base = REPO / base
    return base / "debug" / "coffer"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


class Coffer:
    """Runs the coffer binary against one emulator, with base credentials only (Coffer assumes
    `CofferDeployRole` in each account itself) and nothing from the user's AWS configuration."""

    def __init__(self, binary: Path, endpoint_url: str):
        self.binary = binary
        self.endpoint_url = endpoint_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": "/nonexistent/coffer-e2e/config",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/coffer-e2e/credentials",
                "NO_PROXY": "127.0.0.1,localhost",
                "NO_COLOR": "1",
            }
        )
        self.env = env

    def command(self, subcommand: str, *args: str, topology: Path = TOPOLOGY) -> list[str]:
        return [
            str(self.binary),
            subcommand,
            "-f",
            str(topology),
            "--endpoint-url",
            self.endpoint_url,
            *args,
        ]

    def run(
        self,
        subcommand: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 180,
        topology: Path = TOPOLOGY,
    ) -> Result:
        completed = subprocess.run(
            self.command(subcommand, *args, topology=topology),
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def start(
        self, subcommand: str, *args: str, env: dict[str, str] | None = None, stdin: Any = subprocess.DEVNULL
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(subcommand, *args),
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_on_terminal(self, subcommand: str, *args: str) -> tuple[subprocess.Popen[str], int]:
        """Starts coffer with a pseudo-terminal as standard input; returns the process and the
        terminal's primary side (to type on; the caller closes it)."""
        primary, secondary = pty.openpty()
        try:
            return self.start(subcommand, *args, stdin=secondary), primary
        finally:
            os.close(secondary)

    def plan(self, *args: str) -> Result:
        return self.run("plan", "--detailed-exitcode", *args)

    def plan_json(self) -> tuple[Result, dict[str, Any]]:
        result = self.plan("--format", "json")
        assert result.code in (0, 2), result
        return result, result.json()

    def apply(self, *args: str, env: dict[str, str] | None = None, topology: Path = TOPOLOGY) -> Result:
        return self.run("apply", "--auto-approve", *args, env=env, topology=topology)

    def assert_converged(self) -> None:
        result = self.plan()
        assert result.code == 0, f"`coffer plan --detailed-exitcode` should find no changes:\n{result}"


def changed(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["action"] != "no-op"]


# ------------------------------------------------------------------ boto3 side


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key) or [])
    return items


LOCK_PREFIX = "coffer-lock-seed-"


def lock_generations(emu: Emulator) -> dict[int, dict[str, str]]:
    """The seed topology's apply lock: generation -> the tags of its vault
    (`coffer-lock-seed-<generation>` in the management account)."""
    backup = emu.client("backup", MANAGEMENT)
    found = {}
    for vault in paginate(backup, "list_backup_vaults", "BackupVaultList"):
        rest = vault["BackupVaultName"].removeprefix(LOCK_PREFIX)
        if rest != vault["BackupVaultName"] and rest.isdigit():
            try:
                found[int(rest)] = backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
            except backup.exceptions.ResourceNotFoundException:
                continue  # deleted between the two calls
    return found


def lock_held(emu: Emulator) -> bool:
    """Whether an apply holds the seed topology's lock: its highest generation is not released."""
    generations = lock_generations(emu)
    return bool(generations) and "coffer:lock-released" not in generations[max(generations)]


def coffer_tags(coffer_id: str) -> dict[str, str]:
    return {**TOPOLOGY_TAGS, "coffer:id": coffer_id}


def source_key_policy() -> dict[str, Any]:
    """The policy Coffer generates for `keys.source-rds` (policy.rs: account root, key use and
    grants for AWS resources for the `usable_by` accounts), written with the statements and
    the actions in another order on purpose: order carries no meaning."""
    grants = ["kms:RevokeGrant", "kms:CreateGrant", "kms:ListGrants"]
    use = ["kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Encrypt", "kms:DescribeKey", "kms:Decrypt"]
    for_aws = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    return policy_document(
        statement("Allow", {"AWS": [root(BACKUP)]}, grants, for_aws, sid="CofferKeyGrantsForAwsResources"),
        statement("Allow", {"AWS": [root(BACKUP)]}, use, sid="CofferKeyUse"),
        statement("Allow", {"AWS": root(SOURCE)}, "kms:*", sid="CofferAccountRoot"),
    )


BREAK_GLASS_ROLE = f"arn:aws:iam::{BACKUP}:role/BreakGlass"
COFFER_ROLE_ARN_BACKUP = f"arn:aws:iam::{BACKUP}:role/{COFFER_ROLE}"


def backup_key_policy() -> dict[str, Any]:
    """The backup account's key encrypts the guarded central vault, so it carries the key
    guard: disabling, deleting and re-policying it only for Coffer's role and break-glass;
    grants only from its own account."""
    guarded = ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"]
    exempt = {"ArnNotLike": {"aws:PrincipalArn": [BREAK_GLASS_ROLE, COFFER_ROLE_ARN_BACKUP]}}
    foreign = {"StringNotEquals": {"kms:CallerAccount": BACKUP}}
    not_for_aws = {
        "StringNotEquals": {"kms:CallerAccount": BACKUP},
        "BoolIfExists": {"kms:GrantIsForAWSResource": "false"},
    }
    return policy_document(
        statement("Allow", {"AWS": root(BACKUP)}, "kms:*", sid="CofferAccountRoot"),
        statement("Deny", "*", guarded, exempt, sid="CofferKeyGuard"),
        statement("Deny", "*", "kms:CreateGrant", foreign, sid="CofferKeyGuardForeignGrants"),
        statement("Deny", "*", "kms:CreateGrant", not_for_aws, sid="CofferKeyGuardGrantsOnlyForAwsServices"),
    )


def source_vault_policy() -> dict[str, Any]:
    return policy_document(
        statement("Allow", {"AWS": [root(BACKUP)]}, "backup:CopyIntoBackupVault", sid="CofferCopyFromAccounts")
    )


def central_vault_policy() -> dict[str, Any]:
    """The organization may copy in; the deletion guard leaves recovery points to break-glass
    and the policy and lock to Coffer's role and break-glass. The denies come first here
    (Coffer writes them last)."""
    deletions = ["backup:UpdateRecoveryPointLifecycle", "backup:DeleteRecoveryPoint", "backup:DeleteBackupVault"]
    guard_changes = [
        "backup:PutBackupVaultAccessPolicy",
        "backup:DeleteBackupVaultAccessPolicy",
        "backup:PutBackupVaultLockConfiguration",
        "backup:DeleteBackupVaultLockConfiguration",
    ]
    only_break_glass = {"ArnNotLike": {"aws:PrincipalArn": [BREAK_GLASS_ROLE]}}
    coffer_or_break_glass = {"ArnNotLike": {"aws:PrincipalArn": [COFFER_ROLE_ARN_BACKUP, BREAK_GLASS_ROLE]}}
    organization = {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
    return policy_document(
        statement("Deny", "*", deletions, only_break_glass, sid="CofferDenyRecoveryPointDeletion"),
        statement("Deny", "*", guard_changes, coffer_or_break_glass, sid="CofferDenyGuardChanges"),
        statement("Allow", "*", "backup:CopyIntoBackupVault", organization, sid="CofferCopyFromOrganization"),
    )


def backup_and_copy_orders(
    emu: Emulator, copy_retention_days: int, timeout: float = 15.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the topology's plan would do (the emulator stores plans but never runs them): a
    backup job of `orders` into the source vault (kept 35 days), then a copy job of its recovery
    point into the central vault kept `copy_retention_days` days, each waited for (at most
    `timeout` seconds) and completed. Returns both jobs as they ended (backup, copy)."""
    source = emu.client("backup", SOURCE)
    job = source.start_backup_job(
        BackupVaultName=SOURCE_VAULT, ResourceArn=ORDERS_ARN, IamRoleArn=SELECTION_ROLE, Lifecycle={"DeleteAfterDays": 35}
    )
    backed_up = emu.wait_backup_job(source, job["BackupJobId"], timeout)
    assert backed_up["State"] == "COMPLETED", backed_up
    copy = source.start_copy_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        SourceBackupVaultName=SOURCE_VAULT,
        DestinationBackupVaultArn=CENTRAL_VAULT_ARN,
        IamRoleArn=SELECTION_ROLE,
        Lifecycle={"DeleteAfterDays": copy_retention_days},
    )
    copied = emu.wait_copy_job(source, copy["CopyJobId"], timeout)
    assert copied["State"] == "COMPLETED", copied
    return backed_up, copied


def plan_rule(copy_delete_after_days: int = 90) -> dict[str, Any]:
    return {
        "RuleName": "daily",
        "TargetBackupVaultName": SOURCE_VAULT,
        "ScheduleExpression": "cron(0 5 ? * * *)",
        "StartWindowMinutes": 60,
        "CompletionWindowMinutes": 480,
        "Lifecycle": {"DeleteAfterDays": 35},
        "CopyActions": [
            {
                "DestinationBackupVaultArn": CENTRAL_VAULT_ARN,
                "Lifecycle": {"DeleteAfterDays": copy_delete_after_days},
            }
        ],
    }


def create_topology_out_of_band(emu: Emulator) -> dict[str, str]:
    """Creates every resource of examples/seed/topology.yaml with boto3, exactly as the file
    describes it (ownership tags included), and returns the key and plan IDs."""
    created: dict[str, str] = {}
    keys = {
        SOURCE: (
            "source-rds",
            SOURCE_KEY_ALIAS,
            "Encrypts the orders database and its backups; usable by the backup account",
            source_key_policy(),
        ),
        BACKUP: (
            "backup-vault",
            BACKUP_KEY_ALIAS,
            "Encrypts the central vault; never shared with the source accounts",
            backup_key_policy(),
        ),
    }
    for account, (name, alias, description, policy) in keys.items():
        kms = emu.client("kms", account)
        tags = coffer_tags(f"key/{name}")
        metadata = kms.create_key(
            Description=description,
            Policy=json.dumps(policy),
            Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()],
        )["KeyMetadata"]
        # Rotation: the file's 365 days for source-rds, the default 365 for backup-vault.
        kms.enable_key_rotation(KeyId=metadata["KeyId"], RotationPeriodInDays=365)
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        created[f"key/{name}"] = metadata["Arn"]

    vaults = {
        SOURCE: (SOURCE_VAULT, "source", created["key/source-rds"], source_vault_policy()),
        BACKUP: (CENTRAL_VAULT, "central", created["key/backup-vault"], central_vault_policy()),
    }
    for account, (vault, name, key, policy) in vaults.items():
        backup = emu.client("backup", account)
        backup.create_backup_vault(BackupVaultName=vault, EncryptionKeyArn=key, BackupVaultTags=coffer_tags(f"vault/{name}"))
        backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(policy))
    # Governance mode: no ChangeableForDays.
    emu.client("backup", BACKUP).put_backup_vault_lock_configuration(
        BackupVaultName=CENTRAL_VAULT, MinRetentionDays=7, MaxRetentionDays=400
    )

    emu.client("backup", MANAGEMENT).update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})

    source_backup = emu.client("backup", SOURCE)
    plan = source_backup.create_backup_plan(
        BackupPlan={"BackupPlanName": PLAN_NAME, "Rules": [plan_rule()]},
        BackupPlanTags=coffer_tags(f"backup_plan/{PLAN_NAME}"),
    )
    source_backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={"SelectionName": SELECTION_NAME, "IamRoleArn": SELECTION_ROLE, "Resources": [ORDERS_ARN]},
    )
    created["plan_id"] = plan["BackupPlanId"]
    return created


def key_arn(emu: Emulator, account: str, alias: str) -> str:
    return emu.client("kms", account).describe_key(KeyId=alias)["KeyMetadata"]["Arn"]


def plan_id(emu: Emulator) -> str:
    (plan,) = [p for p in paginate(emu.client("backup", SOURCE), "list_backup_plans", "BackupPlansList")]
    return plan["BackupPlanId"]


@dataclass
class Inventory:
    """What exists in the topology's accounts, as boto3 sees it."""

    # (account, coffer:id) -> number of customer managed keys with that tag not pending deletion
    active_keys: Counter[tuple[str, str]]
    # account -> customer managed keys, pending deletion included
    total_keys: dict[str, int]
    pending_keys: dict[str, int]
    aliases: dict[str, dict[str, str]]  # account -> alias name -> target key id (Coffer's aliases)
    vaults: dict[str, list[str]]  # account -> vault names
    plans: dict[str, list[str]]  # account -> plan names
    selections: dict[str, list[str]]  # plan ID -> selection names

    def expected_counts_problems(self) -> list[str]:
        """Differences from exactly one of everything the seed topology declares."""
        problems = []
        wanted_keys = Counter({(SOURCE, "key/source-rds"): 1, (BACKUP, "key/backup-vault"): 1})
        if self.active_keys != wanted_keys:
            problems.append(f"active Coffer keys {dict(self.active_keys)} != {dict(wanted_keys)}")
        wanted_vaults = {MANAGEMENT: [], SOURCE: [SOURCE_VAULT], BACKUP: [CENTRAL_VAULT]}
        if self.vaults != wanted_vaults:
            problems.append(f"vaults {self.vaults} != {wanted_vaults} (no held coffer-lock-* vault may be left)")
        wanted_plans = {MANAGEMENT: [], SOURCE: [PLAN_NAME], BACKUP: []}
        if self.plans != wanted_plans:
            problems.append(f"backup plans {self.plans} != {wanted_plans}")
        if sorted(self.selections.values()) != [[SELECTION_NAME]]:
            problems.append(f"selections {self.selections} != one plan with [{SELECTION_NAME!r}]")
        return problems


def inventory(emu: Emulator) -> Inventory:
    active: Counter[tuple[str, str]] = Counter()
    total: dict[str, int] = {}
    pending: dict[str, int] = {}
    aliases: dict[str, dict[str, str]] = {}
    vaults: dict[str, list[str]] = {}
    plans: dict[str, list[str]] = {}
    selections: dict[str, list[str]] = {}
    for account in ACCOUNTS:
        kms = emu.client("kms", account)
        total[account] = pending[account] = 0
        for entry in paginate(kms, "list_keys", "Keys"):
            metadata = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
            if metadata.get("KeyManager") != "CUSTOMER":
                continue
            total[account] += 1
            if metadata["KeyState"] == "PendingDeletion":
                pending[account] += 1
                continue
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=entry["KeyId"])["Tags"]}
            if "coffer:id" in tags:
                active[(account, tags["coffer:id"])] += 1
        aliases[account] = {
            a["AliasName"]: a.get("TargetKeyId", "")
            for a in paginate(kms, "list_aliases", "Aliases")
            if a["AliasName"].startswith("alias/coffer/")
        }
        backup = emu.client("backup", account)
        # A released generation of the apply lock stays until the next apply takes the next one.
        released = {
            f"{LOCK_PREFIX}{g}"
            for g, tags in (lock_generations(emu) if account == MANAGEMENT else {}).items()
            if "coffer:lock-released" in tags
        }
        listed = paginate(backup, "list_backup_vaults", "BackupVaultList")
        vaults[account] = sorted(v["BackupVaultName"] for v in listed if v["BackupVaultName"] not in released)
        listed = paginate(backup, "list_backup_plans", "BackupPlansList")
        plans[account] = sorted(p["BackupPlanName"] for p in listed)
        for plan in listed:
            selections[plan["BackupPlanId"]] = sorted(
                s["SelectionName"]
                for s in paginate(
                    backup, "list_backup_selections", "BackupSelectionsList", BackupPlanId=plan["BackupPlanId"]
                )
            )
    return Inventory(active, total, pending, aliases, vaults, plans, selections)


def allowed_actions(policy: dict[str, Any], principal: str) -> set[str]:
    """Actions the Allow statements of a policy grant to `principal` (exact principal match)."""
    statements = policy["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    actions: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        principals = statement.get("Principal", {})
        aws = principals.get("AWS", []) if isinstance(principals, dict) else principals
        aws = [aws] if isinstance(aws, str) else aws
        if principal in aws or principal.split(":")[4] in aws:
            listed = statement.get("Action", [])
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


# ------------------------------------------------------------------ topology variants


def topology_variant(directory: Path, name: str, *replacements: tuple[str, str]) -> Path:
    """Writes examples/seed/topology.yaml with each (old, new) text replaced, exactly once
    each, to ``directory/name.yaml`` and returns its path."""
    text = TOPOLOGY.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {TOPOLOGY}"
        text = text.replace(old, new)
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path
