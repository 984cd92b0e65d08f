"""Recovery points expire on the emulator clock: once ``CreationDate + DeleteAfterDays`` has passed,
AWS Backup deletes them (gone from ListRecoveryPointsByBackupVault, DescribeRecoveryPoint answers
ResourceNotFoundException), in locked vaults too; never before."""

from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from support import CopySetup, backup_orders, source_vault

DAY = 86400
pytestmark = pytest.mark.emulator_only(reason="clock: advances the emulator clock to the end of the retention")


def _error(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


def _backup_orders(emu, backup, lifecycle):
    job, done = backup_orders(emu, backup, lifecycle=lifecycle)
    assert done["State"] == "COMPLETED"
    return job["RecoveryPointArn"]


def _listed(backup, vault="local"):
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    return [p["RecoveryPointArn"] for p in points]


def _advance_to(emu, moment: datetime) -> datetime:
    """Move the emulator clock to ``moment`` (it only moves forward); returns the clock's new time."""
    now = datetime.fromisoformat(emu.admin("GET", "clock")["now"])
    assert moment > now, (moment, now)
    advanced = emu.admin("POST", "clock", {"advance_seconds": (moment - now).total_seconds()})
    return datetime.fromisoformat(advanced["now"])


def _assert_expires_exactly_at_delete_at(emu, backup, point, vault="local"):
    """Present (listed, described) ten minutes before its DeleteAt (a margin no slow machine
    uses up between two calls); gone a second after it."""
    delete_at = backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)["CalculatedLifecycle"][
        "DeleteAt"
    ]
    assert _advance_to(emu, delete_at - timedelta(minutes=10)) < delete_at
    assert point in _listed(backup, vault)
    assert backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)["Status"] == "COMPLETED"

    _advance_to(emu, delete_at + timedelta(seconds=1))
    assert point not in _listed(backup, vault)
    response = _error(lambda: backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=point))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert backup.describe_backup_vault(BackupVaultName=vault)["NumberOfRecoveryPoints"] == 0


def test_recovery_point_expires_when_its_retention_ends(emu):
    backup = source_vault(emu)[0]
    point = _backup_orders(emu, backup, {"DeleteAfterDays": 7})
    _assert_expires_exactly_at_delete_at(emu, backup, point)
    backup.delete_backup_vault(BackupVaultName="local")  # empty now


@pytest.mark.parametrize(
    "lock",
    [
        {"MinRetentionDays": 7, "MaxRetentionDays": 30},  # governance mode
        {"MinRetentionDays": 7, "MaxRetentionDays": 30, "ChangeableForDays": 3},  # compliance mode
    ],
)
def test_recovery_point_in_a_locked_vault_expires_at_the_end_of_its_retention(emu, lock):
    backup = source_vault(emu)[0]
    backup.put_backup_vault_lock_configuration(BackupVaultName="local", **lock)
    point = _backup_orders(emu, backup, {"DeleteAfterDays": 10})
    # Past the lock's minimum (7 days) but within its own retention: still held by the lock.
    emu.admin("POST", "clock", {"advance_seconds": 8 * DAY})
    response = _error(lambda: backup.delete_recovery_point(BackupVaultName="local", RecoveryPointArn=point))
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert "Backup Vault Lock" in response["Error"]["Message"]
    _assert_expires_exactly_at_delete_at(emu, backup, point)


def test_lengthened_retention_moves_the_expiry(emu):
    backup = source_vault(emu)[0]
    point = _backup_orders(emu, backup, {"DeleteAfterDays": 7})
    backup.update_recovery_point_lifecycle(
        BackupVaultName="local", RecoveryPointArn=point, Lifecycle={"DeleteAfterDays": 30}
    )
    emu.admin("POST", "clock", {"advance_seconds": 8 * DAY})
    assert point in _listed(backup)
    _assert_expires_exactly_at_delete_at(emu, backup, point)


@pytest.mark.parametrize("lifecycle", [None, {"DeleteAfterDays": -1}])
def test_recovery_point_kept_indefinitely_never_expires(emu, lifecycle):
    backup = source_vault(emu)[0]
    point = _backup_orders(emu, backup, lifecycle)
    emu.admin("POST", "clock", {"advance_seconds": 36500 * DAY})
    assert point in _listed(backup)


def test_copy_expires_with_the_source_creation_date(emu):
    setup = CopySetup(emu)  # source recovery point kept 35 days
    copy = setup.copy(lifecycle={"DeleteAfterDays": 10})
    assert copy["State"] == "COMPLETED", copy
    copied = copy["DestinationRecoveryPointArn"]
    source = setup.source.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=setup.recovery_point_arn)
    delete_at = setup.backup.describe_recovery_point(BackupVaultName="central", RecoveryPointArn=copied)[
        "CalculatedLifecycle"
    ]["DeleteAt"]
    assert delete_at == source["CreationDate"] + timedelta(days=10)
    _assert_expires_exactly_at_delete_at(emu, setup.backup, copied, vault="central")
    assert setup.recovery_point_arn in _listed(setup.source)  # the source keeps its own 35 days
