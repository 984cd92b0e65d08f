"""The launcher contract: ready line, 127.0.0.1 only, clean SIGTERM/SIGINT, world errors, accounts."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import BACKUP, MANAGEMENT, ORG_ID, RUN_PY, SOURCE, WORLDS, RunningEmulator


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the LISTEN sockets on ``port``, read from /proc/net/tcp{,6}."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


@pytest.mark.emulator_only(reason="launcher: the emulator's listening socket")
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_binds_only_127_0_0_1(running_emulator):
    assert running_emulator.url.startswith("http://127.0.0.1:")
    # 0100007F is 127.0.0.1 in /proc's little-endian hex; no 0.0.0.0 or IPv6 listener.
    assert _listening_addresses(running_emulator.port) == ["0100007F"]


@pytest.mark.emulator_only(reason="launcher: starts and signals emulator processes")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(signum):
    running = RunningEmulator.start()
    assert running.url.startswith("http://127.0.0.1:")
    os.kill(running.process.pid, signum)
    assert running.process.wait(timeout=10) == 0
    assert running.process.stdout.read() == ""  # exactly one line was printed
    running.stop()


@pytest.mark.emulator_only(reason="launcher: starts an emulator with an invalid world")
def test_invalid_world_exits_with_an_error(tmp_path):
    world = tmp_path / "bad.yaml"
    world.write_text("organization:\n  id: not-an-org-id\n")
    result = subprocess.run(
        [sys.executable, str(RUN_PY), "--port", "0", "--world", str(world)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "organization.id" in result.stderr


def test_plain_credentials_act_as_management_account(emu):
    assert emu.client("sts").get_caller_identity()["Account"] == MANAGEMENT
    org = emu.client("organizations").describe_organization()["Organization"]
    assert (org["Id"], org["MasterAccountId"]) == (ORG_ID, MANAGEMENT)


@pytest.mark.emulator_only(reason="world: the seed world's account names")
def test_assumed_credentials_act_as_the_target_account(emu):
    assert emu.client("sts", SOURCE).get_caller_identity()["Account"] == SOURCE
    assert emu.client("organizations", BACKUP).describe_organization()["Organization"]["Id"] == ORG_ID
    accounts = emu.client("organizations").list_accounts()["Accounts"]
    assert {a["Id"]: a["Name"] for a in accounts} == {MANAGEMENT: "management", SOURCE: "source", BACKUP: "backup"}


@pytest.mark.emulator_only(reason="world: the seed world's organizational units")
def test_seed_world_org_paths(emu):
    organizations = emu.client("organizations")
    (root,) = organizations.list_roots()["Roots"]
    (ou,) = organizations.list_organizational_units_for_parent(ParentId=root["Id"])["OrganizationalUnits"]
    children = organizations.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"]
    assert sorted(a["Id"] for a in children) == [SOURCE, BACKUP]


@pytest.mark.emulator_only(reason="admin API: health, world, reset and errors")
def test_admin_api_world_and_errors(emu):
    assert emu.admin("GET", "health") == {"status": "ok"}
    current = emu.admin("GET", "world")
    assert current["default_account"] == MANAGEMENT
    assert current["world"]["organization"]["id"] == ORG_ID
    assert emu.admin("GET", "nothing-here")["status"] == 404
    assert emu.admin("DELETE", "health")["status"] == 405
    bad = emu.admin("POST", "world", raw="accounts:\n  - id: 12345\n")
    assert bad["status"] == 400 and "12 digits" in bad["error"]
    assert emu.admin("GET", "world")["world"] is None  # an invalid world leaves the state reset
    assert emu.admin("POST", "reset") == {"reset": True}
    emu.load_world(name="seed.yaml")


@pytest.mark.emulator_only(reason="world: loads every world file")
def test_seed_worlds_load(emu):
    for world in sorted(WORLDS.glob("*.yaml")):
        emu.load_world(name=world.name)
        (instance,) = emu.client("rds", SOURCE).describe_db_instances()["DBInstances"]
        assert instance["DBInstanceIdentifier"] == "orders" and instance["StorageEncrypted"] is True
