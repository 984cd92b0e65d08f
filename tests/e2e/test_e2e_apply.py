"""`coffer apply` end to end: the seed topology against the emulator, checked with boto3."""

import json
import time

from coffer_e2e import (
    BACKUP_KEY_ALIAS,
    CENTRAL_VAULT,
    CENTRAL_VAULT_ARN,
    PLAN_NAME,
    SOURCE_KEY_ALIAS,
    SOURCE_VAULT,
    allowed_actions,
    backup_and_copy_orders,
    changed,
    inventory,
    key_arn,
    plan_id,
    root,
)
from support import BACKUP, MANAGEMENT, ORDERS_ARN, ORG_ID, SOURCE

KEY_USE = {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
KEY_GRANTS = {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}


def _statements(policy):
    statements = policy["Statement"]
    return [statements] if isinstance(statements, dict) else statements


def _listed(value):
    return [value] if isinstance(value, str) else list(value)


def test_apply_creates_everything_from_empty_accounts(emu, coffer):
    result = coffer.apply()
    assert result.code == 0, result
    assert "Apply complete: 14 calls made" in result.stdout, result
    coffer.assert_converged()

    # The source key lets the backup account use it, and make grants for AWS resources.
    source_kms = emu.client("kms", SOURCE)
    source_key = source_kms.describe_key(KeyId=SOURCE_KEY_ALIAS)["KeyMetadata"]
    source_policy = json.loads(source_kms.get_key_policy(KeyId=source_key["KeyId"], PolicyName="default")["Policy"])
    granted = allowed_actions(source_policy, root(BACKUP))
    assert KEY_USE | KEY_GRANTS <= granted, granted
    (grants,) = [s for s in _statements(source_policy) if "kms:CreateGrant" in _listed(s["Action"])]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "kms:*" in allowed_actions(source_policy, root(SOURCE))
    rotation = source_kms.get_key_rotation_status(KeyId=source_key["KeyId"])
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 365

    # The backup-account key is never shared with the source account.
    backup_kms = emu.client("kms", BACKUP)
    backup_key = backup_kms.describe_key(KeyId=BACKUP_KEY_ALIAS)["KeyMetadata"]
    backup_policy = backup_kms.get_key_policy(KeyId=backup_key["KeyId"], PolicyName="default")["Policy"]
    assert SOURCE not in backup_policy, backup_policy
    assert "kms:*" in allowed_actions(json.loads(backup_policy), root(BACKUP))

    # The central vault: the backup account's key, the organization may copy in.
    backup = emu.client("backup", BACKUP)
    vault = backup.describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    assert vault["EncryptionKeyArn"] == backup_key["Arn"]
    assert vault["BackupVaultArn"] == CENTRAL_VAULT_ARN
    assert vault["Locked"] is True and (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 400)
    assert "LockDate" not in vault  # governance mode
    central_policy = json.loads(backup.get_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)["Policy"])
    org_copy = [
        s
        for s in _statements(central_policy)
        if s["Effect"] == "Allow"
        and "backup:CopyIntoBackupVault" in _listed(s["Action"])
        and s["Principal"] in ("*", {"AWS": "*"}, {"AWS": ["*"]})
    ]
    assert len(org_copy) == 1, central_policy
    assert org_copy[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] in (ORG_ID, [ORG_ID])
    tags = backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
    assert tags == {"team": "platform", "coffer:topology": "seed", "coffer:id": "vault/central"}

    source_vault = emu.client("backup", SOURCE).describe_backup_vault(BackupVaultName=SOURCE_VAULT)
    assert source_vault["EncryptionKeyArn"] == source_key["Arn"]

    # Cross-account backup is on for the organization.
    settings = emu.client("backup", MANAGEMENT).describe_global_settings()["GlobalSettings"]
    assert settings["isCrossAccountBackupEnabled"] == "true"

    # The plan's rule backs up to the source vault and copies to the central vault's ARN.
    source_backup = emu.client("backup", SOURCE)
    plan = source_backup.get_backup_plan(BackupPlanId=plan_id(emu))["BackupPlan"]
    assert plan["BackupPlanName"] == PLAN_NAME
    (rule,) = plan["Rules"]
    assert rule["TargetBackupVaultName"] == SOURCE_VAULT
    assert rule["Lifecycle"]["DeleteAfterDays"] == 35
    (copy,) = rule["CopyActions"]
    assert copy["DestinationBackupVaultArn"] == vault["BackupVaultArn"]
    assert copy["Lifecycle"]["DeleteAfterDays"] == 90
    (selection,) = source_backup.list_backup_selections(BackupPlanId=plan_id(emu))["BackupSelectionsList"]
    chosen = source_backup.get_backup_selection(BackupPlanId=plan_id(emu), SelectionId=selection["SelectionId"])
    assert chosen["BackupSelection"]["Resources"] == [ORDERS_ARN]

    assert inventory(emu).expected_counts_problems() == []


