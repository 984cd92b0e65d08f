"""Coffer against an eventually consistent AWS: the emulator's optional delays
(``emulator/coffer_emulator/consistency.py``) are turned on through the admin API after the seed
world is loaded, so a new vault access policy, key policy, role, vault deletion and the
cross-account switch take effect seconds after Coffer made them, as on AWS.

`coffer apply` and `coffer drill` must still succeed, and show that they waited: the drill's
first copy job fails for lack of access and a later one completes (the emulator's copy jobs and
request log, the drill's JSON progress and its warn log), and a vault replacement's create is
refused with AlreadyExistsException while the deletion propagates, then succeeds.
"""

import json
from pathlib import Path
from typing import Any

from coffer_e2e import CENTRAL_VAULT_ARN, SOURCE_VAULT, Coffer, Result, key_arn, paginate, topology_variant
from support import MANAGEMENT, SOURCE, Emulator

# Seconds each kind of change takes to take effect (emulator clock, which runs in real time).
DELAY = 12
WAITING = "waiting for AWS to propagate"
LOG_ENV = {"COFFER_LOG": "warn"}


def _eventually_consistent(emu: Emulator, seconds: float = DELAY) -> None:
    kinds = ("new_role", "key_policy", "vault_policy", "vault_deleted", "cross_account_backup")
    answer = emu.admin("PUT", "consistency", {kind: seconds for kind in kinds})
    assert answer == {kind: float(seconds) for kind in kinds}, answer


def _events(result: Result) -> list[dict[str, Any]]:
    """The JSON progress events on stderr (log lines are not JSON)."""
    events = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def _log_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "coffer_aws::propagation" in line]


def _requests(emu: Emulator, account: str, operation: str) -> list[dict[str, Any]]:
    return emu.admin("GET", f"requests?account={account}&service=backup&operation={operation}")["requests"]


def test_apply_then_drill_succeed_and_the_drill_waits_for_propagation(emu, coffer):
    _eventually_consistent(emu)
    applied = coffer.apply(env=LOG_ENV)
    assert applied.code == 0, applied
    emu.admin("DELETE", "requests")

    # At once: the central vault's new access policy and the cross-account switch are not in
    # effect yet, so the first copy is refused; the drill waits and copies again.
    drilled = coffer.run(
        "drill", "--format", "json", "--poll-seconds", "0.05", "--progress", "json", env=LOG_ENV, timeout=300
    )
    assert drilled.code == 0, drilled
    report = drilled.json()
    assert report["ok"] is True, report
    (copy_stage,) = [s for s in report["stages"] if s["name"] == "copy to vault.central"]
    assert copy_stage["ok"] and WAITING in copy_stage["detail"], copy_stage

    # The emulator: a failed copy job for lack of access, then a completed one.
    jobs = sorted(
        paginate(emu.client("backup", SOURCE), "list_copy_jobs", "CopyJobs"), key=lambda job: job["CreationDate"]
    )
    assert len(jobs) >= 2, jobs
    assert jobs[0]["State"] == "FAILED", jobs[0]
    assert any(
        cause in jobs[0]["StatusMessage"]
        for cause in ("Access Denied trying to call AWS Backup service", "Cross-account backup is not enabled")
    ), jobs[0]
    assert jobs[-1]["State"] == "COMPLETED", jobs[-1]
    assert all(job["DestinationBackupVaultArn"] == CENTRAL_VAULT_ARN for job in jobs)
    started = _requests(emu, SOURCE, "StartCopyJob")
    assert len(started) == len(jobs) and len({r["request_key"] for r in started}) == len(jobs), started

    # The drill's progress: one job_started per attempt of the copy stage, the failed job first.
    copy_jobs = [e["job_id"] for e in _events(drilled) if e["event"] == "job_started" and e["stage"] == "copy"]
    assert copy_jobs == [job["CopyJobId"] for job in jobs], (copy_jobs, jobs)
    assert not [e for e in _events(drilled) if e["event"] == "stage_failed"], drilled.stderr
    # ... and a warn line per retry, naming the failed job.
    logged = _log_lines(drilled)
    assert len(logged) == len(jobs) - 1, drilled.stderr
    assert all("WARN" in line and WAITING in line for line in logged), logged
    assert jobs[0]["CopyJobId"] in logged[0], logged

    coffer.assert_converged()


