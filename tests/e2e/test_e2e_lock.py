"""The apply lock: held for the whole apply (its claim extended while the apply runs, released
when it ends), and taken over from a stale claim by exactly one of two applies that find it at
once."""

import json
import time

from coffer_e2e import LOCK_PREFIX, lock_generations, lock_held
from support import MANAGEMENT

HANG_GUARD = 240
MUTATING = ("Create", "Put", "Update", "Delete", "Tag", "Untag", "Enable", "Schedule", "Start")


def lock_expiry(emu):
    generations = lock_generations(emu)
    if not generations:
        return None
    tags = generations[max(generations)]
    if "coffer:lock-released" in tags:
        return None
    return int(tags["coffer:lock-expires"])


def test_the_lock_is_renewed_during_a_long_apply_and_released_after(emu, coffer):
    # Every call takes 0.3 s, so the apply runs for several seconds; renew every 0.5 s.
    emu.admin("PUT", "faults", {"latency_ms": {"*": 300}})
    try:
        process = coffer.start("apply", "--auto-approve", env={"COFFER_TEST_LOCK_RENEW_SECONDS": "0.5"})
        seen = []
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            expiry = lock_expiry(emu)
            if expiry is not None and (not seen or seen[-1] != expiry):
                seen.append(expiry)
            time.sleep(0.4)
        out, err = process.communicate(timeout=120)
    finally:
        emu.admin("DELETE", "faults")
    assert process.returncode == 0, err
    assert len(seen) >= 2 and seen == sorted(seen), f"the claim's expiry was not extended: {seen}"
    assert not lock_held(emu), "the lock is released when the apply ends"
    (generation,) = lock_generations(emu)
    assert lock_generations(emu)[generation]["coffer:lock-released"].isdigit()


def plant_stale_claim(emu) -> None:
    """A claim left by a killed apply: generation 1, expired long ago."""
    emu.client("backup", MANAGEMENT).create_backup_vault(
        BackupVaultName=f"{LOCK_PREFIX}1",
        BackupVaultTags={
            "coffer:lock-owner": "pid-1-at-0-0",
            "coffer:lock-holder": "ghost@gone pid 1",
            "coffer:lock-expires": "60",
        },
    )


def lock_creates(emu, generation: int) -> list[dict]:
    path = f"{LOCK_PREFIX}{generation}"
    requests = emu.admin("GET", f"requests?account={MANAGEMENT}&service=backup&operation=CreateBackupVault")
    return [r for r in requests["requests"] if r.get("path", "").rstrip("/").endswith(path)]


def step_requests(emu) -> list[dict]:
    """The requests that change AWS, other than the lock's own."""
    every = emu.admin("GET", "requests")["requests"]
    return [
        r
        for r in every
        if r["operation"].startswith(MUTATING) and "coffer-lock" not in r.get("path", "") and r["status"] < 400
    ]


def test_two_applies_at_once_over_a_stale_claim_take_turns(emu, coffer):
    plant_stale_claim(emu)
    emu.admin("DELETE", "requests")
    # Calls slow enough that the second apply meets the first one's fresh claim.
    emu.admin("PUT", "faults", {"latency_ms": {"*": 60}})
    try:
        args = ("apply", "--auto-approve", "--progress", "json", "--lock-timeout", str(HANG_GUARD))
        processes = [coffer.start(*args), coffer.start(*args)]
        outputs = [p.communicate(timeout=HANG_GUARD) for p in processes]
    finally:
        emu.admin("DELETE", "faults")
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"{out}\n{err}"

    # Exactly one apply broke the stale claim (created generation 2), the other waited for it
    # and then took generation 3 after the first released it.
    won = [r for r in lock_creates(emu, 2) if r["status"] == 200]
    second = [r for r in lock_creates(emu, 3) if r["status"] == 200]
    assert len(won) == 1 and len(second) == 1, (lock_creates(emu, 2), lock_creates(emu, 3))
    assert lock_creates(emu, 4) == [], "no third claim"

    # Every change was made between the first claim and the second: the applies never ran
    # steps at the same time.
    changes = step_requests(emu)
    assert len(changes) >= 14, changes
    outside = [r for r in changes if not won[0]["seq"] < r["seq"] < second[0]["seq"]]
    assert outside == [], f"changes made outside the first apply's hold: {outside}"

    events = [[json.loads(line) for line in err.splitlines() if line.startswith("{")] for _, err in outputs]
    steps = [sum(e["event"] == "step_started" for e in ev) for ev in events]
    waited = [any(e["event"] == "lock_waiting" for e in ev) for ev in events]
    assert sorted(steps) == [0, 14], steps
    assert waited[steps.index(0)], "the apply that ran second says it waited for the lock"
    assert "No changes to apply." in outputs[steps.index(0)][0], outputs[steps.index(0)]
    assert not lock_held(emu)
    assert sorted(lock_generations(emu)) == [3], "the winners cleaned up the older generations"


def test_an_apply_whose_claim_is_broken_starts_no_more_steps_and_says_so(emu, coffer):
    # Every KMS call takes 1.5 s, so the apply runs for many seconds while `unlock` (AWS Backup
    # calls only) breaks its claim; renew every 0.5 s.
    emu.admin("PUT", "faults", {"latency_ms": {"kms:*": 1500}})
    try:
        process = coffer.start(
            "apply", "--auto-approve", "--progress", "json", env={"COFFER_TEST_LOCK_RENEW_SECONDS": "0.5"}
        )
        # Break the claim once the apply has made its first change.
        deadline = time.monotonic() + HANG_GUARD
        while not step_requests(emu) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lock_held(emu), "the apply holds the lock while it makes changes"
        broken = coffer.run("unlock", "--force", timeout=HANG_GUARD)
        out, err = process.communicate(timeout=HANG_GUARD)
    finally:
        emu.admin("DELETE", "faults")
    assert broken.code == 0 and "Broke the apply lock" in broken.stdout, broken
    assert process.returncode == 1, f"{out}\n{err}"
    assert "error: this apply no longer holds the apply lock: generation" in err and "superseded" in err, err
    assert "coffer unlock -f" in err, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    started = sum(e["event"] == "step_started" for e in events)
    assert 0 < started < 14, f"the apply went on after losing the lock: {started} steps started"
    # The next apply takes the lock at once and finishes the job.
    assert not lock_held(emu)
    again = coffer.run("apply", "--auto-approve", timeout=HANG_GUARD)
    assert again.code == 0, again
    coffer.assert_converged()
