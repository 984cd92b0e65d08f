"""Key policies evaluated for the keys AWS Backup (and RDS for it) uses during jobs: the DB key of
a backup, the recovery point's key of a restore, the source key (for the source account and for
the destination account) and the destination vault's key of a copy."""

import json

import pytest
from support import (
    BACKUP,
    BACKUP_ROLE,
    ORDERS_ARN,
    REGION,
    SOURCE,
    CopySetup,
    backup_orders,
    key_policy,
    source_vault,
    statement,
)

RESTORE_ROLE = f"arn:aws:iam::{BACKUP}:role/restore"
PREFIX = "does not exist, is not enabled or you do not have permissions to access it."


def deny(principal, actions, condition=None):
    return statement("Deny", principal, actions, condition, sid="Deny")


def put_policy(kms, key, owner, *extra, shared_with=None):
    document = key_policy(owner, shared_with)
    document["Statement"] += list(extra)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(document))


def _failed(job, *fragments):
    status = job.get("State") or job.get("Status")
    assert status == "FAILED", job
    for fragment in fragments:
        assert fragment in job["StatusMessage"], job["StatusMessage"]


def _copy_under_source_key(emu, extra):
    """A copy after the statement ``extra`` is added to the source key's policy (shared with the
    backup account): the copy setup and the ended copy job."""
    setup = CopySetup(emu)
    put_policy(emu.client("kms", SOURCE), setup.source_key_arn, SOURCE, extra, shared_with=BACKUP)
    return setup, setup.copy()


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_backup_job_fails_when_the_db_key_denies_the_job_role(emu):
    kms = emu.client("kms", SOURCE)
    backup, key_arn = source_vault(emu)
    via_rds = {"StringEquals": {"kms:ViaService": f"rds.{REGION}.amazonaws.com"}}
    put_policy(kms, key_arn, SOURCE, deny({"AWS": BACKUP_ROLE}, "kms:CreateGrant", via_rds))
    _failed(
        backup_orders(emu, backup)[1],
        f"Backup job failed. The KMS key [{key_arn}] of resource {ORDERS_ARN} {PREFIX}",
        f"(The key policy explicitly denies role {BACKUP_ROLE} kms:CreateGrant.)",
    )
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="local")["RecoveryPoints"] == []

    put_policy(kms, key_arn, SOURCE)
    assert backup_orders(emu, backup)[1]["State"] == "COMPLETED"


def test_restore_job_fails_when_the_key_does_not_allow_the_restore_role(emu):
    setup = CopySetup(emu)
    copy = setup.copy(lifecycle={"DeleteAfterDays": 90})
    assert copy["State"] == "COMPLETED", copy
    backup_kms = emu.client("kms", BACKUP)
    # Only the restore role itself may not decrypt: everything else stays allowed.
    put_policy(backup_kms, setup.backup_key_arn, BACKUP, deny({"AWS": RESTORE_ROLE}, ["kms:Decrypt"]))

    def restore(name):
        job = setup.backup.start_restore_job(
            RecoveryPointArn=copy["DestinationRecoveryPointArn"],
            Metadata={"DBInstanceIdentifier": name},
            IamRoleArn=RESTORE_ROLE,
        )
        return emu.wait_restore_job(setup.backup, job["RestoreJobId"])

    _failed(
        restore("denied"),
        f"Restore job failed. The KMS key [{setup.backup_key_arn}] of recovery point",
        f"(The key policy explicitly denies role {RESTORE_ROLE} kms:Decrypt.)",
    )
    assert emu.client("rds", BACKUP).describe_db_instances()["DBInstances"] == []
    put_policy(backup_kms, setup.backup_key_arn, BACKUP)
    assert restore("allowed")["Status"] == "COMPLETED"


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_copy_fails_when_the_source_key_explicitly_denies_the_destination(emu):
    setup, copy = _copy_under_source_key(
        emu, deny("*", "kms:CreateGrant", {"StringEquals": {"aws:PrincipalAccount": BACKUP}})
    )
    _failed(
        copy,
        f"The source snapshot KMS key [{setup.source_key_arn}] {PREFIX}",
        f"(The key policy explicitly denies destination account {BACKUP} kms:CreateGrant.)",
    )


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_copy_needs_grants_for_aws_resources_only(emu):
    """The destination's grant on the source key is created by AWS Backup: a grant statement
    limited to ``kms:GrantIsForAWSResource`` is enough (CopySetup's key policy), and a condition
    on ``kms:ViaService`` sees AWS Backup in the source Region."""
    setup = CopySetup(emu)
    document = key_policy(SOURCE, BACKUP)
    for statement in document["Statement"][1:]:
        statement.setdefault("Condition", {})["StringEquals"] = {"kms:ViaService": f"backup.{REGION}.amazonaws.com"}
    emu.client("kms", SOURCE).put_key_policy(
        KeyId=setup.source_key_arn, PolicyName="default", Policy=json.dumps(document)
    )
    assert setup.copy()["State"] == "COMPLETED"


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_copy_fails_when_the_source_key_denies_the_source_job_role(emu):
    setup, copy = _copy_under_source_key(emu, deny({"AWS": BACKUP_ROLE}, "kms:Decrypt"))
    _failed(
        copy,
        f"The source snapshot KMS key [{setup.source_key_arn}] {PREFIX}",
        f"(The key policy explicitly denies source account {SOURCE} (role {BACKUP_ROLE}) kms:Decrypt.)",
    )


def test_copy_fails_when_the_destination_vault_key_denies_aws_backup(emu):
    setup = CopySetup(emu)
    via_backup = {"StringLike": {"kms:ViaService": "backup.*.amazonaws.com"}}
    put_policy(emu.client("kms", BACKUP), setup.backup_key_arn, BACKUP, deny("*", "kms:GenerateDataKey", via_backup))
    _failed(
        setup.copy(),
        f"Copy job failed. The destination backup vault key [{setup.backup_key_arn}] {PREFIX}",
        f"(The key policy explicitly denies destination account {BACKUP} kms:GenerateDataKey.)",
    )
    assert setup.backup.list_recovery_points_by_backup_vault(BackupVaultName="central")["RecoveryPoints"] == []
