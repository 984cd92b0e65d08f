"""The deletion guard and the key guard end to end, attacked by an intruder.

After `coffer apply` of the seed topology and one copy in the central vault, an administrator of
the backup account (`Administrator`: neither Coffer nor break-glass) tries to destroy that copy,
its key, or the guard itself; every attempt is refused by a resource policy
(`AccessDeniedException`, an explicit deny) and nothing changes. Coffer's own role may not delete
the copy either; the break-glass role may delete the vault policy, and Coffer then puts its
guard back and converges. The same attacks against the topology with the guard off succeed (or,
with the lock kept, the recovery point is held by the lock, not by a policy), so this test can
fail.

Identity model of the emulator: every role is an administrator of its own account; only the
vault access policies and the KMS key policies decide (emulator/coffer_emulator/authz.py).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from coffer_e2e import (
    BACKUP_KEY_ALIAS,
    CENTRAL_VAULT,
    COFFER_ROLE,
    TOPOLOGY,
    Coffer,
    backup_and_copy_orders,
    paginate,
    root,
    topology_variant,
)
from support import BACKUP, NO_RETRIES, REGION, SOURCE, Emulator

INTRUDER = "Administrator"
BREAK_GLASS = "BreakGlass"
BREAK_GLASS_ARN = f"arn:aws:iam::{BACKUP}:role/{BREAK_GLASS}"
COFFER_ROLE_ARN = f"arn:aws:iam::{BACKUP}:role/{COFFER_ROLE}"
# Copies kept 90 days: inside the central vault's lock (7..400 days).
COPY_RETENTION_DAYS = 90
# Generous, only against hangs: jobs end after the emulator's job delay (0.2 s in these tests).
JOB_TIMEOUT_SECONDS = 120

# The Sids and the actions of the generated guards (crates/planner/src/policy.rs).
SID_DELETION_GUARD = "CofferDenyRecoveryPointDeletion"
SID_GUARD_CHANGES = "CofferDenyGuardChanges"
SID_KEY_GUARD = "CofferKeyGuard"
DELETION_GUARD_ACTIONS = {
    "backup:DeleteBackupVault",
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
}
GUARD_CHANGE_ACTIONS = {
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
}
KEY_GUARD_ACTIONS = {"kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}

# The intruder's replacement vault policy: everyone may do everything that matters (actions
# listed one by one: AWS Backup refuses a wildcard in Action, so the policy itself is valid).
ALLOW_ALL_VAULT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "IntruderAllowAll",
            "Effect": "Allow",
            "Principal": "*",
            "Action": sorted(DELETION_GUARD_ACTIONS | GUARD_CHANGE_ACTIONS | {"backup:CopyIntoBackupVault"}),
            "Resource": "*",
        }
    ],
}
# The intruder's replacement key policy: the account root only (passes KMS's lockout check).
ROOT_ONLY_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "IntruderRootOnly",
            "Effect": "Allow",
            "Principal": {"AWS": root(BACKUP)},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


# ------------------------------------------------------------------ clients per role


class Roles:
    """boto3 clients acting as a named IAM role of the backup account (AssumeRole from the
    emulator's plain credentials), one session per role, cached."""

    def __init__(self, emu: Emulator):
        self.emu = emu
        self._session = boto3.Session(region_name=REGION)
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def credentials(self, role: str) -> dict[str, str]:
        if role not in self._credentials:
            sts = self._session.client(
                "sts", endpoint_url=self.emu.url, config=NO_RETRIES, **Emulator.PLAIN_CREDENTIALS
            )
            issued = sts.assume_role(
                RoleArn=f"arn:aws:iam::{BACKUP}:role/{role}", RoleSessionName="coffer-guard-e2e"
            )["Credentials"]
            self._credentials[role] = {
                "aws_access_key_id": issued["AccessKeyId"],
                "aws_secret_access_key": issued["SecretAccessKey"],
                "aws_session_token": issued["SessionToken"],
            }
        return self._credentials[role]

    def client(self, service: str, role: str) -> Any:
        if (service, role) not in self._clients:
            self._clients[(service, role)] = self._session.client(
                service, endpoint_url=self.emu.url, config=NO_RETRIES, **self.credentials(role)
            )
        return self._clients[(service, role)]

    def backup(self, role: str) -> Any:
        return self.client("backup", role)

    def kms(self, role: str) -> Any:
        return self.client("kms", role)


@pytest.fixture
def roles(emu: Emulator) -> Roles:
    return Roles(emu)


# ------------------------------------------------------------------ helpers


def make_copy(emu: Emulator) -> str:
    """One recovery point of `orders` in the central vault, as the topology's plan would make it,
    kept COPY_RETENTION_DAYS days. Returns the copy's ARN."""
    _, copied = backup_and_copy_orders(emu, COPY_RETENTION_DAYS, JOB_TIMEOUT_SECONDS)
    arn = copied["DestinationRecoveryPointArn"]
    assert [p["RecoveryPointArn"] for p in central_recovery_points(emu)] == [arn]
    return arn


def central_recovery_points(emu: Emulator) -> list[dict[str, Any]]:
    """The central vault's recovery points, listed with Coffer's role."""
    return paginate(
        emu.client("backup", BACKUP),
        "list_recovery_points_by_backup_vault",
        "RecoveryPoints",
        BackupVaultName=CENTRAL_VAULT,
    )


def central_key(emu: Emulator) -> dict[str, Any]:
    """The central vault's key (alias/coffer/backup-vault), described with Coffer's role."""
    return emu.client("kms", BACKUP).describe_key(KeyId=BACKUP_KEY_ALIAS)["KeyMetadata"]


def key_policy(emu: Emulator, key_id: str) -> dict[str, Any]:
    return json.loads(emu.client("kms", BACKUP).get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def vault_policy(emu: Emulator) -> dict[str, Any] | None:
    """The central vault's access policy (read with Coffer's role), None without one."""
    try:
        text = emu.client("backup", BACKUP).get_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)["Policy"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException", error.response
        return None
    return json.loads(text)


def statements_by_sid(policy: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if policy is None:
        return {}
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    return {s.get("Sid", ""): s for s in statements}


def listed(value: Any) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def exempt_principals(statement: dict[str, Any]) -> set[str]:
    return listed(statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"])


def assert_vault_guard(policy: dict[str, Any] | None, *, copy_from: set[str] = frozenset()) -> None:
    """The central vault's policy carries the deletion guard as Coffer generates it."""
    sids = statements_by_sid(policy)
    assert SID_DELETION_GUARD in sids and SID_GUARD_CHANGES in sids, f"the vault guard is missing: {policy}"
    deletion, changes = sids[SID_DELETION_GUARD], sids[SID_GUARD_CHANGES]
    for statement, actions in ((deletion, DELETION_GUARD_ACTIONS), (changes, GUARD_CHANGE_ACTIONS)):
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*", statement
        assert listed(statement["Action"]) == actions, statement
    assert exempt_principals(deletion) == {BREAK_GLASS_ARN}, deletion
    assert exempt_principals(changes) == {COFFER_ROLE_ARN, BREAK_GLASS_ARN}, changes
    if copy_from:
        allow = sids.get("CofferCopyFromAccounts")
        assert allow is not None, f"no CofferCopyFromAccounts statement: {policy}"
        assert listed(allow["Principal"]["AWS"]) == copy_from, allow


def assert_key_guard(policy: dict[str, Any]) -> None:
    sids = statements_by_sid(policy)
    assert SID_KEY_GUARD in sids, f"the key guard is missing: {policy}"
    guard = sids[SID_KEY_GUARD]
    assert guard["Effect"] == "Deny" and listed(guard["Action"]) == KEY_GUARD_ACTIONS, guard
    assert exempt_principals(guard) == {COFFER_ROLE_ARN, BREAK_GLASS_ARN}, guard


def outcome(call: Callable[[], Any]) -> ClientError | None:
    """None when the call succeeds, else its error."""
    try:
        call()
    except ClientError as error:
        return error
    return None


def describe(error: ClientError | None) -> str:
    if error is None:
        return "it succeeded"
    return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"


def denial_problem(error: ClientError | None, action: str) -> str | None:
    """Why `error` is not the refusal of `action` by an explicit deny of a resource policy."""
    if error is None:
        return "it succeeded"
    code = error.response["Error"].get("Code")
    message = error.response["Error"].get("Message") or ""
    if code != "AccessDeniedException":
        return f"{code} instead of AccessDeniedException ({message})"
    if f"is not authorized to perform: {action}" not in message:
        return f"the message does not name {action}: {message}"
    if "explicit deny" not in message:
        return f"refused, but not by an explicit deny of a resource policy: {message}"
    return None


def attack(who: str, attempts: list[tuple[str, Callable[[], Any]]]) -> list[str]:
    """Runs every attempt (`kms:Action` / `backup:Action`, call) of role `who` in order, and
    returns one line for each that was not refused by an explicit deny, so a run shows every
    gap at once."""
    problems = []
    for action, call in attempts:
        problem = denial_problem(outcome(call), action)
        if problem is not None:
            problems.append(f"{who} {action}: {problem}")
    return problems


def assert_succeeds(call: Callable[[], Any], what: str) -> None:
    error = outcome(call)
    assert error is None, f"{what} should succeed with the guard off: {describe(error)}"


def apply(coffer: Coffer, topology: Path) -> None:
    result = coffer.apply(topology=topology)
    assert result.code == 0, result


def plan_detailed(coffer: Coffer, topology: Path, *args: str):  # type: ignore[no-untyped-def]
    return coffer.run("plan", "--detailed-exitcode", *args, topology=topology)


def intruder_attempts(backup: Any, kms: Any, copy_arn: str, key_id: str) -> list[tuple[str, Callable[[], Any]]]:
    """The intruder's attempts on the copy and the key first, then on the guard (so that a guard
    lifted by a gap does not hide the other gaps), then on the lock and the policy itself."""
    return [
        (
            "backup:DeleteRecoveryPoint",
            lambda: backup.delete_recovery_point(BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy_arn),
        ),
        (
            "backup:UpdateRecoveryPointLifecycle",
            # Shorter, yet inside the lock's bounds: only a policy can refuse it.
            lambda: backup.update_recovery_point_lifecycle(
                BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy_arn, Lifecycle={"DeleteAfterDays": 8}
            ),
        ),
        ("backup:DeleteBackupVault", lambda: backup.delete_backup_vault(BackupVaultName=CENTRAL_VAULT)),
        ("kms:DisableKey", lambda: kms.disable_key(KeyId=key_id)),
        ("kms:ScheduleKeyDeletion", lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)),
        (
            "kms:PutKeyPolicy",
            lambda: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(ROOT_ONLY_KEY_POLICY)),
        ),
        (
            "backup:PutBackupVaultAccessPolicy",
            lambda: backup.put_backup_vault_access_policy(
                BackupVaultName=CENTRAL_VAULT, Policy=json.dumps(ALLOW_ALL_VAULT_POLICY)
            ),
        ),
        (
            "backup:DeleteBackupVaultLockConfiguration",
            lambda: backup.delete_backup_vault_lock_configuration(BackupVaultName=CENTRAL_VAULT),
        ),
        (
            "backup:DeleteBackupVaultAccessPolicy",
            lambda: backup.delete_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT),
        ),
    ]


def changes_since(
    emu: Emulator,
    roles: Any,
    copy_arn: str,
    key: dict[str, Any],
    key_policy_before: dict[str, Any],
    policy_before: dict[str, Any] | None,
) -> list[str]:
    """One line for each thing that is not as before the attacks: the copy and its retention,
    the central vault's key (`key`, as described before), both policies, the lock."""
    problems = []
    listed_after = paginate(
        roles.backup(BREAK_GLASS),
        "list_recovery_points_by_backup_vault",
        "RecoveryPoints",
        BackupVaultName=CENTRAL_VAULT,
    )
    after = {p["RecoveryPointArn"]: p for p in listed_after}
    if copy_arn not in after:
        problems.append(f"the copy {copy_arn} is gone")
    elif after[copy_arn].get("Lifecycle", {}).get("DeleteAfterDays") != COPY_RETENTION_DAYS:
        problems.append(f"the copy's retention changed: {after[copy_arn].get('Lifecycle')}")
    key_after = central_key(emu)
    if key_after["KeyState"] != "Enabled":
        problems.append(f"the key {key['Arn']} is {key_after['KeyState']}")
    if key_policy(emu, key["KeyId"]) != key_policy_before:
        problems.append("the key policy changed")
    if vault_policy(emu) != policy_before:
        problems.append(f"the vault policy changed: {vault_policy(emu)}")
    vault_after = emu.client("backup", BACKUP).describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    if not vault_after.get("Locked") or vault_after.get("MinRetentionDays") != 7:
        lock_fields = {k: vault_after.get(k) for k in ("Locked", "MinRetentionDays", "MaxRetentionDays")}
        problems.append(f"the lock changed: {lock_fields}")
    return problems


# ------------------------------------------------------------------ guard on


def test_guard_refuses_the_intruder_and_coffer_still_converges(emu, coffer, roles, tmp_path):
    apply(coffer, TOPOLOGY)
    copy_arn = make_copy(emu)
    key = central_key(emu)
    key_id = key["KeyId"]
    assert key["KeyState"] == "Enabled", key
    policy_before = vault_policy(emu)
    assert_vault_guard(policy_before)
    key_policy_before = key_policy(emu, key_id)
    assert_key_guard(key_policy_before)
    vault_before = emu.client("backup", BACKUP).describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    assert vault_before["Locked"] is True and vault_before["MinRetentionDays"] == 7, vault_before

    # The intruder (an administrator of the backup account) resolves the key by its alias.
    intruder_backup, intruder_kms = roles.backup(INTRUDER), roles.kms(INTRUDER)
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in paginate(intruder_kms, "list_aliases", "Aliases")}
    assert aliases.get(BACKUP_KEY_ALIAS) == key_id, aliases

    problems = attack(INTRUDER, intruder_attempts(intruder_backup, intruder_kms, copy_arn, key_id))

    # Coffer's own role may change the guard, never delete a copy.
    problems += attack(
        COFFER_ROLE,
        [
            (
                "backup:DeleteRecoveryPoint",
                lambda: roles.backup(COFFER_ROLE).delete_recovery_point(
                    BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy_arn
                ),
            )
        ]
    )

    # Nothing changed: the copy and its retention, the key, both policies, the lock.
    problems += changes_since(emu, roles, copy_arn, key, key_policy_before, policy_before)
    assert problems == [], "the guard let the intruder through:\n" + "\n".join(problems)

    # Break-glass may lift the guard.
    glass = roles.backup(BREAK_GLASS)
    glass.delete_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)
    assert vault_policy(emu) is None
    gone = plan_detailed(coffer, TOPOLOGY, "--format", "json")
    assert gone.code == 2, f"Coffer should see the deleted vault policy\n{gone}"
    changed = {c["address"]: c["action"] for c in gone.json()["changes"] if c["action"] != "no-op"}
    assert set(changed) == {"vault_policy.central"}, changed

    # Coffer converges again, with a changed vault policy and key description.
    description = "Encrypts the central vault; guarded against its own administrators"
    edited = topology_variant(
        tmp_path,
        "edited",
        ("      organization: true\n", "      organization: true\n      allow_copy_from: [source]\n"),
        (
            "    description: Encrypts the central vault; never shared with the source accounts\n",
            f"    description: {description}\n",
        ),
    )
    apply(coffer, edited)
    converged = plan_detailed(coffer, edited)
    assert converged.code == 0, f"`coffer plan --detailed-exitcode` should find no changes\n{converged}"

    assert_vault_guard(vault_policy(emu), copy_from={root(SOURCE)})
    key_now = central_key(emu)
    assert key_now["Description"] == description, key_now
    assert key_now["KeyState"] == "Enabled", key_now
    assert_key_guard(key_policy(emu, key_id))
    assert [p["RecoveryPointArn"] for p in central_recovery_points(emu)] == [copy_arn]

    # The guard is in force again.
    again = attack(
        INTRUDER,
        [
            (
                "backup:DeleteBackupVaultAccessPolicy",
                lambda: intruder_backup.delete_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT),
            ),
            (
                "backup:DeleteRecoveryPoint",
                lambda: intruder_backup.delete_recovery_point(BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy_arn),
            ),
        ]
    )
    assert again == [], "after Coffer put the guard back:\n" + "\n".join(again)


