"""Lost responses: the call takes effect, then the client gets a reset connection, a 500 (with
or without an error code), a 503 or a held answer and a reset; keyed like throttling, hitting
calls by rate, the next N or the Nth."""

import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from support import EMULATOR_DIR, SOURCE, failure_pattern

pytestmark = pytest.mark.emulator_only(reason="faults: lost-response injection")

SHORT_READ = Config(retries={"total_max_attempts": 1}, read_timeout=0.5, connect_timeout=5)


def _vault_names(backup):
    return sorted(v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"])


def _lost(emu, key, **rule):
    emu.admin("PUT", "faults", {"lost_response": {key: rule}})


def _requests(emu, operation):
    return emu.admin("GET", f"requests?operation={operation}")["requests"]


def test_reset_after_the_effect(emu):
    backup = emu.client("backup", SOURCE)
    _lost(emu, "backup:CreateBackupVault", kind="reset", next=1)
    with pytest.raises(ConnectionClosedError):
        backup.create_backup_vault(BackupVaultName="lost-reset")
    assert "lost-reset" in _vault_names(backup)
    [entry] = _requests(emu, "CreateBackupVault")
    assert (entry["lost"], entry["status"]) == ("reset", 0)
    # The rule hit one call only: the next goes through.
    backup.create_backup_vault(BackupVaultName="answered")


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("500", 500, "500"), ("InternalFailure", 500, "InternalFailure"), ("ServiceUnavailable", 503, "ServiceUnavailable")],
)
@pytest.mark.parametrize("service", ["backup", "kms"])
def test_server_errors_after_the_effect(emu, kind, status, code, service):
    client = emu.client(service, SOURCE)
    _lost(emu, f"{service}:*", kind=kind, next=1)
    with pytest.raises(ClientError) as excinfo:
        if service == "backup":
            client.create_backup_vault(BackupVaultName="lost-500")
        else:
            client.create_key(Description="lost-500")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert excinfo.value.response["Error"]["Code"] == code
    if service == "backup":
        assert "lost-500" in _vault_names(client)
    else:
        assert len(client.list_keys()["Keys"]) == 1


def test_timeout_holds_the_answer_then_drops_the_connection(emu):
    kms = emu.client("kms", SOURCE, config=SHORT_READ)
    _lost(emu, "kms:CreateKey", kind="timeout", next=1, hold_seconds=1)
    with pytest.raises((ReadTimeoutError, ConnectionClosedError)):
        kms.create_key(Description="held")
    time.sleep(1.2)  # the held answer ends in a reset, after the client stopped waiting
    assert len(emu.client("kms", SOURCE).list_keys()["Keys"]) == 1


def test_the_nth_call_only(emu):
    backup = emu.client("backup", SOURCE)
    _lost(emu, "CreateBackupVault", kind="InternalFailure", nth=2)
    backup.create_backup_vault(BackupVaultName="first")
    with pytest.raises(ClientError):
        backup.create_backup_vault(BackupVaultName="second")
    backup.create_backup_vault(BackupVaultName="third")
    assert {"first", "second", "third"} <= set(_vault_names(backup))
    assert [e["lost"] for e in _requests(emu, "CreateBackupVault")] == [None, "InternalFailure", None]


def test_the_next_n_calls_and_keys_by_specificity(emu):
    backup = emu.client("backup", SOURCE)
    _lost_rules = {"*": {"kind": "500", "next": 5}, "backup:ListBackupVaults": {"kind": "500", "nth": 99}}
    emu.admin("PUT", "faults", {"lost_response": _lost_rules})
    backup.list_backup_vaults()  # the more specific key decides: not its 99th call
    for name in ("lost-a", "lost-b"):
        with pytest.raises(ClientError):
            backup.create_backup_vault(BackupVaultName=name)
    assert {"lost-a", "lost-b"} <= set(_vault_names(backup))


