"""Every AWS Backup operation of botocore's model works or answers HTTP 400 naming it as not
emulated (never HTTP 500); the operations Coffer and its drill call all work; the ones added for
them (restore metadata, recovery points by resource, StopBackupJob, Region settings) and the
``By...`` filters of the List operations behave as AWS documents."""

import json
from datetime import datetime, timedelta

import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import (
    BACKUP,
    BACKUP_ROLE,
    MANAGEMENT,
    ORDERS_ARN,
    REGION,
    SOURCE,
    CopySetup,
    backup_orders,
    policy_document,
    source_vault,
    statement,
)

HOUR = 3600
NOT_EMULATED = "The Coffer emulator does not implement the AWS Backup operation"

# The Backup calls Coffer makes (crates/aws/src: read.rs, execute.rs, drill.rs; iam.rs lists them).
COFFER_OPERATIONS = {
    "CreateBackupPlan",
    "CreateBackupSelection",
    "CreateBackupVault",
    "DeleteBackupPlan",
    "DeleteBackupSelection",
    "DeleteBackupVault",
    "DeleteBackupVaultAccessPolicy",
    "DeleteRecoveryPoint",
    "DescribeBackupJob",
    "DescribeBackupVault",
    "DescribeCopyJob",
    "DescribeGlobalSettings",
    "DescribeRestoreJob",
    "GetBackupPlan",
    "GetBackupSelection",
    "GetBackupVaultAccessPolicy",
    "ListBackupPlans",
    "ListBackupSelections",
    "ListBackupVaults",
    "ListRecoveryPointsByBackupVault",
    "ListTags",
    "PutBackupVaultAccessPolicy",
    "PutBackupVaultLockConfiguration",
    "StartBackupJob",
    "StartCopyJob",
    "StartRestoreJob",
    "TagResource",
    "UntagResource",
    "UpdateBackupPlan",
    "UpdateGlobalSettings",
}
# Implemented for Coffer's drill and for this work item.
ADDED_OPERATIONS = {
    "GetRecoveryPointRestoreMetadata",
    "ListRecoveryPointsByResource",
    "StopBackupJob",
    "DescribeRegionSettings",
    "UpdateRegionSettings",
}


