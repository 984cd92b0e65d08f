"""The role passed to AWS Backup (``IamRoleArn`` of StartBackupJob, StartCopyJob,
StartRestoreJob and CreateBackupSelection) must exist in the caller's account and trust
``backup.amazonaws.com``; otherwise AWS Backup answers HTTP 400 InvalidParameterValueException
``IAM Role <arn> cannot be assumed by AWS Backup`` and starts nothing
(coffer_emulator/service_roles.py)."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, BACKUP_ROLE, ORDERS_ARN, REGION, SOURCE, WORLDS, CopySetup, Emulator

BACKUP_SERVICE = "backup.amazonaws.com"
RESTORE_ROLE = f"arn:aws:iam::{BACKUP}:role/restore"
BACKUP_DEFAULT_ROLE = f"arn:aws:iam::{BACKUP}:role/service-role/AWSBackupDefaultServiceRole"


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def deny(principal: Any, action: Any = "sts:AssumeRole") -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action}


# Trust policies AWS Backup cannot use, by name of the role that carries them.
UNTRUSTED = {
    "OnlyTheAccount": trust(allow({"AWS": f"arn:aws:iam::{SOURCE}:root"})),
    "OnlyAnotherService": trust(allow({"Service": "ec2.amazonaws.com"})),
    "ExplicitDeny": trust(allow({"Service": BACKUP_SERVICE}), deny({"Service": [BACKUP_SERVICE]})),
    "OtherAction": trust(allow({"Service": BACKUP_SERVICE}, "sts:TagSession")),
    "OtherSourceAccount": trust(
        allow({"Service": BACKUP_SERVICE}, Condition={"StringEquals": {"aws:SourceAccount": BACKUP}})
    ),
}
# Trust policies that let AWS Backup assume the role.
TRUSTED = {
    "ServiceList": trust(allow({"Service": ["ec2.amazonaws.com", BACKUP_SERVICE]})),
    "ActionWildcard": trust(allow({"Service": BACKUP_SERVICE}, ["sts:*"])),
    "SourceAccountCondition": trust(
        allow({"Service": BACKUP_SERVICE}, Condition={"StringEquals": {"aws:SourceAccount": SOURCE}})
    ),
    "DenyForAnotherService": trust(allow({"Service": BACKUP_SERVICE}), deny({"Service": "ec2.amazonaws.com"})),
}


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def create_role(emu: Emulator, account: str, name: str, document: str, path: str = "/") -> str:
    iam = emu.client("iam", account)
    return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=document)["Role"]["Arn"]


def assert_refused(call: Callable[[], Any], role: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == "InvalidParameterValueException", response
    assert response["Error"]["Message"] == f"IAM Role {role} cannot be assumed by AWS Backup", response


def start_backup(emu: Emulator, role: str) -> dict[str, Any]:
    backup = emu.client("backup", SOURCE)
    if not backup.list_backup_vaults()["BackupVaultList"]:
        backup.create_backup_vault(BackupVaultName="local")
    return backup.start_backup_job(BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=role)


def create_selection(emu: Emulator, role: str) -> dict[str, Any]:
    backup = emu.client("backup", SOURCE)
    plans = backup.list_backup_plans()["BackupPlansList"]
    plan_id = plans[0]["BackupPlanId"] if plans else backup.create_backup_plan(BackupPlan=PLAN)["BackupPlanId"]
    return backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection={"SelectionName": "orders", "IamRoleArn": role, "Resources": [ORDERS_ARN]}
    )


PLAN = {
    "BackupPlanName": "daily",
    "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "local", "ScheduleExpression": "cron(0 3 * * ? *)"}],
}


@pytest.mark.parametrize("name", sorted(UNTRUSTED))
def test_backup_job_and_selection_refuse_a_role_that_does_not_trust_backup(emu, name):
    role = create_role(emu, SOURCE, name, UNTRUSTED[name])
    assert_refused(lambda: start_backup(emu, role), role)
    assert_refused(lambda: create_selection(emu, role), role)
    backup = emu.client("backup", SOURCE)
    assert backup.list_backup_jobs()["BackupJobs"] == [], "a refused StartBackupJob starts no job"
    (plan,) = backup.list_backup_plans()["BackupPlansList"]
    assert backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])["BackupSelectionsList"] == []


@pytest.mark.parametrize("name", sorted(TRUSTED))
def test_backup_job_and_selection_accept_a_role_that_trusts_backup(emu, name):
    role = create_role(emu, SOURCE, name, TRUSTED[name])
    job = start_backup(emu, role)
    assert emu.wait_backup_job(emu.client("backup", SOURCE), job["BackupJobId"])["State"] == "COMPLETED"
    assert create_selection(emu, role)["SelectionId"]


def test_missing_roles_and_roles_of_other_accounts_are_refused(emu):
    missing = role_arn(SOURCE, "NoSuchRole")
    # The seed's service role, but under the wrong path: role ARNs compare exactly.
    wrong_path = role_arn(SOURCE, "AWSBackupDefaultServiceRole")
    # A role of the backup account that trusts AWS Backup: not passable from the source account.
    other_account = BACKUP_DEFAULT_ROLE
    for role in (missing, wrong_path, other_account, "not-an-arn"):
        assert_refused(lambda role=role: start_backup(emu, role), role)
        assert_refused(lambda role=role: create_selection(emu, role), role)
    assert emu.client("backup", SOURCE).list_backup_jobs()["BackupJobs"] == []


def test_seed_service_role_works_for_backup_and_selection(emu):
    job = start_backup(emu, BACKUP_ROLE)
    assert emu.wait_backup_job(emu.client("backup", SOURCE), job["BackupJobId"])["State"] == "COMPLETED"
    assert create_selection(emu, BACKUP_ROLE)["SelectionId"]
    got = emu.client("iam", SOURCE).get_role(RoleName="AWSBackupDefaultServiceRole")["Role"]
    assert got["Path"] == "/service-role/" and got["Arn"] == BACKUP_ROLE
    document = got["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Principal"] == {"Service": BACKUP_SERVICE}


def test_copy_job_needs_a_role_backup_can_assume(emu):
    setup = CopySetup(emu)
    untrusted = create_role(emu, SOURCE, "OnlyTheAccount", UNTRUSTED["OnlyTheAccount"])
    denied = create_role(emu, SOURCE, "ExplicitDeny", UNTRUSTED["ExplicitDeny"])
    for role in (untrusted, denied, role_arn(SOURCE, "NoSuchRole"), RESTORE_ROLE):
        assert_refused(
            lambda role=role: setup.source.start_copy_job(
                RecoveryPointArn=setup.recovery_point_arn,
                SourceBackupVaultName="local",
                DestinationBackupVaultArn=setup.destination_vault_arn,
                IamRoleArn=role,
            ),
            role,
        )
    assert setup.source.list_copy_jobs()["CopyJobs"] == []
    assert setup.copy()["State"] == "COMPLETED"  # with the seed's service role


def test_restore_job_needs_a_role_backup_can_assume(emu):
    setup = CopySetup(emu)
    copy = setup.copy()
    assert copy["State"] == "COMPLETED", copy
    untrusted = create_role(emu, BACKUP, "OnlyTheAccount", trust(allow({"AWS": BACKUP})))
    denied = create_role(emu, BACKUP, "ExplicitDeny", UNTRUSTED["ExplicitDeny"])

    def restore(role: str, name: str) -> dict[str, Any]:
        return setup.backup.start_restore_job(
            RecoveryPointArn=copy["DestinationRecoveryPointArn"],
            Metadata={"DBInstanceIdentifier": name},
            IamRoleArn=role,
        )

    for role in (untrusted, denied, role_arn(BACKUP, "NoSuchRole"), BACKUP_ROLE):
        assert_refused(lambda role=role: restore(role, "refused"), role)
    assert setup.backup.list_restore_jobs()["RestoreJobs"] == []
    for role, name in ((RESTORE_ROLE, "with-restore"), (BACKUP_DEFAULT_ROLE, "with-default")):
        job = restore(role, name)
        assert emu.wait_restore_job(setup.backup, job["RestoreJobId"])["Status"] == "COMPLETED"


def test_a_role_created_or_changed_through_iam_takes_effect_at_once(emu):
    iam = emu.client("iam", SOURCE)
    role = create_role(emu, SOURCE, "Later", UNTRUSTED["OnlyTheAccount"])
    assert_refused(lambda: start_backup(emu, role), role)
    iam.update_assume_role_policy(RoleName="Later", PolicyDocument=trust(allow({"Service": BACKUP_SERVICE})))
    assert start_backup(emu, role)["BackupJobId"]
    iam.delete_role(RoleName="Later")
    assert_refused(lambda: start_backup(emu, role), role)


def test_the_refusal_comes_before_the_idempotent_retry(emu):
    """A retry with the same token of a job started with a role deleted since is refused too."""
    iam = emu.client("iam", SOURCE)
    role = create_role(emu, SOURCE, "Temporary", trust(allow({"Service": BACKUP_SERVICE})))
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="local")
    arguments = {"BackupVaultName": "local", "ResourceArn": ORDERS_ARN, "IamRoleArn": role, "IdempotencyToken": "t"}
    first = backup.start_backup_job(**arguments)
    assert backup.start_backup_job(**arguments)["BackupJobId"] == first["BackupJobId"]
    iam.delete_role(RoleName="Temporary")
    assert_refused(lambda: backup.start_backup_job(**arguments), role)


# ------------------------------------------------------------------ world files


WORLD_HEAD = f"""
region: {REGION}
accounts:
  - id: "{SOURCE}"
    roles:
      - CofferDeployRole
