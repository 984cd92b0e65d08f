"""AWS Backup's rules on vault keys, lifecycles and cross-account copies of RDS recovery points:
each rule passes what AWS accepts and refuses (or fails) what AWS refuses, with AWS's error."""

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from support import (
    BACKUP,
    BACKUP_ROLE,
    ORDERS_ARN,
    REGION,
    SOURCE,
    CopySetup,
    org_vault_policy,
    source_vault,
)

MAX_DAYS = 36500


def _error(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


def _assert_invalid(response, *fragments):
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == "InvalidParameterValueException", response["Error"]
    for fragment in fragments:
        assert fragment in response["Error"]["Message"], response["Error"]


def _vault_names(backup):
    return {v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]}


# ------------------------------------------------------------------ vault keys


def test_vault_key_arn_of_the_vaults_region_is_accepted(emu):
    key = emu.client("kms", SOURCE).create_key()["KeyMetadata"]["Arn"]
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="keyed", EncryptionKeyArn=key)
    assert backup.describe_backup_vault(BackupVaultName="keyed")["EncryptionKeyArn"] == key


def test_vault_key_of_another_account_is_accepted(emu):
    key = emu.client("kms", BACKUP).create_key()["KeyMetadata"]["Arn"]
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="shared-key", EncryptionKeyArn=key)
    assert backup.describe_backup_vault(BackupVaultName="shared-key")["EncryptionKeyArn"] == key


