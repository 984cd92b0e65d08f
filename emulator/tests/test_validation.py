"""Request validation against botocore's service model (``coffer_emulator/validation.py``).

One table of invalid requests across Backup, KMS, Organizations, STS, IAM and RDS, each answered
with HTTP 400, the error code AWS sends for it and a message that names the member (for
Organizations, its ``Reason``, as AWS sends it: ``INVALID_PATTERN:RESOURCE_ID``; for a JSON
value of the wrong type, Coral's ``STRING_VALUE can not be converted to an Integer``, which names
the type). boto3 clients are built with ``parameter_validation=False`` so the emulator, not
boto3, sees the invalid values; what boto3 cannot send (a malformed JSON body, a boolean that is
not one) goes as a raw SigV4-signed request. Then the valid edge cases that must pass (maximum
lengths exactly, patterns matched, Unicode letters in ``\\p{L}`` patterns) and the model's
patterns, every one of which compiles.
"""

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from support import MANAGEMENT, REGION, SOURCE, Emulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coffer_emulator import validation  # noqa: E402

UNCHECKED = Config(parameter_validation=False, retries={"total_max_attempts": 1})
ROLE_ARN = f"arn:aws:iam::{SOURCE}:role/CofferDeployRole"
RECOVERY_POINT = f"arn:aws:rds:{REGION}:{SOURCE}:snapshot:awsbackup:job-1"
DB_ARN = f"arn:aws:rds:{REGION}:{SOURCE}:db:orders"


def raw_request(
    endpoint: str, service: str, *, method: str = "POST", path: str = "/", body: bytes = b"", headers: dict[str, str]
) -> tuple[int, bytes]:
    """A SigV4-signed request built by hand, for what boto3's serializers cannot send (the
    emulator does not check signatures; the credential scope names the service)."""
    request = AWSRequest(method=method, url=f"{endpoint}{path}", data=body, headers=headers)
    SigV4Auth(Credentials("AKIAPLAINTESTKEY", "secret"), service, REGION).add_auth(request)
    prepared = request.prepare()
    headers = dict(prepared.headers)
    sent = urllib.request.Request(prepared.url, data=prepared.body or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _raised(status: int, code: str, message: str) -> ClientError:
    """A raw answer as the ClientError boto3 would have raised, for the table's assertions."""
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "raw")  # type: ignore[arg-type]


