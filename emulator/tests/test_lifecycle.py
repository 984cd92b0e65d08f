"""UpdateRecoveryPointLifecycle, and recovery points in a locked vault: kept until their retention
ends (whether stored before or after the lock), retention never shortened, lengthened only up to
the lock's maximum."""

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from support import REGION, SOURCE, backup_orders, source_vault

DAY = 86400
VAULT_ARN = f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:local"


def _error(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


def _setup(emu, lifecycle=None):
    backup, _ = source_vault(emu)
    return backup, _backup_orders(emu, backup, {"DeleteAfterDays": 35} if lifecycle is None else lifecycle)


def _backup_orders(emu, backup, lifecycle):
    """The recovery point of a completed backup of ``orders`` (no lifecycle when it is empty)."""
    job, done = backup_orders(emu, backup, lifecycle=lifecycle or None)
    assert done["State"] == "COMPLETED", done
    return job["RecoveryPointArn"]


def _update(backup, point, lifecycle):
    return backup.update_recovery_point_lifecycle(BackupVaultName="local", RecoveryPointArn=point, Lifecycle=lifecycle)


def test_update_recovery_point_lifecycle(emu):
    backup, point = _setup(emu)
    created = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=point)["CreationDate"]
    for days in (10, 60):
        answer = _update(backup, point, {"DeleteAfterDays": days})
        assert answer["BackupVaultArn"] == VAULT_ARN
        assert answer["RecoveryPointArn"] == point
        assert answer["Lifecycle"] == {"DeleteAfterDays": days}
        assert answer["CalculatedLifecycle"]["DeleteAt"] - created == timedelta(days=days)
        described = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=point)
        assert described["Lifecycle"] == {"DeleteAfterDays": days}
        assert described["CalculatedLifecycle"]["DeleteAt"] - created == timedelta(days=days)
    answer = _update(backup, point, {"DeleteAfterDays": 200, "MoveToColdStorageAfterDays": 30})
    assert answer["CalculatedLifecycle"]["MoveToColdStorageAt"] - created == timedelta(days=30)


def test_cold_storage_needs_90_more_days(emu):
    backup, point = _setup(emu)
    response = _error(lambda: _update(backup, point, {"DeleteAfterDays": 100, "MoveToColdStorageAfterDays": 30}))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert "90 days" in response["Error"]["Message"]


def test_unknown_recovery_point(emu):
    backup, point = _setup(emu)
    response = _error(lambda: _update(backup, point + "x", {"DeleteAfterDays": 10}))
    assert response["Error"]["Code"] == "ResourceNotFoundException"


LOCKS = {
    "governance": {"MinRetentionDays": 7, "MaxRetentionDays": 100},
    "compliance": {"MinRetentionDays": 7, "MaxRetentionDays": 100, "ChangeableForDays": 3},
}


def _assert_held_by_lock(response):
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert "Backup Vault Lock" in response["Error"]["Message"], response["Error"]


def _assert_expired(backup, point):
    """Past its retention a recovery point is gone (AWS Backup deletes expired recovery points)."""
    response = _error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point))
    assert response["Error"]["Code"] == "ResourceNotFoundException", response["Error"]


@pytest.mark.emulator_only(reason="clock: advances the emulator clock to the end of the retention")
@pytest.mark.parametrize("mode", sorted(LOCKS))
def test_locked_vault_holds_recovery_points_stored_before_the_lock(emu, mode):
    backup, point = _setup(emu)  # kept 35 days
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", **LOCKS[mode])

    _assert_held_by_lock(_error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point)))
    for shorter in ({"DeleteAfterDays": 34}, {"DeleteAfterDays": 7}):
        _assert_held_by_lock(_error(lambda lifecycle=shorter: _update(backup, point, lifecycle)))
    # Longer is allowed, up to the lock's maximum; indefinite retention exceeds it.
    assert _update(backup, point, {"DeleteAfterDays": 60})["Lifecycle"] == {"DeleteAfterDays": 60}
    for beyond in ({"DeleteAfterDays": 101}, {}):
        response = _error(lambda lifecycle=beyond: _update(backup, point, lifecycle))
        _assert_held_by_lock(response)
        assert "MaxRetentionDays=100" in response["Error"]["Message"]
    _assert_held_by_lock(_error(lambda: _update(backup, point, {"DeleteAfterDays": 59})))

    # Once the retention (now 60 days) has ended, the recovery point expires: AWS Backup deletes it.
    emu.admin("POST", "clock", {"advance_seconds": 59 * DAY})
    _assert_held_by_lock(_error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point)))
    emu.admin("POST", "clock", {"advance_seconds": DAY + 60})
    _assert_expired(backup, point)


@pytest.mark.emulator_only(reason="clock: advances the emulator clock to the end of the retention")
def test_locked_vault_holds_recovery_points_stored_after_the_lock(emu):
    backup, _ = _setup(emu, lifecycle={})
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", MinRetentionDays=7)
    point = _backup_orders(emu, backup, {"DeleteAfterDays": 20})
    _assert_held_by_lock(_error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point)))
    emu.admin("POST", "clock", {"advance_seconds": 20 * DAY + 60})
    _assert_expired(backup, point)


@pytest.mark.emulator_only(reason="clock: advances the emulator clock 1000 days")
def test_indefinite_retention_in_a_locked_vault_is_kept_for_ever(emu):
    backup, point = _setup(emu, lifecycle={})  # no lifecycle: kept indefinitely
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", MinRetentionDays=1)
    emu.admin("POST", "clock", {"advance_seconds": 1000 * DAY})
    response = _error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point))
    _assert_held_by_lock(response)
    assert "kept indefinitely" in response["Error"]["Message"]
    _assert_held_by_lock(_error(lambda: _update(backup, point, {"DeleteAfterDays": 2000})))


def test_removing_a_governance_lock_releases_the_recovery_points(emu):
    backup, point = _setup(emu)
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", MinRetentionDays=7)
    _assert_held_by_lock(_error(lambda: _update(backup, point, {"DeleteAfterDays": 8})))
    backup.delete_backup_vault_lock_configuration(BackupVaultName="local")
    _update(backup, point, {"DeleteAfterDays": 8})
    backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point)
