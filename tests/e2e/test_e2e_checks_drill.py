"""`coffer check` and `coffer drill` end to end: the seed topology passes its checks and its
restore drill; each broken variant is named by its blocker before apply, and its drill then
fails at the copy with the emulator's message for that cause, predicted by the same check."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from coffer_e2e import (
    BACKUP_KEY_ALIAS,
    CENTRAL_VAULT,
    CENTRAL_VAULT_ARN,
    REPO,
    SOURCE_KEY_ALIAS,
    SOURCE_VAULT,
    TOPOLOGY,
    Coffer,
    Result,
    inventory,
    key_arn,
    paginate,
    topology_variant,
)
from support import BACKUP, MANAGEMENT, ORDERS_ARN, SOURCE, Emulator

POLL_SECONDS = "0.05"
SEED_STAGES = [
    "backup",
    "copy to vault.central",
    f"restore in backup ({BACKUP})",
    "verify in backup",
    "clean up",
]


def catalog() -> dict[str, tuple[str, str, str]]:
    """docs/checks.md's table: ID -> (severity, kind, title)."""
    rows = re.findall(r"^\| (CB\d{3}) \| (\w+) \| ([\w ]+) \| (.+) \|$", (REPO / "docs" / "checks.md").read_text(), re.M)
    assert len(rows) >= 30, rows
    return {check: (severity, kind, title) for check, severity, kind, title in rows}


CATALOG = catalog()


def check_json(coffer: Coffer, *args: str, topology: Path = TOPOLOGY) -> tuple[Result, dict[str, Any]]:
    result = coffer.run("check", *args, "--format", "json", topology=topology)
    assert result.code in (0, 2), result
    report = result.json()
    assert report["format_version"] == 1 and report["topology"] == "seed", report
    return result, report


def drill_json(coffer: Coffer, topology: Path = TOPOLOGY) -> tuple[Result, dict[str, Any]]:
    result = coffer.run("drill", "--format", "json", "--poll-seconds", POLL_SECONDS, topology=topology)
    assert result.code in (0, 1), result
    return result, result.json()


def recovery_points(emu: Emulator, account: str, vault: str) -> list[dict[str, Any]]:
    backup = emu.client("backup", account)
    return paginate(backup, "list_recovery_points_by_backup_vault", "RecoveryPoints", BackupVaultName=vault)


def blockers(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["severity"] == "blocker"]


def assert_no_blocker(coffer: Coffer, when: str) -> None:
    text = coffer.run("check", "--live")
    assert text.code == 0, f"{when}: `coffer check --live` should report no blocker\n{text}"
    result, report = check_json(coffer, "--live")
    assert result.code == 0, f"{when}\n{result}"
    assert report["mode"] == "live-after-plan"
    assert blockers(report) == [], f"{when}: {report['findings']}"


def test_seed_topology_passes_its_checks_and_its_drill(emu, coffer):
    assert_no_blocker(coffer, "before apply")

    applied = coffer.apply()
    assert applied.code == 0, applied

    assert_no_blocker(coffer, "after apply")
    as_is = coffer.run("check", "--live", "--as-is")
    assert as_is.code == 0, f"AWS as it is after apply should have no blocker either\n{as_is}"

    result, report = drill_json(coffer)
    assert result.code == 0, result
    assert report["ok"] is True, report
    assert report["failure"] is None and report["predicted_by"] == [], report
    assert (report["plan"], report["resource"]) == ("orders-daily", ORDERS_ARN)
    assert [s["name"] for s in report["stages"]] == SEED_STAGES, report["stages"]
    for stage in report["stages"]:
        assert stage["ok"] is True, stage
        assert isinstance(stage["seconds"], float) and stage["seconds"] >= 0, stage
    # Timings: the restore is the RTO seen; no recovery point of `orders` existed before.
    restore = report["stages"][2]
    assert report["rto_seen_seconds"] > 0, report
    assert report["rto_seen_seconds"] == restore["seconds"], report
    assert report["rpo_seen_seconds"] is None, report

    # The restored database was encrypted with the backup account's own key, then deleted.
    central_key = key_arn(emu, BACKUP, BACKUP_KEY_ALIAS)
    assert report["stages"][3]["detail"].endswith(f"encrypted with {central_key}"), report["stages"][3]
    databases = emu.client("rds", BACKUP).describe_db_instances()["DBInstances"]
    assert [d["DBInstanceIdentifier"] for d in databases] == [], "the drill must delete its restored database"
    # The source recovery point is cleaned up; the copy stays, held by the central vault's lock.
    assert recovery_points(emu, SOURCE, SOURCE_VAULT) == []
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert copy["EncryptionKeyArn"] == central_key
    assert "Backup Vault Lock" in report["stages"][4]["detail"], report["stages"][4]


@dataclass(frozen=True)
class Variant:
    """A broken variant of the seed topology (or world), the blocker that names it, and what
    the emulator's copy job says about the same cause (emulator/README.md, copy rules)."""

    name: str
    check: str
    # `check` modes that must report the blocker: "static" (the file alone), "live" (AWS after the plan)
    modes: tuple[str, ...]
    # fragments of the failed copy job's StatusMessage
    copy_message: tuple[str, ...]
    world: str = "seed.yaml"
    replacements: tuple[tuple[str, str], ...] = ()
    # alias of the key (in the source account) the message must name as the recovery point's key
    source_key_alias: str | None = None


