"""`coffer check` and `coffer drill` end to end: the seed topology passes its checks and its
restore drill; each broken variant is named by its blocker before apply, and its drill then
fails at the copy with the emulator's message for that cause, predicted by the same check.

The drill cannot delete the copies it makes (the central vault's deletion guard denies
`backup:DeleteRecoveryPoint` to Coffer's role, and its lock keeps recovery points until their
retention ends): it gives every recovery point the shortest retention its vault's lock allows,
deletes what it may (the restored database, the source recovery point) and reports the rest as
left to expire, with the date. Everything is checked with boto3, independently of Coffer."""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
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
# The central vault's lock minimum (examples/seed/topology.yaml): the drill's copies' retention.
CENTRAL_MIN_RETENTION_DAYS = 7
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


def rfc3339(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def deletions(emu: Emulator) -> list[dict[str, Any]]:
    """The DeleteRecoveryPoint calls the emulator served, from its request log."""
    return emu.admin("GET", "requests?service=backup&operation=DeleteRecoveryPoint")["requests"]


def assert_left_to_expire(
    left: dict[str, Any], point: dict[str, Any], account: str, vault: str, days: int, reason: str
) -> None:
    """`left` (an entry of the report's `left_to_expire`) names `point` (as boto3 lists it),
    which keeps `days` days from its creation, with AWS's own expiry date."""
    assert (left["recovery_point_arn"], left["vault"], left["account_id"]) == (point["RecoveryPointArn"], vault, account), left
    assert left["delete_after_days"] == days, left
    assert reason in left["reason"], left
    expires = rfc3339(left["expires_at"])
    assert expires == to_second(point["CreationDate"] + timedelta(days=days)), (left, point)
    assert expires == to_second(point["CalculatedLifecycle"]["DeleteAt"]), (left, point)


def assert_drill_lifecycle(point: dict[str, Any], days: int) -> None:
    """The drill's retention, never cold storage."""
    assert point["Lifecycle"]["DeleteAfterDays"] == days, point
    assert point["Lifecycle"].get("MoveToColdStorageAfterDays") is None, point
    assert "MoveToColdStorageAt" not in point["CalculatedLifecycle"], point


def assert_drill_tags(emu: Emulator, account: str, point: dict[str, Any], report: dict[str, Any]) -> None:
    """The drill tags its backup job's recovery point (`RecoveryPointTags`) with its ID and the
    topology. The emulator's StartBackupJob ignores `RecoveryPointTags`, and StartCopyJob takes
    no tags, so ListTags answers none for the drill's recovery points there; whatever tags it
    answers must be the drill's."""
    tags = emu.client("backup", account).list_tags(ResourceArn=point["RecoveryPointArn"])["Tags"]
    assert report["drill_id"].startswith("coffer-drill-"), report["drill_id"]
    if tags:
        assert tags.items() >= {"coffer:drill": report["drill_id"], "coffer:topology": "seed"}.items(), tags


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
    # The source recovery point (an unguarded, unlocked vault) is deleted: the only deletion tried.
    assert recovery_points(emu, SOURCE, SOURCE_VAULT) == []
    tried = deletions(emu)
    assert [(r["account"], r["status"]) for r in tried] == [(SOURCE, 200)], tried
    # The copy stays in the central vault, with the lock's minimum retention, left to expire.
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert copy["EncryptionKeyArn"] == central_key
    assert_drill_lifecycle(copy, CENTRAL_MIN_RETENTION_DAYS)
    assert_drill_tags(emu, BACKUP, copy, report)
    (left,) = report["left_to_expire"]
    assert_left_to_expire(left, copy, BACKUP, CENTRAL_VAULT, CENTRAL_MIN_RETENTION_DAYS, "deletion guard of vault central")
    assert "vault lock keeps recovery points at least 7 days" in left["reason"], left
    clean_up = report["stages"][4]
    assert clean_up["detail"].startswith("deleted: database coffer-drill-"), clean_up
    assert f"left to expire: recovery point {copy['RecoveryPointArn']} in vault central on {left['expires_at']}" in clean_up["detail"], clean_up
    # The jobs themselves asked for the shortest retentions: 1 day (the source vault has no
    # lock) and the central vault's minimum, never cold storage.
    (job,) = paginate(emu.client("backup", SOURCE), "list_backup_jobs", "BackupJobs")
    assert job["RecoveryPointLifecycle"] == {"DeleteAfterDays": 1}, job
    (copy_job,) = paginate(emu.client("backup", SOURCE), "list_copy_jobs", "CopyJobs")
    assert copy_job["DestinationRecoveryPointLifecycle"] == {"DeleteAfterDays": CENTRAL_MIN_RETENTION_DAYS}, copy_job
    # Coffer's role could not have deleted the copy: the central vault's guard denies it.
    with pytest.raises(ClientError) as denied:
        emu.client("backup", BACKUP).delete_recovery_point(
            BackupVaultName=CENTRAL_VAULT, RecoveryPointArn=copy["RecoveryPointArn"]
        )
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException", denied.value


def test_drill_report_says_the_copy_is_left_to_expire(emu, coffer):
    applied = coffer.apply()
    assert applied.code == 0, applied

    result = coffer.run("drill", "--poll-seconds", POLL_SECONDS)
    assert result.code == 0, result
    text = result.stdout
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    expires = to_second(copy["CalculatedLifecycle"]["DeleteAt"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The stages, as before; the clean-up says what it deleted and what it left.
    for stage in SEED_STAGES:
        assert re.search(rf"^  ok   {re.escape(stage)} +\d+\.\ds  ", text, re.M), (stage, text)
    assert re.search(r"^  ok   backup .*, kept 1 day, tagged coffer:drill=coffer-drill-\d+-[0-9a-f]{6}$", text, re.M), text
    assert re.search(r"^  ok   copy to vault\.central .* in vault central, kept 7 days$", text, re.M), text
    clean_up = next(line for line in text.splitlines() if "clean up" in line)
    assert "deleted: database coffer-drill-" in clean_up and f"{ORDERS_ARN}" not in clean_up, clean_up
    assert f"left to expire: recovery point {copy['RecoveryPointArn']} in vault central on {expires}" in clean_up, clean_up
    # A section names each recovery point left behind, when it expires and why.
    assert (
        "Left to expire: the drill did not delete these recovery points; AWS Backup deletes each "
        "when its retention ends.\n"
        f"  {copy['RecoveryPointArn']} in vault central ({BACKUP}): left to expire on {expires}, "
        "7 days after its creation (the deletion guard of vault central denies backup:DeleteRecoveryPoint; "
        "the vault lock keeps recovery points at least 7 days)\n"
    ) in text, text
    assert "RPO seen: no recovery point of the resource existed before the drill\n" in text, text
    assert re.search(r"^RTO seen: the restore took \d+\.\d s$", text, re.M), text
    assert "Drill passed: the backup was copied and restored with the destination account's key.\n" in text, text


def test_drill_with_keep_leaves_the_database_and_every_recovery_point(emu, coffer):
    applied = coffer.apply()
    assert applied.code == 0, applied

    result = coffer.run("drill", "--format", "json", "--keep", "--poll-seconds", POLL_SECONDS)
    assert result.code == 0, result
    report = result.json()
    assert report["ok"] is True, report
    assert deletions(emu) == []
    (database,) = emu.client("rds", BACKUP).describe_db_instances()["DBInstances"]
    assert database["DBInstanceIdentifier"].startswith(report["drill_id"]), database
    (source,) = recovery_points(emu, SOURCE, SOURCE_VAULT)
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert_drill_lifecycle(source, 1)
    assert_drill_lifecycle(copy, CENTRAL_MIN_RETENTION_DAYS)
    assert_drill_tags(emu, SOURCE, source, report)
    left_source, left_copy = report["left_to_expire"]
    assert_left_to_expire(left_source, source, SOURCE, SOURCE_VAULT, 1, "--keep")
    assert_left_to_expire(left_copy, copy, BACKUP, CENTRAL_VAULT, CENTRAL_MIN_RETENTION_DAYS, "vault lock")
    # The copy keeps the source's creation date: the copy expires 6 days after the source.
    assert rfc3339(left_copy["expires_at"]) - rfc3339(left_source["expires_at"]) == timedelta(days=6)
    clean_up = report["stages"][-1]
    assert clean_up["ok"] and clean_up["detail"].startswith(f"kept (--keep): database {database['DBInstanceIdentifier']}; left to expire: "), clean_up


# A vault's logical name that is no RDS identifier as it is (capitals, `_`, two hyphens in a
# row, a hyphen at the end, longer than the room the drill ID leaves): the drill names the
# database it restores from a copy after the destination vault's logical name.
ODD_VAULT = "Central_Backups--of-the-Organization-Vault-"
# RDS's rule for a DB instance identifier: 1 to 63 letters, digits and hyphens, a letter first,
# no two hyphens in a row, none at the end.
RDS_IDENTIFIER = re.compile(r"^(?!.*--)[a-z][a-z0-9-]{0,61}[a-z0-9]$")


def test_drill_restores_under_a_name_rds_allows_whatever_the_vault_is_called(emu, coffer, tmp_path):
    topology = topology_variant(
        tmp_path,
        "odd-vault-name",
        ("  central:\n    account: backup\n", f"  {ODD_VAULT}:\n    account: backup\n"),
        ("          - vault: central\n", f"          - vault: {ODD_VAULT}\n"),
    )
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied

    result = coffer.run("drill", "--format", "json", "--keep", "--poll-seconds", POLL_SECONDS, topology=topology)
    assert result.code == 0, result
    report = result.json()
    assert report["ok"] is True, report
    (database,) = emu.client("rds", BACKUP).describe_db_instances()["DBInstances"]
    identifier = database["DBInstanceIdentifier"]
    assert RDS_IDENTIFIER.match(identifier) and identifier.startswith(report["drill_id"] + "-central-backups-"), identifier
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert_drill_lifecycle(copy, CENTRAL_MIN_RETENTION_DAYS)


REFUSALS = {
    # A lock put on the source vault out of band (the topology does not declare it).
    "locked": ("InvalidRequestException", 400),
    # A vault policy put on the source vault out of band that denies deleting recovery points.
    "guarded": ("AccessDeniedException", 403),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_refused_deletion_of_the_source_recovery_point_leaves_it_to_expire(refusal: str, emu, coffer):
    applied = coffer.apply()
    assert applied.code == 0, applied
    backup = emu.client("backup", SOURCE)
    if refusal == "locked":
        backup.put_backup_vault_lock_configuration(BackupVaultName=SOURCE_VAULT, MinRetentionDays=1)
    else:
        backup.put_backup_vault_access_policy(
            BackupVaultName=SOURCE_VAULT,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyDeletion",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": ["backup:DeleteRecoveryPoint"],
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )

    result, report = drill_json(coffer)
    assert result.code == 0, result
    assert report["ok"] is True and report["failure"] is None, report
    assert [s["name"] for s in report["stages"]] == SEED_STAGES, report["stages"]
    clean_up = report["stages"][4]
    assert clean_up["ok"] is True, clean_up
    assert "could not delete" not in clean_up["detail"], clean_up
    code, status = REFUSALS[refusal]
    tried = deletions(emu)
    assert [(r["account"], r["status"]) for r in tried] == [(SOURCE, status)], tried
    # Both recovery points stay, each left to expire with its own retention.
    (source,) = recovery_points(emu, SOURCE, SOURCE_VAULT)
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert_drill_lifecycle(source, 1)
    left_source, left_copy = report["left_to_expire"]
    assert_left_to_expire(left_source, source, SOURCE, SOURCE_VAULT, 1, f"AWS refused its deletion ({code}: ")
    assert_left_to_expire(left_copy, copy, BACKUP, CENTRAL_VAULT, CENTRAL_MIN_RETENTION_DAYS, "vault lock")
    assert emu.client("rds", BACKUP).describe_db_instances()["DBInstances"] == []


def test_drill_does_not_try_to_delete_from_a_source_vault_the_topology_locks(emu, coffer, tmp_path):
    topology = topology_variant(
        tmp_path,
        "source-locked",
        (
            "      allow_copy_from: [backup]\n",
            "      allow_copy_from: [backup]\n    lock:\n      min_retention_days: 3\n      max_retention_days: 400\n",
        ),
    )
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied

    result, report = drill_json(coffer, topology)
    assert result.code == 0, result
    assert report["ok"] is True, report
    assert deletions(emu) == [], "a locked source vault keeps the drill's recovery point: no deletion is tried"
    (source,) = recovery_points(emu, SOURCE, SOURCE_VAULT)
    assert_drill_lifecycle(source, 3)
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    left_source, left_copy = report["left_to_expire"]
    assert_left_to_expire(left_source, source, SOURCE, SOURCE_VAULT, 3, "the vault lock keeps recovery points at least 3 days")
    assert_left_to_expire(left_copy, copy, BACKUP, CENTRAL_VAULT, CENTRAL_MIN_RETENTION_DAYS, "vault lock")
    assert report["stages"][4]["ok"] is True, report["stages"][4]


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


def test_drill_copies_with_the_lock_minimum_whatever_the_rules_retention(emu, coffer, tmp_path):
    """A copy retention outside the central vault's lock (CB013) fails the plan's scheduled
    copies, but not the drill's: the drill copies with the lock's minimum retention, so only
    the check catches it."""
    topology = topology_variant(
        tmp_path,
        "copy-retention-outside-lock",
        (
            "            lifecycle:\n              delete_after_days: 90\n",
            "            lifecycle:\n              delete_after_days: 500\n",
        ),
    )
    for args in ((), ("--live",)):
        result, report = check_json(coffer, *args, topology=topology)
        assert result.code == 2, result
        named = [f for f in report["findings"] if f["check"] == "CB013"]
        assert named and all(f["severity"] == "blocker" for f in named), report["findings"]
    applied = coffer.apply("--ignore-check", "CB013", topology=topology)
    assert applied.code == 0, applied

    result, report = drill_json(coffer, topology)
    assert result.code == 0, result
    assert report["ok"] is True, report
    (copy,) = recovery_points(emu, BACKUP, CENTRAL_VAULT)
    assert_drill_lifecycle(copy, CENTRAL_MIN_RETENTION_DAYS)
    (left,) = report["left_to_expire"]
    assert_left_to_expire(left, copy, BACKUP, CENTRAL_VAULT, CENTRAL_MIN_RETENTION_DAYS, "vault lock")
