"""Vaults: idempotent creation, access policies, deletion, Vault Lock and retention."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, ORDERS_ARN, REGION, SOURCE, backup_orders, policy_document, root, source_vault, statement

DAY = 86400


def _error(excinfo):
    return excinfo.value.response["Error"]


def test_create_vault_is_idempotent_with_creator_request_id(emu):
    backup = emu.client("backup", BACKUP)
    first = backup.create_backup_vault(BackupVaultName="central", CreatorRequestId="req-1")
    again = backup.create_backup_vault(BackupVaultName="central", CreatorRequestId="req-1")
    assert (
        first["BackupVaultArn"] == again["BackupVaultArn"] == f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:central"
    )
    assert first["CreationDate"] == again["CreationDate"]
    with pytest.raises(ClientError) as excinfo:
        backup.create_backup_vault(BackupVaultName="central", CreatorRequestId="req-2")
    assert _error(excinfo)["Code"] == "AlreadyExistsException"
    assert len(backup.list_backup_vaults()["BackupVaultList"]) == 1


def test_vault_without_key_uses_the_aws_managed_backup_key(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="plain")
    vault = backup.describe_backup_vault(BackupVaultName="plain")
    key = emu.client("kms", BACKUP).describe_key(KeyId=vault["EncryptionKeyArn"])["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    aliases = emu.client("kms", BACKUP).list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/aws/backup"]


def test_invalid_vault_name_is_rejected(emu):
    with pytest.raises(ClientError) as excinfo:
        emu.client("backup", BACKUP).create_backup_vault(BackupVaultName="no spaces allowed")
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"


def test_access_policy_put_get_delete(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    policy = json.dumps(policy_document(statement("Allow", {"AWS": root(SOURCE)}, "backup:CopyIntoBackupVault")))
    backup.put_backup_vault_access_policy(BackupVaultName="central", Policy=policy)
    got = backup.get_backup_vault_access_policy(BackupVaultName="central")
    assert json.loads(got["Policy"]) == json.loads(policy)
    assert got["BackupVaultArn"] == f"arn:aws:backup:{REGION}:{BACKUP}:backup-vault:central"
    backup.delete_backup_vault_access_policy(BackupVaultName="central")
    with pytest.raises(ClientError) as excinfo:
        backup.get_backup_vault_access_policy(BackupVaultName="central")
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("action", ["backup:*", "*", "backup:Copy*", ["backup:DescribeBackupVault", "backup:Get*"]])
def test_access_policy_with_wildcard_action_is_rejected(emu, action):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    policy = policy_document(statement("Allow", "*", action))
    with pytest.raises(ClientError) as excinfo:
        backup.put_backup_vault_access_policy(BackupVaultName="central", Policy=json.dumps(policy))
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"
    assert "wildcard in the Action" in _error(excinfo)["Message"]


def test_access_policy_on_missing_vault(emu):
    with pytest.raises(ClientError) as excinfo:
        emu.client("backup", BACKUP).get_backup_vault_access_policy(BackupVaultName="nope")
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


@pytest.mark.emulator_only(
    reason="eventual consistency: deletes the vault right after its last recovery point (AWS may refuse for a while)"
)
def test_vault_with_recovery_points_cannot_be_deleted(emu):
    backup, _ = source_vault(emu)
    _, job = backup_orders(emu, backup)
    assert backup.describe_backup_vault(BackupVaultName="local")["NumberOfRecoveryPoints"] == 1
    (listed,) = backup.list_backup_vaults()["BackupVaultList"]
    assert listed["NumberOfRecoveryPoints"] == 1
    with pytest.raises(ClientError) as excinfo:
        backup.delete_backup_vault(BackupVaultName="local")
    assert _error(excinfo)["Code"] == "InvalidRequestException"
    assert _error(excinfo)["Message"] == "Backup vault cannot be deleted because it contains recovery points."
    backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=job["RecoveryPointArn"])
    assert backup.describe_backup_vault(BackupVaultName="local")["NumberOfRecoveryPoints"] == 0
    backup.delete_backup_vault(BackupVaultName="local")
    assert backup.list_backup_vaults()["BackupVaultList"] == []


@pytest.mark.emulator_only(reason="clock: advances the emulator clock 400 days")
def test_governance_lock_is_removable_at_any_time(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    backup.put_backup_vault_lock_configuration(BackupVaultName="central", MinRetentionDays=7, MaxRetentionDays=365)
    vault = backup.describe_backup_vault(BackupVaultName="central")
    assert vault["Locked"] is True
    assert (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 365)
    assert "LockDate" not in vault
    emu.admin("POST", "clock", {"advance_seconds": 400 * DAY})
    backup.delete_backup_vault_lock_configuration(BackupVaultName="central")
    vault = backup.describe_backup_vault(BackupVaultName="central")
    assert vault["Locked"] is False
    assert "MinRetentionDays" not in vault


@pytest.mark.emulator_only(reason="clock: advances the emulator clock past the lock date")
def test_compliance_lock_becomes_immutable_at_lock_date(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    before = datetime.now(UTC)
    backup.put_backup_vault_lock_configuration(BackupVaultName="central", MinRetentionDays=7, ChangeableForDays=3)
    vault = backup.describe_backup_vault(BackupVaultName="central")
    assert vault["Locked"] is True  # locked during the grace time too
    assert abs(vault["LockDate"] - (before + timedelta(days=3))) < timedelta(minutes=1)

    # During the grace time the lock can still be changed or removed.
    backup.put_backup_vault_lock_configuration(BackupVaultName="central", MinRetentionDays=14, ChangeableForDays=3)
    emu.admin("POST", "clock", {"advance_seconds": 3 * DAY + 60})
    for call in (
        lambda: backup.delete_backup_vault_lock_configuration(BackupVaultName="central"),
        lambda: backup.put_backup_vault_lock_configuration(BackupVaultName="central", MinRetentionDays=1),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo)["Code"] == "InvalidRequestException"
        assert "immutable" in _error(excinfo)["Message"]
    assert backup.describe_backup_vault(BackupVaultName="central")["MinRetentionDays"] == 14
    # An empty compliance-locked vault can still be deleted.
    backup.delete_backup_vault(BackupVaultName="central")


@pytest.mark.emulator_only(reason="clock: advances the emulator clock into the grace time")
def test_compliance_lock_can_be_removed_during_grace_time(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    backup.put_backup_vault_lock_configuration(BackupVaultName="central", MinRetentionDays=7, ChangeableForDays=3)
    emu.admin("POST", "clock", {"advance_seconds": 2 * DAY})
    backup.delete_backup_vault_lock_configuration(BackupVaultName="central")
    assert backup.describe_backup_vault(BackupVaultName="central")["Locked"] is False


@pytest.mark.parametrize(
    "arguments",
    [
        {"MinRetentionDays": 0},
        {"MaxRetentionDays": 36501},
        {"ChangeableForDays": 2},
        {"MinRetentionDays": 10, "MaxRetentionDays": 5},
    ],
)
def test_lock_bounds_are_validated(emu, arguments):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="central")
    with pytest.raises(ClientError) as excinfo:
        backup.put_backup_vault_lock_configuration(BackupVaultName="central", **arguments)
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"


@pytest.mark.emulator_only(reason="clock: advances the emulator clock to the end of the retention")
def test_locked_vault_keeps_recovery_points_until_their_retention_ends(emu):
    backup, _ = source_vault(emu)
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", MinRetentionDays=7, MaxRetentionDays=30)

    _, too_short = backup_orders(emu, backup, lifecycle={"DeleteAfterDays": 3})
    assert too_short["State"] == "FAILED"
    assert "Backup Vault Lock" in too_short["StatusMessage"] and "MinRetentionDays=7" in too_short["StatusMessage"]

    _, kept = backup_orders(emu, backup, lifecycle={"DeleteAfterDays": 10})
    assert kept["State"] == "COMPLETED"
    # Protected until the recovery point's own retention (10 days) ends, not the lock's minimum.
    for advance in (0, 7 * DAY + 60):
        emu.admin("POST", "clock", {"advance_seconds": advance})
        with pytest.raises(ClientError) as excinfo:
            backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=kept["RecoveryPointArn"])
        assert _error(excinfo)["Code"] == "InvalidRequestException"
        assert "Backup Vault Lock" in _error(excinfo)["Message"]

    # Then it expires: AWS Backup deletes it, lock or not.
    emu.admin("POST", "clock", {"advance_seconds": 3 * DAY})
    with pytest.raises(ClientError) as excinfo:
        backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=kept["RecoveryPointArn"])
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_recovery_point_listing_and_description(emu):
    backup, key_arn = source_vault(emu)
    _, job = backup_orders(emu, backup, lifecycle={"DeleteAfterDays": 35})
    (point,) = backup.list_recovery_points_by_backup_vault(BackupVaultName="local", ByResourceArn=ORDERS_ARN)[
        "RecoveryPoints"
    ]
    described = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=job["RecoveryPointArn"])
    for fields in (point, described):
        assert fields["RecoveryPointArn"] == job["RecoveryPointArn"]
        assert fields["ResourceType"] == "RDS"
        assert fields["Status"] == "COMPLETED"
        assert fields["EncryptionKeyArn"] == key_arn
        assert fields["IsEncrypted"] is True
        assert fields["CalculatedLifecycle"]["DeleteAt"] - fields["CreationDate"] == timedelta(days=35)
    assert (
        backup.list_recovery_points_by_backup_vault(BackupVaultName="local", ByResourceArn="arn:aws:rds:x")[
            "RecoveryPoints"
        ]
        == []
    )
    with pytest.raises(ClientError) as excinfo:
        backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=job["RecoveryPointArn"] + "x")
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


@pytest.mark.emulator_only(reason="world: the seed world's source account ID is written in the test")
def test_key_state_calls_take_key_arns(emu):
    """KMS takes a key ARN wherever it takes a key ID; Coffer passes ARNs."""
    kms = emu.client("kms", "111222333444")
    arn = kms.create_key(Description="by arn")["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
