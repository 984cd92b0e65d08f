"""Fleet chaos: a generated fleet (``fleet.py``: N source accounts x 2 Regions, each with a key,
an alias, a vault with a policy, a plan with a selection, copying to a central vault) applied
while the emulator throttles 30% of every operation and loses the answer of 1 call in 200 (a
reset connection for KMS, a bare HTTP 500 for Backup, InternalFailure / ServiceUnavailable for
the rest). `coffer apply --auto-approve` runs until it succeeds and the next `coffer plan
--detailed-exitcode` finds nothing to change, at most ``MAX_RUNS`` times. Then, faults off:
exactly one of every resource (keys counted by their ownership tag ``coffer:id``).

From the request log (each entry names the SDK's invocation and attempt, ``amz-sdk-request``):
every throttled attempt is retried unless it was its call's last allowed attempt, a retry comes
after the attempt before it, no call makes more attempts than the configured most, and each
retry partition's retries stay within the SDK's retry token bucket.

N is ``COFFER_CHAOS_SOURCES`` (default 20, the CI size); ``docs/reliability.md`` ("Fleet chaos")
has the figures of the full 100. The figures are printed (run with ``-s``), never asserted.
"""

import os
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import fleet
from coffer_e2e import Coffer, paginate
from support import Emulator

SOURCES = int(os.environ.get("COFFER_CHAOS_SOURCES", "20"))
MAX_RUNS = 5
RUN_TIMEOUT = 1800  # seconds: a guard against a hang, not a timing bound
FAULTS = {
    "seed": 15,
    "throttle": {"*": 0.3},
    "lost_response": {
        "kms:*": {"kind": "reset", "rate": 1 / 200},
        "backup:*": {"kind": "500", "rate": 1 / 200},
        "sts:*": {"kind": "ServiceUnavailable", "rate": 1 / 200},
        "*": {"kind": "InternalFailure", "rate": 1 / 200},
    },
}
# Coffer's most attempts per call (`ConnectOptions::max_attempts`, default 8, in
# crates/aws/src/session.rs); `kms:CreateKey` is sent with the SDK's retries off (max 1).
CONFIGURED_MAX_ATTEMPTS = 8
# The SDK's retry quota (aws-smithy-runtime 1.16, client/retries/token_bucket.rs and
# strategy/standard.rs): one token bucket per retry partition (Coffer's partitions are per
# service, Region and account), 500 tokens; a retry takes 5 (a throttling error) or more (5 or
# 14 for other transient errors, 10 or 14 for timeouts); the permit of a call's last retry comes
# back when the call succeeds, each earlier retry's permit is gone for good, and a call that
# succeeds at its first attempt puts 1 token back (up to 500). So in one run, per partition:
# 5 x (retries whose permit was not given back) <= 500 + first-attempt successes.
BUCKET_CAPACITY = 500
CHEAPEST_RETRY_COST = 5


def test_a_fleet_under_throttling_and_lost_answers_converges_without_duplicates(emu, coffer, tmp_path):
    emu.load_world(text=fleet.world(SOURCES))
    topology = tmp_path / "fleet.yaml"
    topology.write_text(fleet.topology(SOURCES))
    emu.admin("PUT", "faults", FAULTS)
    runs, logs = apply_until_converged(emu, coffer, topology)
    emu.admin("DELETE", "faults")
    report(runs, logs)
    summary = "\n".join(f"run {i + 1}: {describe(run)}" for i, run in enumerate(runs))
    assert runs[-1]["apply"].code == 0 and runs[-1]["plan"].code == 0, f"not converged in {MAX_RUNS} runs:\n{summary}"

    entries = [e for log in logs for e in log]
    assert any(e["throttled"] for e in entries) and any(e["lost"] for e in entries), "the faults hit nothing"
    problems = [p for log in logs for p in retry_problems(log)]
    assert problems == [], "\n".join(problems[:40])
    assert sum(1 for e in entries if (e["attempt"] or 1) > 1) > 0, "throttled calls were never retried"

    assert duplicate_problems(emu) == []
    assert coffer.run("plan", "--detailed-exitcode", topology=topology).code == 0


