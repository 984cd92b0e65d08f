"""Regressions found by probing the emulator: chunked request bodies, moto's own reset, former
organization members after a reset, the default RDS key of DB clusters, and AWS managed keys
that cannot be changed."""

import http.client
import json
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from support import MANAGEMENT, REGION, SOURCE, policy_document, root, statement

MOTO_DEFAULT_ACCOUNT = "123456789012"
ADMIN_ROLE = "OrganizationAccountAccessRole"


# ------------------------------------------------------------------ chunked bodies


def signed_headers(service: str) -> dict[str, str]:
    """A SigV4 header the emulator reads the service and account from (signatures are not checked)."""
    credential = f"AKIAPLAINTESTKEY/20260101/{REGION}/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
    }


def chunked(emu: Any, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send ``body`` with ``Transfer-Encoding: chunked`` (no Content-Length), in two chunks."""
    location = urlsplit(emu.url)
    connection = http.client.HTTPConnection(location.hostname, location.port, timeout=30)
    try:
        connection.request(method, path, body=iter([body[:7], body[7:]]), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def kms_call(emu: Any, operation: str, body: dict[str, Any]) -> tuple[int, Any]:
    headers = {
        **signed_headers("kms"),
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"TrentService.{operation}",
    }
    status, raw = chunked(emu, "POST", "/", json.dumps(body).encode(), headers)
    return status, json.loads(raw)


@pytest.mark.emulator_only(reason="emulator-only: a raw request with a fake signature")
def test_chunked_json_body_reaches_moto(emu):
    status, created = kms_call(emu, "CreateKey", {"Description": "sent chunked"})
    assert status == 200, created
    assert created["KeyMetadata"]["Description"] == "sent chunked"
    assert created["KeyMetadata"]["AWSAccountId"] == MANAGEMENT
    status, listed = kms_call(emu, "ListKeys", {"Limit": 1000})
    assert status == 200, listed
    assert created["KeyMetadata"]["KeyId"] in {key["KeyId"] for key in listed["Keys"]}
    logged = emu.admin("GET", f"requests?service=kms&account={MANAGEMENT}")["requests"]
    assert [entry["operation"] for entry in logged][-2:] == ["CreateKey", "ListKeys"]


@pytest.mark.emulator_only(reason="emulator-only: a raw request with a fake signature")
def test_chunked_query_body_reaches_moto(emu):
    headers = {**signed_headers("sts"), "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, raw = chunked(emu, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", headers)
    assert status == 200, raw
    assert f"<Account>{MANAGEMENT}</Account>".encode() in raw
    logged = emu.admin("GET", "requests?service=sts")["requests"]
    assert logged[-1]["operation"] == "GetCallerIdentity"


@pytest.mark.emulator_only(reason="emulator-only: a raw request with a fake signature")
def test_chunked_empty_body_to_a_rest_operation(emu):
    status, raw = chunked(emu, "GET", "/backup-vaults/", b"", signed_headers("backup"))
    assert status == 200, raw
    assert json.loads(raw) == {"BackupVaultList": []}


# ------------------------------------------------------------------ moto's own reset


def moto_reset(emu: Any) -> dict[str, Any]:
    request = urllib.request.Request(f"{emu.url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.emulator_only(reason="admin API: resets the emulator")
def test_moto_reset_resets_the_emulators_layer_too(emu):
    emu.admin("PUT", "faults", {"seed": 3, "throttle": {"kms:DescribeKey": 1.0}, "latency_ms": {"sts:*": 1}})
    emu.admin("POST", "clock", {"advance_seconds": 86400})
    emu.client("organizations").describe_organization()
    assert emu.admin("GET", "requests")["requests"]

    assert moto_reset(emu) == {"status": "ok"}
    emu._credentials.clear()  # the assumed-role credentials are gone with moto's state

    world = emu.admin("GET", "world")
    assert world == {"world": None, "default_account": MOTO_DEFAULT_ACCOUNT}
    faults = emu.admin("GET", "faults")
    assert (faults["throttle"], faults["latency_ms"]) == ({}, {})
    assert emu.admin("GET", "clock")["offset_seconds"] == 0
    assert emu.admin("GET", "requests")["requests"] == []
    organizations = emu.client("organizations")
    with pytest.raises(ClientError) as excinfo:
        organizations.describe_organization()
    assert excinfo.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    assert emu.client("sts").get_caller_identity()["Account"] == MOTO_DEFAULT_ACCOUNT
    emu.client("kms").describe_key(KeyId="alias/aws/rds")  # no throttling left


# ------------------------------------------------------------------ former members


def acting_as(client: Any, account: str) -> Any:
    """The client sends moto's ``x-moto-account-id`` (the emulator obeys it): after a reset the
    former member has no role to assume."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.*.*", add_header)
    return client


RESETS: dict[str, Callable[[Any], Any]] = {
    "moto-api": moto_reset,
    "admin": lambda emu: emu.admin("POST", "reset"),
}


@pytest.mark.emulator_only(reason="admin API: loads another organization")
@pytest.mark.parametrize("reset", sorted(RESETS))
def test_former_member_is_no_member_of_the_next_organization(emu, reset):
    member = acting_as(emu.client("organizations"), SOURCE)
    assert member.describe_organization()["Organization"]["Id"] == "o-coffer0seed"

    RESETS[reset](emu)
    emu._credentials.clear()
    management = acting_as(emu.client("organizations"), MANAGEMENT)
    organization = management.create_organization(FeatureSet="ALL")["Organization"]
    management.create_account(AccountName="other", Email="other@example.com")
    assert SOURCE not in {account["Id"] for account in management.list_accounts()["Accounts"]}

    with pytest.raises(ClientError) as excinfo:
        member.describe_organization()
    assert excinfo.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert management.describe_organization()["Organization"]["Id"] == organization["Id"]


