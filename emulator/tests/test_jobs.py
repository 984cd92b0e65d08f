"""Backup and restore jobs of RDS instances, job progress, and the deferred key binding."""

import time

import pytest
from botocore.exceptions import ClientError
from support import BACKUP_ROLE, ORDERS_ARN, REGION, SOURCE, SOURCE_KEY_ALIAS, backup_orders, local_vault, source_vault

UNENCRYPTED_WORLD = """
region: eu-west-1
organization:
  id: o-coffer0seed
  management_account: "100200300400"
  accounts:
    - id: "111222333444"
accounts:
  - id: "111222333444"
    roles:
      - CofferDeployRole
      - {name: AWSBackupDefaultServiceRole, path: /service-role/, trusts: backup.amazonaws.com}
    rds_instances:
      - id: plain
        engine: mysql
"""


def _error(excinfo):
    return excinfo.value.response["Error"]


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_deferred_alias_binding_resolves_when_read(emu):
    rds = emu.client("rds", SOURCE)
    alias_arn = f"arn:aws:kms:{REGION}:{SOURCE}:{SOURCE_KEY_ALIAS}"
    (before,) = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
    assert before["StorageEncrypted"] is True
    assert before["KmsKeyId"] == alias_arn  # the alias does not exist yet
    kms = emu.client("kms", SOURCE)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=SOURCE_KEY_ALIAS, TargetKeyId=key["KeyId"])
    (after,) = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
    assert after["KmsKeyId"] == key["Arn"]


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_backup_before_the_alias_exists_records_the_alias(emu):
    _, done = backup_orders(emu, local_vault(emu))
    assert done["State"] == "COMPLETED"
    assert done["EncryptionKeyArn"] == f"arn:aws:kms:{REGION}:{SOURCE}:{SOURCE_KEY_ALIAS}"


@pytest.mark.emulator_only(reason="job delay: sets the emulator's job delay to watch every state")
def test_job_moves_through_created_running_completed(emu):
    emu.admin("PUT", "settings", {"job_delay_seconds": 1.0})
    backup = local_vault(emu)
    job = backup.start_backup_job(BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE)
    seen = []
    deadline = time.monotonic() + 10
    while not seen or seen[-1] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline
        state = backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.05)
    assert seen == ["CREATED", "RUNNING", "COMPLETED"]
    # The recovery point appears only when the job completes.
    (point,) = backup.list_recovery_points_by_backup_vault(BackupVaultName="local")["RecoveryPoints"]
    assert point["RecoveryPointArn"] == job["RecoveryPointArn"]


@pytest.mark.emulator_only(
    reason="world: a fresh world's empty job lists (AWS keeps listing earlier jobs, no clean-up removes them)"
)
def test_backup_jobs_listing_and_idempotency(emu):
    backup = local_vault(emu)
    first = backup.start_backup_job(
        BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE, IdempotencyToken="t1"
    )
    again = backup.start_backup_job(
        BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE, IdempotencyToken="t1"
    )
    assert first["BackupJobId"] == again["BackupJobId"]
    emu.wait_backup_job(backup, first["BackupJobId"])
    jobs = backup.list_backup_jobs(ByResourceArn=ORDERS_ARN)["BackupJobs"]
    assert [j["BackupJobId"] for j in jobs] == [first["BackupJobId"]]
    assert jobs[0]["State"] == "COMPLETED"
    with pytest.raises(ClientError) as excinfo:
        backup.describe_backup_job(BackupJobId="nope")
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


def test_backup_of_missing_instance_fails(emu):
    backup = local_vault(emu)
    missing = f"arn:aws:rds:{REGION}:{SOURCE}:db:ghost"
    job = backup.start_backup_job(BackupVaultName="local", ResourceArn=missing, IamRoleArn=BACKUP_ROLE)
    done = emu.wait_backup_job(backup, job["BackupJobId"])
    assert done["State"] == "FAILED"
    assert missing in done["StatusMessage"]


