"""The shared policy corpus (tests/policy-corpus/*.json, format in its README.md) run through the
emulator's evaluator, ``coffer_emulator.policy``: one test per case, asserting the policy's
``decision`` and the final ``access``. Coffer's Rust engine runs the same cases
(crates/policy/tests/corpus.rs).

Also checks the corpus itself (size, sources, request fields) and a few parts of the Python API
that the corpus cannot express (``document=None``, numeric and date operators).
"""

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "policy-corpus"
sys.path.insert(0, str(REPO / "emulator"))

from coffer_emulator import policy  # noqa: E402

pytestmark = pytest.mark.emulator_only(reason="policy engine: runs the emulator's evaluator itself, no AWS call")

REQUEST_FIELDS = ("principal", "action", "resource", "resource_account", "context")
DECISIONS = {
    "allow": policy.Decision.ALLOW,
    "explicit_deny": policy.Decision.EXPLICIT_DENY,
    "implicit_deny": policy.Decision.IMPLICIT_DENY,
}
ACCESS = {"allowed": True, "denied": False}
DOCS = "https://docs.aws.amazon.com/"


def _load() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(file name, topic, case) for every case of every corpus file, in file order."""
    loaded = []
    for path in sorted(CORPUS.glob("*.json")):
        topic = json.loads(path.read_text())
        for case in topic["cases"]:
            loaded.append((path.name, topic, case))
    return loaded


CASES = _load()


def request_for(case_request: dict[str, Any]) -> policy.Request:
    """The evaluator's request for a corpus request: the principal's account is the account
    component of its ARN (none for a service principal)."""
    principal = case_request["principal"]
    account = "" if policy.is_service_principal(principal) else principal.split(":")[4]
    return policy.Request(
        action=case_request["action"],
        account=account,
        resource=case_request["resource"],
        principal_arns=(principal,),
        context=dict(case_request["context"]),
    )


@pytest.mark.parametrize(
    ("file_name", "topic", "case"),
    CASES,
    ids=[f"{file_name}::{case['name']}" for file_name, _, case in CASES],
)
def test_corpus_case(file_name: str, topic: dict[str, Any], case: dict[str, Any]) -> None:
    request = request_for(case["request"])
    resource_account = case["request"]["resource_account"]
    assert policy.evaluate(case["policy"], request) is DECISIONS[case["decision"]]
    assert policy.access(case["policy"], request, resource_account) is ACCESS[case["access"]]
    # A policy document given as JSON text answers the same.
    assert policy.evaluate(json.dumps(case["policy"]), request) is DECISIONS[case["decision"]]


def test_the_corpus_has_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({name for name, _, _ in CASES}) >= 10


def test_every_case_names_an_aws_documentation_source() -> None:
    for file_name, topic, case in CASES:
        source = case.get("source", topic.get("source"))
        assert isinstance(source, str) and source.startswith(DOCS), f"{file_name}: {case['name']}: {source!r}"
    for file_name, topic, _ in CASES:
        assert topic["source"].startswith(DOCS), file_name


def test_every_case_is_complete_and_well_formed() -> None:
    names = set()
    for file_name, topic, case in CASES:
        where = f"{file_name}: {case.get('name')!r}"
        assert isinstance(topic.get("topic"), str) and topic["topic"], file_name
        assert isinstance(case.get("name"), str) and case["name"], where
        assert (file_name, case["name"]) not in names, f"{where}: duplicate name"
        names.add((file_name, case["name"]))
        assert isinstance(case.get("policy"), dict) and "Statement" in case["policy"], where
        assert case.get("decision") in DECISIONS, where
        assert case.get("access") in ACCESS, where
        request = case.get("request")
        assert isinstance(request, dict), where
        for field in REQUEST_FIELDS:
            assert field in request, f"{where}: request.{field} is missing"
        for field in REQUEST_FIELDS[:-1]:
            assert isinstance(request[field], str) and request[field], f"{where}: request.{field}"
        assert isinstance(request["context"], dict), where
        for key, value in request["context"].items():
            ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            assert ok, f"{where}: context {key} must be a string or a list of strings"
        assert request["action"].split(":")[0] in ("backup", "kms"), where


def test_the_corpus_covers_both_decisions_and_accesses_for_both_services() -> None:
    seen = {(c["request"]["action"].split(":")[0], c["decision"], c["access"]) for _, _, c in CASES}
    for service in ("backup", "kms"):
        for decision in DECISIONS:
            assert any(s == service and d == decision for s, d, _ in seen), (service, decision)
    assert ("backup", "implicit_deny", "allowed") in seen  # same account, no statement
    assert ("backup", "implicit_deny", "denied") in seen  # another account, no statement
    assert ("kms", "implicit_deny", "denied") in seen  # a key policy must allow


# -- the Python API beyond the corpus ------------------------------------------------------------

SOURCE, BACKUP = "111222333444", "666777888999"
VAULT = f"arn:aws:backup:eu-west-1:{BACKUP}:backup-vault:coffer-central"
KEY = f"arn:aws:kms:eu-west-1:{BACKUP}:key/0987dcba-09fe-87dc-65ba-ab0987654321"


def _request(action: str, account: str, resource: str, context: dict[str, Any] | None = None) -> policy.Request:
    return policy.Request(action, account, resource, (f"arn:aws:iam::{account}:role/Admin",), context or {})


def test_no_policy_allows_only_the_resource_accounts_backup_calls() -> None:
    assert policy.access(None, _request("backup:DeleteRecoveryPoint", BACKUP, VAULT), BACKUP)
    assert not policy.access(None, _request("backup:CopyIntoBackupVault", SOURCE, VAULT), BACKUP)
    assert not policy.access(None, _request("kms:Decrypt", BACKUP, KEY), BACKUP)
    service = policy.Request("backup:CopyIntoBackupVault", "", VAULT, ("backup.amazonaws.com",))
    assert not policy.access(None, service, BACKUP)


def test_context_keys_set_by_the_caller_win_over_the_automatic_ones() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": SOURCE}}}
        ]
    }
    assert policy.evaluate(document, _request("kms:Decrypt", BACKUP, KEY)) is policy.Decision.IMPLICIT_DENY
    explicit = _request("kms:Decrypt", BACKUP, KEY, {"kms:calleraccount": SOURCE})
    assert policy.evaluate(document, explicit) is policy.Decision.ALLOW
    service = policy.Request("kms:Decrypt", "", KEY, ("backup.amazonaws.com",))
    assert "aws:PrincipalArn" not in policy.request_context(service)


@pytest.mark.parametrize(
    ("operator", "policy_value", "context_value", "expected"),
    [
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericGreaterThan", "35", "36.5", True),
        ("NumericNotEquals", "7", "7", False),
        ("NumericEquals", "7", "seven", False),
        ("DateLessThan", "2030-01-01T00:00:00Z", "2029-12-31T23:59:59Z", True),
        ("DateGreaterThan", "2030-01-01T00:00:00Z", "2029-12-31T23:59:59Z", False),
        ("DateEquals", "1893456000", "2030-01-01T00:00:00Z", True),
        ("DateNotEquals", "2030-01-01", "2030-01-01T00:00:00+00:00", False),
    ],
)
def test_numeric_and_date_operators(operator: str, policy_value: str, context_value: str, expected: bool) -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {operator: {"test:key": policy_value}}}
        ]
    }
    decision = policy.evaluate(document, _request("kms:Decrypt", BACKUP, KEY, {"test:key": context_value}))
    assert (decision is policy.Decision.ALLOW) is expected


def test_an_unknown_operator_never_matches() -> None:
    document = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "backup:*", "Resource": "*",
             "Condition": {"StringSortOf": {"aws:PrincipalAccount": BACKUP}}}
        ]
    }
    assert policy.evaluate(document, _request("backup:DeleteRecoveryPoint", BACKUP, VAULT)) is (
        policy.Decision.IMPLICIT_DENY
    )
