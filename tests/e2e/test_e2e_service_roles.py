"""The roles AWS Backup assumes, end to end: `coffer drill` checks the roles it passes to AWS
Backup (`iam:GetRole`) before it starts any job, and fails at once, naming the role, its
account, why and the fix, when one is missing or does not trust AWS Backup; `--create-service-role`
creates the missing `service-role/AWSBackupDefaultServiceRole` (never another role) and the
drill passes. `coffer check --live` reports a selection whose role AWS Backup cannot assume
(CB031). Everything Coffer did is checked in the emulator's request log and with boto3."""

import json
from pathlib import Path
from typing import Any

import yaml
from coffer_e2e import SELECTION_ROLE, TOPOLOGY, Coffer, Result, topology_variant
from support import BACKUP, SOURCE, WORLDS, Emulator

POLL_SECONDS = "0.05"
SERVICE_ROLE_NAME = "AWSBackupDefaultServiceRole"
BACKUP_SERVICE_ROLE = f"arn:aws:iam::{BACKUP}:role/service-role/{SERVICE_ROLE_NAME}"
BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"


def world_without_service_role(*accounts: str) -> str:
    """The seed world (YAML) with `AWSBackupDefaultServiceRole` left out of ``accounts``."""
    world = yaml.safe_load((WORLDS / "seed.yaml").read_text())
    removed = 0
    for account in world["accounts"]:
        if account["id"] in accounts:
            kept = [r for r in account["roles"] if not (isinstance(r, dict) and r["name"] == SERVICE_ROLE_NAME)]
            removed += len(account["roles"]) - len(kept)
            account["roles"] = kept
    assert removed == len(accounts), world
    return json.dumps(world)


def requests(emu: Emulator, service: str, operation: str, account: str | None = None) -> list[dict[str, Any]]:
    query = f"service={service}&operation={operation}" + (f"&account={account}" if account else "")
    return emu.admin("GET", f"requests?{query}")["requests"]


def drill(coffer: Coffer, *args: str, topology: Path = TOPOLOGY) -> Result:
    return coffer.run("drill", "--format", "json", "--poll-seconds", POLL_SECONDS, *args, topology=topology)


def assert_drill_passed(result: Result) -> dict[str, Any]:
    assert result.code == 0, result
    report = result.json()
    assert report["ok"] is True and report["failure"] is None, report
    assert all(stage["ok"] for stage in report["stages"]), report["stages"]
    return report


def attached_policies(emu: Emulator, account: str) -> set[str]:
    iam = emu.client("iam", account)
    attached = iam.list_attached_role_policies(RoleName=SERVICE_ROLE_NAME)["AttachedPolicies"]
    return {p["PolicyArn"] for p in attached}


