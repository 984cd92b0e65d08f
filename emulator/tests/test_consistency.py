"""Optional eventual consistency (``consistency.py``): for each kind of change, the old behaviour
while its delay runs and the new one once the emulator clock has moved past it.

The delays are measured on the emulator clock, so the tests move it with ``POST /_coffer/clock``
instead of sleeping. Reads (``GetKeyPolicy``, ``DescribeGlobalSettings``, ...) are never delayed.
"""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import (
    BACKUP,
    MANAGEMENT,
    NO_RETRIES,
    ORDERS_ARN,
    REGION,
    SOURCE,
    WORLDS,
    CopySetup,
    Emulator,
    key_policy,
    org_vault_policy,
)

pytestmark = pytest.mark.emulator_only(reason="eventual consistency: sets the emulator's delays and moves its clock")

DELAY = 60
ALL_OFF = {"new_role": 0, "key_policy": 0, "vault_policy": 0, "vault_deleted": 0, "cross_account_backup": 0}


def _consistency(emu: Emulator, **delays: float) -> None:
    answer = emu.admin("PUT", "consistency", delays)
    assert answer == {**ALL_OFF, **{k: float(v) for k, v in delays.items()}}, answer


def _propagate(emu: Emulator) -> None:
    """Move the emulator clock past every delay."""
    emu.admin("POST", "clock", {"advance_seconds": DELAY + 1})


def _error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response


def _failed(copy: dict[str, Any], fragment: str) -> None:
    assert copy["State"] == "FAILED", copy
    assert fragment in copy["StatusMessage"], copy["StatusMessage"]


# ------------------------------------------------------------------ settings


def test_consistency_is_off_by_default_and_set_through_the_admin_api(emu):
    assert emu.admin("GET", "consistency") == ALL_OFF
    _consistency(emu, key_policy=3, vault_deleted=0.5)
    assert emu.admin("GET", "consistency") == {**ALL_OFF, "key_policy": 3.0, "vault_deleted": 0.5}
    assert emu.admin("DELETE", "consistency") == ALL_OFF
    assert emu.admin("GET", "consistency") == ALL_OFF


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"key_policies": 3}, "eventual_consistency: unknown keys ['key_policies']"),
        ({"key_policy": -1}, "eventual_consistency: key_policy must be a number of seconds >= 0"),
        ({"new_role": "3"}, "eventual_consistency: new_role must be a number of seconds >= 0"),
        ({"new_role": True}, "eventual_consistency: new_role must be a number of seconds >= 0"),
    ],
)
def test_invalid_settings_are_refused_with_the_key_named(emu, body, fragment):
    answer = emu.admin("PUT", "consistency", body)
    assert answer["status"] == 400 and fragment in answer["error"], answer
    assert emu.admin("GET", "consistency") == ALL_OFF


def test_reset_turns_consistency_off(emu):
    _consistency(emu, vault_policy=DELAY)
    assert emu.admin("POST", "reset") == {"reset": True}
    assert emu.admin("GET", "consistency") == ALL_OFF


def _seed_world_with(extra: str) -> str:
    return (WORLDS / "seed.yaml").read_text() + extra


def test_world_files_set_consistency_and_their_own_resources_are_visible_at_once(emu):
    emu.load_world(text=_seed_world_with("eventual_consistency: {new_role: 60, key_policy: 3}\n"))
    assert emu.admin("GET", "consistency") == {**ALL_OFF, "new_role": 60.0, "key_policy": 3.0}
    # The world's roles existed before: they can be assumed at once.
    backup = emu.client("backup", SOURCE)
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    # Loading another world forgets the delays.
    emu.load_world()
    assert emu.admin("GET", "consistency") == ALL_OFF


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("eventual_consistency: {vault_policies: 3}\n", "eventual_consistency: unknown keys ['vault_policies']"),
        ("eventual_consistency: {vault_policy: -3}\n", "eventual_consistency: vault_policy must be a number"),
        ("eventual_consistency: [key_policy]\n", "eventual_consistency: must be a mapping"),
    ],
)
def test_an_invalid_world_setting_names_the_key(emu, extra, fragment):
    answer = emu.admin("POST", "world", raw=_seed_world_with(extra))
    assert answer["status"] == 400 and fragment in answer["error"], answer
    emu.load_world()


# ------------------------------------------------------------------ new_role


