"""Resource Groups Tagging API GetResources over KMS keys and AWS Backup vaults and plans, and
Organizations ListAccounts pagination."""

import pytest
from botocore.exceptions import ClientError
from support import BACKUP, MANAGEMENT, REGION, SOURCE

TYPES = ["kms:key", "backup:backup-vault", "backup:backup-plan"]
OWNED = [{"Key": "coffer:topology", "Values": ["fleet"]}]


def _error(excinfo):
    return excinfo.value.response["Error"]


def _plan(name):
    return {"BackupPlanName": name, "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "local"}]}


def _resources(emu, account=SOURCE, region=REGION, **kwargs):
    tagging = emu.client("resourcegroupstaggingapi", account, region=region)
    pages = tagging.get_paginator("get_resources").paginate(**kwargs)
    return [(m["ResourceARN"], {t["Key"]: t["Value"] for t in m["Tags"]}) for p in pages for m in p["ResourceTagMappingList"]]


@pytest.mark.emulator_only(reason="emulator state: resources created for the listing")
def test_get_resources_lists_tagged_keys_vaults_and_plans_by_tag_and_type(emu):
    kms = emu.client("kms", SOURCE)
    backup = emu.client("backup", SOURCE)
    owned = kms.create_key(Tags=[{"TagKey": "coffer:topology", "TagValue": "fleet"}])["KeyMetadata"]["Arn"]
    kms.create_key(Tags=[{"TagKey": "coffer:topology", "TagValue": "other"}])
    kms.create_key()
    vault = backup.create_backup_vault(BackupVaultName="local", BackupVaultTags={"coffer:topology": "fleet"})
    backup.create_backup_vault(BackupVaultName="foreign", BackupVaultTags={"team": "a"})
    plan = backup.create_backup_plan(BackupPlan=_plan("p"), BackupPlanTags={"coffer:topology": "fleet", "x": "1"})

    found = dict(_resources(emu, TagFilters=OWNED, ResourceTypeFilters=TYPES))
    assert found == {
        owned: {"coffer:topology": "fleet"},
        vault["BackupVaultArn"]: {"coffer:topology": "fleet"},
        plan["BackupPlanArn"]: {"coffer:topology": "fleet", "x": "1"},
    }
    vaults_only = dict(_resources(emu, TagFilters=OWNED, ResourceTypeFilters=["backup:backup-vault"]))
    assert list(vaults_only) == [vault["BackupVaultArn"]]
    any_value = dict(_resources(emu, TagFilters=[{"Key": "coffer:topology"}], ResourceTypeFilters=["kms"]))
    assert len(any_value) == 2 and owned in any_value
    # Another account, another Region: nothing of the source's.
    assert _resources(emu, BACKUP, TagFilters=OWNED) == []
    assert _resources(emu, SOURCE, region="us-east-1", TagFilters=OWNED) == []


@pytest.mark.emulator_only(reason="emulator state: more resources than a page holds")
def test_get_resources_pages_with_a_token_that_belongs_to_its_query(emu):
    backup = emu.client("backup", SOURCE)
    arns = {
        backup.create_backup_vault(BackupVaultName=f"v{n}", BackupVaultTags={"coffer:topology": "fleet"})["BackupVaultArn"]
        for n in range(7)
    }
    tagging = emu.client("resourcegroupstaggingapi", SOURCE)
    first = tagging.get_resources(TagFilters=OWNED, ResourcesPerPage=3)
    assert len(first["ResourceTagMappingList"]) == 3 and first["PaginationToken"]
    paged = _resources(emu, TagFilters=OWNED, PaginationConfig={"PageSize": 3})
    assert {arn for arn, _ in paged} == arns and len(paged) == 7
    with pytest.raises(ClientError) as excinfo:
        tagging.get_resources(TagFilters=[{"Key": "team"}], PaginationToken=first["PaginationToken"])
    assert _error(excinfo)["Code"] == "InvalidParameterException"
    last = tagging.get_resources(TagFilters=OWNED)
    assert len(last["ResourceTagMappingList"]) == 7 and last["PaginationToken"] == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ResourcesPerPage": 101},
        {"ResourcesPerPage": 0},
        {"TagsPerPage": 99},
        {"ResourcesPerPage": 10, "TagsPerPage": 100},
        {"ResourceTypeFilters": ["kms::key"]},
        {"TagFilters": [{"Key": "k", "Values": [str(n) for n in range(21)]}]},
        {"TagFilters": [{"Key": f"k{n}"} for n in range(51)]},
        {"PaginationToken": "not-a-token"},
        {"ResourceARNList": ["arn:aws:kms:eu-west-1:111222333444:key/x"], "TagFilters": OWNED},
    ],
    ids=lambda kwargs: ",".join(sorted(kwargs)),
)
@pytest.mark.emulator_only(reason="the emulator's refusals of malformed requests")
def test_get_resources_refuses_what_aws_refuses(emu, kwargs):
    tagging = emu.client("resourcegroupstaggingapi", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        tagging.get_resources(**kwargs)
    assert _error(excinfo)["Code"] in {"InvalidParameterException", "ValidationException"}, _error(excinfo)


@pytest.mark.emulator_only(reason="world: a fleet of members added to the seed organization")
def test_list_accounts_pages_every_member_once(emu):
    organizations = emu.client("organizations", MANAGEMENT)
    for n in range(25):
        organizations.create_account(Email=f"m{n}@example.com", AccountName=f"member-{n}")
    pages = list(organizations.get_paginator("list_accounts").paginate())
    ids = [a["Id"] for page in pages for a in page["Accounts"]]
    assert len(ids) == len(set(ids)), "an account listed twice"
    assert len(pages) >= 2 and all(len(p["Accounts"]) <= 20 for p in pages)
    assert {MANAGEMENT, SOURCE, BACKUP} <= set(ids) and len(ids) >= 28
    with pytest.raises(ClientError) as excinfo:
        organizations.list_accounts(MaxResults=21)
    assert _error(excinfo)["Code"] in {"InvalidInputException", "ValidationException"}, _error(excinfo)