def raw_query(service: str, body: str) -> Callable[[Any], Any]:
    """A query-protocol call (STS, IAM, RDS) sent as a form body, raising its error."""

    def call(client: Any) -> Any:
        status, answer = raw_request(
            client.meta.endpoint_url,
            service,
            body=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        text = answer.decode()
        if status != 200:
            raise _raised(status, _xml(text, "Code"), _xml(text, "Message"))
        return text

    return call


def raw_json(service: str, target: str, body: bytes) -> Callable[[Any], Any]:
    """A json-protocol call (KMS, Organizations) with the body given as bytes, raising its error."""

    def call(client: Any) -> Any:
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
        status, answer = raw_request(client.meta.endpoint_url, service, body=body, headers=headers)
        document = json.loads(answer)
        raise _raised(status, document["__type"], document.get("message") or document.get("Message", ""))

    return call


def raw_rest_json(method: str, path: str, body: bytes) -> Callable[[Any], Any]:
    """A Backup (rest-json) call with the body given as bytes, raising its error."""

    def call(client: Any) -> Any:
        headers = {"Content-Type": "application/json"}
        endpoint = client.meta.endpoint_url
        status, answer = raw_request(endpoint, "backup", method=method, path=path, body=body, headers=headers)
        raise _raised(status, json.loads(answer)["__type"], json.loads(answer)["Message"])

    return call


def _xml(text: str, tag: str) -> str:
    match = re.search(f"<{tag}>(.*?)</{tag}>", text, re.S)
    return match.group(1) if match else ""


CREATOR_95 = ("request id with spaces " * 5)[:95]  # 95 characters, spaces among them
LONG_NAME = "n" * 129


def case(test_id: str, service: str, call: Callable[[Any], Any], code: str, names: str) -> Any:
    """One row: the call (on a boto3 client of ``service``), the error code AWS sends, and text
    the message (for Organizations: message and Reason) must contain. Raw requests carry a fake
    signature only the emulator accepts."""
    raw = "-raw-" in test_id
    marks = [pytest.mark.emulator_only(reason="emulator-only: a raw request with a fake signature")] if raw else []
    return pytest.param(service, call, code, names, id=test_id, marks=marks)


def coral(member: str, constraint: str, value: str | None = None) -> str:
    """Coral's sentence for one broken rule."""
    shown = "Value null" if value is None else f"Value '{value}'"
    return f"{shown} at '{member}' failed to satisfy constraint: {constraint}"


MAX_LENGTH = "Member must have length less than or equal to {}".format
MIN_LENGTH = "Member must have length greater than or equal to {}".format
MAX_VALUE = "Member must have value less than or equal to {}".format
MIN_VALUE = "Member must have value greater than or equal to {}".format
PATTERN = "Member must satisfy regular expression pattern: {}".format
NOT_NULL = "Member must not be null"
NOT_INTEGER = "Member must be an integer"
JSON_STRING_FOR_INTEGER = "STRING_VALUE can not be converted to an Integer"
CREATE_DB = {"DBInstanceIdentifier": "db1", "DBInstanceClass": "db.t3.micro", "Engine": "postgres"}
BACKUP_JOB = {"BackupVaultName": "local", "ResourceArn": DB_ARN, "IamRoleArn": ROLE_ARN}

INVALID = [
    # ------------------------------------------------------------------ KMS (json 1.1)
    case(
        "kms-limit-above-max", "kms", lambda c: c.list_keys(Limit=5000), "ValidationException",
        "1 validation error detected: " + coral("limit", MAX_VALUE(1000), "5000"),
    ),
    case(
        "kms-limit-below-min", "kms", lambda c: c.list_aliases(Limit=0), "ValidationException",
        coral("limit", MIN_VALUE(1), "0"),
    ),
    case(
        "kms-limit-string", "kms", lambda c: c.list_keys(Limit="ten"), "SerializationException",
        JSON_STRING_FOR_INTEGER,
    ),
    case(
        "kms-keyspec-enum", "kms", lambda c: c.create_key(KeySpec="AES-256"), "ValidationException",
        coral("keySpec", "Member must satisfy enum value set: [RSA_2048, ", "AES-256"),
    ),
    case(
        "kms-keyid-too-long", "kms", lambda c: c.describe_key(KeyId="k" * 2049), "ValidationException",
        coral("keyId", MAX_LENGTH(2048), "k" * 2049),
    ),
    case(
        "kms-keyid-missing", "kms", lambda c: c.describe_key(), "ValidationException",
        "1 validation error detected: " + coral("keyId", NOT_NULL),
    ),
    case(
        "kms-alias-pattern", "kms", lambda c: c.create_alias(AliasName="alias/with space", TargetKeyId="k"),
        "ValidationException", coral("aliasName", PATTERN("^[a-zA-Z0-9:/_-]+$"), "alias/with space"),
    ),
    case(
        "kms-sensitive-value-left-out", "kms", lambda c: c.encrypt(KeyId="alias/x", Plaintext=b""),
        "ValidationException", "Value at 'plaintext' failed to satisfy constraint: " + MIN_LENGTH(1),
    ),
    case(
        "kms-two-errors", "kms", lambda c: c.create_key(Description="d" * 8193, KeyUsage="ENCRYPT"),
        "ValidationException",
        "2 validation errors detected: " + coral("description", MAX_LENGTH(8192), "d" * 8193)
        + "; Value 'ENCRYPT' at 'keyUsage'",
    ),
    case(
        "kms-nested-member-path", "kms",
        lambda c: c.tag_resource(KeyId="k", Tags=[{"TagKey": "", "TagValue": "v"}]),
        "ValidationException", coral("tags.1.member.tagKey", MIN_LENGTH(1), ""),
    ),
    case(
        "kms-raw-body-not-json", "kms", raw_json("kms", "TrentService.ListKeys", b"{not json"),
        "SerializationException", "Unable to parse the request body as JSON.",
    ),
    # ------------------------------------------------------------------ STS (query)
    case(
        "sts-session-name-pattern", "sts",
        lambda c: c.assume_role(RoleArn=ROLE_ARN, RoleSessionName="coffer tests"), "ValidationError",
        "1 validation error detected: " + coral("roleSessionName", PATTERN("[\\w+=,.@-]*"), "coffer tests"),
    ),
    case(
        "sts-session-name-too-long", "sts", lambda c: c.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s" * 65),
        "ValidationError", coral("roleSessionName", MAX_LENGTH(64), "s" * 65),
    ),
    case(
        "sts-duration-below-min", "sts",
        lambda c: c.assume_role(RoleArn=ROLE_ARN, RoleSessionName="ok", DurationSeconds=100), "ValidationError",
        coral("durationSeconds", MIN_VALUE(900), "100"),
    ),
    case(
        "sts-session-name-missing", "sts", lambda c: c.assume_role(RoleArn=ROLE_ARN), "ValidationError",
        coral("roleSessionName", NOT_NULL),
    ),
    case(
        "sts-role-arn-too-short", "sts", lambda c: c.assume_role(RoleArn="arn:aws:iam::1:r", RoleSessionName="ok"),
        "ValidationError", coral("roleArn", MIN_LENGTH(20), "arn:aws:iam::1:r"),
    ),
    case(
        "sts-token-code-pattern", "sts", lambda c: c.get_session_token(TokenCode="12ab56"), "ValidationError",
        coral("tokenCode", PATTERN("[\\d]*"), "12ab56"),
    ),
    case(
        "sts-raw-integer-does-not-parse", "sts",
        raw_query("sts", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=ok&DurationSeconds=x&RoleArn=" + ROLE_ARN),
        "ValidationError", "1 validation error detected: " + coral("durationSeconds", NOT_INTEGER, "x"),
    ),
    # ------------------------------------------------------------------ IAM (query)
    case(
        "iam-role-name-pattern", "iam", lambda c: c.create_role(RoleName="coffer/role", AssumeRolePolicyDocument="{}"),
        "ValidationError", coral("roleName", PATTERN("[\\w+=,.@-]+"), "coffer/role"),
    ),
    case(
        "iam-role-name-too-long", "iam", lambda c: c.create_role(RoleName="r" * 65, AssumeRolePolicyDocument="{}"),
        "ValidationError", coral("roleName", MAX_LENGTH(64), "r" * 65),
    ),
    case("iam-role-name-missing", "iam", lambda c: c.get_role(), "ValidationError", coral("roleName", NOT_NULL)),
    case(
        "iam-path-pattern", "iam",
        lambda c: c.create_role(RoleName="ok", Path="no-slashes", AssumeRolePolicyDocument="{}"), "ValidationError",
        coral("path", PATTERN("(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"), "no-slashes"),
    ),
    case(
        "iam-max-items-below-min", "iam", lambda c: c.list_roles(MaxItems=0), "ValidationError",
        coral("maxItems", MIN_VALUE(1), "0"),
    ),
    case(
        "iam-max-items-not-integer", "iam", lambda c: c.list_roles(MaxItems="many"), "ValidationError",
        coral("maxItems", NOT_INTEGER, "many"),
    ),
    case(
        "iam-tag-key-too-long", "iam",
        lambda c: c.create_role(RoleName="ok", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k" * 129, "Value": "v"}]),
        "ValidationError", coral("tags.1.member.key", MAX_LENGTH(128), "k" * 129),
    ),
    case(
        "iam-session-duration-below-min", "iam",
        lambda c: c.create_role(RoleName="ok", AssumeRolePolicyDocument="{}", MaxSessionDuration=60),
        "ValidationError", coral("maxSessionDuration", MIN_VALUE(3600), "60"),
    ),
    # ------------------------------------------------------------------ Organizations (json 1.1)
    case(
        "orgs-max-results-zero", "organizations", lambda c: c.list_accounts(MaxResults=0), "InvalidInputException",
        "You provided a numeric parameter that has a smaller value than allowed. MIN_VALUE_EXCEEDED:MAX_RESULTS",
    ),
    case(
        "orgs-max-results-above-max", "organizations", lambda c: c.list_accounts(MaxResults=21),
        "InvalidInputException",
        "You provided a numeric parameter that has a larger value than allowed. MAX_VALUE_EXCEEDED:MAX_RESULTS",
    ),
    case(
        "orgs-account-id-pattern", "organizations", lambda c: c.describe_account(AccountId="1234"),
        "InvalidInputException",
        "You provided a value that does not match the required pattern. INVALID_PATTERN:ACCOUNT_ID",
    ),
    case(
        "orgs-account-id-missing", "organizations", lambda c: c.describe_account(), "InvalidInputException",
        "You must include a value for all required parameters. INPUT_REQUIRED:ACCOUNT_ID",
    ),
    case(
        "orgs-child-type-enum", "organizations", lambda c: c.list_children(ParentId="r-c0ff", ChildType="BUCKET"),
        "InvalidInputException", "You specified an invalid value. INVALID_ENUM:CHILD_TYPE",
    ),
    case(
        "orgs-ou-name-too-long", "organizations",
        lambda c: c.create_organizational_unit(ParentId="r-c0ff", Name="n" * 129), "InvalidInputException",
        "You provided a string parameter that is longer than allowed. MAX_LENGTH_EXCEEDED:NAME",
    ),
    case(
        "orgs-ou-id-pattern", "organizations",
        lambda c: c.describe_organizational_unit(OrganizationalUnitId="ou-bad"), "InvalidInputException",
        "INVALID_PATTERN:ORGANIZATIONAL_UNIT_ID",
    ),
    case(
        "orgs-max-results-string", "organizations", lambda c: c.list_accounts(MaxResults="five"),
        "SerializationException", JSON_STRING_FOR_INTEGER,
    ),
    # ------------------------------------------------------------------ RDS (query)
    case(
        "rds-max-records-not-integer", "rds", lambda c: c.describe_db_instances(MaxRecords="abc"),
        "InvalidParameterValue", "Invalid value abc for MaxRecords. Must be an integer",
    ),
    case(
        "rds-instance-class-missing", "rds",
        lambda c: c.create_db_instance(DBInstanceIdentifier="db1", Engine="postgres"), "MissingParameter",
        "The request must contain the parameter DBInstanceClass",
    ),
    case(
        "rds-filter-name-missing", "rds", lambda c: c.describe_db_instances(Filters=[{"Values": ["postgres"]}]),
        "MissingParameter", "The request must contain the parameter Filters.1.Name",
    ),
    case(
        "rds-resource-name-missing", "rds", lambda c: c.add_tags_to_resource(Tags=[{"Key": "k", "Value": "v"}]),
        "MissingParameter", "The request must contain the parameter ResourceName",
    ),
    case(
        "rds-allocated-storage-not-integer", "rds",
        lambda c: c.create_db_instance(**CREATE_DB, AllocatedStorage="lots"),
        "InvalidParameterValue", "Invalid value lots for AllocatedStorage. Must be an integer",
    ),
    case(
        "rds-insights-mode-enum", "rds", lambda c: c.create_db_instance(**CREATE_DB, DatabaseInsightsMode="turbo"),
        "InvalidParameterValue",
        "Invalid value turbo for DatabaseInsightsMode. Must satisfy enum value set: [standard, advanced]",
    ),
    case(
        "rds-reservation-id-pattern", "rds",
        lambda c: c.create_db_instance(**CREATE_DB, DBCapacityReservationIdentifier="Bad_Id"), "InvalidParameterValue",
        "Invalid value Bad_Id for DBCapacityReservationIdentifier. Must satisfy regular expression pattern",
    ),
    case(
        "rds-raw-boolean-does-not-parse", "rds",
        raw_query("rds", "Action=DescribeDBSnapshots&Version=2014-10-31&IncludeShared=maybe"),
        "InvalidParameterValue", "Invalid value maybe for IncludeShared. Must be a boolean (true or false)",
    ),
    # ------------------------------------------------------------------ Backup (rest-json)
    case(
        "backup-creator-request-id-95-with-spaces", "backup",
        lambda c: c.create_backup_vault(BackupVaultName="ok-vault", CreatorRequestId=CREATOR_95),
        "InvalidParameterValueException",
        "2 validation errors detected: "
        + coral("creatorRequestId", PATTERN("^[a-zA-Z0-9\\-\\_\\.]+$"), CREATOR_95)
        + "; "
        + coral("creatorRequestId", MAX_LENGTH(50), CREATOR_95),
    ),
    case(
        "backup-vault-name-pattern", "backup", lambda c: c.create_backup_vault(BackupVaultName="bad name"),
        "InvalidParameterValueException", coral("backupVaultName", PATTERN("^[a-zA-Z0-9\\-\\_]{2,50}$"), "bad name"),
    ),
    case(
        "backup-max-results-below-min", "backup", lambda c: c.list_backup_vaults(MaxResults=0),
        "InvalidParameterValueException", coral("maxResults", MIN_VALUE(1), "0"),
    ),
    case(
        "backup-max-results-not-integer", "backup", lambda c: c.list_backup_vaults(MaxResults="abc"),
        "InvalidParameterValueException", coral("maxResults", NOT_INTEGER, "abc"),
    ),
    case(
        "backup-delete-after-days-string", "backup",
        lambda c: c.start_backup_job(**BACKUP_JOB, Lifecycle={"DeleteAfterDays": "ten"}), "SerializationException",
        "STRING_VALUE can not be converted to a Long",
    ),
    case(
        "backup-role-missing", "backup", lambda c: c.start_backup_job(BackupVaultName="local", ResourceArn=DB_ARN),
        "MissingParameterValueException", "Missing required parameter: IamRoleArn",
    ),
    case(
        "backup-index-enum", "backup", lambda c: c.start_backup_job(**BACKUP_JOB, Index="MAYBE"),
        "InvalidParameterValueException",
        coral("index", "Member must satisfy enum value set: [ENABLED, DISABLED]", "MAYBE"),
    ),
    case(
        "backup-restore-port-not-a-number", "backup",
        lambda c: c.start_restore_job(
            RecoveryPointArn=RECOVERY_POINT, Metadata={"DBInstanceIdentifier": "restored", "Port": "abc"}
        ),
        "InvalidParameterValueException",
        coral("metadata.Port", "Restore metadata Port must be a whole number", "abc"),
    ),
    case(
        "backup-raw-body-not-an-object", "backup", raw_rest_json("PUT", "/backup-vaults/raw-vault", b"[1, 2]"),
        "SerializationException", "Start of list found where not expected.",
    ),
]


def _client(emu: Emulator, service: str) -> Any:
    return emu.client(service, MANAGEMENT, config=UNCHECKED)


@pytest.mark.parametrize(("service", "call", "code", "names"), INVALID)
def test_invalid_request_is_refused_as_aws_refuses_it(emu, service, call, code, names):
    with pytest.raises(ClientError) as excinfo:
        call(_client(emu, service))
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == code, response
    said = response["Error"]["Message"] + (f" {response['Reason']}" if "Reason" in response else "")
    assert names in said, said


def test_the_table_covers_every_service():
    per_service: dict[str, int] = {}
    for param in INVALID:
        per_service[param.values[0]] = per_service.get(param.values[0], 0) + 1
    assert len(INVALID) >= 40
    assert set(per_service) == set(validation.VALIDATED_SERVICES)
    assert min(per_service.values()) >= 5, per_service


@pytest.mark.emulator_only(reason="request log: reads the emulator's request log")
def test_a_refused_call_is_logged_with_its_status_and_never_reaches_moto(emu):
    backup = _client(emu, "backup")
    emu.admin("DELETE", "requests")
    with pytest.raises(ClientError):
        backup.create_backup_vault(BackupVaultName="ok-vault", CreatorRequestId=CREATOR_95)
    logged = emu.admin("GET", "requests?service=backup&operation=CreateBackupVault")["requests"]
    assert [(entry["status"], entry["throttled"]) for entry in logged] == [(400, False)]
    assert "ok-vault" not in [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]


def test_an_invalid_assume_role_is_a_validation_error_before_the_role_check(emu):
    """Validation comes before the role-existence check: a bad session name into a role that
    does not exist is ValidationError (400), not AccessDenied (403)."""
    sts = _client(emu, "sts")
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=f"arn:aws:iam::{SOURCE}:role/NoSuchRole", RoleSessionName="has space")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ----------------------------------------------------------------------------- valid edge cases


@pytest.mark.emulator_only(reason="unsafe on AWS: creates an IAM role with an empty trust policy and never deletes it")
def test_maximum_lengths_exactly_and_matching_patterns_pass(emu):
    kms = _client(emu, "kms")
    key_id = kms.create_key(Description="d" * 8192)["KeyMetadata"]["KeyId"]
    alias = "alias/" + "a" * 250  # 256 characters, the maximum
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert alias in [a["AliasName"] for a in kms.list_aliases(Limit=1000)["Aliases"]]

    backup = _client(emu, "backup")
    vault = "v" * 50
    backup.create_backup_vault(BackupVaultName=vault, CreatorRequestId="a-_." + "b" * 46)
    assert backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultName"] == vault
    assert backup.list_backup_vaults(MaxResults=1000, ByShared=False)["BackupVaultList"]

    iam = _client(emu, "iam")
    role = ("r+=,.@-_" * 8)[:64]
    iam.create_role(RoleName=role, Path="/a/b/", AssumeRolePolicyDocument="{}", MaxSessionDuration=43200)
    assert iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    assert iam.list_roles(MaxItems=1000)["Roles"]


def test_sts_session_name_of_64_allowed_characters_and_shortest_duration_pass(emu):
    sts = _client(emu, "sts")
    session = ("a.b@c=d,e+f-g_" * 5)[:64]
    issued = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=session, DurationSeconds=900)
    assert issued["AssumedRoleUser"]["Arn"].endswith(f"/CofferDeployRole/{session}")


def test_organizations_unicode_tag_letters_and_page_size_bounds_pass(emu):
    organizations = _client(emu, "organizations")
    assert organizations.list_accounts(MaxResults=20)["Accounts"]
    assert organizations.list_accounts(MaxResults=1)["Accounts"]
    # TagKey and TagValue are ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$: letters of any script and spaces.
    organizations.tag_resource(ResourceId=SOURCE, Tags=[{"Key": "Équipe données", "Value": "Ünïcode 42"}])
    tags = organizations.list_tags_for_resource(ResourceId=SOURCE)["Tags"]
    assert {"Key": "Équipe données", "Value": "Ünïcode 42"} in tags


@pytest.mark.emulator_only(reason="emulator-only: a raw request with a fake signature")
def test_rds_integers_and_lists_in_the_query_protocol_pass(emu):
    rds = _client(emu, "rds")
    found = rds.describe_db_instances(MaxRecords=20, Filters=[{"Name": "engine", "Values": ["postgres"]}])
    assert [i["DBInstanceIdentifier"] for i in found["DBInstances"]] == []  # orders lives in the source account
    answer = raw_query("rds", "Action=DescribeDBInstances&Version=2014-10-31&MaxRecords=%2B20")(rds)
    assert "<DescribeDBInstancesResult>" in answer


# ----------------------------------------------------------------------------- patterns


@pytest.mark.emulator_only(reason="emulator-only feature: tests the emulator's validation module")
@pytest.mark.parametrize("service", sorted(validation.VALIDATED_SERVICES))
def test_every_model_pattern_compiles(service):
    patterns = set(validation.iter_patterns(service))
    assert patterns
    assert [p for p in patterns if validation.compiled_pattern(p) is None] == []


@pytest.mark.emulator_only(reason="emulator-only feature: tests the emulator's validation module")
def test_java_patterns_translate_with_java_semantics():
    tag = validation.compiled_pattern(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
    assert tag is not None and tag.fullmatch("Équipe données 42") and not tag.fullmatch("a<b")
    word = validation.compiled_pattern(r"[\w+=,.@-]*")
    assert word is not None and word.fullmatch("coffer-tests") and not word.fullmatch("é")  # Java's \w is ASCII
    alternation = validation.compiled_pattern(r"^(\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
    assert alternation is not None and not alternation.fullmatch("123456789012x")  # full match, as AWS applies it
    assert validation.compiled_pattern(r"[a-z&&[^b]]") is None  # Java's class intersection: skipped, not guessed


@pytest.mark.parametrize(("days", "refused"), [(6, True), (7, False), (30, False), (31, True), (1, True)])
def test_schedule_key_deletion_takes_a_waiting_period_of_7_to_30_days(emu, days, refused):
    kms = emu.client("kms", SOURCE)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    if refused:
        with pytest.raises(ClientError) as excinfo:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        response = excinfo.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
        assert response["Error"]["Code"] == "ValidationException", response
        assert "PendingWindowInDays must be between 7 and 30" in response["Error"]["Message"], response
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    else:
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