def _assume(emu: Emulator, role_arn: str) -> dict[str, Any]:
    sts = emu._boto.client("sts", endpoint_url=emu.url, region_name=REGION, config=NO_RETRIES, **emu.PLAIN_CREDENTIALS)
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="coffer-tests")


def test_a_new_role_cannot_be_assumed_until_it_has_propagated(emu):
    _consistency(emu, new_role=DELAY)
    role_arn = f"arn:aws:iam::{SOURCE}:role/service-role/NewRole"
    emu.client("iam", SOURCE).create_role(RoleName="NewRole", AssumeRolePolicyDocument="{}", Path="/service-role/")
    response = _error(_assume, emu=emu, role_arn=role_arn)
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (403, "AccessDenied")
    assert response["Error"]["Message"].endswith(f"sts:AssumeRole on resource: {role_arn}"), response
    # Roles that existed before are not affected.
    assert _assume(emu, f"arn:aws:iam::{SOURCE}:role/CofferDeployRole")["Credentials"]
    _propagate(emu)
    assert _assume(emu, role_arn)["AssumedRoleUser"]["Arn"].endswith("assumed-role/NewRole/coffer-tests")


BACKUP_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_aws_backup_cannot_use_a_new_role_until_it_has_propagated(emu):
    _consistency(emu, new_role=DELAY)
    role_arn = f"arn:aws:iam::{SOURCE}:role/service-role/NewBackupRole"
    emu.client("iam", SOURCE).create_role(
        RoleName="NewBackupRole", AssumeRolePolicyDocument=json.dumps(BACKUP_TRUST), Path="/service-role/"
    )
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="local")
    start = {"BackupVaultName": "local", "ResourceArn": ORDERS_ARN, "IamRoleArn": role_arn}
    response = _error(backup.start_backup_job, **start)
    assert response["Error"]["Code"] == "InvalidParameterValueException", response
    assert response["Error"]["Message"] == f"IAM Role {role_arn} cannot be assumed by AWS Backup"
    _propagate(emu)
    assert backup.start_backup_job(**start)["BackupJobId"]


def test_a_role_created_without_delay_is_assumable_at_once(emu):
    emu.client("iam", SOURCE).create_role(RoleName="NewRole", AssumeRolePolicyDocument="{}", Path="/")
    _consistency(emu, new_role=DELAY)  # too late for the role above
    assert _assume(emu, f"arn:aws:iam::{SOURCE}:role/NewRole")["Credentials"]


# ---------------------------------------------------------------- key_policy

DENY_DESCRIBE = {
    "Sid": "DenyDescribe",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "kms:DescribeKey",
    "Resource": "*",
}


def test_kms_evaluates_the_previous_key_policy_until_the_new_one_has_propagated(emu):
    kms = emu.client("kms", SOURCE)
    key_id = kms.create_key(Policy=json.dumps(key_policy(SOURCE, None)))["KeyMetadata"]["KeyId"]
    _consistency(emu, key_policy=DELAY)
    denying = key_policy(SOURCE, None)
    denying["Statement"].append(DENY_DESCRIBE)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(denying))
    # The new policy reads back at once, but the old one is still the one evaluated.
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == denying
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    _propagate(emu)
    response = _error(kms.describe_key, KeyId=key_id)
    assert response["Error"]["Code"] == "AccessDeniedException", response
    assert "explicit deny" in response["Error"]["Message"]


def test_another_account_gets_the_new_key_policy_only_once_it_has_propagated(emu):
    kms = emu.client("kms", SOURCE)
    key_arn = kms.create_key(Policy=json.dumps(key_policy(SOURCE, None)))["KeyMetadata"]["Arn"]
    _consistency(emu, key_policy=DELAY)
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(key_policy(SOURCE, BACKUP)))
    other = emu.client("kms", BACKUP)
    assert _error(other.describe_key, KeyId=key_arn)["Error"]["Code"] == "AccessDeniedException"
    _propagate(emu)
    assert other.describe_key(KeyId=key_arn)["KeyMetadata"]["Arn"] == key_arn


def test_copy_jobs_use_the_previous_key_policy_until_the_new_one_has_propagated(emu):
    setup = CopySetup(emu, share_source_key=False)
    _consistency(emu, key_policy=DELAY)
    emu.client("kms", SOURCE).put_key_policy(
        KeyId=setup.source_key_arn, PolicyName="default", Policy=json.dumps(key_policy(SOURCE, BACKUP))
    )
    _failed(setup.copy(), f"(The key policy does not allow destination account {BACKUP} kms:")
    _propagate(emu)
    assert setup.copy()["State"] == "COMPLETED"