def trust_policy(role: dict[str, Any]) -> dict[str, Any]:
    document = role["AssumeRolePolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def test_drill_fails_before_any_job_when_the_restore_role_is_missing(emu, coffer):
    emu.load_world(text=world_without_service_role(BACKUP))
    applied = coffer.apply()
    assert applied.code == 0, applied
    emu.admin("DELETE", "requests")

    result = drill(coffer)

    assert result.code == 1, result
    assert result.stdout == "", "no report: the drill did not start"
    error = result.stderr
    assert "error: the drill could not start: AWS Backup cannot assume 1 role the drill passes it" in error, error
    # Which role, in which account, what for and why.
    assert f"role {BACKUP_SERVICE_ROLE} in account `backup` ({BACKUP}), for the restore in backup: it does not exist" in error, error
    # The fix: the exact commands, and Coffer's offer.
    assert (
        f"aws iam create-role --role-name {SERVICE_ROLE_NAME} --path /service-role/ "
        '--assume-role-policy-document \'{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",'
        '"Principal":{"Service":"backup.amazonaws.com"}}],"Version":"2012-10-17"}\''
    ) in error, error
    for policy in (BACKUP_POLICY, RESTORE_POLICY):
        assert f"aws iam attach-role-policy --role-name {SERVICE_ROLE_NAME} --policy-arn {policy}" in error, error
    assert "coffer drill --create-service-role" in error, error
    # The source account's role is fine: it is not named.
    assert SELECTION_ROLE not in error, error

    # The check read both roles, and the drill then started nothing and created nothing.
    read = {(r["account"], r["status"]) for r in requests(emu, "iam", "GetRole")}
    assert read == {(SOURCE, 200), (BACKUP, 404)}, read
    for operation in ("StartBackupJob", "StartCopyJob", "StartRestoreJob"):
        assert requests(emu, "backup", operation) == [], operation
    assert requests(emu, "iam", "CreateRole") == []


def test_drill_with_the_seed_world_checks_the_roles_then_passes(emu, coffer):
    applied = coffer.apply()
    assert applied.code == 0, applied
    emu.admin("DELETE", "requests")

    assert_drill_passed(drill(coffer))

    log = emu.admin("GET", "requests")["requests"]
    roles_read = [r for r in log if (r["service"], r["operation"]) == ("iam", "GetRole")]
    assert {(r["account"], r["status"]) for r in roles_read} == {(SOURCE, 200), (BACKUP, 200)}, roles_read
    first_job = min(r["seq"] for r in log if r["operation"] == "StartBackupJob")
    assert all(r["seq"] < first_job for r in roles_read), "the roles are checked before the first job"
    assert requests(emu, "iam", "CreateRole") == []


def test_create_service_role_creates_the_missing_role_and_the_drill_passes(emu, coffer):
    emu.load_world(text=world_without_service_role(BACKUP))
    applied = coffer.apply()
    assert applied.code == 0, applied
    emu.admin("DELETE", "requests")

    result = drill(coffer, "--create-service-role")

    assert_drill_passed(result)
    assert (
        f"Service role: created role {BACKUP_SERVICE_ROLE} in account `backup` ({BACKUP}), trusted by "
        f"backup.amazonaws.com, with {BACKUP_POLICY} and {RESTORE_POLICY}." in result.stderr
    ), result
    # Only the backup account lacked it: only there was a role created.
    created = requests(emu, "iam", "CreateRole")
    assert [(r["account"], r["status"]) for r in created] == [(BACKUP, 200)], created
    role = emu.client("iam", BACKUP).get_role(RoleName=SERVICE_ROLE_NAME)["Role"]
    assert (role["Arn"], role["Path"]) == (BACKUP_SERVICE_ROLE, "/service-role/")
    (statement,) = trust_policy(role)["Statement"]
    assert statement == {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert attached_policies(emu, BACKUP) == {BACKUP_POLICY, RESTORE_POLICY}
    # The restore ran with the new role.
    (restore,) = emu.client("backup", BACKUP).list_restore_jobs()["RestoreJobs"]
    assert restore["IamRoleArn"] == BACKUP_SERVICE_ROLE and restore["Status"] == "COMPLETED", restore

    # Again: nothing is missing, nothing is created.
    emu.admin("DELETE", "requests")
    again = drill(coffer, "--create-service-role")
    assert_drill_passed(again)
    assert "nothing to create" in again.stderr, again
    assert requests(emu, "iam", "CreateRole") == []


def test_a_custom_role_is_never_created(emu, coffer, tmp_path):
    custom = f"arn:aws:iam::{SOURCE}:role/CustomBackupRole"
    topology = topology_variant(tmp_path, "custom-role", ("        role: service-default\n", f"        role: {custom}\n"))
    emu.admin("DELETE", "requests")

    result = drill(coffer, "--create-service-role", topology=topology)

    assert result.code == 1, result
    assert f"role {custom} in account `source` ({SOURCE}), for the backup and copy jobs of plan orders-daily: it does not exist" in result.stderr, result
    assert "aws iam create-role --role-name CustomBackupRole --path / " in result.stderr, result
    assert "nothing to create" in result.stderr, result
    assert requests(emu, "iam", "CreateRole") == []
    assert requests(emu, "backup", "StartBackupJob") == []


def test_check_live_names_a_selection_role_aws_backup_cannot_assume(emu, coffer):
    emu.load_world(text=world_without_service_role(SOURCE))

    result = coffer.run("check", "--live", "--format", "json", "--fail-on", "error")

    assert result.code == 2, result
    report = result.json()
    (finding,) = [f for f in report["findings"] if f["check"] == "CB031"]
    assert finding["severity"] == "blocker", finding
    assert finding["subject"] == "selection.orders-daily.orders-db", finding
    assert (finding["account"], finding["aws_name"]) == (SOURCE, "orders-db"), finding
    assert finding["message"] == (
        f"AWS Backup cannot assume role {SELECTION_ROLE} of selection `orders-db` in account `source` ({SOURCE}): "
        "it does not exist"
    ), finding
    assert f"create it with credentials for account {SOURCE}: `aws iam create-role --role-name {SERVICE_ROLE_NAME}" in finding["fix"], finding
    assert f"--policy-arn {RESTORE_POLICY}" in finding["fix"] and "coffer drill --create-service-role" in finding["fix"], finding
    # The text report shows the same finding and fix.
    text = coffer.run("check", "--live")
    assert text.code == 2, text  # a blocker: creating the selection would fail
    assert f"blocker CB031 selection.orders-daily.orders-db (orders-db, {SOURCE} eu-west-1): AWS Backup cannot assume role {SELECTION_ROLE}" in text.stdout, text


def test_check_live_is_clean_with_the_seed_world(emu, coffer):
    result = coffer.run("check", "--live", "--format", "json", "--fail-on", "error")
    report = result.json()
    assert [f for f in report["findings"] if f["check"] == "CB031"] == [], report["findings"]
    read = {(r["account"], r["status"]) for r in requests(emu, "iam", "GetRole")}
    assert read == {(SOURCE, 200)}, read


def test_apply_is_refused_before_any_change_while_the_selection_role_is_missing(emu, coffer):
    """CB031 is a blocker: AWS Backup would refuse the selection half-way through the apply."""
    emu.load_world(text=world_without_service_role(SOURCE))
    emu.admin("DELETE", "requests")
    refused = coffer.apply()
    assert refused.code != 0, refused
    assert "CB031" in refused.stdout + refused.stderr, refused
    writes = [
        r
        for r in emu.admin("GET", "requests")["requests"]
        if r["operation"].startswith(("Create", "Put", "Update", "Start", "Delete", "Schedule", "Enable", "Tag"))
        and "coffer-lock" not in r.get("path", "")
    ]
    assert writes == [], writes