# ------------------------------------------------------------------ default RDS key


@pytest.fixture
def rds(emu) -> tuple[Any, str]:
    """The source account's RDS client and the ARN of its AWS managed ``aws/rds`` key."""
    kms = emu.client("kms", SOURCE)
    return emu.client("rds", SOURCE), kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]


def create_cluster(rds: Any, name: str, encrypted: bool) -> dict[str, Any]:
    return rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="coffer",
        MasterUserPassword="not-a-secret-1",
        StorageEncrypted=encrypted,
    )["DBCluster"]


@pytest.mark.emulator_only(reason="unsafe on AWS: creates Aurora clusters the clean-up does not delete")
def test_encrypted_db_cluster_without_key_uses_the_aws_rds_key(rds):
    client, aws_rds = rds
    created = create_cluster(client, "ledger", encrypted=True)
    assert (created["StorageEncrypted"], created["KmsKeyId"]) == (True, aws_rds)
    assert client.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]["KmsKeyId"] == aws_rds
    member = client.create_db_instance(
        DBInstanceIdentifier="ledger-1", DBInstanceClass="db.r6g.large", Engine="aurora-postgresql",
        DBClusterIdentifier="ledger",
    )["DBInstance"]  # fmt: skip
    assert member["KmsKeyId"] == aws_rds
    snapshot = client.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-s")
    assert snapshot["DBClusterSnapshot"]["KmsKeyId"] == aws_rds


@pytest.mark.emulator_only(reason="unsafe on AWS: creates Aurora clusters the clean-up does not delete")
def test_unencrypted_db_cluster_reports_no_key(rds):
    client, _ = rds
    created = create_cluster(client, "plain", encrypted=False)
    assert created["StorageEncrypted"] is False
    assert "KmsKeyId" not in created
    assert "KmsKeyId" not in client.describe_db_clusters(DBClusterIdentifier="plain")["DBClusters"][0]


@pytest.mark.emulator_only(reason="unsafe on AWS: creates DB instances the clean-up does not delete")
def test_encrypted_db_instance_without_key_uses_the_aws_rds_key(rds):
    client, aws_rds = rds
    created = client.create_db_instance(
        DBInstanceIdentifier="ledger", DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
        MasterUsername="coffer", MasterUserPassword="not-a-secret-1", StorageEncrypted=True,
    )["DBInstance"]  # fmt: skip
    assert created["KmsKeyId"] == aws_rds
    snapshot = client.create_db_snapshot(DBInstanceIdentifier="ledger", DBSnapshotIdentifier="ledger-s")
    assert snapshot["DBSnapshot"]["KmsKeyId"] == aws_rds


# ------------------------------------------------------------------ AWS managed keys

CHANGES: dict[str, Callable[[Any, str], Any]] = {
    "DisableKey": lambda kms, key: kms.disable_key(KeyId=key),
    "EnableKey": lambda kms, key: kms.enable_key(KeyId=key),
    "ScheduleKeyDeletion": lambda kms, key: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7),
    "CancelKeyDeletion": lambda kms, key: kms.cancel_key_deletion(KeyId=key),
    "PutKeyPolicy": lambda kms, key: kms.put_key_policy(
        KeyId=key,
        PolicyName="default",
        Policy=json.dumps(policy_document(statement("Allow", {"AWS": root(SOURCE)}, "kms:*"))),
    ),
    "EnableKeyRotation": lambda kms, key: kms.enable_key_rotation(KeyId=key),
    "DisableKeyRotation": lambda kms, key: kms.disable_key_rotation(KeyId=key),
    "UpdateKeyDescription": lambda kms, key: kms.update_key_description(KeyId=key, Description="mine now"),
    "TagResource": lambda kms, key: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "owner", "TagValue": "me"}]),
}


@pytest.fixture
def managed_keys(emu) -> dict[str, dict[str, Any]]:
    """The source account's AWS managed ``aws/rds`` and ``aws/backup`` keys (``aws/backup`` is
    created by the first vault without a key), by alias."""
    emu.client("backup", SOURCE).create_backup_vault(BackupVaultName="default-key")
    kms = emu.client("kms", SOURCE, role=ADMIN_ROLE)
    return {alias: kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"] for alias in ("aws/rds", "aws/backup")}


@pytest.mark.parametrize("alias", ["aws/rds", "aws/backup"])
@pytest.mark.parametrize("operation", sorted(CHANGES))
def test_aws_managed_key_cannot_be_changed_even_by_an_administrator(emu, managed_keys, alias, operation):
    key = managed_keys[alias]
    assert key["KeyManager"] == "AWS"
    kms = emu.client("kms", SOURCE, role=ADMIN_ROLE)
    policy_before = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    for reference in (key["KeyId"], key["Arn"]):
        with pytest.raises(ClientError) as excinfo:
            CHANGES[operation](kms, reference)
        error = excinfo.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Error"]["Code"] == "AccessDeniedException"
        assert error["Error"]["Message"] == (
            f"User: arn:aws:sts::{SOURCE}:assumed-role/{ADMIN_ROLE}/coffer-tests is not authorized to perform: "
            f"kms:{operation} on resource: {key['Arn']} because no resource-based policy allows the "
            f"kms:{operation} action"
        )
    after = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (after["KeyState"], after["Enabled"], after["Description"]) == ("Enabled", True, key["Description"])
    assert kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == policy_before
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == []
