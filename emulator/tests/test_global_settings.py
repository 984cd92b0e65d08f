"""DescribeGlobalSettings / UpdateGlobalSettings: only the management account may update."""

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, MANAGEMENT, SOURCE

LONE_WORLD = """
region: eu-west-1
accounts:
  - id: "222233334444"
"""


def _error(excinfo):
    return excinfo.value.response["Error"]


def test_management_account_turns_on_cross_account_backup(emu):
    management = emu.client("backup", MANAGEMENT)
    settings = management.describe_global_settings()["GlobalSettings"]
    assert settings["isCrossAccountBackupEnabled"] == "false"
    management.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})
    described = management.describe_global_settings()
    assert described["GlobalSettings"]["isCrossAccountBackupEnabled"] == "true"
    assert described["LastUpdateTime"]
    # Members see the organization's setting.
    member = emu.client("backup", SOURCE).describe_global_settings()
    assert member["GlobalSettings"]["isCrossAccountBackupEnabled"] == "true"


def test_member_account_cannot_update(emu):
    with pytest.raises(ClientError) as excinfo:
        emu.client("backup", BACKUP).update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})
    assert _error(excinfo)["Code"] == "InvalidRequestException"
    assert "management account" in _error(excinfo)["Message"]
    assert (
        emu.client("backup", MANAGEMENT).describe_global_settings()["GlobalSettings"]["isCrossAccountBackupEnabled"]
        == "false"
    )


def test_invalid_setting_values_are_rejected(emu):
    management = emu.client("backup", MANAGEMENT)
    for settings in ({"isCrossAccountBackupEnabled": "yes"}, {"isSomethingElse": "true"}):
        with pytest.raises(ClientError) as excinfo:
            management.update_global_settings(GlobalSettings=settings)
        assert _error(excinfo)["Code"] == "InvalidParameterValueException"


@pytest.mark.emulator_only(reason="world: a custom world with an account outside any organization")
def test_account_outside_an_organization_gets_aws_error(emu):
    emu.load_world(text=LONE_WORLD)
    lone = emu.client("backup")  # plain credentials act as moto's default account: in no organization
    for call in (
        lone.describe_global_settings,
        lambda: lone.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo)["Code"] == "InvalidRequestException"
        assert _error(excinfo)["Message"] == "Your account is not a member of an organization."
        assert excinfo.value.response["Code"] == "ERROR_9601"
