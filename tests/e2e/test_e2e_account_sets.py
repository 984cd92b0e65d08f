"""Account sets against the emulator (examples/fleet/topology.yaml): every account of the
fleet organizational unit gets the template; an account moved into the unit is reported by
`coffer drift` (exit 2, naming it) and planned by `coffer plan`, and `coffer apply` creates its
resources; a saved plan made before it joined is refused as stale; moved out again, what
Coffer created there is reported as extra; an account made by CreateAccount in the unit gets
the template through the role CreateAccount makes. Checked independently with boto3.
"""

from collections import Counter
from typing import Any

import pytest
import yaml
from coffer_e2e import REPO, Coffer
from support import BACKUP, MANAGEMENT, REGION, WORLDS, Emulator

FLEET = REPO / "examples" / "fleet" / "topology.yaml"
FLEET_OU, PARKING_OU = "ou-c0ff-fl33t000", "ou-c0ff-p4rk1ng0"
ALPHA, BETA = "123412341234", "567856785678"
RECORD = "coffer:account-set:fleet"


def fleet_world() -> str:
    """The seed world with a fleet unit holding account Alpha, and a parking unit holding
    account "Beta Team"; both have Coffer's role and AWS Backup's default service role."""
    world: dict[str, Any] = yaml.safe_load((WORLDS / "seed.yaml").read_text())
    org = world["organization"]
    org["organizational_units"] += [
        {"id": FLEET_OU, "name": "fleet"},
        {"id": PARKING_OU, "name": "parking"},
    ]
    org["accounts"] += [
        {"id": ALPHA, "name": "Alpha", "email": "alpha@example.com", "parent": FLEET_OU},
        {"id": BETA, "name": "Beta Team", "email": "beta@example.com", "parent": PARKING_OU},
    ]
    roles = [
        "CofferDeployRole",
        {"name": "AWSBackupDefaultServiceRole", "path": "/service-role/", "trusts": "backup.amazonaws.com"},
    ]
    world["accounts"] += [{"id": ALPHA, "roles": roles}, {"id": BETA, "roles": roles}]
    return yaml.safe_dump(world)


def move(emu: Emulator, account: str, source: str, destination: str) -> None:
    organizations = emu.client("organizations", MANAGEMENT)
    organizations.move_account(AccountId=account, SourceParentId=source, DestinationParentId=destination)


def vault_names(emu: Emulator, account: str) -> set[str]:
    vaults = emu.client("backup", account, region=REGION).list_backup_vaults()["BackupVaultList"]
    return {v["BackupVaultName"] for v in vaults}


def record_of(emu: Emulator, account: str) -> str | None:
    organizations = emu.client("organizations", MANAGEMENT)
    tags = organizations.list_tags_for_resource(ResourceId=account)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == RECORD), None)


@pytest.fixture
def fleet(emu: Emulator, coffer: Coffer) -> Coffer:
    emu.load_world(text=fleet_world())
    applied = coffer.apply(topology=FLEET)
    assert applied.code == 0, applied
    return coffer


def test_a_member_gets_the_template_and_is_recorded(emu: Emulator, fleet: Coffer) -> None:
    assert "local" in vault_names(emu, ALPHA)
    assert "local" not in vault_names(emu, BETA)
    alias = emu.client("kms", ALPHA, region=REGION).describe_key(KeyId="alias/coffer/backup")
    assert alias["KeyMetadata"]["KeyState"] == "Enabled"
    assert record_of(emu, ALPHA) == "workloads"
    policy = emu.client("backup", BACKUP, region=REGION).get_backup_vault_access_policy(BackupVaultName="central")
    assert ALPHA in policy["Policy"] and BETA not in policy["Policy"]
    drift = fleet.run("drift", topology=FLEET)
    assert drift.code == 0, drift
    # check --live and graph --live read the members too, not the placeholder of `validate`.
    for command in ("check", "graph"):
        live = fleet.run(command, "--live", topology=FLEET)
        assert live.code == 0, live
        assert "@alpha" in live.stdout and "member-of-workloads" not in live.stdout, live