VARIANTS = [
    Variant(
        name="rds-on-aws-managed-key",
        check="CB022",
        modes=("live",),
        world="seed-aws-rds.yaml",
        source_key_alias="alias/aws/rds",
        copy_message=(
            "does not exist, is not enabled or you do not have permissions to access it.",
            "(It is an AWS managed key (KeyManager AWS);",
        ),
    ),
    Variant(
        name="source-key-not-usable-by-backup",
        check="CB023",
        modes=("live",),
        replacements=(("    usable_by: [backup]\n", ""),),
        source_key_alias=SOURCE_KEY_ALIAS,
        copy_message=(
            "does not exist, is not enabled or you do not have permissions to access it.",
            f"(The key policy does not allow destination account {BACKUP} kms:",
        ),
    ),
    Variant(
        name="central-vault-without-allow",
        check="CB005",
        modes=("static", "live"),
        replacements=(("      organization: true\n", ""),),
        copy_message=(
            "Access Denied trying to call AWS Backup service",
            f"destination vault {CENTRAL_VAULT_ARN} does not allow backup:CopyIntoBackupVault",
        ),
    ),
    Variant(
        name="cross-account-backup-disabled",
        check="CB002",
        modes=("static", "live"),
        replacements=(("cross_account_backup: enabled", "cross_account_backup: disabled"),),
        copy_message=(
            "Copy job failed. Cross-account backup is not enabled for the organization",
            f"the management account {MANAGEMENT} must turn on isCrossAccountBackupEnabled",
        ),
    ),
    Variant(
        name="copy-retention-outside-lock",
        check="CB013",
        modes=("static", "live"),
        replacements=(
            (
                "            lifecycle:\n              delete_after_days: 90\n",
                "            lifecycle:\n              delete_after_days: 500\n",
            ),
        ),
        copy_message=(
            "Copy job failed.",
            "500 days is outside the range allowed by the Backup Vault Lock (MinRetentionDays=7, MaxRetentionDays=400)",
            f"on destination backup vault {CENTRAL_VAULT_ARN}",
        ),
    ),
]


def failed_copy_job(emu: Emulator) -> dict[str, Any]:
    """The emulator's one copy job, as boto3 sees it in the source account."""
    (job,) = paginate(emu.client("backup", SOURCE), "list_copy_jobs", "CopyJobs")
    assert job["State"] == "FAILED", job
    return job


@pytest.mark.parametrize("variant", VARIANTS, ids=[f"{v.check}-{v.name}" for v in VARIANTS])
def test_broken_variant_fails_its_drill_as_its_check_predicts(variant: Variant, emu, coffer, tmp_path):
    if variant.world != "seed.yaml":
        emu.load_world(variant.world)
    topology = topology_variant(tmp_path, variant.name, *variant.replacements) if variant.replacements else TOPOLOGY
    severity, _, title = CATALOG[variant.check]
    assert severity == "blocker"

    # Before apply: `coffer check` names the blocker.
    for mode in variant.modes:
        args = ("--live",) if mode == "live" else ()
        result, report = check_json(coffer, *args, topology=topology)
        assert result.code == 2, f"{mode}: {result}"
        assert report["mode"] == {"static": "static", "live": "live-after-plan"}[mode]
        named = [f for f in report["findings"] if f["check"] == variant.check]
        assert named, f"{mode}: no {variant.check} among {report['findings']}"
        for finding in named:
            assert (finding["severity"], finding["title"]) == ("blocker", title), finding
            assert finding["message"] and finding["fix"], finding
    if variant.source_key_alias == "alias/aws/rds":
        aws_rds_key = key_arn(emu, SOURCE, "alias/aws/rds")
        assert any(aws_rds_key in f["message"] for f in named), named

    # apply refuses while the blocker stands, and changes nothing.
    refused = coffer.apply(topology=topology)
    assert refused.code == 1, refused
    assert f"blocker[{variant.check}]" in refused.stderr, refused
    assert "--ignore-check" in refused.stderr, refused
    assert inventory(emu).active_keys == {}, "a refused apply must change nothing"

    applied = coffer.apply("--ignore-check", variant.check, topology=topology)
    assert applied.code == 0, applied

    # The drill fails at the copy, with the emulator's message, predicted by the check.
    result, report = drill_json(coffer, topology)
    assert result.code == 1, result
    assert report["ok"] is False, report
    stages = report["stages"]
    failing = [i for i, s in enumerate(stages) if not s["ok"]]
    assert failing, stages
    first = failing[0]
    assert stages[first]["name"].startswith("copy to"), stages
    assert stages[first]["name"] == "copy to vault.central", stages
    assert first >= 1 and stages[0]["name"] == "backup", stages
    assert all(s["ok"] for s in stages[:first]), stages
    assert not any(s["name"].startswith(("restore", "verify")) for s in stages), stages
    assert report["rto_seen_seconds"] is None, report
    assert report["failure"] == stages[first]["detail"], report

    job = failed_copy_job(emu)
    status = job["StatusMessage"]
    assert status in report["failure"], (status, report["failure"])
    for fragment in variant.copy_message:
        assert fragment in status, (fragment, status)
    if variant.source_key_alias is not None:
        key = key_arn(emu, SOURCE, variant.source_key_alias)
        assert status.startswith(f"The source snapshot KMS key [{key}] "), status
    assert job["DestinationBackupVaultArn"] == CENTRAL_VAULT_ARN

    predicted = [p for p in report["predicted_by"] if p.startswith(f"{variant.check} ")]
    assert predicted, f"{variant.check} should predict the failure: {report['predicted_by']}"
