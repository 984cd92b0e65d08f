"""Lost responses: a call that takes effect but whose answer never arrives (a reset
connection, a 500 with or without an error code, a 503, a read timeout). For every changing
call a clean apply of the seed topology makes, one lost answer on that call, then `coffer
apply` (again if it fails, a bounded number of times) must converge: one of every resource,
and a plan without changes."""

import re
import time
from collections import Counter

import pytest
from coffer_e2e import SOURCE_KEY_ALIAS, inventory, paginate
from support import SOURCE

KINDS = ("reset", "500", "InternalFailure", "ServiceUnavailable", "timeout")
READS = ("Get", "List", "Describe")
APPLY_ATTEMPTS = 3
SDK_RETRIES_CREATE_KEY = {"COFFER_TEST_SDK_RETRIES_CREATE_KEY": "1"}


def changing_calls(emu, coffer) -> list[tuple[str, int]]:
    """Each changing call of a clean apply, as (``service:Operation``, its number among the calls
    of that operation), in the order the apply made them."""
    emu.load_world()
    emu.admin("DELETE", "requests")
    result = coffer.apply()
    assert result.code == 0, result
    seen: Counter[str] = Counter()
    calls = []
    for entry in emu.admin("GET", "requests")["requests"]:
        if entry["service"] == "sts" or entry["operation"].startswith(READS):
            continue
        operation = f"{entry['service']}:{entry['operation']}"
        seen[operation] += 1
        calls.append((operation, seen[operation]))
    return calls


def rule(kind: str, nth: int) -> dict:
    return {"kind": kind, "nth": nth, **({"hold_seconds": 1} if kind == "timeout" else {})}


def apply_until_done(coffer, env=None) -> list:
    """`coffer apply` until it succeeds, at most APPLY_ATTEMPTS times: the runs."""
    runs = []
    while len(runs) < APPLY_ATTEMPTS:
        runs.append(coffer.apply(env=env))
        if runs[-1].code == 0:
            break
    return runs


def convergence_problems(emu, coffer) -> list[str]:
    """What differs from one of everything the seed topology declares, each alias on its key,
    and a plan without changes."""
    found = inventory(emu)
    problems = found.expected_counts_problems()
    duplicates = {key: n for key, n in found.active_keys.items() if n > 1}
    if duplicates:
        problems.append(f"duplicate keys: {duplicates}")
    kms = emu.client("kms", SOURCE)
    target = found.aliases[SOURCE].get(SOURCE_KEY_ALIAS)
    active = [k["KeyId"] for k in paginate(kms, "list_keys", "Keys") if _is_active(kms, k["KeyId"])]
    if target not in active:
        problems.append(f"{SOURCE_KEY_ALIAS} points to {target}, not to an active key of {active}")
    plan = coffer.plan()
    if plan.code != 0:
        problems.append(f"`coffer plan --detailed-exitcode` exited {plan.code}:\n{plan.stdout}")
    return problems


def _is_active(kms, key_id: str) -> bool:
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    return metadata.get("KeyManager") == "CUSTOMER" and metadata["KeyState"] != "PendingDeletion"


def lose_one_answer(emu, coffer, operation: str, nth: int, kind: str, env=None) -> tuple[list, list[str]]:
    """Reload the world, lose the answer of the ``nth`` call of ``operation``, apply until done:
    the runs, and what the request log says was lost."""
    emu.load_world()
    emu.admin("PUT", "faults", {"lost_response": {operation: rule(kind, nth)}})
    emu.admin("DELETE", "requests")
    runs = apply_until_done(coffer, env)
    emu.admin("DELETE", "faults")
    lost = [f"{e['service']}:{e['operation']}" for e in emu.admin("GET", "requests")["requests"] if e["lost"]]
    return runs, lost


def test_one_lost_answer_on_any_changing_call_converges(emu, coffer):
    calls = changing_calls(emu, coffer)
    operations = {operation for operation, _ in calls}
    assert calls, "a clean apply of the seed topology changes something"
    assert {"kms:CreateKey", "kms:CreateAlias", "backup:CreateBackupPlan"} <= operations, operations
    started = time.monotonic()
    failures = []
    for index, (operation, nth) in enumerate(calls):
        kind = KINDS[index % len(KINDS)]
        runs, lost = lose_one_answer(emu, coffer, operation, nth, kind)
        assert lost == [operation], f"{operation} #{nth} ({kind}): the fault hit {lost}"
        problems = [] if runs[-1].code == 0 else [f"apply failed {len(runs)} times:\n{runs[-1]}"]
        problems += convergence_problems(emu, coffer)
        if problems:
            failures.append(f"{operation} #{nth} ({kind}): " + "\n".join(problems))
    elapsed = time.monotonic() - started
    print(f"\nlost answers: {len(calls)} calls ({len(operations)} operations) in {elapsed:.1f}s: {calls}")
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("kind", KINDS)
def test_a_lost_create_key_answer_makes_no_second_key(emu, coffer, kind):
    runs, lost = lose_one_answer(emu, coffer, "kms:CreateKey", 1, kind)
    assert lost == ["kms:CreateKey"]
    assert runs[-1].code == 0, runs[-1]
    assert convergence_problems(emu, coffer) == []


def test_with_the_sdk_retrying_create_key_a_lost_answer_makes_a_duplicate(emu, coffer):
    """The safety is what prevents the duplicate: with `CreateKey` sent with the SDK's retries
    (a test-only switch), the same fault leaves two keys for one logical key."""
    runs, lost = lose_one_answer(emu, coffer, "kms:CreateKey", 1, "500", env=SDK_RETRIES_CREATE_KEY)
    assert lost == ["kms:CreateKey"]
    assert runs[-1].code == 0, runs[-1]
    problems = convergence_problems(emu, coffer)
    assert any(p.startswith("duplicate keys: ") for p in problems), problems
    plan = coffer.plan()
    assert plan.code == 2 and re.search(r"key\.[a-z-]+#", plan.stdout), f"the next plan deletes the duplicate:\n{plan}"
    assert "CB032" in plan.stdout + plan.stderr, f"the next plan reports the duplicate:\n{plan}"
    assert coffer.apply("--allow-delete").code == 0
    assert convergence_problems(emu, coffer) == []


def test_an_answer_that_never_comes_is_given_up_and_asked_again(emu, coffer):
    """An endpoint that accepts a call and then says nothing does not hold the run: the attempt
    gives up after `--read-timeout` seconds and the call is asked again. The answer is held for
    10 minutes, far past the run's guard, so a client that waits for it fails the test."""
    emu.load_world()
    assert coffer.apply().code == 0
    emu.admin("PUT", "faults", {"lost_response": {"kms:DescribeKey": {"kind": "timeout", "next": 1, "hold_seconds": 600}}})
    emu.admin("DELETE", "requests")
    try:
        result = coffer.run("plan", "--detailed-exitcode", "--read-timeout", "1", timeout=180)
    finally:
        emu.admin("DELETE", "faults")
    assert result.code == 0, result
    calls = [e for e in emu.admin("GET", "requests")["requests"] if e["operation"] == "DescribeKey"]
    held = [e for e in calls if e["lost"] == "timeout"]
    assert len(held) == 1, calls
    asked_again = [e for e in calls if e["invocation"] == held[0]["invocation"] and not e["lost"]]
    assert [e["attempt"] for e in asked_again] == [2], calls
