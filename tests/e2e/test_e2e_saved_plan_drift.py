"""The reviewed-plan workflow after drift: `coffer plan --out p.json`, then
`coffer apply -f topology.yaml p.json` (what `examples/github-actions/apply.yml` runs).

For each kind of out-of-band change, and for adoptions, the saved plan must be accepted as
the plan Coffer computes at apply time (it is read back from JSON: nothing may be lost on the
way), repair AWS without --allow-weaken (every repair here restores protection), and leave
nothing for the next plan. Each case starts from the freshly loaded seed world.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from coffer_e2e import (
    BACKUP_KEY_ALIAS,
    CENTRAL_VAULT,
    PLAN_NAME,
    SOURCE_KEY_ALIAS,
    SOURCE_VAULT,
    TOPOLOGY,
    Coffer,
    changed,
    paginate,
    plan_id,
    plan_rule,
    root,
    topology_variant,
)
from support import BACKUP, MANAGEMENT, REGION, SOURCE, Emulator, statement

BREAK_GLASS = "BreakGlass"  # arn:aws:iam::666777888999:role/BreakGlass, exempt from the guard


# ------------------------------------------------------------------ drifts (boto3, out of band)


def key_id_of(emu: Emulator, account: str, alias: str) -> str:
    # GetKeyRotationStatus and the rotation calls take a key ID or ARN, not an alias.
    return emu.client("kms", account).describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]


def rotation_off(account: str, alias: str) -> Callable[[Emulator], None]:
    def drift(emu: Emulator) -> None:
        kms = emu.client("kms", account)
        key_id = key_id_of(emu, account, alias)
        kms.disable_key_rotation(KeyId=key_id)
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False

    return drift


def rotation_period(emu: Emulator) -> None:
    kms = emu.client("kms", SOURCE)
    key_id = key_id_of(emu, SOURCE, SOURCE_KEY_ALIAS)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 180


def key_description(emu: Emulator) -> None:
    emu.client("kms", SOURCE).update_key_description(
        KeyId=key_id_of(emu, SOURCE, SOURCE_KEY_ALIAS), Description="changed by hand"
    )


def vault_policy_deleted(emu: Emulator) -> None:
    # The guard lets only Coffer's role and break-glass change the central vault's policy.
    backup = emu.client("backup", BACKUP, role=BREAK_GLASS)
    backup.delete_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)


def copy_allowed_by_hand(backup: Any, vault: str, account: str) -> None:
    """Adds to the vault's access policy a statement letting ``account`` copy into it."""
    policy = json.loads(backup.get_backup_vault_access_policy(BackupVaultName=vault)["Policy"])
    policy["Statement"].append(
        statement("Allow", {"AWS": root(account)}, "backup:CopyIntoBackupVault", sid="AddedByHand")
    )
    backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps(policy))


def vault_policy_edited(emu: Emulator) -> None:
    copy_allowed_by_hand(emu.client("backup", BACKUP, role=BREAK_GLASS), CENTRAL_VAULT, SOURCE)


def source_vault_policy_edited(emu: Emulator) -> None:
    copy_allowed_by_hand(emu.client("backup", SOURCE), SOURCE_VAULT, MANAGEMENT)


def vault_lock_removed(emu: Emulator) -> None:
    # Governance mode: removable, by the roles the guard exempts.
    backup = emu.client("backup", BACKUP, role=BREAK_GLASS)
    backup.delete_backup_vault_lock_configuration(BackupVaultName=CENTRAL_VAULT)
    assert backup.describe_backup_vault(BackupVaultName=CENTRAL_VAULT)["Locked"] is False


def copy_retention(emu: Emulator) -> None:
    emu.client("backup", SOURCE).update_backup_plan(
        BackupPlanId=plan_id(emu),
        BackupPlan={"BackupPlanName": PLAN_NAME, "Rules": [plan_rule(copy_delete_after_days=30)]},
    )


def cross_account_off(emu: Emulator) -> None:
    emu.client("backup", MANAGEMENT).update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})


# ------------------------------------------------------------------ repaired (boto3 checks)


def rotation_is(account: str, alias: str, days: int = 365) -> Callable[[Emulator], None]:
    def check(emu: Emulator) -> None:
        status = emu.client("kms", account).get_key_rotation_status(KeyId=key_id_of(emu, account, alias))
        assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == days, status

    return check


def description_is_the_files(emu: Emulator) -> None:
    description = emu.client("kms", SOURCE).describe_key(KeyId=SOURCE_KEY_ALIAS)["KeyMetadata"]["Description"]
    assert description.startswith("Encrypts the orders database"), description


