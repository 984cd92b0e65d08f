"""Interrupting `coffer apply` (SIGINT, SIGTERM) and `coffer unlock`.

The first interrupt stops the apply after the calls in flight: it reports what was done and
what was not started, releases the lock and exits 1, so the next apply starts at once and
continues. A second interrupt exits at once (130) and leaves the lock, as does SIGKILL;
`coffer unlock` shows that claim and, with --force, breaks it.

The emulator adds latency to calls so that an apply runs long enough to be interrupted mid-way.
Where the apply does not wait for its calls in flight (a second interrupt, SIGKILL), only AWS
Backup calls are slowed: the emulator adds latency before it serves a call, so a call whose
client is gone still lands later, and Backup's creates are idempotent (`CreatorRequestId`), so
such a late call cannot make a duplicate that depends on the test's timing. (A KMS `CreateKey`
landing after its client died can; the next plan then schedules the duplicate's deletion, see
docs/operations.md.) Timeouts are hang guards only: nothing here asserts how long anything takes.
"""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from coffer_e2e import BACKUP_KEY_ALIAS, SOURCE_KEY_ALIAS, Coffer, inventory, lock_held
from support import BACKUP, SOURCE

LOCK = "coffer-lock-seed"
INTERRUPTED = "interrupted: rerun `coffer apply` to continue"
WAITING = "waiting for the apply lock"
HANG_GUARD = 180.0


class Running:
    """A started coffer process whose stderr (line by line) and stdout are collected as they come."""

    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self.lines: list[str] = []
        self._stdout: list[bytes] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        # Unbuffered: a prompt has no newline.
        while chunk := os.read(self.process.stdout.fileno(), 4096):
            with self._lock:
                self._stdout.append(chunk)

    @property
    def stdout(self) -> str:
        with self._lock:
            return b"".join(self._stdout).decode(errors="replace")

    @property
    def stderr(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(self, condition: Callable[[list[str]], bool], what: str) -> None:
        """Waits until the stderr lines so far satisfy `condition` (the process still running)."""
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            with self._lock:
                lines = list(self.lines)
            if condition(lines):
                return
            assert self.process.poll() is None, f"coffer exited before {what}:\n{self}"
            time.sleep(0.05)
        raise AssertionError(f"hang guard: no {what} within {HANG_GUARD}s:\n{self}")

    def wait_for_stdout(self, text: str) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while text not in self.stdout:
            assert self.process.poll() is None, f"coffer exited before printing {text!r}:\n{self}"
            assert time.monotonic() < deadline, f"hang guard: no {text!r} within {HANG_GUARD}s:\n{self}"
            time.sleep(0.05)

    def wait_for_a_done_step(self) -> None:
        self.wait_for(lambda lines: any(line.startswith("  done ") for line in lines), "step done")

    def finish(self) -> int:
        try:
            code = self.process.wait(timeout=HANG_GUARD)
        finally:
            if self.process.poll() is None:
                self.process.kill()  # by PID
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout=30)
        return code

    def listed(self, label: str) -> list[str]:
        """The steps the final report lists under `label` (`done`, `not started`, ...)."""
        prefix = f"  {label}:"
        return [line[len(prefix) :].strip() for line in self.stderr.splitlines() if line.startswith(prefix)]

    def __str__(self) -> str:
        return f"exit {self.process.poll()}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-6000:]}"


def start_slow_apply(emu, coffer: Coffer, latency_ms: int, calls: str = "*") -> Running:
    """Starts `coffer apply --auto-approve` with `latency_ms` added to the `calls` (a fault key:
    `*`, `backup:*`, ...)."""
    latency = {calls: latency_ms}
    assert emu.admin("PUT", "faults", {"latency_ms": latency})["latency_ms"] == latency
    return Running(coffer.start("apply", "--auto-approve"))


