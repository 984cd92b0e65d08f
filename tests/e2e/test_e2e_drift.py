"""`coffer drift` end to end: none after apply; each security-relevant out-of-band change made
with boto3 is named (resource and field) and rated; and `scripts/demo.sh` runs through."""

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from coffer_e2e import (
    BACKUP_KEY_ALIAS,
    CENTRAL_VAULT,
    REPO,
    SOURCE_KEY_ALIAS,
    TOPOLOGY_ADDRESSES,
    Coffer,
    allowed_actions,
    root,
)
from support import BACKUP, MANAGEMENT, REGION, SOURCE, statement

OTHER_ACCOUNT = SOURCE  # arn:aws:iam::111222333444:root: not the central vault's owner
# A guard against a hang, not a timing: the demo runs the binary the suite tests (COFFER_BIN).
DEMO_TIMEOUT = 900


def drift_json(coffer: Coffer) -> dict[str, Any]:
    result = coffer.run("drift", "--format", "json")
    assert result.code == 2, f"`coffer drift` should exit 2 on drift\n{result}"
    report = result.json()
    assert report["format_version"] == 1 and report["topology"] == "seed", report
    return report


def applied(coffer: Coffer) -> None:
    """Applies the seed topology and checks that no drift is left before the change."""
    result = coffer.apply()
    assert result.code == 0, result
    clean = coffer.run("drift")
    assert clean.code == 0, f"no drift expected right after apply\n{clean}"


def only_drifted(report: dict[str, Any], address: str) -> dict[str, Any]:
    """The one drifted resource of the report: `address`, every other resource in sync."""
    assert [d["address"] for d in report["drifted"]] == [address], json.dumps(report["drifted"], indent=2)
    assert report["summary"]["in_sync"] == len(TOPOLOGY_ADDRESSES) - 1, report["summary"]
    return report["drifted"][0]


def field(drifted: dict[str, Any], path: str) -> dict[str, Any]:
    found = [f for f in drifted["fields"] if f["path"] == path]
    assert len(found) == 1, f"field {path!r} not among {[f['path'] for f in drifted['fields']]}"
    return found[0]


def assert_markdown_rates(coffer: Coffer, address: str, severity: str, status: str) -> None:
    result = coffer.run("drift", "--format", "markdown")
    assert result.code == 2, result
    assert result.stdout.startswith("### Coffer drift: `seed`"), result
    assert f"| {severity} | `{address}` | {status} |" in result.stdout, result


def test_no_drift_right_after_apply(emu, coffer):
    result = coffer.apply()
    assert result.code == 0, result

    text = coffer.run("drift")
    assert text.code == 0, text
    assert "No drift: AWS matches topology `seed`" in text.stdout, text

    result = coffer.run("drift", "--format", "json")
    assert result.code == 0, result
    report = result.json()
    assert report["drifted"] == [], report["drifted"]
    assert report["summary"] == {
        "in_sync": len(TOPOLOGY_ADDRESSES),
        "modified": 0,
        "missing": 0,
        "extra": 0,
        "conflicting": 0,
    }

    markdown = coffer.run("drift", "--format", "markdown")
    assert markdown.code == 0, markdown
    assert "No drift" in markdown.stdout and "|" not in markdown.stdout, markdown


def test_key_scheduled_for_deletion_is_a_blocker(emu, coffer):
    applied(coffer)
    kms = emu.client("kms", SOURCE)
    key = kms.describe_key(KeyId=SOURCE_KEY_ALIAS)["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"

    drifted = only_drifted(drift_json(coffer), "key.source-rds")
    assert (drifted["kind"], drifted["account"], drifted["region"]) == ("key", SOURCE, REGION)
    assert (drifted["status"], drifted["severity"]) == ("modified", "blocker"), drifted
    assert "scheduled for deletion" in drifted["risk"], drifted
    assert field(drifted, "state") == {"path": "state", "before": "PendingDeletion", "after": "Enabled"}
    assert_markdown_rates(coffer, "key.source-rds", "blocker", "modified")

    # `apply` cancels the deletion and enables the key again.
    repaired = coffer.apply()
    assert repaired.code == 0, repaired
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert coffer.run("drift").code == 0


def test_key_rotation_turned_off_is_an_error(emu, coffer):
    applied(coffer)
    kms = emu.client("kms", BACKUP)
    kms.disable_key_rotation(KeyId=kms.describe_key(KeyId=BACKUP_KEY_ALIAS)["KeyMetadata"]["KeyId"])

    drifted = only_drifted(drift_json(coffer), "key.backup-vault")
    assert (drifted["kind"], drifted["account"]) == ("key", BACKUP)
    assert (drifted["status"], drifted["severity"]) == ("modified", "error"), drifted
    assert drifted["risk"] == "key rotation was turned off", drifted
    assert field(drifted, "rotation.enabled") == {"path": "rotation.enabled", "before": False, "after": True}
    assert "state" not in [f["path"] for f in drifted["fields"]], drifted
    assert_markdown_rates(coffer, "key.backup-vault", "error", "modified")


def test_vault_lock_removed_is_a_blocker(emu, coffer):
    applied(coffer)
    backup = emu.client("backup", BACKUP)
    # Governance mode (no ChangeableForDays): removable at any time.
    backup.delete_backup_vault_lock_configuration(BackupVaultName=CENTRAL_VAULT)
    assert backup.describe_backup_vault(BackupVaultName=CENTRAL_VAULT)["Locked"] is False

    drifted = only_drifted(drift_json(coffer), "vault_lock.central")
    assert (drifted["kind"], drifted["account"]) == ("vault_lock", BACKUP)
    assert (drifted["status"], drifted["severity"]) == ("missing", "blocker"), drifted
    assert "vault lock was removed" in drifted["risk"], drifted
    (whole,) = drifted["fields"]
    assert whole["before"] is None
    assert whole["after"] == {"min_retention_days": 7, "max_retention_days": 400, "mode": "governance"}
    assert_markdown_rates(coffer, "vault_lock.central", "blocker", "missing")
    # Named by the vault it locks: its name in AWS, and the ARN AWS gave the vault.
    arn = backup.describe_backup_vault(BackupVaultName=CENTRAL_VAULT)["BackupVaultArn"]
    assert (drifted["aws_name"], drifted["arn"]) == (CENTRAL_VAULT, arn), drifted
    text = coffer.run("drift")
    assert f"vault_lock.central ({CENTRAL_VAULT}, missing, {BACKUP} {REGION})" in text.stdout, text
    markdown = coffer.run("drift", "--format", "markdown")
    assert f"| missing | `{CENTRAL_VAULT}` (`{arn}`) |" in markdown.stdout, markdown


def test_vault_policy_letting_another_account_delete_is_a_blocker(emu, coffer):
    applied(coffer)
    backup = emu.client("backup", BACKUP)
    policy = json.loads(backup.get_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)["Policy"])
    # Someone with Coffer's role lifted the guard (whose Deny would win over any Allow) ...
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Effect") != "Deny"]
    # ... and let another account delete.
    policy["Statement"].append(
        statement("Allow", {"AWS": root(OTHER_ACCOUNT)}, "backup:DeleteRecoveryPoint", sid="LetSourceDelete")
    )
    backup.put_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT, Policy=json.dumps(policy))

    drifted = only_drifted(drift_json(coffer), "vault_policy.central")
    assert (drifted["kind"], drifted["account"]) == ("vault_policy", BACKUP)
    assert (drifted["status"], drifted["severity"]) == ("modified", "blocker"), drifted
    assert "another account" in drifted["risk"], drifted
    changed = field(drifted, "policy")
    assert "backup:DeleteRecoveryPoint" in allowed_actions(changed["before"], root(OTHER_ACCOUNT)), changed
    assert "backup:DeleteRecoveryPoint" not in allowed_actions(changed["after"], root(OTHER_ACCOUNT)), changed
    assert_markdown_rates(coffer, "vault_policy.central", "blocker", "modified")


