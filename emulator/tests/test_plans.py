"""Backup plans, plan versions, selections, idempotent creates and tags."""

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, BACKUP_ROLE, ORDERS_ARN, SOURCE


def _plan(name="daily", delete_after=35, copy_to=None):
    rule = {
        "RuleName": "daily",
        "TargetBackupVaultName": "local",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "Lifecycle": {"DeleteAfterDays": delete_after},
    }
    if copy_to:
        rule["CopyActions"] = [{"DestinationBackupVaultArn": copy_to, "Lifecycle": {"DeleteAfterDays": 90}}]
    return {"BackupPlanName": name, "Rules": [rule]}


def _selection(name="orders"):
    return {"SelectionName": name, "IamRoleArn": BACKUP_ROLE, "Resources": [ORDERS_ARN]}


def _error(excinfo):
    return excinfo.value.response["Error"]


def test_create_get_list_plan(emu):
    backup = emu.client("backup", SOURCE)
    central = f"arn:aws:backup:eu-west-1:{BACKUP}:backup-vault:central"
    created = backup.create_backup_plan(BackupPlan=_plan(copy_to=central), BackupPlanTags={"coffer:id": "plan/daily"})
    got = backup.get_backup_plan(BackupPlanId=created["BackupPlanId"])
    assert got["VersionId"] == created["VersionId"]
    (rule,) = got["BackupPlan"]["Rules"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["CopyActions"][0]["DestinationBackupVaultArn"] == central
    assert rule["RuleId"]
    (listed,) = backup.list_backup_plans()["BackupPlansList"]
    assert listed["BackupPlanName"] == "daily" and listed["BackupPlanId"] == created["BackupPlanId"]
    assert backup.list_tags(ResourceArn=created["BackupPlanArn"])["Tags"] == {"coffer:id": "plan/daily"}


def test_create_plan_is_idempotent_with_creator_request_id(emu):
    backup = emu.client("backup", SOURCE)
    first = backup.create_backup_plan(BackupPlan=_plan(), CreatorRequestId="step-1")
    again = backup.create_backup_plan(BackupPlan=_plan(), CreatorRequestId="step-1")
    assert first["BackupPlanId"] == again["BackupPlanId"]
    assert len(backup.list_backup_plans()["BackupPlansList"]) == 1
    with pytest.raises(ClientError) as excinfo:
        backup.create_backup_plan(BackupPlan=_plan(), CreatorRequestId="step-2")
    assert _error(excinfo)["Code"] == "AlreadyExistsException"


def test_update_plan_creates_a_new_version(emu):
    backup = emu.client("backup", SOURCE)
    created = backup.create_backup_plan(BackupPlan=_plan(delete_after=35))
    updated = backup.update_backup_plan(BackupPlanId=created["BackupPlanId"], BackupPlan=_plan(delete_after=60))
    assert updated["BackupPlanId"] == created["BackupPlanId"]
    assert updated["VersionId"] != created["VersionId"]
    current = backup.get_backup_plan(BackupPlanId=created["BackupPlanId"])
    assert current["VersionId"] == updated["VersionId"]
    assert current["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 60}
    old = backup.get_backup_plan(BackupPlanId=created["BackupPlanId"], VersionId=created["VersionId"])
    assert old["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 35}
    assert old["BackupPlan"]["Rules"][0]["RuleId"] == current["BackupPlan"]["Rules"][0]["RuleId"]
    versions = backup.list_backup_plan_versions(BackupPlanId=created["BackupPlanId"])["BackupPlanVersionsList"]
    assert [v["VersionId"] for v in versions] == [updated["VersionId"], created["VersionId"]]
    with pytest.raises(ClientError) as excinfo:
        backup.update_backup_plan(BackupPlanId="no-such-plan", BackupPlan=_plan())
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"


@pytest.mark.emulator_only(reason="world: a fresh world (AWS keeps listing deleted plans with IncludeDeleted)")
def test_selections_create_get_list_delete(emu):
    backup = emu.client("backup", SOURCE)
    plan_id = backup.create_backup_plan(BackupPlan=_plan())["BackupPlanId"]
    created = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection(), CreatorRequestId="sel-1"
    )
    again = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=_selection(), CreatorRequestId="sel-1")
    assert again["SelectionId"] == created["SelectionId"]

    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert got["BackupSelection"]["Resources"] == [ORDERS_ARN]
    assert got["BackupSelection"]["IamRoleArn"] == BACKUP_ROLE
    assert got["CreatorRequestId"] == "sel-1"
    (listed,) = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert listed["SelectionName"] == "orders" and listed["SelectionId"] == created["SelectionId"]

    with pytest.raises(ClientError) as excinfo:
        backup.delete_backup_plan(BackupPlanId=plan_id)
    assert _error(excinfo)["Code"] == "InvalidRequestException"
    assert "selections must be deleted" in _error(excinfo)["Message"]

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    with pytest.raises(ClientError) as excinfo:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert _error(excinfo)["Code"] == "ResourceNotFoundException"
    deleted = backup.delete_backup_plan(BackupPlanId=plan_id)
    assert deleted["DeletionDate"]
    assert backup.list_backup_plans()["BackupPlansList"] == []
    assert len(backup.list_backup_plans(IncludeDeleted=True)["BackupPlansList"]) == 1


def test_selection_needs_resources_or_tags(emu):
    backup = emu.client("backup", SOURCE)
    plan_id = backup.create_backup_plan(BackupPlan=_plan())["BackupPlanId"]
    with pytest.raises(ClientError) as excinfo:
        backup.create_backup_selection(
            BackupPlanId=plan_id, BackupSelection={"SelectionName": "empty", "IamRoleArn": BACKUP_ROLE}
        )
    assert _error(excinfo)["Code"] == "InvalidParameterValueException"
    assert "Either 'ListOfTags' or 'Resources' section must be non-empty" in _error(excinfo)["Message"]
    tagged = {
        "SelectionName": "tagged",
        "IamRoleArn": BACKUP_ROLE,
        "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}],
    }
    assert backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=tagged)["SelectionId"]


def test_vault_tags(emu):
    backup = emu.client("backup", BACKUP)
    arn = backup.create_backup_vault(BackupVaultName="central", BackupVaultTags={"coffer:topology": "prod"})[
        "BackupVaultArn"
    ]
    backup.tag_resource(ResourceArn=arn, Tags={"coffer:id": "vault/central"})
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"coffer:topology": "prod", "coffer:id": "vault/central"}
    backup.untag_resource(ResourceArn=arn, TagKeyList=["coffer:topology"])
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"coffer:id": "vault/central"}