@pytest.mark.parametrize("form", ["name", "arn"])
def test_vault_key_alias_is_refused(emu, form):
    kms = emu.client("kms", SOURCE)
    kms.create_alias(AliasName="alias/vault-key", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    alias = "alias/vault-key" if form == "name" else f"arn:aws:kms:{REGION}:{SOURCE}:alias/vault-key"
    backup = emu.client("backup", SOURCE)
    response = _error(lambda: backup.create_backup_vault(BackupVaultName="aliased", EncryptionKeyArn=alias))
    _assert_invalid(response, "KMS key Alias is not supported by AWS Backup")
    assert "aliased" not in _vault_names(backup)


def test_vault_key_id_is_refused(emu):
    key_id = emu.client("kms", SOURCE).create_key()["KeyMetadata"]["KeyId"]
    backup = emu.client("backup", SOURCE)
    response = _error(lambda: backup.create_backup_vault(BackupVaultName="by-id", EncryptionKeyArn=key_id))
    _assert_invalid(response)  # the emulator's message names the key and asks for its ARN
    assert "by-id" not in _vault_names(backup)


def test_vault_key_of_another_region_is_refused(emu):
    key = emu.client("kms", SOURCE, region="eu-central-1").create_key()["KeyMetadata"]["Arn"]
    backup = emu.client("backup", SOURCE)
    response = _error(lambda: backup.create_backup_vault(BackupVaultName="far-key", EncryptionKeyArn=key))
    _assert_invalid(response)  # the emulator's message names both Regions
    assert "far-key" not in _vault_names(backup)


@pytest.mark.parametrize("owner", [SOURCE, BACKUP])
def test_vault_key_that_does_not_exist_is_refused(emu, owner):
    key = f"arn:aws:kms:{REGION}:{owner}:key/0b7a5e2c-1111-2222-3333-444455556666"
    backup = emu.client("backup", SOURCE)
    response = _error(lambda: backup.create_backup_vault(BackupVaultName="no-key", EncryptionKeyArn=key))
    _assert_invalid(response)  # the emulator's message names the key
    assert "no-key" not in _vault_names(backup)


# ---------------------------------------------- RDS copies need a customer managed destination key


def _aws_managed_destination(setup):
    """A vault of the backup account on the AWS managed aws/backup key (no EncryptionKeyArn),
    open to copies from the organization."""
    setup.backup.create_backup_vault(BackupVaultName="on-aws-key")
    setup.backup.put_backup_vault_access_policy(BackupVaultName="on-aws-key", Policy=json.dumps(org_vault_policy()))
    return f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:on-aws-key"


@pytest.mark.emulator_only(reason="emulator-only feature: the emulator's wording of the copy failure")
def test_cross_account_rds_copy_into_an_aws_managed_key_vault_fails(emu):
    setup = CopySetup(emu)
    destination = _aws_managed_destination(setup)
    key = setup.backup.describe_backup_vault(BackupVaultName="on-aws-key")["EncryptionKeyArn"]
    assert emu.client("kms", BACKUP).describe_key(KeyId=key)["KeyMetadata"]["KeyManager"] == "AWS"
    copy = setup.copy(destination_vault_arn=destination)
    assert copy["State"] == "FAILED", copy
    assert copy["StatusMessage"].startswith("Copy job failed."), copy
    assert "customer managed key" in copy["StatusMessage"] and key in copy["StatusMessage"], copy
    assert setup.backup.list_recovery_points_by_backup_vault(BackupVaultName="on-aws-key")["RecoveryPoints"] == []


def test_cross_account_rds_copy_into_a_customer_managed_key_vault_completes(emu):
    setup = CopySetup(emu)
    copy = setup.copy()
    assert copy["State"] == "COMPLETED", copy
    assert copy["DestinationEncryptionKeyArn"] == setup.backup_key_arn


# ------------------------------------------------------------------ lifecycles

VALID_LIFECYCLES = [
    {"DeleteAfterDays": 1},
    {"DeleteAfterDays": MAX_DAYS},
    {"DeleteAfterDays": -1},
    {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120},
    {"MoveToColdStorageAfterDays": -1, "DeleteAfterDays": -1},
]
INVALID_LIFECYCLES = [
    ({"DeleteAfterDays": 0}, "DeleteAfterDays cannot be less than 1 or more than 36500 days"),
    ({"DeleteAfterDays": MAX_DAYS + 1}, "DeleteAfterDays cannot be less than 1 or more than 36500 days"),
    ({"DeleteAfterDays": -2}, "DeleteAfterDays cannot be less than 1 or more than 36500 days"),
    (
        {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 119},
        "DeleteAfterDays cannot be less than 90 days apart from MoveToColdStorageAfterDays",
    ),
    ({"MoveToColdStorageAfterDays": -5, "DeleteAfterDays": 10}, "MoveToColdStorageAfterDays"),
]


def _job_count(list_call, key):
    """How many items a List call returns (jobs, plans), every page."""
    return len(list_call.__self__.get_paginator(list_call.__name__).paginate().build_full_result()[key])


def _start_backup(backup, lifecycle):
    return backup.start_backup_job(
        BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE, Lifecycle=lifecycle
    )


@pytest.mark.parametrize("lifecycle", VALID_LIFECYCLES)
def test_start_backup_job_accepts_a_valid_lifecycle(emu, lifecycle):
    backup = source_vault(emu)[0]
    job = _start_backup(backup, lifecycle)
    assert emu.wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"


@pytest.mark.parametrize(("lifecycle", "message"), INVALID_LIFECYCLES)
def test_start_backup_job_refuses_an_invalid_lifecycle(emu, lifecycle, message):
    backup = source_vault(emu)[0]
    before = _job_count(backup.list_backup_jobs, "BackupJobs")
    _assert_invalid(_error(lambda: _start_backup(backup, lifecycle)), "Invalid lifecycle.", message)
    assert _job_count(backup.list_backup_jobs, "BackupJobs") == before


@pytest.mark.parametrize("lifecycle", VALID_LIFECYCLES[:3])
def test_start_copy_job_accepts_a_valid_lifecycle(emu, lifecycle):
    setup = CopySetup(emu)
    assert setup.copy(lifecycle=lifecycle)["State"] == "COMPLETED"


@pytest.mark.parametrize(("lifecycle", "message"), INVALID_LIFECYCLES)
def test_start_copy_job_refuses_an_invalid_lifecycle(emu, lifecycle, message):
    setup = CopySetup(emu)
    before = _job_count(setup.source.list_copy_jobs, "CopyJobs")
    _assert_invalid(_error(lambda: setup.copy(lifecycle=lifecycle)), "Invalid lifecycle.", message)
    assert _job_count(setup.source.list_copy_jobs, "CopyJobs") == before


def _plan(rule_lifecycle=None, copy_lifecycle=None):
    rule = {"RuleName": "daily", "TargetBackupVaultName": "local"}
    if rule_lifecycle is not None:
        rule["Lifecycle"] = rule_lifecycle
    if copy_lifecycle is not None:
        rule["CopyActions"] = [
            {
                "DestinationBackupVaultArn": f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:central",
                "Lifecycle": copy_lifecycle,
            }
        ]
    return {"BackupPlanName": "plan", "Rules": [rule]}


@pytest.mark.parametrize("lifecycle", VALID_LIFECYCLES)
def test_backup_plans_accept_valid_rule_and_copy_lifecycles(emu, lifecycle):
    backup = source_vault(emu)[0]
    plan_id = backup.create_backup_plan(BackupPlan=_plan(rule_lifecycle=lifecycle))["BackupPlanId"]
    backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=_plan(copy_lifecycle=lifecycle))
    (rule,) = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"]
    assert rule["CopyActions"][0]["Lifecycle"] == lifecycle