# ------------------------------------------------------------------ guard off

GUARD_OFF = (
    "      deny_recovery_point_deletion: true\n      break_glass_principals: [arn:aws:iam::666777888999:role/BreakGlass]\n",
    "      deny_recovery_point_deletion: false\n",
)
NO_LOCK = (
    "    lock:\n"
    "      # Governance mode (no changeable_for_days): removable by authorised users.\n"
    "      min_retention_days: 7\n"
    "      max_retention_days: 400\n",
    "",
)


@pytest.mark.parametrize("lock", [False, True], ids=["without-lock", "with-lock"])
def test_without_the_guard_the_intruder_succeeds(emu, coffer, roles, tmp_path, lock):
    replacements = (GUARD_OFF,) if lock else (GUARD_OFF, NO_LOCK)
    topology = topology_variant(tmp_path, "guard-off", *replacements)
    apply(coffer, topology)
    copy_arn = make_copy(emu)
    key = central_key(emu)
    key_id = key["KeyId"]
    # Really off: no guard statement in either policy.
    sids = set(statements_by_sid(vault_policy(emu)))
    assert not sids & {SID_DELETION_GUARD, SID_GUARD_CHANGES}, sids
    assert SID_KEY_GUARD not in statements_by_sid(key_policy(emu, key_id))
    vault = emu.client("backup", BACKUP).describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    assert bool(vault.get("Locked")) is lock, vault

    intruder_backup, intruder_kms = roles.backup(INTRUDER), roles.kms(INTRUDER)
    assert_succeeds(
        lambda: intruder_backup.delete_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT),
        "DeleteBackupVaultAccessPolicy",
    )
    assert vault_policy(emu) is None

    delete_copy = lambda: intruder_backup.delete_recovery_point(  # noqa: E731
        BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy_arn
    )
    if lock:
        # The lock alone holds the copy until its retention ends: refused by the lock (the
        # emulator's InvalidRequestException), not by a policy...
        error = outcome(delete_copy)
        assert error is not None, "the Backup Vault Lock should hold the copy"
        assert error.response["Error"]["Code"] == "InvalidRequestException", describe(error)
        assert "Backup Vault Lock" in error.response["Error"]["Message"], describe(error)
        # ...but a governance-mode lock is removable by the same administrator.
        assert_succeeds(
            lambda: intruder_backup.delete_backup_vault_lock_configuration(BackupVaultName=CENTRAL_VAULT),
            "DeleteBackupVaultLockConfiguration (governance mode)",
        )
    assert_succeeds(delete_copy, "DeleteRecoveryPoint")
    assert central_recovery_points(emu) == []

    assert_succeeds(lambda: intruder_kms.disable_key(KeyId=key_id), "DisableKey")
    assert central_key(emu)["KeyState"] == "Disabled"
