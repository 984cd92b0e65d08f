"""Fault injection (throttling in each protocol's wire shape, latency, seeded RNG) and the request log."""

import importlib.util
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import BACKUP, EMULATOR_DIR, MANAGEMENT, SOURCE, WORLDS, failure_pattern

pytestmark = pytest.mark.emulator_only(reason="faults: fault injection and the request log")

CALLS = {
    # operation key -> (service, client call, expected error code); one per protocol family.
    "backup:ListBackupVaults": ("backup", lambda c: c.list_backup_vaults(), "ThrottlingException"),  # restJson
    "kms:DescribeKey": ("kms", lambda c: c.describe_key(KeyId="alias/aws/rds"), "ThrottlingException"),  # awsJson
    "organizations:DescribeOrganization": (
        "organizations",
        lambda c: c.describe_organization(),
        "TooManyRequestsException",  # awsJson; Organizations' throttling error
    ),
    "sts:GetCallerIdentity": ("sts", lambda c: c.get_caller_identity(), "Throttling"),  # query
    "rds:DescribeDBInstances": ("rds", lambda c: c.describe_db_instances(), "Throttling"),  # query
}


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_throttling_reaches_boto3_in_each_protocol(emu, operation):
    service, call, code = CALLS[operation]
    client = emu.client(service, SOURCE)
    emu.admin("PUT", "faults", {"throttle": {operation: 1.0}})
    with pytest.raises(ClientError) as excinfo:
        call(client)
    assert excinfo.value.response["Error"]["Code"] == code
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    emu.admin("DELETE", "faults")
    call(client)


def test_wildcard_throttles_everything_but_more_specific_keys_win(emu):
    backup = emu.client("backup", SOURCE)
    kms = emu.client("kms", SOURCE)
    emu.admin("PUT", "faults", {"throttle": {"*": 1.0, "kms:*": 0.0}})
    with pytest.raises(ClientError):
        backup.list_backup_vaults()
    kms.list_keys()


def _pattern(emu, seed):
    return failure_pattern(emu, {"seed": seed, "throttle": {"GetCallerIdentity": 0.5}}, SOURCE)


def test_throttling_is_reproducible_for_a_seed(emu):
    first = _pattern(emu, 7)
    assert first == _pattern(emu, 7)
    assert 0 < first.count(False) < len(first)
    assert first != _pattern(emu, 8)


def test_added_latency(emu):
    backup = emu.client("backup", SOURCE)
    emu.admin("PUT", "faults", {"latency_ms": {"ListBackupVaults": 300}})
    start = time.monotonic()
    backup.list_backup_vaults()
    assert time.monotonic() - start >= 0.3


def test_invalid_fault_settings_are_rejected(emu):
    assert emu.admin("PUT", "faults", {"throttle": {"*": 2}})["status"] == 400
    assert emu.admin("PUT", "faults", {"jitter": 1})["status"] == 400


def test_faults_from_the_world_file(emu):
    world = (WORLDS / "seed.yaml").read_text() + "faults:\n  seed: 3\n  throttle:\n    kms:ListKeys: 1.0\n"
    emu.load_world(text=world)
    assert emu.admin("GET", "faults")["throttle"] == {"kms:ListKeys": 1.0}
    with pytest.raises(ClientError):
        emu.client("kms", SOURCE).list_keys()


def test_request_log_names_operations_per_account(emu):
    source_backup = emu.client("backup", SOURCE)
    source_kms = emu.client("kms", SOURCE)
    backup_rds = emu.client("rds", BACKUP)
    emu.admin("DELETE", "requests")
    source_backup.list_backup_vaults()
    source_backup.list_backup_vaults()
    source_kms.describe_key(KeyId="alias/aws/rds")
    backup_rds.describe_db_instances()
    emu.client("organizations", SOURCE).describe_organization()
    emu.admin("PUT", "faults", {"throttle": {"ListBackupVaults": 1.0}})
    with pytest.raises(ClientError):
        source_backup.list_backup_vaults()

    source = emu.admin("GET", f"requests?account={SOURCE}")["requests"]
    assert [(e["service"], e["operation"]) for e in source] == [
        ("backup", "ListBackupVaults"),
        ("backup", "ListBackupVaults"),
        ("kms", "DescribeKey"),
        ("organizations", "DescribeOrganization"),
        ("backup", "ListBackupVaults"),
    ]
    assert all(e["account"] == SOURCE and e["region"] == "eu-west-1" for e in source)
    assert [e["throttled"] for e in source] == [False, False, False, False, True]
    assert [e["status"] for e in source] == [200, 200, 200, 200, 400]
    backup = emu.admin("GET", f"requests?account={BACKUP}")["requests"]
    assert [(e["service"], e["operation"]) for e in backup] == [("rds", "DescribeDBInstances")]
    listed = emu.admin("GET", f"requests?account={SOURCE}&operation=ListBackupVaults")["requests"]
    assert len(listed) == 3

    assert emu.admin("DELETE", f"requests?account={SOURCE}")["cleared"] == 5
    assert emu.admin("GET", f"requests?account={SOURCE}")["requests"] == []
    assert len(emu.admin("GET", f"requests?account={BACKUP}")["requests"]) == 1


