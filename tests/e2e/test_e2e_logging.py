"""`COFFER_LOG=debug` end to end: `coffer plan` against the emulator logs one line per AWS call
(account, Region, operation, duration, retries) and no credential.

The retry counts are checked against the emulator's own request log: for every KMS and
Backup operation of every account, the calls Coffer logged plus the retries it logged are the
requests the emulator received.
"""

from collections import Counter

from support import BACKUP, MANAGEMENT, REGION, SOURCE

# Base credentials with a session token, distinct enough to be found anywhere in the output.
SECRET = "e2eCofferSecret/8hQ2wX5zK9mN4pL7rT1vB3cF6jD0sG"
TOKEN = "e2eCofferSessionToken+Zq7Wy3Ux9Ts5Rp1Nm8Lk4Jh2Gf6Dd0=="
LOG_ENV = {"COFFER_LOG": "debug", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}


def call_lines(stderr: str) -> list[dict[str, str]]:
    """The `aws call` lines of stderr as field dictionaries (`key=value` pairs)."""
    calls = []
    for line in stderr.splitlines():
        if "coffer_aws::call" not in line or "aws call" not in line:
            continue
        fields = dict(
            part.split("=", 1) for part in line.split("aws call", 1)[1].split() if "=" in part
        )
        fields["line"] = line
        calls.append(fields)
    return calls


def assert_no_credentials(text: str) -> None:
    for secret in (SECRET, TOKEN, SECRET[:16], TOKEN[:20]):
        assert secret not in text, f"a credential reached the output: {secret[:8]}…"


def test_plan_with_coffer_log_debug_logs_every_call_without_credentials(coffer):
    result = coffer.run("plan", "--detailed-exitcode", env=LOG_ENV)
    assert result.code == 2, result
    calls = call_lines(result.stderr)
    assert calls, result

    for call in calls:
        line = call["line"]
        assert " DEBUG " in line, line
        assert call["account"] in (MANAGEMENT, SOURCE, BACKUP), line
        assert call["region"] in (REGION, "us-east-1"), line
        assert call["duration_ms"].isdigit(), line
        assert call["outcome"] in ("ok", "error"), line

    operations = {(c["account"], c["operation"]) for c in calls}
    for account in (SOURCE, BACKUP):
        assert (account, "kms:ListAliases") in operations or (account, "kms:ListKeys") in operations, (
            f"no KMS list call of {account}: {sorted(operations)}"
        )
        assert (account, "backup:ListBackupVaults") in operations, sorted(operations)
        assert (account, "resourcegroupstaggingapi:GetResources") in operations, sorted(operations)
        assert (account, "sts:AssumeRole") in operations, sorted(operations)
    for call in calls:
        if call["operation"].split(":")[0] in ("kms", "backup", "sts", "resourcegroupstaggingapi"):
            if call["operation"] != "sts:AssumeRole":
                assert call.get("retries", "").isdigit(), call["line"]
                assert call.get("status", "").isdigit(), call["line"]

    assert_no_credentials(result.stderr)
    assert_no_credentials(result.stdout)
    # The plan itself is unchanged: logging goes to stderr only.
    assert "coffer_aws::call" not in result.stdout


def test_logged_retries_match_the_requests_the_emulator_received(emu, coffer):
    emu.admin("PUT", "faults", {"seed": 11, "throttle": {"kms:*": 0.3, "backup:*": 0.3}})
    emu.admin("DELETE", "requests")
    try:
        result = coffer.run("plan", "--detailed-exitcode", env=LOG_ENV)
        log = emu.admin("GET", "requests")["requests"]
    finally:
        emu.admin("DELETE", "faults")
    assert result.code == 2, result

    received = Counter(
        (e["account"], f"{e['service'].lower()}:{e['operation']}")
        for e in log
        if e["service"].lower() in ("kms", "backup")
    )
    logged = Counter()
    retried = 0
    for call in call_lines(result.stderr):
        if call["operation"].split(":")[0] in ("kms", "backup"):
            retries = int(call["retries"])
            retried += retries
            logged[(call["account"], call["operation"])] += 1 + retries
    assert sum(e["throttled"] for e in log) > 0, "the faults throttled nothing"
    assert retried > 0, "throttled calls were retried and logged so"
    assert logged == received
    assert_no_credentials(result.stderr)
