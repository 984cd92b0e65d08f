"""`coffer apply` without a plan file asks before it changes anything: on a terminal it takes
only `yes`; without a terminal it refuses unless `--auto-approve`."""

import os

from coffer_e2e import inventory


def run_on_terminal(coffer, answer: str) -> tuple[int, str]:
    """Runs `coffer apply` with a pseudo-terminal as standard input, typing `answer`."""
    process, primary = coffer.start_on_terminal("apply")
    os.write(primary, answer.encode())
    out, err = process.communicate(timeout=180)
    os.close(primary)
    return process.returncode, out + err


def test_without_a_terminal_apply_refuses_unless_auto_approved(emu, coffer):
    refused = coffer.run("apply")
    assert refused.code == 1, refused
    assert "refusing to apply without confirmation" in refused.stderr, refused
    assert inventory(emu).active_keys == {}, "nothing may change without confirmation"


def test_on_a_terminal_only_yes_applies(emu, coffer):
    code, output = run_on_terminal(coffer, "y\n")
    assert code == 1, output
    assert "Apply cancelled; nothing was changed." in output, output
    assert inventory(emu).active_keys == {}

    code, output = run_on_terminal(coffer, "yes\n")
    assert code == 0, output
    assert "Apply complete" in output, output
    coffer.assert_converged()