def interrupted_apply(
    emu, coffer: Coffer, latency_ms: int, *signals: signal.Signals, calls: str = "*"
) -> tuple[Running, int]:
    """Starts a slowed apply (see `start_slow_apply`) and, once a step is done, sends it the
    `signals` in turn, each after coffer has noted the one before; then waits for its exit and
    clears the faults. Returns the process and its exit code."""
    running = start_slow_apply(emu, coffer, latency_ms, calls)
    try:
        running.wait_for_a_done_step()
        for sent, signum in enumerate(signals):
            if sent:
                noted = f"{signals[sent - 1].name} received:"
                running.wait_for(lambda lines: any(noted in line for line in lines), "first interrupt noted")
            running.process.send_signal(signum)
        code = running.finish()
    finally:
        emu.admin("DELETE", "faults")
    return running, code


def assert_next_apply_starts_at_once_and_converges(emu, coffer: Coffer) -> str:
    """Runs the next apply (no faults): it must not wait for the lock, must succeed and leave
    exactly one of everything. Returns its stdout."""
    again = coffer.run("apply", "--auto-approve", timeout=HANG_GUARD)
    assert again.code == 0, again
    assert WAITING not in again.stderr, f"the next apply waited for the lock:\n{again}"
    coffer.assert_converged()
    found = inventory(emu)
    assert found.expected_counts_problems() == [], found.expected_counts_problems()
    # Exactly one key per alias: each alias names the one active key with Coffer's tags.
    for account, alias in ((SOURCE, SOURCE_KEY_ALIAS), (BACKUP, BACKUP_KEY_ALIAS)):
        assert list(found.aliases[account]) == [alias], found.aliases
        assert found.total_keys[account] - found.pending_keys[account] == 1, (found.total_keys, found.pending_keys)
    return again.stdout


def test_the_first_interrupt_finishes_the_calls_in_flight_reports_and_releases_the_lock(emu, coffer):
    running, code = interrupted_apply(emu, coffer, 400, signal.SIGINT)
    assert code == 1, running
    stderr = running.stderr
    assert "SIGINT received: starting no new step" in stderr, running
    assert INTERRUPTED in stderr, running
    assert "Apply complete" not in running.stdout, running
    done, not_started, failed = running.listed("done"), running.listed("not started"), running.listed("failed")
    assert done, f"the report lists the steps done\n{running}"
    assert not_started, f"interrupted mid-way: the report lists the steps not started\n{running}"
    assert failed == [], running
    # The steps in flight finished: every step reported done printed its progress line.
    progress_done = [line.split(None, 1)[1] for line in stderr.splitlines() if line.startswith("  done     ")]
    assert sorted(done) == sorted(progress_done), running
    assert len(done) + len(not_started) == 14, running
    assert not lock_held(emu), "the interrupted apply released the lock"

    # The next apply starts at once and makes exactly the calls that were not started.
    stdout = assert_next_apply_starts_at_once_and_converges(emu, coffer)
    calls = "1 call" if len(not_started) == 1 else f"{len(not_started)} calls"
    assert f"Apply complete: {calls} made" in stdout, stdout


def test_sigterm_is_an_interrupt_too(emu, coffer):
    running, code = interrupted_apply(emu, coffer, 400, signal.SIGTERM)
    assert code == 1, running
    assert "SIGTERM received: starting no new step" in running.stderr, running
    assert INTERRUPTED in running.stderr, running
    assert not lock_held(emu)
    assert_next_apply_starts_at_once_and_converges(emu, coffer)


def test_a_second_interrupt_exits_at_once_naming_the_steps_in_flight(emu, coffer):
    # Backup calls of a second each: the second signal comes while the first still waits for them.
    running, code = interrupted_apply(emu, coffer, 1000, signal.SIGINT, signal.SIGTERM, calls="backup:*")
    assert code == 130, running
    stderr = running.stderr
    assert "SIGTERM received again: exiting at once." in stderr, running
    half_done = running.listed("may be half-done")
    assert half_done or "no step was in flight" in stderr, running
    # The steps named in flight at the first interrupt are the ones that may be half-done.
    (first,) = [line for line in stderr.splitlines() if "SIGINT received:" in line]
    for step in half_done:
        assert step in first, running
    assert "the apply lock was not released" in stderr and "coffer unlock -f" in stderr, running
    assert INTERRUPTED in stderr, running

    # The lock stays behind: unlock shows it, --force breaks it, and the next apply converges.
    assert lock_held(emu)
    shown = coffer.run("unlock")
    assert shown.code == 2, shown
    broken = coffer.run("unlock", "--force")
    assert broken.code == 0, broken
    assert_next_apply_starts_at_once_and_converges(emu, coffer)