# -------------------------------------------------------------- vault_policy


def test_copy_jobs_see_a_new_vault_access_policy_only_once_it_has_propagated(emu):
    setup = CopySetup(emu, with_vault_policy=False)
    _consistency(emu, vault_policy=DELAY)
    setup.backup.put_backup_vault_access_policy(BackupVaultName="central", Policy=json.dumps(org_vault_policy()))
    assert json.loads(setup.backup.get_backup_vault_access_policy(BackupVaultName="central")["Policy"])
    _failed(setup.copy(), "Access Denied trying to call AWS Backup service: destination vault")
    _propagate(emu)
    assert setup.copy()["State"] == "COMPLETED"


def test_vault_calls_evaluate_the_previous_access_policy_until_the_change_has_propagated(emu):
    backup = emu.client("backup", BACKUP)
    backup.create_backup_vault(BackupVaultName="guarded")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "backup:DescribeBackupVault", "Resource": "*"}
        ],
    }
    _consistency(emu, vault_policy=DELAY)
    backup.put_backup_vault_access_policy(BackupVaultName="guarded", Policy=json.dumps(deny))
    assert backup.describe_backup_vault(BackupVaultName="guarded")["BackupVaultName"] == "guarded"
    _propagate(emu)
    response = _error(backup.describe_backup_vault, BackupVaultName="guarded")
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (403, "AccessDeniedException")
    # Deleting the policy: the deny still applies while the deletion propagates.
    backup.delete_backup_vault_access_policy(BackupVaultName="guarded")
    assert _error(backup.describe_backup_vault, BackupVaultName="guarded")["Error"]["Code"] == "AccessDeniedException"
    _propagate(emu)
    assert backup.describe_backup_vault(BackupVaultName="guarded")["BackupVaultName"] == "guarded"


# ------------------------------------------------------------- vault_deleted


def _vault_names(backup: Any) -> list[str]:
    return [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]


def test_a_deleted_vault_name_stays_taken_until_the_deletion_has_propagated(emu):
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="replaced", CreatorRequestId="first")
    _consistency(emu, vault_deleted=DELAY)
    backup.delete_backup_vault(BackupVaultName="replaced")
    response = _error(backup.create_backup_vault, BackupVaultName="replaced", CreatorRequestId="second")
    assert response["Error"]["Code"] == "AlreadyExistsException", response
    assert response["Error"]["Message"] == "Backup vault with the same name already exists"
    assert _vault_names(backup) == ["replaced"]  # still listed
    response = _error(backup.describe_backup_vault, BackupVaultName="replaced")
    assert response["Error"]["Code"] == "ResourceNotFoundException", response
    # Other names are not affected.
    backup.create_backup_vault(BackupVaultName="other")
    _propagate(emu)
    assert sorted(_vault_names(backup)) == ["other"]
    created = backup.create_backup_vault(BackupVaultName="replaced", CreatorRequestId="second")
    assert created["BackupVaultName"] == "replaced"
    assert sorted(_vault_names(backup)) == ["other", "replaced"]


def test_without_delay_a_deleted_vault_name_is_free_at_once(emu):
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="replaced")
    backup.delete_backup_vault(BackupVaultName="replaced")
    assert backup.create_backup_vault(BackupVaultName="replaced")["BackupVaultName"] == "replaced"


# ------------------------------------------------------- cross_account_backup


def test_copy_jobs_see_the_cross_account_switch_only_once_it_has_propagated(emu):
    setup = CopySetup(emu, enable_cross_account=False)
    _consistency(emu, cross_account_backup=DELAY)
    management = emu.client("backup", MANAGEMENT)
    management.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})
    assert management.describe_global_settings()["GlobalSettings"]["isCrossAccountBackupEnabled"] == "true"
    _failed(setup.copy(), "Cross-account backup is not enabled for the organization")
    _propagate(emu)
    assert setup.copy()["State"] == "COMPLETED"
    # Turning it off: copies go on while the change propagates.
    management.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})
    assert setup.copy()["State"] == "COMPLETED"
    _propagate(emu)
    _failed(setup.copy(), "Cross-account backup is not enabled for the organization")
