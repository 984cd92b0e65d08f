"""`coffer plan` end to end: the seed topology against the emulator, checked with boto3."""

import json
from collections import Counter

import pytest
from coffer_e2e import (
    CENTRAL_VAULT,
    CENTRAL_VAULT_ARN,
    PLAN_NAME,
    SOURCE_KEY_ALIAS,
    TOPOLOGY_ADDRESSES,
    central_vault_policy,
    changed,
    create_topology_out_of_band,
    plan_id,
    plan_rule,
)
from support import BACKUP, MANAGEMENT, SOURCE


def test_plan_on_empty_accounts_creates_every_resource(coffer):
    text = coffer.plan()
    assert text.code == 2, text
    result, plan = coffer.plan_json()
    assert result.code == 2, result

    assert plan["format_version"] == 1
    assert plan["topology"] == "seed"
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert set(actions) == TOPOLOGY_ADDRESSES
    creates = TOPOLOGY_ADDRESSES - {"cross_account_backup.eu-west-1"}
    assert {a for a, action in actions.items() if action == "create"} == creates
    for change in plan["changes"]:
        if change["action"] == "create":
            assert change["before"] is None and change["after"] is not None, change["address"]

    # The organization's switch exists before Coffer: it is an update from false to true.
    (switch,) = [c for c in plan["changes"] if c["address"] == "cross_account_backup.eu-west-1"]
    assert switch["action"] == "update"
    assert switch["account"] == MANAGEMENT
    assert switch["fields"] == [{"path": "enabled", "before": False, "after": True}]

    accounts = {c["address"]: c["account"] for c in plan["changes"]}
    assert accounts["key.source-rds"] == accounts["vault.source"] == accounts["backup_plan.orders-daily"] == SOURCE
    assert accounts["key.backup-vault"] == accounts["vault.central"] == accounts["vault_lock.central"] == BACKUP
    assert plan["summary"]["create"] == 11 and plan["summary"]["update"] == 1
    assert plan["summary"]["no_op"] == plan["summary"]["delete"] == plan["summary"]["blocked"] == 0
    assert len(plan["steps"]) == 14
    assert all(len(plan[k]) == 64 for k in ("topology_digest", "live_fingerprint"))


def test_out_of_band_resources_matching_the_file_plan_no_changes(emu, coffer):
    create_topology_out_of_band(emu)
    result, plan = coffer.plan_json()
    assert changed(plan) == [], json.dumps(changed(plan), indent=2)
    assert {c["address"] for c in plan["changes"]} == TOPOLOGY_ADDRESSES
    assert result.code == 0, result
    assert coffer.plan().code == 0


def _disable_rotation(emu):
    kms = emu.client("kms", SOURCE)
    kms.disable_key_rotation(KeyId=kms.describe_key(KeyId=SOURCE_KEY_ALIAS)["KeyMetadata"]["KeyId"])


def _add_statement_to_central_policy(emu):
    backup = emu.client("backup", BACKUP)
    policy = json.loads(backup.get_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "SomeoneElse",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
        }
    )
    backup.put_backup_vault_access_policy(BackupVaultName=CENTRAL_VAULT, Policy=json.dumps(policy))


def _change_copy_retention(emu):
    emu.client("backup", SOURCE).update_backup_plan(
        BackupPlanId=plan_id(emu),
        BackupPlan={"BackupPlanName": PLAN_NAME, "Rules": [plan_rule(copy_delete_after_days=120)]},
    )


def _turn_off_cross_account_backup(emu):
    emu.client("backup", MANAGEMENT).update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})


COPY_RETENTION = f'rules.daily.copy_to["{CENTRAL_VAULT_ARN}"].lifecycle.delete_after_days'

DRIFTS = {
    # name: (out-of-band change, address, {field path: (before, after)} or None for "policy")
    "rotation-off": (
        _disable_rotation,
        "key.source-rds",
        {"rotation.enabled": (False, True), "rotation.period_days": (None, 365)},
    ),
    "central-policy-statement": (_add_statement_to_central_policy, "vault_policy.central", None),
    "copy-retention": (_change_copy_retention, "backup_plan.orders-daily", {COPY_RETENTION: (120, 90)}),
    "cross-account-off": (
        _turn_off_cross_account_backup,
        "cross_account_backup.eu-west-1",
        {"enabled": (False, True)},
    ),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_one_out_of_band_change_is_exactly_one_change(emu, coffer, drift):
    make_change, address, fields = DRIFTS[drift]
    applied = coffer.apply()
    assert applied.code == 0, applied
    coffer.assert_converged()

    make_change(emu)
    result, plan = coffer.plan_json()
    assert result.code == 2, result
    (change,) = changed(plan)
    assert change["address"] == address
    assert change["action"] == "update"
    assert change["flags"] == []
    if fields is None:
        # The policy is compared as a whole: one field, `policy`, whose live side has the extra statement.
        (field,) = change["fields"]
        assert field["path"] == "policy"
        live_sids = sorted(s.get("Sid") for s in field["before"]["Statement"])
        wanted_sids = sorted(s.get("Sid") for s in field["after"]["Statement"])
        assert live_sids == sorted([*wanted_sids, "SomeoneElse"])
        assert wanted_sids == sorted(s["Sid"] for s in central_vault_policy()["Statement"])
    else:
        assert {f["path"]: (f["before"], f["after"]) for f in change["fields"]} == fields
    assert Counter(c["action"] for c in plan["changes"]) == {"no-op": len(TOPOLOGY_ADDRESSES) - 1, "update": 1}


def _request_keys_of_a_plan_run(emu, coffer, expected_code):
    assert emu.admin("DELETE", "requests")["cleared"] >= 0
    result = coffer.plan()
    assert result.code == expected_code, result
    entries = emu.admin("GET", "requests")["requests"]
    assert entries, "the plan made no AWS call the emulator saw"
    assert all(e.get("request_key") for e in entries), entries[:3]
    repeated = {k: n for k, n in Counter(e["request_key"] for e in entries).items() if n > 1}
    details = [
        (e["account"], e["service"], e["operation"], e["method"], e["path"])
        for e in entries
        if e["request_key"] in repeated
    ]
    assert not repeated, f"calls repeated within one plan run: {details}"
    return entries


def test_a_plan_run_never_repeats_a_call(emu, coffer):
    # Empty accounts: the list calls only.
    empty = _request_keys_of_a_plan_run(emu, coffer, 2)
    # Everything exists: list calls plus the details of every owned resource.
    applied = coffer.apply()
    assert applied.code == 0, applied
    full = _request_keys_of_a_plan_run(emu, coffer, 0)
    operations = {(e["account"], e["operation"]) for e in full}
    for expected in [
        (SOURCE, "GetKeyPolicy"),
        (BACKUP, "GetKeyPolicy"),
        (SOURCE, "GetBackupPlan"),
        (SOURCE, "GetBackupSelection"),
        (BACKUP, "GetBackupVaultAccessPolicy"),
        (MANAGEMENT, "DescribeGlobalSettings"),
    ]:
        assert expected in operations, f"{expected} missing from the plan's calls: {sorted(operations)}"
    assert len(full) > len(empty)
    assert not any(e["throttled"] for e in empty + full)