def test_rate_is_reproducible_for_a_seed(emu):
    def pattern(seed):
        return failure_pattern(emu, {"seed": seed, "lost_response": {"sts:*": {"kind": "500", "rate": 0.5}}}, SOURCE)

    first = pattern(3)
    assert first == pattern(3)
    assert 0 < first.count(False) < len(first)


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "explode", "next": 1},
        {"kind": "reset"},
        {"kind": "reset", "next": 1, "nth": 2},
        {"kind": "reset", "nth": 0},
        {"kind": "reset", "rate": 1.5},
        {"kind": "timeout", "next": 1, "hold_seconds": 3600},
        {"kind": "reset", "next": 1, "jitter": 1},
        "reset",
    ],
)
def test_invalid_rules_are_rejected(emu, rule):
    answer = emu.admin("PUT", "faults", {"lost_response": {"*": rule}})
    assert answer["status"] == 400
    assert "lost_response" in answer["error"]


def test_settings_round_trip(emu):
    rules = {"kms:CreateKey": {"kind": "timeout", "nth": 2, "hold_seconds": 0.5}}
    assert emu.admin("PUT", "faults", {"lost_response": rules})["lost_response"] == rules
    assert emu.admin("GET", "faults")["lost_response"] == rules


def _alter(emu, *operations):
    answer = emu.admin("PUT", "faults", {"alter_on_write": list(operations)})
    assert answer["alter_on_write"] == sorted(operations), answer


def test_altered_vault_policy_and_lock_read_back_differently(emu):
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="altered")
    _alter(emu, "backup:PutBackupVaultAccessPolicy", "backup:PutBackupVaultLockConfiguration")
    sent = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}],
    }
    backup.put_backup_vault_access_policy(BackupVaultName="altered", Policy=json.dumps(sent))
    held = json.loads(backup.get_backup_vault_access_policy(BackupVaultName="altered")["Policy"])
    assert held["Statement"][0] == sent["Statement"][0]
    assert [s.get("Sid") for s in held["Statement"]] == [None, "AlteredOnWrite"]
    backup.put_backup_vault_lock_configuration(BackupVaultName="altered", MinRetentionDays=7, MaxRetentionDays=30)
    described = backup.describe_backup_vault(BackupVaultName="altered")
    assert (described["MinRetentionDays"], described["MaxRetentionDays"]) == (8, 30)


def test_altered_plan_and_selection_read_back_differently(emu):
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="altered")
    _alter(emu, "backup:CreateBackupPlan", "backup:CreateBackupSelection")
    rule = {"RuleName": "daily", "TargetBackupVaultName": "altered", "ScheduleExpression": "cron(0 5 ? * * *)"}
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "altered", "Rules": [rule]})["BackupPlanId"]
    [held_rule] = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"]
    assert held_rule["ScheduleExpression"] == "cron(0 1 ? * * *)"
    role = f"arn:aws:iam::{SOURCE}:role/service-role/AWSBackupDefaultServiceRole"
    resource = f"arn:aws:rds:eu-west-1:{SOURCE}:db:orders"
    selection = {"SelectionName": "altered", "IamRoleArn": role, "Resources": [resource]}
    selection_id = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection)["SelectionId"]
    held = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)["BackupSelection"]
    assert held["Resources"] == [resource, f"arn:aws:rds:eu-west-1:{SOURCE}:db:altered-on-write"]


def test_every_alterable_write_has_its_alteration(monkeypatch):
    monkeypatch.syspath_prepend(str(EMULATOR_DIR))
    from coffer_emulator.alter import ALTERATIONS
    from coffer_emulator.faults import ALTERABLE_WRITES

    assert sorted(ALTERATIONS) == sorted(ALTERABLE_WRITES)


def test_alter_on_write_names_only_supported_operations(emu):
    answer = emu.admin("PUT", "faults", {"alter_on_write": ["kms:PutKeyPolicy"]})
    assert answer["status"] == 400
    assert "backup:PutBackupVaultAccessPolicy" in answer["error"]