"""


def test_world_short_form_trusts_services(emu):
    emu.load_world(
        text=WORLD_HEAD
        + "      - {name: One, trusts: backup.amazonaws.com}\n"
        + "      - {name: Two, path: /service-role/, trusts: [ec2.amazonaws.com, backup.amazonaws.com]}\n"
        + "      - {name: Three, trusts: ec2.amazonaws.com}\n"
        + "      - Four\n"
    )
    iam = emu.client("iam", SOURCE)
    one = iam.get_role(RoleName="One")["Role"]
    assert one["Path"] == "/"
    two = iam.get_role(RoleName="Two")["Role"]
    assert two["Arn"] == role_arn(SOURCE, "Two", "/service-role/")
    document = two["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", BACKUP_SERVICE]}, "Action": "sts:AssumeRole"}
    ]
    backup = emu.client("backup", SOURCE)
    backup.create_backup_vault(BackupVaultName="local")
    for name, usable in (("One", True), ("Two", True), ("Three", False), ("Four", False)):
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        call = lambda arn=arn: backup.start_backup_job(  # noqa: E731
            BackupVaultName="local", ResourceArn=f"arn:aws:rds:{REGION}:{SOURCE}:db:none", IamRoleArn=arn
        )
        if usable:
            assert call()["BackupJobId"], name
        else:
            assert_refused(call, arn)


@pytest.mark.parametrize(
    "role, fragment",
    [
        ("{name: X, trusts: []}", "trusts"),
        ("{name: X, trusts: {Service: backup.amazonaws.com}}", "trusts"),
        ("{name: X, trusts: 'arn:aws:iam::111222333444:root'}", "trusts"),
        ("{name: X, trusts: backup.amazonaws.com, assume_role_policy: {Statement: []}}", "not both"),
    ],
)
def test_world_short_form_rejects_bad_values(emu, role, fragment):
    bad = emu.admin("POST", "world", raw=WORLD_HEAD + f"      - {role}\n")
    assert bad["status"] == 400, bad
    assert "roles[1]" in bad["error"] and fragment in bad["error"], bad
    emu.load_world()


def test_seed_worlds_declare_the_service_roles(emu):
    for world in ("seed.yaml", "seed-aws-rds.yaml"):
        emu.load_world(name=world)
        assert (WORLDS / world).is_file()
        for account in (SOURCE, BACKUP):
            role = emu.client("iam", account).get_role(RoleName="AWSBackupDefaultServiceRole")["Role"]
            assert role["Arn"] == f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole", world
        assert emu.client("iam", BACKUP).get_role(RoleName="restore")["Role"]["Arn"] == RESTORE_ROLE