@pytest.mark.parametrize(("lifecycle", "message"), INVALID_LIFECYCLES)
@pytest.mark.parametrize("where", ["rule", "copy action"])
def test_backup_plans_refuse_invalid_rule_and_copy_lifecycles(emu, lifecycle, message, where):
    backup = source_vault(emu)[0]
    document = _plan(rule_lifecycle=lifecycle) if where == "rule" else _plan(copy_lifecycle=lifecycle)
    prefix = "Error in rule daily : Invalid lifecycle."
    before = _job_count(backup.list_backup_plans, "BackupPlansList")
    _assert_invalid(_error(lambda: backup.create_backup_plan(BackupPlan=document)), prefix, message)
    assert _job_count(backup.list_backup_plans, "BackupPlansList") == before
    plan_id = backup.create_backup_plan(BackupPlan=_plan(rule_lifecycle={"DeleteAfterDays": 7}))["BackupPlanId"]
    _assert_invalid(
        _error(lambda: backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=document)), prefix, message
    )
    assert len(backup.list_backup_plan_versions(BackupPlanId=plan_id)["BackupPlanVersionsList"]) == 1


def _recovery_point(emu, backup):
    job = _start_backup(backup, {"DeleteAfterDays": 35})
    assert emu.wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return job["RecoveryPointArn"]


def _update_lifecycle(backup, point, lifecycle):
    return backup.update_recovery_point_lifecycle(BackupVaultName="local", RecoveryPointArn=point, Lifecycle=lifecycle)


@pytest.mark.parametrize("lifecycle", VALID_LIFECYCLES)
def test_update_recovery_point_lifecycle_accepts_a_valid_lifecycle(emu, lifecycle):
    backup = source_vault(emu)[0]
    point = _recovery_point(emu, backup)
    answer = _update_lifecycle(backup, point, lifecycle)
    assert answer["Lifecycle"] == lifecycle


@pytest.mark.parametrize(("lifecycle", "message"), INVALID_LIFECYCLES)
def test_update_recovery_point_lifecycle_refuses_an_invalid_lifecycle(emu, lifecycle, message):
    backup = source_vault(emu)[0]
    point = _recovery_point(emu, backup)
    response = _error(lambda: _update_lifecycle(backup, point, lifecycle))
    _assert_invalid(response, "Invalid lifecycle.", message)
    described = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=point)
    assert described["Lifecycle"] == {"DeleteAfterDays": 35}


# ------------------------------------------------------- copies inherit the source's lifecycle


def _copied_point(setup, copy):
    assert copy["State"] == "COMPLETED", copy
    return setup.backup.describe_recovery_point(
        BackupVaultName="central", RecoveryPointArn=copy["DestinationRecoveryPointArn"]
    )


@pytest.mark.parametrize("lifecycle", [None, {"DeleteAfterDays": -1}])
def test_copy_without_retention_keeps_the_source_lifecycle(emu, lifecycle):
    setup = CopySetup(emu)  # the source recovery point is kept 35 days
    source = setup.source.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=setup.recovery_point_arn)
    copied = _copied_point(setup, setup.copy(lifecycle=lifecycle))
    assert copied["Lifecycle"]["DeleteAfterDays"] == 35
    assert copied["CreationDate"] == source["CreationDate"]
    assert copied["CalculatedLifecycle"]["DeleteAt"] == source["CalculatedLifecycle"]["DeleteAt"]


def test_copy_with_its_own_retention_overrides_the_source_lifecycle(emu):
    setup = CopySetup(emu)
    source = setup.source.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=setup.recovery_point_arn)
    copied = _copied_point(setup, setup.copy(lifecycle={"DeleteAfterDays": 10}))
    assert copied["Lifecycle"] == {"DeleteAfterDays": 10}
    assert copied["CalculatedLifecycle"]["DeleteAt"] - source["CreationDate"] == timedelta(days=10)