def test_unlock_without_a_lock_says_so(emu, coffer):
    for args in ((), ("--force",)):
        result = coffer.run("unlock", *args)
        assert result.code == 0, result
        assert "No apply lock" in result.stdout and LOCK in result.stdout, result


def test_unlock_shows_and_breaks_the_claim_of_a_killed_apply(emu, coffer):
    running, code = interrupted_apply(emu, coffer, 400, signal.SIGKILL, calls="backup:*")
    pid = running.process.pid
    assert code == -signal.SIGKILL, running
    assert lock_held(emu), "a killed apply leaves its claim behind"

    # Without --force: who holds it, since when, until when; exit 2; nothing deleted.
    shown = coffer.run("unlock")
    assert shown.code == 2, shown
    assert "The apply lock of topology `seed` is held." in shown.stdout, shown
    assert f"pid-{pid}-at-" in shown.stdout, f"the claim of process {pid}\n{shown}"
    assert f" pid {pid}" in shown.stdout, f"the holder names process {pid}\n{shown}"
    for label in ("since:", "expires:", "holder:", LOCK):
        assert label in shown.stdout, shown
    assert "--force" in shown.stderr, shown
    assert lock_held(emu)

    # An apply meanwhile says whom it waits for, then gives up at --lock-timeout.
    waiting = coffer.run("apply", "--auto-approve", "--lock-timeout", "1", timeout=HANG_GUARD)
    assert waiting.code == 1, waiting
    assert WAITING in waiting.stderr and f"pid {pid}" in waiting.stderr, waiting
    assert "holds the lock" in waiting.stderr and "coffer unlock -f" in waiting.stderr, waiting

    # With --force: the claim is broken.
    broken = coffer.run("unlock", "--force")
    assert broken.code == 0, broken
    assert "Broke the apply lock" in broken.stdout and f"pid {pid}" in broken.stdout, broken
    assert not lock_held(emu)
    again = coffer.run("unlock")
    assert again.code == 0 and "No apply lock" in again.stdout, again

    assert_next_apply_starts_at_once_and_converges(emu, coffer)


def test_an_interrupt_at_the_confirmation_prompt_changes_nothing_and_releases_the_lock(emu, coffer):
    process, primary = coffer.start_on_terminal("apply")
    try:
        running = Running(process)
        running.wait_for_stdout("Only `yes` is accepted")
        assert lock_held(emu), "the prompt waits holding the lock"
        process.send_signal(signal.SIGINT)
        code = running.finish()
    finally:
        os.close(primary)
    assert code == 1, running
    assert "interrupted: nothing was changed" in running.stderr, running
    assert inventory(emu).active_keys == {}, "nothing may change without confirmation"
    assert not lock_held(emu), "the lock is released"


def test_an_interrupt_while_waiting_for_the_lock_leaves_the_other_apply_alone(emu, coffer):
    # Calls slow enough that the first apply still runs while the second finds the lock taken.
    first = start_slow_apply(emu, coffer, 800)
    try:
        first.wait_for_a_done_step()
        second = Running(coffer.start("apply", "--auto-approve"))
        second.wait_for(lambda lines: any(WAITING in line for line in lines), "waiting message")
        (waiting,) = [line for line in second.lines if WAITING in line][:1]
        assert f"pid {first.process.pid}" in waiting, second
        second.process.send_signal(signal.SIGINT)
        assert second.finish() == 1, second
        assert first.finish() == 0, first
    finally:
        emu.admin("DELETE", "faults")
    assert "interrupted: nothing was changed" in second.stderr, second
    assert "Apply complete: 14 calls made" in first.stdout, first
    assert not lock_held(emu)
    coffer.assert_converged()
    assert inventory(emu).expected_counts_problems() == []