@pytest.mark.parametrize("command", [("plan", "--detailed-exitcode"), ("drift",), ("check", "--live")], ids=" ".join)
def test_reading_the_members_assumes_each_role_once_and_repeats_no_call(emu: Emulator, fleet: Coffer, command) -> None:
    """The members are read through the management account's session, which the read of the
    fleet then uses too: its role is assumed once and the organization listed once."""
    emu.admin("DELETE", "requests")
    result = fleet.run(*command, topology=FLEET)
    assert result.code == 0, result
    entries = emu.admin("GET", "requests")["requests"]
    per_key = Counter(e["request_key"] for e in entries)
    repeated = sorted({(e["account"], e["operation"], per_key[e["request_key"]]) for e in entries if per_key[e["request_key"]] > 1})
    assert not repeated, f"`coffer {' '.join(command)}` sent the same request twice: {repeated}"
    operations = Counter(e["operation"] for e in entries)
    # The management and backup accounts and Alpha (the member); Beta is no member.
    assert operations["AssumeRole"] == 3, operations
    assert operations["ListAccounts"] == 1, operations
    assert operations["DescribeOrganization"] == 1, operations


def test_an_account_that_joins_is_drift_then_planned_then_created(emu: Emulator, fleet: Coffer, tmp_path) -> None:
    saved = tmp_path / "plan.json"
    planned = fleet.run("plan", "--out", str(saved), topology=FLEET)
    assert planned.code == 0, planned
    move(emu, BETA, PARKING_OU, FLEET_OU)

    drift = fleet.run("drift", topology=FLEET)
    assert drift.code == 2, drift
    assert "beta-team" in drift.stdout, drift

    plan = fleet.run("plan", "--detailed-exitcode", topology=FLEET)
    assert plan.code == 2, plan
    for address in ("key.backup@beta-team", "vault.local@beta-team", "backup_plan.daily@beta-team"):
        assert address in plan.stdout, plan
    assert f"New member of account set `workloads`: Beta Team ({BETA}) gets " in plan.stdout, plan

    stale = fleet.run("apply", "--auto-approve", str(saved), topology=FLEET)
    assert stale.code != 0, stale
    assert "the members of the topology's account sets changed since this plan was made" in stale.stderr, stale
    assert f"joined workloads: Beta Team ({BETA})" in stale.stderr, stale
    assert "local" not in vault_names(emu, BETA)

    applied = fleet.apply(topology=FLEET)
    assert applied.code == 0, applied
    assert "local" in vault_names(emu, BETA)
    assert record_of(emu, BETA) == "workloads"
    again = fleet.run("plan", "--detailed-exitcode", topology=FLEET)
    assert again.code == 0, again


def test_an_account_that_leaves_is_reported_with_what_coffer_created_there(emu: Emulator, fleet: Coffer) -> None:
    move(emu, ALPHA, FLEET_OU, PARKING_OU)
    drift = fleet.run("drift", topology=FLEET)
    assert drift.code == 2, drift
    assert "local@alpha" in drift.stdout, drift
    plan = fleet.run("plan", "--format", "json", topology=FLEET)
    assert plan.code == 0, plan
    deleted = {c["address"] for c in plan.json()["changes"] if c["action"] == "delete"}
    assert {"vault.local@alpha", "backup_plan.daily@alpha"} <= deleted, deleted
    # Nothing is deleted without --allow-delete: the vault stays, and the record with it.
    applied = fleet.apply(topology=FLEET)
    assert "local" in vault_names(emu, ALPHA), applied
    assert record_of(emu, ALPHA) == "workloads"



def test_an_account_created_in_the_unit_gets_the_template(emu: Emulator, fleet: Coffer, tmp_path) -> None:
    # CreateAccount makes OrganizationAccountAccessRole in the new account: the set assumes it.
    topology = tmp_path / "fleet.yaml"
    text = FLEET.read_text().replace("    recursive: true\n", "    recursive: true\n    role: OrganizationAccountAccessRole\n")
    topology.write_text(text)
    organizations = emu.client("organizations", MANAGEMENT)
    status = organizations.create_account(Email="gamma@example.com", AccountName="Gamma")["CreateAccountStatus"]
    created = status["AccountId"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    move(emu, created, root, FLEET_OU)
    iam = emu.client("iam", created, role="OrganizationAccountAccessRole")
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    iam.create_role(RoleName="AWSBackupDefaultServiceRole", Path="/service-role/", AssumeRolePolicyDocument=trust)

    drift = fleet.run("drift", topology=topology)
    assert drift.code == 2 and "gamma" in drift.stdout, drift
    applied = fleet.apply(topology=topology)
    assert applied.code == 0, applied
    assert "local" in vault_names_as(emu, created, "OrganizationAccountAccessRole")
    assert record_of(emu, created) == "workloads"


def vault_names_as(emu: Emulator, account: str, role: str) -> set[str]:
    vaults = emu.client("backup", account, region=REGION, role=role).list_backup_vaults()["BackupVaultList"]
    return {v["BackupVaultName"] for v in vaults}