def apply_until_converged(emu: Emulator, coffer: Coffer, topology: Path) -> tuple[list[dict], list[list[dict]]]:
    """`coffer apply` then `coffer plan --detailed-exitcode`, until both exit 0 (at most
    MAX_RUNS times): each run's results and seconds, and each run's request log."""
    runs, logs = [], []
    while len(runs) < MAX_RUNS:
        emu.admin("DELETE", "requests")
        started = time.monotonic()
        applied = coffer.run("apply", "--auto-approve", topology=topology, timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - started
        planned = coffer.run("plan", "--detailed-exitcode", topology=topology, timeout=RUN_TIMEOUT)
        runs.append({"apply": applied, "plan": planned, "seconds": seconds})
        logs.append(emu.admin("GET", "requests")["requests"])
        if applied.code == 0 and planned.code == 0:
            break
    return runs, logs


def describe(run: dict) -> str:
    last = lambda text: "\n    ".join(text.strip().splitlines()[-6:])  # noqa: E731
    return (
        f"apply exit {run['apply'].code} ({run['seconds']:.0f} s), plan exit {run['plan'].code}\n"
        f"    apply: {last(run['apply'].stdout + run['apply'].stderr)}\n"
        f"    plan: {last(run['plan'].stdout + run['plan'].stderr)}"
    )


def report(runs: list[dict], logs: list[list[dict]]) -> None:
    print(f"\nfleet chaos: {SOURCES} sources x {len(fleet.REGIONS)} Regions, {len(runs)} run(s)")
    for i, (run, log) in enumerate(zip(runs, logs)):
        retried = sum(1 for e in log if (e["attempt"] or 1) > 1)
        print(
            f"  run {i + 1}: apply exit {run['apply'].code} in {run['seconds']:.0f} s, plan exit "
            f"{run['plan'].code}; {len(log)} calls (apply and plan), {sum(e['throttled'] for e in log)} "
            f"throttled, {sum(1 for e in log if e['lost'])} lost, {retried} retries"
        )


def invocations(log: list[dict]) -> dict[str, list[dict]]:
    """The log's attempts by SDK invocation, in the order they arrived."""
    calls: dict[str, list[dict]] = defaultdict(list)
    for entry in sorted(log, key=lambda e: e["seq"]):
        calls[entry["invocation"] or f"unnamed-{entry['seq']}"].append(entry)
    return calls


def retry_problems(log: list[dict]) -> list[str]:
    """How one run's calls broke the retry rules (see the module's doc)."""
    problems = []
    spent: Counter[tuple[str, str, str]] = Counter()  # partition -> retries whose permit is gone
    first_successes: Counter[tuple[str, str, str]] = Counter()
    for invocation, attempts in invocations(log).items():
        first = attempts[0]
        where = f"{first['account']} {first['region']} {first['service']}:{first['operation']} ({invocation})"
        numbers = [a["attempt"] for a in attempts]
        most = first["max_attempts"]
        if numbers != list(range(1, len(attempts) + 1)) or most is None:
            problems.append(f"{where}: attempts numbered {numbers}, max {most}")
            continue
        if not len(attempts) <= most <= CONFIGURED_MAX_ATTEMPTS:
            problems.append(f"{where}: {len(attempts)} attempts, max {most} (configured {CONFIGURED_MAX_ATTEMPTS})")
        for before, after in zip(attempts, attempts[1:]):
            if not (before["throttled"] or before["lost"] or before["status"] >= 500):
                problems.append(f"{where}: attempt {after['attempt']} after a {before['status']} that is not transient")
            if not datetime.fromisoformat(after["time"]) > datetime.fromisoformat(before["time"]):
                problems.append(f"{where}: attempt {after['attempt']} with no backoff after the one before")
        last = attempts[-1]
        if last["throttled"] and last["attempt"] < most:
            problems.append(f"{where}: throttled at attempt {last['attempt']} of {most} and not retried")
        partition = (first["account"], first["service"], first["region"])
        succeeded = not (last["throttled"] or last["lost"] or last["status"] >= 400)
        retries = len(attempts) - 1
        spent[partition] += max(0, retries - 1) if succeeded else retries
        first_successes[partition] += succeeded and retries == 0
    for partition, retries in spent.items():
        if CHEAPEST_RETRY_COST * retries > BUCKET_CAPACITY + first_successes[partition]:
            problems.append(f"{partition}: {retries} retries spent beyond the retry token bucket")
    return problems


def duplicate_problems(emu: Emulator) -> list[str]:
    """What differs from exactly one key (by `coffer:id`), alias, vault with a policy, plan and
    selection per logical resource of the fleet."""
    places = [(fleet.source(i), r) for i in range(SOURCES) for r in fleet.REGIONS]
    places += [(fleet.BACKUP, r) for r in fleet.REGIONS]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda place: place_problems(emu, *place), places))
    return [p for problems in found for p in problems]


