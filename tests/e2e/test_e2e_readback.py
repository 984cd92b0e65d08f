"""Read-back: after writing a vault access policy, a vault lock, a backup plan or a selection,
Coffer reads it back and fails the step when AWS holds something else. The emulator stores
each write altered (``alter_on_write``) while answering as if it stored the request."""

import pytest
from coffer_e2e import CENTRAL_VAULT, PLAN_NAME, SELECTION_NAME, topology_variant
from support import BACKUP

# operation altered -> (the resource the error names, the field, the value AWS then holds)
CASES = {
    "backup:PutBackupVaultAccessPolicy": ("vault access policy of `", "`Policy.Statement`", "AlteredOnWrite"),
    "backup:PutBackupVaultLockConfiguration": (f"vault lock of `{CENTRAL_VAULT}`", "`MinRetentionDays`", None),
    "backup:CreateBackupPlan": (f"backup plan `{PLAN_NAME}`", "`rules[0].schedule`", "cron(0 1 ? * * *)"),
    "backup:CreateBackupSelection": (f"backup selection `{SELECTION_NAME}`", "`resources`", "altered-on-write"),
}


@pytest.mark.parametrize("operation", sorted(CASES))
def test_a_write_aws_holds_differently_fails_its_step(emu, coffer, operation):
    resource, field, held = CASES[operation]
    answer = emu.admin("PUT", "faults", {"alter_on_write": [operation]})
    assert answer["alter_on_write"] == [operation], answer
    result = coffer.apply()
    output = result.stdout + result.stderr
    assert result.code == 1, f"the apply should fail on the read-back of {operation}\n{result}"
    lines = [line for line in output.splitlines() if "AWS holds a different" in line and resource in line]
    assert lines, f"no read-back error names {resource}\n{result}"
    line = lines[-1]
    assert field in line and "sent " in line, line
    if held is not None:
        assert held in line.split("AWS holds ", 2)[-1], line


def test_a_compliance_lock_aws_holds_as_governance_fails_its_step(emu, coffer, tmp_path):
    """A lock put with `changeable_for_days` that AWS holds without a `LockDate` can be removed by
    anyone allowed to: the apply must not report the vault as compliance-locked."""
    lock = "      min_retention_days: 7\n      max_retention_days: 400\n"
    topology = topology_variant(tmp_path, "compliance", (lock, lock + "      changeable_for_days: 3\n"))
    emu.admin("PUT", "faults", {"alter_on_write": ["backup:PutBackupVaultLockConfiguration"]})
    result = coffer.apply("--confirm-irreversible", topology=topology)
    assert result.code == 1, result
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if "AWS holds a different" in line]
    assert any(
        f"vault lock of `{CENTRAL_VAULT}`" in line and "`ChangeableForDays`" in line and "sent 3, AWS holds null" in line
        for line in lines
    ), result
    (vault,) = [v for v in emu.client("backup", BACKUP).list_backup_vaults()["BackupVaultList"] if v["BackupVaultName"] == CENTRAL_VAULT]
    assert "LockDate" not in vault, vault


def test_a_compliance_lock_reads_back_as_put(emu, coffer, tmp_path):
    lock = "      min_retention_days: 7\n      max_retention_days: 400\n"
    topology = topology_variant(tmp_path, "compliance", (lock, lock + "      changeable_for_days: 3\n"))
    result = coffer.apply("--confirm-irreversible", topology=topology)
    assert result.code == 0, result
    assert "AWS holds a different" not in result.stdout + result.stderr
    vault = emu.client("backup", BACKUP).describe_backup_vault(BackupVaultName=CENTRAL_VAULT)
    assert vault["LockDate"] > vault["CreationDate"], vault


def test_without_alteration_every_read_back_passes(emu, coffer):
    result = coffer.apply()
    assert result.code == 0, result
    assert "AWS holds a different" not in result.stdout + result.stderr
    coffer.assert_converged()