def central_policy_is_the_guard(emu: Emulator) -> None:
    policy = json.loads(emu.client("backup", BACKUP).get_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)["Policy"])
    sids = sorted(s.get("Sid", "") for s in policy["Statement"])
    assert sids == ["CofferCopyFromOrganization", "CofferDenyGuardChanges", "CofferDenyRecoveryPointDeletion"], sids


def source_policy_is_the_files(emu: Emulator) -> None:
    policy = json.loads(emu.client("backup", SOURCE).get_backup_vault_access_policy(BackupVaultName=SOURCE_VAULT)["Policy"])
    sids = [s.get("Sid", "") for s in policy["Statement"]]
    assert sids == ["CofferCopyFromAccounts"], sids


def central_is_locked(emu: Emulator) -> None:
    vault = emu.client("backup", BACKUP).describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    assert vault["Locked"] is True, vault
    assert (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 400), vault


def copies_kept_90_days(emu: Emulator) -> None:
    plan = emu.client("backup", SOURCE).get_backup_plan(BackupPlanId=plan_id(emu))["BackupPlan"]
    (rule,) = plan["Rules"]
    (copy,) = rule["CopyActions"]
    assert copy["Lifecycle"]["DeleteAfterDays"] == 90, copy


def cross_account_is_on(emu: Emulator) -> None:
    settings = emu.client("backup", MANAGEMENT).describe_global_settings()["GlobalSettings"]
    assert settings["isCrossAccountBackupEnabled"] == "true", settings


DRIFTS: dict[str, tuple[Callable[[Emulator], None], str, Callable[[Emulator], None]]] = {
    # The backup key's rotation period is the default (unset in the file), the source key's 365.
    "key-rotation-off-default-period": (
        rotation_off(BACKUP, BACKUP_KEY_ALIAS),
        "key.backup-vault",
        rotation_is(BACKUP, BACKUP_KEY_ALIAS),
    ),
    "key-rotation-off-period-in-file": (
        rotation_off(SOURCE, SOURCE_KEY_ALIAS),
        "key.source-rds",
        rotation_is(SOURCE, SOURCE_KEY_ALIAS),
    ),
    "key-rotation-period": (rotation_period, "key.source-rds", rotation_is(SOURCE, SOURCE_KEY_ALIAS)),
    "key-description": (key_description, "key.source-rds", description_is_the_files),
    "vault-policy-deleted": (vault_policy_deleted, "vault_policy.central", central_policy_is_the_guard),
    "vault-policy-edited": (vault_policy_edited, "vault_policy.central", central_policy_is_the_guard),
    "source-vault-policy-edited": (source_vault_policy_edited, "vault_policy.source", source_policy_is_the_files),
    "vault-lock-removed": (vault_lock_removed, "vault_lock.central", central_is_locked),
    "copy-retention": (copy_retention, f"backup_plan.{PLAN_NAME}", copies_kept_90_days),
    "cross-account-off": (cross_account_off, f"cross_account_backup.{REGION}", cross_account_is_on),
}


# ------------------------------------------------------------------ the workflow


def plan_to_file(coffer: Coffer, directory: Path, topology: Path = TOPOLOGY) -> tuple[Path, dict[str, Any]]:
    """`coffer plan --detailed-exitcode --out p.json`: exit 2 (changes), the file written, and
    the hint naming the topology file that was planned."""
    saved = directory / "p.json"
    made = coffer.run("plan", "--detailed-exitcode", "--out", str(saved), topology=topology)
    assert made.code == 2, f"the plan should have changes (exit 2)\n{made}"
    assert f"apply it with `coffer apply -f {topology} {saved}`" in made.stderr, made
    plan = json.loads(saved.read_text())
    # What apply.yml checks before applying: a fresh plan of the same file and AWS is the same
    # JSON document (`jq -S`: key order aside).
    fresh = coffer.run("plan", "--format", "json", topology=topology)
    assert fresh.code == 0, fresh
    assert fresh.json() == plan, "two plans of the same topology and AWS differ"
    return saved, plan


def apply_file(coffer: Coffer, saved: Path, topology: Path = TOPOLOGY) -> None:
    """`coffer apply -f topology.yaml p.json`: no confirmation is asked for a saved plan."""
    applied = coffer.run("apply", str(saved), topology=topology)
    assert applied.code == 0, f"the saved plan should apply\n{applied}"
    assert "Apply complete" in applied.stdout, applied


def converged(coffer: Coffer, topology: Path = TOPOLOGY) -> None:
    after = coffer.run("plan", "--detailed-exitcode", "--format", "json", topology=topology)
    assert after.code == 0, f"`coffer plan --detailed-exitcode` should find nothing left to do\n{after}"


