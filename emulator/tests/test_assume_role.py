"""sts:AssumeRole: roles that exist in the target account give credentials; any other role ARN
is refused with AWS's AccessDenied, unless the world sets ``require_existing_roles: false``."""

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, MANAGEMENT, NO_RETRIES, REGION, SOURCE, WORLDS

MISSING_ROLE = f"arn:aws:iam::{SOURCE}:role/MissingRole"


def _sts(emu, **credentials):
    return emu._boto.client(
        "sts", endpoint_url=emu.url, region_name=REGION, config=NO_RETRIES, **(credentials or emu.PLAIN_CREDENTIALS)
    )


def _assume(emu, role_arn, **credentials):
    return _sts(emu, **credentials).assume_role(RoleArn=role_arn, RoleSessionName="coffer-tests")


def _denied(emu, role_arn, **credentials):
    with pytest.raises(ClientError) as excinfo:
        _assume(emu, role_arn, **credentials)
    return excinfo.value.response


def test_existing_roles_give_credentials_for_their_account(emu):
    for role_arn, account in (
        (f"arn:aws:iam::{SOURCE}:role/CofferDeployRole", SOURCE),
        (f"arn:aws:iam::{MANAGEMENT}:role/CofferDeployRole", MANAGEMENT),
        # Created by Organizations in every member account.
        (f"arn:aws:iam::{BACKUP}:role/OrganizationAccountAccessRole", BACKUP),
    ):
        issued = _assume(emu, role_arn)["Credentials"]
        assumed = _sts(
            emu,
            aws_access_key_id=issued["AccessKeyId"],
            aws_secret_access_key=issued["SecretAccessKey"],
            aws_session_token=issued["SessionToken"],
        )
        assert assumed.get_caller_identity()["Account"] == account


def test_missing_role_is_access_denied_with_aws_message(emu):
    caller = _sts(emu).get_caller_identity()["Arn"]
    response = _denied(emu, MISSING_ROLE)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["Error"]["Type"] == "Sender"
    assert response["Error"]["Message"] == (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {MISSING_ROLE}"
    )
    assert response["ResponseMetadata"]["RequestId"]


@pytest.mark.emulator_only(reason="request log: reads the emulator's log of AWS calls")
def test_denied_assume_role_is_logged_for_the_caller_and_issues_nothing(emu):
    emu.admin("DELETE", "requests")
    _denied(emu, MISSING_ROLE)
    (entry,) = emu.admin("GET", "requests")["requests"]
    assert (entry["account"], entry["service"], entry["operation"], entry["status"]) == (
        MANAGEMENT,
        "sts",
        "AssumeRole",
        403,
    )


def test_the_role_arn_must_match_exactly(emu):
    for role_arn in (
        f"arn:aws:iam::{SOURCE}:role/ops/CofferDeployRole",  # the role exists, but not under this path
        f"arn:aws:iam::{SOURCE}:role/OrganizationAccountAccessRoleX",
        "arn:aws:iam::999988887777:role/CofferDeployRole",  # an account the world does not know
        f"arn:aws:iam::{MANAGEMENT}:role/OrganizationAccountAccessRole",  # management accounts have none
    ):
        assert _denied(emu, role_arn)["Error"]["Code"] == "AccessDenied", role_arn


@pytest.mark.emulator_only(reason="eventual consistency: a new IAM role is assumable at once only in the emulator")
def test_roles_created_through_iam_can_be_assumed(emu):
    iam = emu.client("iam", SOURCE)
    iam.create_role(RoleName="MissingRole", AssumeRolePolicyDocument="{}", Path="/")
    assert _assume(emu, MISSING_ROLE)["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{SOURCE}:assumed-role/MissingRole/"
    )
    iam.delete_role(RoleName="MissingRole")
    assert _denied(emu, MISSING_ROLE)["Error"]["Code"] == "AccessDenied"


def test_role_chaining_names_the_assumed_role_caller(emu):
    caller = emu.client("sts", SOURCE).get_caller_identity()["Arn"]
    assert caller.startswith(f"arn:aws:sts::{SOURCE}:assumed-role/CofferDeployRole/")
    missing = f"arn:aws:iam::{BACKUP}:role/MissingRole"
    response = _denied(emu, missing, **emu.credentials(SOURCE))
    assert response["Error"]["Message"] == (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {missing}"
    )


@pytest.mark.emulator_only(reason="world: require_existing_roles")
def test_world_can_allow_any_role(emu):
    emu.load_world(text=(WORLDS / "seed.yaml").read_text() + "require_existing_roles: false\n")
    assert emu.admin("GET", "world")["world"]["require_existing_roles"] is False
    issued = _assume(emu, MISSING_ROLE)
    assert issued["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{SOURCE}:assumed-role/MissingRole/")
    # Loading a world without the key enforces again.
    emu.load_world()
    assert _denied(emu, MISSING_ROLE)["Error"]["Code"] == "AccessDenied"


@pytest.mark.emulator_only(reason="world: require_existing_roles")
def test_require_existing_roles_must_be_a_boolean(emu):
    bad = emu.admin("POST", "world", raw="require_existing_roles: sometimes\n")
    assert bad["status"] == 400 and "require_existing_roles" in bad["error"]
    emu.load_world()