def test_assume_role_is_logged_for_the_calling_account(emu):
    emu.admin("DELETE", "requests")
    emu.client("kms", BACKUP)  # AssumeRole with the management account's plain credentials
    (entry,) = emu.admin("GET", f"requests?account={MANAGEMENT}")["requests"]
    assert (entry["service"], entry["operation"]) == ("sts", "AssumeRole")


def test_request_log_names_each_sdk_invocation_and_attempt(emu):
    """The SDK's ``amz-sdk-invocation-id`` and ``amz-sdk-request: attempt=N; max=M`` headers:
    a throttled call retried by the SDK is one invocation with attempts 1, 2, 3."""
    kms = emu.client("kms", SOURCE, config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    kms.list_keys()  # the role's credentials first
    emu.admin("DELETE", "requests")
    emu.admin("PUT", "faults", {"throttle": {"kms:DescribeKey": 1.0}})
    with pytest.raises(ClientError):
        kms.describe_key(KeyId="alias/aws/rds")
    emu.admin("DELETE", "faults")
    kms.list_keys()
    entries = emu.admin("GET", "requests")["requests"]
    assert [(e["operation"], e["attempt"], e["max_attempts"]) for e in entries] == [
        ("DescribeKey", 1, 3),
        ("DescribeKey", 2, 3),
        ("DescribeKey", 3, 3),
        ("ListKeys", 1, 3),
    ]
    invocations = [e["invocation"] for e in entries]
    assert invocations[0] and len(set(invocations[:3])) == 1 and invocations[3] != invocations[0], invocations


def test_request_log_keys_tell_repeated_calls_apart(emu):
    source_kms = emu.client("kms", SOURCE)
    source_backup = emu.client("backup", SOURCE)
    emu.admin("DELETE", "requests")
    source_kms.describe_key(KeyId="alias/aws/rds")
    source_kms.describe_key(KeyId="alias/aws/rds")  # the same call again
    source_kms.list_keys()  # POST / with "{}" ...
    source_kms.list_keys(Limit=5)  # ... other parameters
    emu.client("organizations", SOURCE).list_roots()  # POST / with "{}": only the operation differs
    emu.client("kms", BACKUP).describe_key(KeyId="alias/aws/rds")  # the same call in another account
    source_backup.list_backup_vaults()
    source_backup.list_backup_vaults()
    source_backup.list_backup_vaults(MaxResults=5)  # restJson: the parameter is in the query string
    source_backup.list_backup_plans(MaxResults=5, IncludeDeleted=True)
    source_backup.list_backup_plans(IncludeDeleted=True, MaxResults=5)  # parameters in another order

    entries = [e for e in emu.admin("GET", "requests")["requests"] if e["operation"] != "AssumeRole"]
    assert [e["operation"] for e in entries] == [
        "DescribeKey",
        "DescribeKey",
        "ListKeys",
        "ListKeys",
        "ListRoots",
        "DescribeKey",
        "ListBackupVaults",
        "ListBackupVaults",
        "ListBackupVaults",
        "ListBackupPlans",
        "ListBackupPlans",
    ]
    keys = [e["request_key"] for e in entries]
    assert all(isinstance(k, str) and len(k) == 32 for k in keys), keys
    describe, describe_again, list_keys, list_keys_limited, list_roots, other_account = keys[:6]
    vaults, vaults_again, vaults_paged, plans, plans_reordered = keys[6:]
    assert describe == describe_again
    assert vaults == vaults_again
    assert plans == plans_reordered
    assert len({describe, list_keys, list_keys_limited, list_roots, other_account, vaults, vaults_paged, plans}) == 8
    assert len(set(keys)) == 8

    assert [(e["method"], e["path"]) for e in entries[:6]] == [("POST", "/")] * 6
    assert (entries[6]["method"], entries[6]["path"]) == ("GET", "/backup-vaults/")
    assert (entries[9]["method"], entries[9]["path"]) == ("GET", "/backup/plans/")
    assert [e["account"] for e in entries].count(BACKUP) == 1


def test_request_key_ignores_signatures_and_dates():
    # faults.py needs only the standard library: load it on its own, without the server.
    spec = importlib.util.spec_from_file_location("faults_under_test", EMULATOR_DIR / "coffer_emulator" / "faults.py")
    assert spec is not None and spec.loader is not None
    faults = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(faults)
    request_key = faults.request_key

    base = dict(account=SOURCE, region="eu-west-1", service="backup", operation="ListBackupVaults", method="GET")
    plain = request_key(**base, path="/backup-vaults/", query="maxResults=5", body=b"")
    presigned = request_key(
        **base,
        path="/backup-vaults/",
        query="X-Amz-Date=20250101T000000Z&maxResults=5&X-Amz-Signature=abc&X-Amz-Credential=k%2F20250101",
        body=b"",
    )
    assert plain == presigned
    assert plain != request_key(**base, path="/backup-vaults/", query="maxResults=6", body=b"")
    assert plain != request_key(**base, path="/backup-vaults/", query="maxResults=5", body=b"{}")