# A second key in the source account, and the source vault moved to it: a vault's key can
# never change, so the vault is deleted and created again with the same name.
REPLACEMENT = (
    (
        "keys:\n",
        "keys:\n  source-vault:\n    account: source\n    alias: alias/coffer/source-vault\n"
        "    description: Encrypts the source vault\n",
    ),
    ("    name: orders-source\n    key: source-rds\n", "    name: orders-source\n    key: source-vault\n"),
)


def _replacement(tmp_path: Path) -> Path:
    return topology_variant(tmp_path, "source-vault-replaced", *REPLACEMENT)


def _plan(coffer: Coffer, topology: Path) -> dict[str, Any]:
    result = coffer.run("plan", "--detailed-exitcode", "--format", "json", topology=topology)
    assert result.code in (0, 2), result
    return result.json()


def test_a_vault_replacement_waits_for_the_deletion_to_propagate(emu, coffer, tmp_path):
    assert coffer.apply().code == 0
    topology = _replacement(tmp_path)
    (vault,) = [c for c in _plan(coffer, topology)["changes"] if c["address"] == "vault.source"]
    assert vault["action"] == "replace", vault

    _eventually_consistent(emu, 6)
    emu.admin("DELETE", "requests")
    replaced = coffer.apply("--confirm-irreversible", "--progress", "json", env=LOG_ENV, topology=topology)
    assert replaced.code == 0, replaced

    # The emulator: the vault deleted, then its name refused while the deletion propagates,
    # then created.
    path = f"/backup-vaults/{SOURCE_VAULT}"
    deleted = [r for r in _requests(emu, SOURCE, "DeleteBackupVault") if r["path"] == path]
    created = [r for r in _requests(emu, SOURCE, "CreateBackupVault") if r["path"] == path]
    assert [r["status"] for r in deleted] == [200], deleted
    statuses = [r["status"] for r in created]
    assert len(statuses) >= 2 and statuses[-1] == 200 and set(statuses[:-1]) == {400}, statuses
    assert deleted[0]["seq"] < created[0]["seq"], (deleted, created)

    # Coffer said it waited, in its progress and its log, and never took the old vault for its own.
    retries = [e for e in _events(replaced) if e["event"] == "step_retrying"]
    assert retries and all(e["step"].startswith("vault.source:create") for e in retries), retries
    assert all("AlreadyExistsException" in e["error"] and WAITING in e["error"] for e in retries), retries
    assert any("vault.source:create" in line and WAITING in line for line in _log_lines(replaced)), replaced.stderr

    described = emu.client("backup", SOURCE).describe_backup_vault(BackupVaultName=SOURCE_VAULT)
    assert described["EncryptionKeyArn"] == key_arn(emu, SOURCE, "alias/coffer/source-vault"), described
    plan = coffer.run("plan", "--detailed-exitcode", topology=topology)
    assert plan.code == 0, plan


def test_an_apply_after_the_lock_vault_was_deleted_by_hand_waits_for_the_deletion_to_propagate(emu, coffer):
    """The first apply leaves its lock generation released (`coffer-lock-seed-1`); someone deletes
    it by hand, and while the deletion propagates the vault is still listed but not found. The
    next apply retries after short pauses (never in a tight loop) until the deletion is visible,
    then claims generation 1 again. (Applies that follow one another never meet this: each
    takes the next generation.)"""
    assert coffer.apply().code == 0
    emu.admin("PUT", "consistency", {"vault_deleted": 3})
    emu.client("backup", MANAGEMENT).delete_backup_vault(BackupVaultName="coffer-lock-seed-1")
    emu.admin("DELETE", "requests")
    again = coffer.apply()
    assert again.code == 0, again
    reads = [
        r for r in _requests(emu, MANAGEMENT, "DescribeBackupVault") if "coffer-lock-seed-1" in r.get("path", "")
    ]
    missed = [r for r in reads if r["status"] == 400]  # ResourceNotFoundException
    assert missed, f"the second apply should have met the propagating deletion: {reads}"
    # A pause of about a quarter second between tries: a few dozen tries in 3 s at most; a
    # tight loop makes hundreds.
    assert len(missed) < 60, f"{len(missed)} reads of the deleted lock vault in one apply: {missed[:5]}"
    claims = [r for r in _requests(emu, MANAGEMENT, "CreateBackupVault") if "coffer-lock-seed" in r.get("path", "")]
    assert [r["status"] for r in claims][-1:] == [200], claims