def test_backup_copy_and_restore_through_the_applied_topology(emu, coffer):
    result = coffer.apply()
    assert result.code == 0, result
    source_key = key_arn(emu, SOURCE, SOURCE_KEY_ALIAS)
    central_key = key_arn(emu, BACKUP, BACKUP_KEY_ALIAS)

    backed_up, copied = backup_and_copy_orders(emu, 90)
    assert backed_up["EncryptionKeyArn"] == source_key  # the database's key, found through Coffer's alias
    copied_point = copied["DestinationRecoveryPointArn"]

    central = emu.client("backup", BACKUP)
    point = central.describe_recovery_point(BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copied_point)
    assert point["EncryptionKeyArn"] == central_key  # re-encrypted with the central vault's key

    restore = central.start_restore_job(
        RecoveryPointArn=copied_point,
        Metadata={"DBInstanceIdentifier": "orders-restored"},
        IamRoleArn=f"arn:aws:iam::{BACKUP}:role/service-role/AWSBackupDefaultServiceRole",
        ResourceType="RDS",
    )
    restored = emu.wait_restore_job(central, restore["RestoreJobId"])
    assert restored["Status"] == "COMPLETED", restored

    (instance,) = emu.client("rds", BACKUP).describe_db_instances(DBInstanceIdentifier="orders-restored")[
        "DBInstances"
    ]
    assert instance["StorageEncrypted"] is True
    assert instance["KmsKeyId"] == point["EncryptionKeyArn"]
    assert instance["DBInstanceArn"] == restored["CreatedResourceArn"]


def test_a_crash_after_any_call_converges_on_the_next_apply(emu, coffer):
    first_plan = coffer.plan_json()[1]
    total = len(first_plan["steps"])
    assert total == 14
    started = time.monotonic()
    report = []
    for k in range(1, total + 1):
        emu.load_world()
        crashed = coffer.apply(env={"COFFER_TEST_STOP_AFTER_CALLS": str(k)})
        assert crashed.code == 1, f"k={k}: the apply should stop as if killed\n{crashed}"
        again = coffer.apply()
        assert again.code == 0, f"k={k}: the second apply should converge\n{again}"
        plan = coffer.plan()
        assert plan.code == 0, f"k={k}: `coffer plan` after the second apply\n{plan}"
        found = inventory(emu)
        assert found.expected_counts_problems() == [], f"k={k}"
        report.append((k, sum(found.total_keys.values()), sum(found.pending_keys.values())))
    elapsed = time.monotonic() - started
    print(f"\ncrash test: {total} crash points in {elapsed:.1f}s; (k, keys in total, pending deletion): {report}")


def test_apply_converges_with_30_percent_of_calls_throttled(emu, coffer):
    assert emu.admin("PUT", "faults", {"seed": 7, "throttle": {"*": 0.3}})["throttle"] == {"*": 0.3}
    emu.admin("DELETE", "requests")
    result = coffer.apply()
    log = emu.admin("GET", "requests")["requests"]
    emu.admin("DELETE", "faults")
    assert result.code == 0, result
    throttled = sum(e["throttled"] for e in log)
    assert throttled >= 0.15 * len(log), f"{throttled} of {len(log)} calls throttled"
    coffer.assert_converged()
    assert inventory(emu).expected_counts_problems() == []


def test_two_concurrent_applies_both_succeed_without_duplicates(emu, coffer):
    processes = [coffer.start("apply", "--auto-approve") for _ in range(2)]
    outcomes = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=180)
            outcomes.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()  # by PID
                process.wait()
    for code, stdout, stderr in outcomes:
        assert code == 0, f"exit {code}\n{stdout}\n{stderr}"
    # One of them did the work; the other waited for the lock and found nothing to do.
    assert sorted("Apply complete: 14 calls made" in out for _, out, _ in outcomes) == [False, True], outcomes
    assert any("No changes to apply." in out for _, out, _ in outcomes), outcomes
    coffer.assert_converged()
    assert inventory(emu).expected_counts_problems() == []


def test_a_saved_plan_is_refused_once_aws_changed(emu, coffer, tmp_path):
    before = tmp_path / "before.json"
    made = coffer.run("plan", "--out", str(before))
    assert made.code == 0, made
    assert json.loads(before.read_text())["summary"]["create"] == 11

    # Out of band: the organization's cross-account switch is turned on.
    emu.client("backup", MANAGEMENT).update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})
    stale = coffer.run("apply", str(before))
    assert stale.code == 1, stale
    assert "AWS changed since this plan was made" in stale.stderr, stale
    assert "cross_account_backup.eu-west-1 (100200300400 eu-west-1)" in stale.stderr, stale
    assert "key.source-rds" not in stale.stderr, stale  # only what differs is named
    assert inventory(emu).active_keys == {}, "a refused plan must change nothing"

    after = tmp_path / "after.json"
    made = coffer.run("plan", "--out", str(after))
    assert made.code == 0, made
    saved = json.loads(after.read_text())
    assert [c["address"] for c in changed(saved) if c["action"] != "create"] == []
    applied = coffer.run("apply", str(after))
    assert applied.code == 0, applied
    coffer.assert_converged()

    again = coffer.run("apply", str(after))
    assert again.code == 1, again
    assert "AWS changed since this plan was made" in again.stderr, again
    for address in ("key.source-rds", "vault.central", "backup_plan.orders-daily"):
        assert address in again.stderr, again
    assert inventory(emu).expected_counts_problems() == []
