"""Cross-account copy: the happy path to a restore, then each prerequisite removed on its own."""

import json

import pytest
from support import (
    BACKUP,
    BACKUP_ROLE,
    MANAGEMENT,
    ORDERS_ARN,
    ORG_ID,
    ORG_PATH,
    REGION,
    SOURCE,
    CopySetup,
    backup_orders,
    key_policy,
    policy_document,
    root,
    source_vault,
    statement,
)

COPY_INTO = "backup:CopyIntoBackupVault"


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_backup_copy_restore_across_accounts(emu):
    setup = CopySetup(emu)
    point = setup.source.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=setup.recovery_point_arn)
    assert point["EncryptionKeyArn"] == setup.source_key_arn  # RDS keeps the source DB's key
    assert point["ResourceArn"] == ORDERS_ARN

    copy = setup.copy(lifecycle={"DeleteAfterDays": 90})
    assert copy["State"] == "COMPLETED", copy
    assert copy["DestinationEncryptionKeyArn"] == setup.backup_key_arn

    points = setup.backup.list_recovery_points_by_backup_vault(BackupVaultName="central")["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [copy["DestinationRecoveryPointArn"]]
    copied = points[0]
    assert copied["EncryptionKeyArn"] == setup.backup_key_arn  # re-encrypted with the destination vault's key
    assert copied["Lifecycle"] == {"DeleteAfterDays": 90}
    assert copied["SourceBackupVaultArn"] == f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:local"
    assert copied["CreationDate"] == point["CreationDate"]  # copies keep the source creation date

    restore = setup.backup.start_restore_job(
        RecoveryPointArn=copied["RecoveryPointArn"],
        Metadata={"DBInstanceIdentifier": "orders-restored"},
        IamRoleArn=f"arn:aws:iam::{BACKUP}:role/restore",
        ResourceType="RDS",
    )
    done = emu.wait_restore_job(setup.backup, restore["RestoreJobId"])
    assert done["Status"] == "COMPLETED", done
    assert done["CreatedResourceArn"] == f"arn:aws:rds:{REGION}:{BACKUP}:db:orders-restored"
    instance = emu.client("rds", BACKUP).describe_db_instances(DBInstanceIdentifier="orders-restored")["DBInstances"][0]
    assert instance["StorageEncrypted"] is True
    assert instance["KmsKeyId"] == setup.backup_key_arn
    assert instance["Engine"] == "postgres"


def _assert_failed(copy, *fragments):
    assert copy["State"] == "FAILED", copy
    for fragment in fragments:
        assert fragment in copy["StatusMessage"], copy["StatusMessage"]


@pytest.mark.emulator_only(reason="unsafe on AWS: removes the backup account from the organization")
def test_accounts_in_different_organizations(emu):
    setup = CopySetup(emu)
    emu.client("organizations", MANAGEMENT).remove_account_from_organization(AccountId=BACKUP)
    _assert_failed(setup.copy(), "Both source and destination account must be a member of the same organization")


@pytest.mark.emulator_only(
    reason="eventual consistency: AWS turns isCrossAccountBackupEnabled off only after up to 15 minutes"
)
def test_cross_account_backup_not_enabled(emu):
    setup = CopySetup(emu, enable_cross_account=False)
    _assert_failed(setup.copy(), "Cross-account backup is not enabled", MANAGEMENT)


def test_destination_is_the_default_vault(emu):
    setup = CopySetup(emu, destination_vault="Default")
    _assert_failed(setup.copy(), "cannot be the Default backup vault")


def test_destination_vault_does_not_exist(emu):
    setup = CopySetup(emu)
    missing = f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:nowhere"
    _assert_failed(setup.copy(destination_vault_arn=missing), "does not exist", missing)


def test_destination_vault_without_access_policy(emu):
    setup = CopySetup(emu, with_vault_policy=False)
    _assert_failed(setup.copy(), "Access Denied trying to call AWS Backup service", "no access policy")


def test_access_policy_for_another_account(emu):
    policy = policy_document(statement("Allow", {"AWS": root("999999999999")}, COPY_INTO))
    setup = CopySetup(emu, vault_policy=policy)
    _assert_failed(setup.copy(), "Access Denied trying to call AWS Backup service", "does not allow", SOURCE)


def test_access_policy_principal_star_with_wrong_org(emu):
    wrong_org = {"StringEquals": {"aws:PrincipalOrgID": "o-someoneelse1"}}
    policy = policy_document(statement("Allow", "*", COPY_INTO, wrong_org))
    setup = CopySetup(emu, vault_policy=policy)
    _assert_failed(setup.copy(), "Access Denied trying to call AWS Backup service")


def test_access_policy_principal_star_without_org_condition(emu):
    policy = policy_document(statement("Allow", "*", COPY_INTO))
    setup = CopySetup(emu, vault_policy=policy)
    _assert_failed(setup.copy(), "Access Denied trying to call AWS Backup service", "does not allow")


def test_explicit_deny_in_access_policy_wins(emu):
    policy = policy_document(
        statement("Allow", {"AWS": SOURCE}, COPY_INTO),
        statement("Deny", "*", COPY_INTO, {"StringEquals": {"aws:PrincipalAccount": SOURCE}}),
    )
    setup = CopySetup(emu, vault_policy=policy)
    _assert_failed(setup.copy(), "Access Denied trying to call AWS Backup service", "explicitly denies")


@pytest.mark.parametrize(
    "allowed",
    [
        {"Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}},
        {"Principal": {"AWS": SOURCE}},
        {"Principal": {"AWS": BACKUP_ROLE}},
        {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": [ORG_ID]}}},
        {"Principal": "*", "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [ORG_PATH]}}},
        pytest.param(
            {
                "Principal": "*",
                "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG_ID}/r-c0ff/*"]}},
            },
            marks=pytest.mark.emulator_only(reason="world: the seed world's root ID r-c0ff is written in this case"),
        ),
    ],
    ids=["account-root-arn", "account-id", "role-arn", "org-id", "org-path", "org-path-wildcard"],
)
def test_documented_access_policy_principals_allow_the_copy(emu, allowed):
    policy = policy_document({"Effect": "Allow", "Action": COPY_INTO, "Resource": "*", **allowed})
    setup = CopySetup(emu, vault_policy=policy)
    assert setup.copy()["State"] == "COMPLETED"


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_source_key_not_shared_with_destination(emu):
    setup = CopySetup(emu, share_source_key=False)
    _assert_failed(
        setup.copy(),
        f"The source snapshot KMS key [{setup.source_key_arn}] does not exist, is not enabled",
        "or you do not have permissions to access it.",
        "key policy does not allow destination account",
        "kms:Decrypt",
    )


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_source_key_shared_with_kms_star(emu):
    setup = CopySetup(emu, share_source_key=False)
    shared = key_policy(SOURCE, None)
    shared["Statement"].append(statement("Allow", {"AWS": root(BACKUP)}, "kms:*"))
    emu.client("kms", SOURCE).put_key_policy(
        KeyId=setup.source_key_arn, PolicyName="default", Policy=json.dumps(shared)
    )
    assert setup.copy()["State"] == "COMPLETED"


@pytest.mark.emulator_only(reason="world: seed-aws-rds.yaml")
def test_source_encrypted_with_aws_managed_key_can_never_be_copied(emu):
    emu.load_world("seed-aws-rds.yaml")
    setup = CopySetup(emu)
    point = setup.source.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=setup.recovery_point_arn)
    key = emu.client("kms", SOURCE).describe_key(KeyId=point["EncryptionKeyArn"])["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    _assert_failed(setup.copy(), "does not exist, is not enabled or you do not have permissions", "AWS managed key")


def test_copy_outside_destination_lock_bounds_fails(emu):
    setup = CopySetup(emu)
    setup.backup.put_backup_vault_lock_configuration(
        BackupVaultName="central", MinRetentionDays=30, MaxRetentionDays=60
    )
    _assert_failed(setup.copy(lifecycle={"DeleteAfterDays": 7}), "Backup Vault Lock", "MinRetentionDays=30")
    _assert_failed(setup.copy(lifecycle={"DeleteAfterDays": 61}), "a retention of 61 days", "MaxRetentionDays=60")
    assert setup.copy()["State"] == "COMPLETED"  # no lifecycle: the source's 35 days, within the bounds
    assert setup.copy(lifecycle={"DeleteAfterDays": 45})["State"] == "COMPLETED"


def test_same_account_cross_region_copy(emu):
    source, _ = source_vault(emu)
    other_region = emu.client("backup", SOURCE, region="eu-central-1")
    dr_key = emu.client("kms", SOURCE, region="eu-central-1").create_key()["KeyMetadata"]["Arn"]
    other_region.create_backup_vault(BackupVaultName="dr", EncryptionKeyArn=dr_key)
    job, _ = backup_orders(emu, source)
    copy = source.start_copy_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        SourceBackupVaultName="local",
        DestinationBackupVaultArn=f"arn:aws:backup:eu-central-1:{SOURCE}:backup-vault:dr",
        IamRoleArn=BACKUP_ROLE,
    )
    done = emu.wait_copy_job(source, copy["CopyJobId"])
    assert done["State"] == "COMPLETED", done
    (point,) = other_region.list_recovery_points_by_backup_vault(BackupVaultName="dr")["RecoveryPoints"]
    assert point["EncryptionKeyArn"] == dr_key
    assert point["RecoveryPointArn"].startswith(f"arn:aws:rds:eu-central-1:{SOURCE}:snapshot:awsbackup:copyjob-")


@pytest.mark.emulator_only(
    reason="world: a fresh world's empty job lists (AWS keeps listing earlier jobs, no clean-up removes them)"
)
def test_copy_jobs_are_listed_and_idempotent(emu):
    setup = CopySetup(emu)
    arguments = {
        "RecoveryPointArn": setup.recovery_point_arn,
        "SourceBackupVaultName": "local",
        "DestinationBackupVaultArn": setup.destination_vault_arn,
        "IamRoleArn": BACKUP_ROLE,
        "IdempotencyToken": "copy-1",
    }
    first = setup.source.start_copy_job(**arguments)
    again = setup.source.start_copy_job(**arguments)
    assert first["CopyJobId"] == again["CopyJobId"]
    emu.wait_copy_job(setup.source, first["CopyJobId"])
    jobs = setup.source.list_copy_jobs(ByState="COMPLETED")["CopyJobs"]
    assert [j["CopyJobId"] for j in jobs] == [first["CopyJobId"]]
    assert setup.source.list_copy_jobs(ByState="FAILED")["CopyJobs"] == []