@pytest.mark.emulator_only(
    reason="emulator-only feature: only RDS instances can be backed up (AWS backs up EBS volumes too)"
)
def test_backup_rejects_other_resources_and_missing_vaults(emu):
    backup = emu.client("backup", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        backup.start_backup_job(BackupVaultName="nope", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE)
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"
    backup.create_backup_vault(BackupVaultName="local")
    with pytest.raises(ClientError) as excinfo:
        backup.start_backup_job(
            BackupVaultName="local", ResourceArn=f"arn:aws:ec2:{REGION}:{SOURCE}:volume/vol-1", IamRoleArn=BACKUP_ROLE
        )
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"


@pytest.mark.emulator_only(reason="world: a custom world with an unencrypted instance")
def test_unencrypted_instance_gives_unencrypted_recovery_point_and_restore(emu):
    emu.load_world(text=UNENCRYPTED_WORLD)
    backup = local_vault(emu)
    job = backup.start_backup_job(
        BackupVaultName="local", ResourceArn=f"arn:aws:rds:{REGION}:{SOURCE}:db:plain", IamRoleArn=BACKUP_ROLE
    )
    emu.wait_backup_job(backup, job["BackupJobId"])
    point = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=job["RecoveryPointArn"])
    assert point["IsEncrypted"] is False and "EncryptionKeyArn" not in point
    restore = backup.start_restore_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        Metadata={"dbinstanceidentifier": "plain-copy"},
        IamRoleArn=BACKUP_ROLE,
    )
    assert emu.wait_restore_job(backup, restore["RestoreJobId"])["Status"] == "COMPLETED"
    (instance,) = emu.client("rds", SOURCE).describe_db_instances(DBInstanceIdentifier="plain-copy")["DBInstances"]
    assert instance["StorageEncrypted"] is False and instance["Engine"] == "mysql"


@pytest.mark.emulator_only(
    reason="world: a fresh world's empty job lists (AWS keeps listing earlier jobs, no clean-up removes them)"
)
def test_restore_job_failures_and_listing(emu):
    backup, _ = source_vault(emu)
    job, _ = backup_orders(emu, backup)
    with pytest.raises(ClientError) as excinfo:
        backup.start_restore_job(
            RecoveryPointArn=job["RecoveryPointArn"], Metadata={"Engine": "postgres"}, IamRoleArn=BACKUP_ROLE
        )
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as excinfo:
        backup.start_restore_job(
            RecoveryPointArn="arn:aws:rds:x:1:snapshot:nope",
            Metadata={"DBInstanceIdentifier": "x"},
            IamRoleArn=BACKUP_ROLE,
        )
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"

    clash = backup.start_restore_job(
        RecoveryPointArn=job["RecoveryPointArn"], Metadata={"DBInstanceIdentifier": "orders"}, IamRoleArn=BACKUP_ROLE
    )
    failed = emu.wait_restore_job(backup, clash["RestoreJobId"])
    assert failed["Status"] == "FAILED" and "already exists" in failed["StatusMessage"]
    assert [j["RestoreJobId"] for j in backup.list_restore_jobs(ByStatus="FAILED")["RestoreJobs"]] == [
        clash["RestoreJobId"]
    ]


@pytest.mark.emulator_only(reason="admin API: loads the world again while a job runs")
def test_a_job_running_when_the_world_is_loaded_again_never_ends_in_the_new_world(emu):
    """Loading a world resets every account: a backup job still running then ends nowhere, even
    once its time has come and the new world has a vault of the same name for it to write to."""
    emu.admin("PUT", "settings", {"job_delay_seconds": 600.0})
    backup = source_vault(emu)[0]
    job = backup.start_backup_job(BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE)
    assert backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "CREATED"

    emu.load_world()
    backup = source_vault(emu)[0]
    emu.admin("POST", "clock", {"advance_seconds": 86400})

    assert backup.list_backup_jobs()["BackupJobs"] == []
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="local")["RecoveryPoints"] == []