@pytest.mark.parametrize("drift", list(DRIFTS))
def test_a_saved_plan_repairs_drift(emu, coffer, tmp_path, drift):
    make_drift, address, repaired = DRIFTS[drift]
    first = coffer.apply()
    assert first.code == 0, first
    coffer.assert_converged()

    make_drift(emu)
    saved, plan = plan_to_file(coffer, tmp_path)
    assert [c["address"] for c in changed(plan)] == [address], json.dumps(changed(plan), indent=2)
    # Repairs restore protection: nothing here needs --allow-weaken or confirmation.
    flagged = [(c["address"], c["flags"]) for c in plan["changes"] if c["flags"]]
    assert flagged == [], flagged
    assert plan["summary"]["weakens"] == 0 and plan["summary"]["irreversible"] == 0, plan["summary"]

    apply_file(coffer, saved)
    repaired(emu)
    converged(coffer)

    # Applied once, the plan is stale: a second apply of the file is refused.
    again = coffer.run("apply", str(saved))
    assert again.code == 1 and "AWS changed since this plan was made" in again.stderr, again
    assert address in again.stderr, again


# ------------------------------------------------------------------ adoption


def hand_made_key(emu: Emulator, account: str, alias: str) -> str:
    kms = emu.client("kms", account)
    key = kms.create_key(Description="made by hand", Tags=[{"TagKey": "owner", "TagValue": "someone"}])["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["KeyId"]


ADOPTED_KEYS = {
    "source-rds": (SOURCE, SOURCE_KEY_ALIAS, "    usable_by: [backup]\n"),
    "backup-vault": (BACKUP, BACKUP_KEY_ALIAS, "    deletion_window_days: 30\n"),
}


@pytest.mark.parametrize("name", list(ADOPTED_KEYS))
def test_a_saved_plan_adopts_a_hand_made_key(emu, coffer, tmp_path, name):
    account, alias, anchor = ADOPTED_KEYS[name]
    key_id = hand_made_key(emu, account, alias)
    topology = topology_variant(tmp_path, "adopt-key", (anchor, f"{anchor}    adopt: true\n"))

    saved, plan = plan_to_file(coffer, tmp_path, topology)
    (key,) = [c for c in plan["changes"] if c["address"] == f"key.{name}"]
    assert key["action"] == "update" and "blocked" not in key["flags"], key
    apply_file(coffer, saved, topology)

    kms = emu.client("kms", account)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id, "the hand-made key is the one kept"
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags.get("coffer:id") == f"key/{name}", tags
    converged(coffer, topology)


@pytest.mark.parametrize("with_key", [False, True], ids=["default-key", "adopted-key"])
def test_a_saved_plan_adopts_a_hand_made_vault(emu, coffer, tmp_path, with_key):
    backup = emu.client("backup", BACKUP)
    replacements = [("    name: central\n", "    name: central\n    adopt: true\n")]
    encryption: dict[str, str] = {}
    if with_key:
        # The vault's key made by hand too, under the file's alias: both are adopted, and the
        # vault keeps its key (no replacement).
        key_id = hand_made_key(emu, BACKUP, BACKUP_KEY_ALIAS)
        encryption["EncryptionKeyArn"] = emu.client("kms", BACKUP).describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        anchor = ADOPTED_KEYS["backup-vault"][2]
        replacements.append((anchor, f"{anchor}    adopt: true\n"))
    backup.create_backup_vault(BackupVaultName=CENTRAL_VAULT, BackupVaultTags={"owner": "someone"}, **encryption)
    topology = topology_variant(tmp_path, "adopt-vault", *replacements)

    saved, plan = plan_to_file(coffer, tmp_path, topology)
    (vault,) = [c for c in plan["changes"] if c["address"] == "vault.central"]
    assert "blocked" not in vault["flags"], vault
    # Encrypted with another key than the file's (AWS Backup's default), the empty vault is
    # replaced; with the adopted key, only its tags change.
    assert vault["action"] == ("update" if with_key else "replace"), vault
    apply_file(coffer, saved, topology)

    (central,) = [v for v in paginate(backup, "list_backup_vaults", "BackupVaultList") if v["BackupVaultName"] == CENTRAL_VAULT]
    tags = backup.list_tags(ResourceArn=central["BackupVaultArn"])["Tags"]
    assert tags.get("coffer:id") == "vault/central" and "owner" not in tags, tags
    if with_key:
        assert central["EncryptionKeyArn"] == encryption["EncryptionKeyArn"], central
    converged(coffer, topology)