def place_problems(emu: Emulator, account: str, region: str) -> list[str]:
    central = account == fleet.BACKUP
    problems = []
    kms = emu.client("kms", account, region)
    owned: Counter[str] = Counter()
    for entry in paginate(kms, "list_keys", "Keys"):
        metadata = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
        if metadata.get("KeyManager") == "CUSTOMER" and metadata["KeyState"] != "PendingDeletion":
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=entry["KeyId"])["Tags"]}
            owned[tags.get("coffer:id", "(untagged)")] += 1
    if len(owned) != 1 or set(owned.values()) != {1}:
        problems.append(f"{account} {region}: keys by coffer:id {dict(owned)}, want one key")
    aliases = [a["AliasName"] for a in paginate(kms, "list_aliases", "Aliases")]
    aliases = [alias for alias in aliases if alias.startswith("alias/backup/")]
    if aliases != ["alias/backup/central" if central else "alias/backup/source"]:
        problems.append(f"{account} {region}: aliases {aliases}")
    backup = emu.client("backup", account, region)
    vaults = [v["BackupVaultName"] for v in paginate(backup, "list_backup_vaults", "BackupVaultList")]
    name = "central" if central else "local"
    if vaults.count(name) != 1:
        problems.append(f"{account} {region}: vaults {vaults}, want one {name!r}")
    elif not backup.get_backup_vault_access_policy(BackupVaultName=name).get("Policy"):
        problems.append(f"{account} {region}: vault {name!r} has no access policy")
    plans = paginate(backup, "list_backup_plans", "BackupPlansList")
    if len(plans) != (0 if central else 1):
        problems.append(f"{account} {region}: plans {[p['BackupPlanName'] for p in plans]}")
    for plan in plans:
        selections = selection_names(backup, plan)
        if selections != ["tagged"]:
            problems.append(f"{account} {region}: plan {plan['BackupPlanName']} selections {selections}")
    return problems


def selection_names(backup: Any, plan: dict) -> list[str]:
    listed = paginate(backup, "list_backup_selections", "BackupSelectionsList", BackupPlanId=plan["BackupPlanId"])
    return sorted(s["SelectionName"] for s in listed)


def attempt(seq: int, invocation: str, number: int, *, throttled: bool = False, most: int = 8, at: str = "") -> dict:
    """A request-log entry of one attempt (for the checks' own tests)."""
    return {
        "seq": seq,
        "time": at or f"2026-01-01T00:{seq // 60:02d}:{seq % 60:02d}+00:00",
        "account": "200000000000",
        "region": "eu-west-1",
        "service": "kms",
        "operation": "DescribeKey",
        "status": 400 if throttled else 200,
        "throttled": throttled,
        "lost": None,
        "invocation": invocation,
        "attempt": number,
        "max_attempts": most,
    }


def test_the_retry_checks_accept_throttled_calls_retried_after_a_backoff():
    log = [attempt(1, "a", 1, throttled=True), attempt(2, "a", 2), attempt(3, "b", 1)]
    assert retry_problems(log) == []


def test_the_retry_checks_catch_calls_not_retried_retried_too_often_or_at_once():
    not_retried = [attempt(1, "a", 1, throttled=True)]
    too_many = [attempt(n, "a", n, throttled=n < 10, most=10) for n in range(1, 11)]
    moment = "2026-01-01T00:00:00+00:00"
    at_once = [attempt(1, "a", 1, throttled=True, at=moment), attempt(2, "a", 2, at=moment)]
    assert [len(retry_problems(log)) for log in (not_retried, too_many, at_once)] == [1, 1, 1]


def test_the_retry_checks_catch_a_partition_spending_more_than_its_retry_quota():
    # Calls of 2 throttled attempts then a success each leave 1 retry permit (5 tokens) gone for
    # good: 60 of them spend 300 of the 500 tokens, 110 would spend 550 (no first-attempt
    # success refills the bucket).
    def calls(n: int) -> list[dict]:
        return [attempt(4 * i + k, f"c{i}", k + 1, throttled=k < 2) for i in range(n) for k in range(3)]

    assert retry_problems(calls(60)) == []
    assert [p for p in retry_problems(calls(110)) if "retry token bucket" in p]