def test_cross_account_backup_turned_off_is_a_blocker(emu, coffer):
    applied(coffer)
    management = emu.client("backup", MANAGEMENT)
    management.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})
    assert management.describe_global_settings()["GlobalSettings"]["isCrossAccountBackupEnabled"] == "false"

    drifted = only_drifted(drift_json(coffer), f"cross_account_backup.{REGION}")
    assert (drifted["kind"], drifted["account"], drifted["region"]) == ("cross_account_backup", MANAGEMENT, REGION)
    assert (drifted["status"], drifted["severity"]) == ("modified", "blocker"), drifted
    assert "every cross-account copy job fails" in drifted["risk"], drifted
    assert field(drifted, "enabled") == {"path": "enabled", "before": False, "after": True}
    assert_markdown_rates(coffer, f"cross_account_backup.{REGION}", "blocker", "modified")


def _demo_env(coffer_bin: Path) -> dict[str, str]:
    """The caller's environment without AWS settings or proxies (the demo sets its own
    credentials and talks to 127.0.0.1 only), running the binary under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}
    env.update(
        {
            "AWS_CONFIG_FILE": "/nonexistent/coffer-e2e/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/coffer-e2e/credentials",
            "NO_PROXY": "127.0.0.1,localhost",
            "NO_COLOR": "1",
            "COFFER_BIN": str(coffer_bin),
        }
    )
    return env


def _section(output: str, title: str) -> str:
    """The demo's output after the step header starting with `title`, up to the next header."""
    marker = f"== {title}"
    assert marker in output, f"no step {title!r} in the demo's output:\n{output[-4000:]}"
    return output.split(marker, 1)[1].split("\x1b[1m== ", 1)[0]  # headers are bold (demo.sh's step)


def test_demo_script_runs_end_to_end(coffer_bin):
    # Its own process group, so that a timeout stops the demo's emulator and cargo too.
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        cwd=REPO,
        env=_demo_env(coffer_bin),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=DEMO_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate()
        pytest.fail(f"scripts/demo.sh did not finish in {DEMO_TIMEOUT} s:\n{output[-4000:]}")
    assert process.returncode == 0, f"scripts/demo.sh exited {process.returncode}:\n{output[-6000:]}"

    plan = _section(output, "coffer plan (empty accounts")
    assert "Plan: 11 to create, 1 to update, 0 to replace, 0 to delete; 0 unchanged." in plan, plan
    assert "+ vault.central (central, create, backup 666777888999, eu-west-1)" in plan, plan

    drift = _section(output, "coffer drift")
    assert "Drift of topology `seed`:" in drift, drift
    assert "blocker  cross_account_backup.eu-west-1 (modified, 100200300400 eu-west-1)" in drift, drift
    assert "key.source-rds (alias/coffer/source-rds, modified, 111222333444 eu-west-1)" in drift, drift
    assert "\nDrift: 2 modified, 0 missing, 0 extra, 0 conflicting; 10 in sync." in drift, drift

    repaired = _section(output, "coffer apply --auto-approve (repairs the drift)")
    assert "Plan: 0 to create, 2 to update" in repaired, repaired

    drill = _section(output, "coffer drill")
    assert "Drill passed: the backup was copied and restored with the destination account's key." in drill, drill
    assert output.rstrip().endswith("== done\x1b[0m"), output[-500:]