def _error(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


# ------------------------------------------------------------- every operation of the model


def _minimal(shape, name):
    """A minimal valid-looking value for ``shape`` (required members only, one list element)."""
    kind = shape.type_name
    if kind == "structure":
        return {member: _minimal(shape.members[member], member) for member in shape.required_members}
    if kind == "list":
        return [_minimal(shape.member, name)]
    if kind == "map":
        return {"key": _minimal(shape.value, name)}
    if kind in ("integer", "long"):
        return 1
    if kind == "double":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime(2026, 1, 1)
    if kind == "blob":
        return b"probe"
    if shape.enum:
        return shape.enum[0]
    if name.endswith("Arn") or name.endswith("Arns"):
        return f"arn:aws:backup:{REGION}:{MANAGEMENT}:backup-vault:probe"
    if name.endswith("AccountId"):
        return MANAGEMENT
    return "probe-1"


@pytest.fixture
def unvalidated_backup(emu):
    config = Config(retries={"total_max_attempts": 1}, parameter_validation=False)
    return emu.client("backup", MANAGEMENT, config=config)


def _call(client, operation):
    model = client.meta.service_model.operation_model(operation)
    params = _minimal(model.input_shape, "") if model.input_shape is not None else {}
    try:
        getattr(client, botocore.xform_name(operation))(**params)
    except ClientError as error:
        return error.response
    return None


@pytest.mark.emulator_only(reason="unsafe on AWS: calls every Backup operation with placeholder input")
def test_every_operation_works_or_answers_400_naming_it(unvalidated_backup):
    operations = unvalidated_backup.meta.service_model.operation_names
    assert len(operations) > 100
    not_emulated = []
    for operation in operations:
        response = _call(unvalidated_backup, operation)
        if response is None:
            continue
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500, (operation, status, response.get("Error"))
        assert response["Error"].get("Code"), (operation, response)  # the restJson error shape, not HTML
        message = response["Error"].get("Message", "")
        if NOT_EMULATED in message:
            assert status == 400, (operation, response)
            assert response["Error"]["Code"] == "InvalidRequestException", (operation, response)
            assert message == f"{NOT_EMULATED} {operation}.", (operation, message)
            not_emulated.append(operation)
    assert not set(not_emulated) & (COFFER_OPERATIONS | ADDED_OPERATIONS), not_emulated
    assert "ListFrameworks" in not_emulated  # a Backup Audit Manager operation the emulator lacks


@pytest.mark.emulator_only(reason="emulator-only feature: the answer to a path of no Backup operation")
def test_a_path_no_operation_matches_answers_400(emu):
    backup = emu.client("backup", MANAGEMENT)
    # Sent through botocore's event hooks: rewrite the URL of a valid call to an unknown path.
    def to_unknown_path(request, **_):
        request.url = request.url.replace("/backup-vaults/", "/no-such-resource/")

    backup.meta.events.register("before-send.backup.ListBackupVaults", to_unknown_path)
    response = _error(backup.list_backup_vaults)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert NOT_EMULATED in response["Error"]["Message"]


# ------------------------------------------------------------------ the added operations


def _backup_orders(emu, backup, vault="local"):
    job, done = backup_orders(emu, backup, vault)
    assert done["State"] == "COMPLETED", done
    return job


@pytest.mark.emulator_only(
    reason="emulator-only feature: deferred key binding (orders is encrypted with the key the test creates)"
)
def test_get_recovery_point_restore_metadata_feeds_a_restore(emu):
    backup, key = source_vault(emu)
    point = _backup_orders(emu, backup)["RecoveryPointArn"]
    answer = backup.get_recovery_point_restore_metadata(BackupVaultName="local", RecoveryPointArn=point)
    assert answer["BackupVaultArn"] == f"arn:aws:backup:{REGION}:{SOURCE}:backup-vault:local"
    assert answer["RecoveryPointArn"] == point
    assert answer["ResourceType"] == "RDS"
    metadata = answer["RestoreMetadata"]
    assert metadata["DBInstanceIdentifier"] == "orders"
    assert metadata["KmsKeyId"] == key and metadata["StorageEncrypted"] == "true"
    assert all(isinstance(value, str) for value in metadata.values())

    restore = backup.start_restore_job(
        RecoveryPointArn=point, IamRoleArn=BACKUP_ROLE, Metadata={**metadata, "DBInstanceIdentifier": "orders-copy"}
    )
    assert emu.wait_restore_job(backup, restore["RestoreJobId"])["Status"] == "COMPLETED"
    (restored,) = emu.client("rds", SOURCE).describe_db_instances(DBInstanceIdentifier="orders-copy")["DBInstances"]
    assert restored["DBInstanceClass"] == metadata["DBInstanceClass"]


def test_get_recovery_point_restore_metadata_of_an_unknown_recovery_point(emu):
    backup, _ = source_vault(emu)
    response = _error(
        lambda: backup.get_recovery_point_restore_metadata(
            BackupVaultName="local", RecoveryPointArn=f"arn:aws:rds:{REGION}:{SOURCE}:snapshot:awsbackup:job-none"
        )
    )
    assert response["Error"]["Code"] == "ResourceNotFoundException"


def test_get_recovery_point_restore_metadata_honours_the_vault_access_policy(emu):
    backup, _ = source_vault(emu)
    point = _backup_orders(emu, backup)["RecoveryPointArn"]
    deny = policy_document(statement("Deny", {"AWS": "*"}, "backup:GetRecoveryPointRestoreMetadata"))
    backup.put_backup_vault_access_policy(BackupVaultName="local", Policy=json.dumps(deny))
    response = _error(
        lambda: backup.get_recovery_point_restore_metadata(BackupVaultName="local", RecoveryPointArn=point)
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.emulator_only(reason="clock: advances the emulator clock between the two backups")
def test_list_recovery_points_by_resource(emu):
    backup, _ = source_vault(emu)
    backup.create_backup_vault(BackupVaultName="second")
    first = _backup_orders(emu, backup)["RecoveryPointArn"]
    emu.admin("POST", "clock", {"advance_seconds": HOUR})
    second = _backup_orders(emu, backup, vault="second")["RecoveryPointArn"]
    points = backup.list_recovery_points_by_resource(ResourceArn=ORDERS_ARN)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [second, first]  # newest first, every vault
    assert all("BackupVaultName" not in p for p in points)  # only EFS and EC2 report it
    assert points[0]["Status"] == "COMPLETED" and points[0]["ResourceName"] == "orders"
    other = f"arn:aws:rds:{REGION}:{SOURCE}:db:other"
    assert backup.list_recovery_points_by_resource(ResourceArn=other)["RecoveryPoints"] == []

    response = _error(lambda: backup.list_recovery_points_by_resource(ResourceArn=ORDERS_ARN, MaxResults=19))
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert "20" in response["Error"]["Message"]
    page = backup.list_recovery_points_by_resource(ResourceArn=ORDERS_ARN, MaxResults=20)
    assert len(page["RecoveryPoints"]) == 2


def test_stop_backup_job_is_refused_for_rds(emu):
    backup, _ = source_vault(emu)
    job = backup.start_backup_job(BackupVaultName="local", ResourceArn=ORDERS_ARN, IamRoleArn=BACKUP_ROLE)
    response = _error(lambda: backup.stop_backup_job(BackupJobId=job["BackupJobId"]))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert emu.wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"  # not stopped

    response = _error(lambda: backup.stop_backup_job(BackupJobId="00000000-0000-0000-0000-000000000000"))
    assert response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.emulator_only(reason="unsafe on AWS: changes the Region's service opt-in settings")
def test_region_settings(emu):
    backup = emu.client("backup", SOURCE)
    settings = backup.describe_region_settings()
    assert settings["ResourceTypeOptInPreference"]["RDS"] is True
    assert settings["ResourceTypeManagementPreference"]["DynamoDB"] is True

    backup.update_region_settings(
        ResourceTypeOptInPreference={"RDS": False}, ResourceTypeManagementPreference={"EFS": False}
    )
    updated = backup.describe_region_settings()
    assert updated["ResourceTypeOptInPreference"]["RDS"] is False
    assert updated["ResourceTypeOptInPreference"]["EBS"] is True  # untouched
    assert updated["ResourceTypeManagementPreference"]["EFS"] is False
    # Per account and Region.
    assert emu.client("backup", SOURCE, region="eu-central-1").describe_region_settings()[
        "ResourceTypeOptInPreference"
    ]["RDS"]
    assert emu.client("backup", BACKUP).describe_region_settings()["ResourceTypeOptInPreference"]["RDS"]

    response = _error(lambda: backup.update_region_settings(ResourceTypeOptInPreference={"Mainframe": True}))
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Mainframe" in response["Error"]["Message"]


# ------------------------------------------------------------------------ list filters


def _two_backups_an_hour_apart(emu):
    backup, _ = source_vault(emu)
    backup.create_backup_vault(BackupVaultName="second")
    early = _backup_orders(emu, backup)
    emu.admin("POST", "clock", {"advance_seconds": HOUR})
    late = _backup_orders(emu, backup, vault="second")
    early_job = backup.describe_backup_job(BackupJobId=early["BackupJobId"])
    return backup, early, late, early_job["CreationDate"] + timedelta(minutes=30)


def _ids(jobs, key):
    return {job[key] for job in jobs}


@pytest.mark.emulator_only(reason="clock: advances the emulator clock between the two backups")
def test_list_backup_jobs_filters(emu):
    backup, early, late, between = _two_backups_an_hour_apart(emu)
    failing = backup.start_backup_job(
        BackupVaultName="local", ResourceArn=f"arn:aws:rds:{REGION}:{SOURCE}:db:missing", IamRoleArn=BACKUP_ROLE
    )
    assert emu.wait_backup_job(backup, failing["BackupJobId"])["State"] == "FAILED"
    everything = {early["BackupJobId"], late["BackupJobId"], failing["BackupJobId"]}

    def listed(**filters):
        return _ids(backup.list_backup_jobs(**filters)["BackupJobs"], "BackupJobId")

    assert listed() == everything
    assert listed(ByCreatedAfter=between) == {late["BackupJobId"], failing["BackupJobId"]}
    assert listed(ByCreatedBefore=between) == {early["BackupJobId"]}
    assert listed(ByCompleteBefore=between) == {early["BackupJobId"]}
    assert listed(ByCompleteAfter=between) == {late["BackupJobId"], failing["BackupJobId"]}
    assert listed(ByState="FAILED") == {failing["BackupJobId"]}
    assert listed(ByState="COMPLETED") == {early["BackupJobId"], late["BackupJobId"]}
    assert listed(ByBackupVaultName="second") == {late["BackupJobId"]}
    assert listed(ByResourceArn=ORDERS_ARN) == {early["BackupJobId"], late["BackupJobId"]}
    assert listed(ByResourceType="RDS") == everything
    assert listed(ByResourceType="EFS") == set()
    assert listed(ByMessageCategory="SUCCESS") == {early["BackupJobId"], late["BackupJobId"]}
    assert listed(ByMessageCategory="AGGREGATE_ALL") == everything
    assert listed(ByParentJobId="no-parent") == set()
    assert listed(ByAccountId=SOURCE) == everything
    assert listed(ByAccountId=BACKUP) == set()
    assert listed(ByCreatedAfter=between, ByBackupVaultName="local") == {failing["BackupJobId"]}


@pytest.mark.emulator_only(reason="clock: advances the emulator clock between the two backups")
def test_list_recovery_points_by_backup_vault_filters(emu):
    backup, _ = source_vault(emu)
    early = _backup_orders(emu, backup)["RecoveryPointArn"]
    emu.admin("POST", "clock", {"advance_seconds": HOUR})
    late = _backup_orders(emu, backup)["RecoveryPointArn"]
    created = backup.describe_recovery_point(BackupVaultName="local", RecoveryPointArn=early)["CreationDate"]
    between = created + timedelta(minutes=30)

    def listed(**filters):
        points = backup.list_recovery_points_by_backup_vault(BackupVaultName="local", **filters)["RecoveryPoints"]
        return {p["RecoveryPointArn"] for p in points}

    assert listed() == {early, late}
    assert listed(ByCreatedAfter=between) == {late}
    assert listed(ByCreatedBefore=between) == {early}
    assert listed(ByResourceArn=ORDERS_ARN, ByResourceType="RDS") == {early, late}
    assert listed(ByResourceType="EBS") == set()
    assert listed(ByBackupPlanId="not-a-plan") == set()  # on-demand backups belong to no plan


@pytest.mark.emulator_only(reason="clock: advances the emulator clock between the two copies")
def test_list_copy_jobs_filters(emu):
    setup = CopySetup(emu)
    early = setup.copy()
    emu.admin("POST", "clock", {"advance_seconds": HOUR})
    late = setup.copy(lifecycle={"DeleteAfterDays": 1})
    between = early["CreationDate"] + timedelta(minutes=30)

    def listed(**filters):
        return _ids(setup.source.list_copy_jobs(**filters)["CopyJobs"], "CopyJobId")

    assert listed() == {early["CopyJobId"], late["CopyJobId"]}
    assert listed(ByCreatedAfter=between) == {late["CopyJobId"]}
    assert listed(ByCreatedBefore=between) == {early["CopyJobId"]}
    assert listed(ByCompleteAfter=between) == {late["CopyJobId"]}
    assert listed(ByDestinationVaultArn=setup.destination_vault_arn) == {early["CopyJobId"], late["CopyJobId"]}
    assert listed(BySourceRecoveryPointArn=setup.recovery_point_arn, ByState="COMPLETED") == {
        early["CopyJobId"],
        late["CopyJobId"],
    }
    assert listed(ByState="FAILED") == set()
    assert listed(ByAccountId=BACKUP) == set()


@pytest.mark.emulator_only(reason="clock: advances the emulator clock between the two restores")
def test_list_restore_jobs_filters(emu):
    backup, _ = source_vault(emu)
    point = _backup_orders(emu, backup)["RecoveryPointArn"]
    early = backup.start_restore_job(
        RecoveryPointArn=point, IamRoleArn=BACKUP_ROLE, Metadata={"DBInstanceIdentifier": "orders-1"}
    )
    assert emu.wait_restore_job(backup, early["RestoreJobId"])["Status"] == "COMPLETED"
    emu.admin("POST", "clock", {"advance_seconds": HOUR})
    late = backup.start_restore_job(
        RecoveryPointArn=point, IamRoleArn=BACKUP_ROLE, Metadata={"DBInstanceIdentifier": "orders-1"}
    )
    assert emu.wait_restore_job(backup, late["RestoreJobId"])["Status"] == "FAILED"  # the name is taken
    created = backup.describe_restore_job(RestoreJobId=early["RestoreJobId"])["CreationDate"]
    between = created + timedelta(minutes=30)

    def listed(**filters):
        return _ids(backup.list_restore_jobs(**filters)["RestoreJobs"], "RestoreJobId")

    assert listed(ByCreatedAfter=between) == {late["RestoreJobId"]}
    assert listed(ByCreatedBefore=between) == {early["RestoreJobId"]}
    assert listed(ByCompleteBefore=between) == {early["RestoreJobId"]}
    assert listed(ByStatus="FAILED", ByResourceType="RDS") == {late["RestoreJobId"]}
    assert listed(ByRestoreTestingPlanArn="arn:aws:backup:eu-west-1:111222333444:restore-testing-plan:x") == set()


@pytest.mark.emulator_only(reason="world: fresh world's empty job lists")
def test_list_backup_jobs_of_the_whole_organization_from_the_management_account(emu):
    backup, _ = source_vault(emu)
    job = _backup_orders(emu, backup)
    management = emu.client("backup", MANAGEMENT)
    assert _ids(management.list_backup_jobs(ByAccountId="*")["BackupJobs"], "BackupJobId") == {job["BackupJobId"]}
    assert _ids(management.list_backup_jobs()["BackupJobs"], "BackupJobId") == set()
    # From a member account, "*" is no wider than its own jobs.
    assert _ids(emu.client("backup", BACKUP).list_backup_jobs(ByAccountId="*")["BackupJobs"], "BackupJobId") == set()
    refused = _error(lambda: management.list_backup_jobs(ByAccountId="12345"))
    assert refused["Error"]["Code"] == "InvalidParameterValueException", refused
