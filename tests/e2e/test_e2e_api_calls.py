"""How many AWS calls a read makes, from the emulator's request log: after an apply of the seed
topology, `coffer plan`, `coffer drift` and `coffer check --live` each assume every account's
role once and never send the same request twice; on a generated fleet (``fleet.py``: sources
with a key, a vault with a policy and a plan with a selection in each of two Regions) they stay
within the calls the fleet's shape allows (``fleet.expected_calls``), which is under 11 per
source account and Region. The calls per account and Region are printed (run with ``-s``). The
regions are read while the organization's membership is listed, not after it.

An AssumeRole is logged under the account that calls it (the base credentials'), so the
AssumeRoles of different accounts are told apart by their request key (the body names the
role).

Every account's clients send their calls through one HTTP client: a read reuses its connections
for every account, service and Region (the emulator logs the connection each call came over).
"""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import fleet
from coffer_e2e import ACCOUNTS, TOPOLOGY, Coffer, topology_variant
from support import WORLDS, Emulator

# More accounts than the SDK's identity cache has partitions (64), were all accounts to share
# one cache: its evictions would assume the same roles again.
FLEET = [f"2000000000{n:02d}" for n in range(70)]

# Each command's arguments and the exit code it gives on the applied seed topology.
COMMANDS = {
    "plan": (("plan", "--detailed-exitcode"), 0),
    "drift": (("drift",), 0),
    "check --live": (("check", "--live"), 0),
}


def _calls_of(emu: Emulator, coffer: Coffer, command: str, topology: Path) -> list[dict[str, Any]]:
    """The requests the emulator logged while `coffer <command>` ran."""
    args, code = COMMANDS[command]
    emu.admin("DELETE", "requests")
    result = coffer.run(*args, topology=topology)
    assert result.code == code, f"`coffer {command}`: {result}"
    entries = emu.admin("GET", "requests")["requests"]
    assert entries and all(e.get("request_key") for e in entries), entries[:3]
    return entries


def _print_calls_per_account_region(command: str, entries: list[dict[str, Any]]) -> None:
    per_place = Counter((e["account"], e["region"]) for e in entries)
    print(f"\n`coffer {command}`: {len(entries)} calls")
    for (account, region), count in sorted(per_place.items()):
        operations = Counter(e["operation"] for e in entries if (e["account"], e["region"]) == (account, region))
        print(f"  {account} {region}: {count}  {dict(sorted(operations.items()))}")


def _fleet(emu: Emulator, directory: Path) -> Path:
    """The seed world and topology with the member accounts of `FLEET` added (no resources)."""
    world = (WORLDS / "seed.yaml").read_text()
    members = "".join(
        f'    - id: "{a}"\n      name: fleet-{a}\n      email: {a}@example.com\n      parent: ou-c0ff-w0rkload\n'
        for a in FLEET
    )
    roles = "".join(f'  - id: "{a}"\n    roles: [CofferDeployRole]\n' for a in FLEET)
    assert world.count("\naccounts:\n") == 1, "the seed world's accounts section moved"
    world = world.replace("\naccounts:\n", f"{members}\naccounts:\n{roles}")
    emu.load_world(text=world)
    accounts = "".join(f'  fleet-{a}:\n    id: "{a}"\n' for a in FLEET)
    return topology_variant(directory, "fleet", ("\nkeys:\n", f"{accounts}\nkeys:\n"))


@pytest.mark.parametrize("fleet", [False, True], ids=["seed", "fleet"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_assumes_each_role_once_and_repeats_no_call(emu, coffer, tmp_path, command, fleet):
    topology = _fleet(emu, tmp_path) if fleet else TOPOLOGY
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied

    entries = _calls_of(emu, coffer, command, topology)
    _print_calls_per_account_region(command, entries)

    accounts = set(ACCOUNTS) | (set(FLEET) if fleet else set())
    read = {e["account"] for e in entries if e["operation"] != "AssumeRole"}
    assert read <= accounts and set(ACCOUNTS) <= read, read
    # Every account's role is assumed (its membership and landing account come from that and
    # the management account's listing), even where no resource is read.
    per_role = Counter(e["request_key"] for e in entries if e["operation"] == "AssumeRole")
    assert len(per_role) == len(accounts), f"{len(per_role)} roles assumed for {len(accounts)} accounts"
    assert all(n == 1 for n in per_role.values()), f"AssumeRole per role: {sorted(per_role.values())}"

    repeated = {k: n for k, n in Counter(e["request_key"] for e in entries).items() if n > 1}
    details = sorted(
        {
            (e["account"], e["service"], e["operation"], e["method"], e["path"], repeated[e["request_key"]])
            for e in entries
            if e["request_key"] in repeated
        }
    )
    assert not repeated, f"`coffer {command}` sent the same request twice: {details}"


def _repeats(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    repeated = {k: n for k, n in Counter(e["request_key"] for e in entries).items() if n > 1}
    return sorted(
        {(e["account"], e["service"], e["operation"], e["path"], repeated[e["request_key"]]) for e in entries if e["request_key"] in repeated}
    )


SOURCES = 6


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_in_sync_fleet_read_stays_within_its_call_budget(emu, coffer, tmp_path, command):
    emu.load_world(text=fleet.world(SOURCES))
    topology = tmp_path / "fleet.yaml"
    topology.write_text(fleet.topology(SOURCES))
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied

    entries = _calls_of(emu, coffer, command, topology)
    _print_calls_per_account_region(command, entries)
    assert not _repeats(entries), f"`coffer {command}` sent the same request twice: {_repeats(entries)}"
    budget = fleet.expected_calls(SOURCES)
    assert len(entries) <= budget, f"`coffer {command}`: {len(entries)} calls, the fleet allows {budget}"
    expected = Counter(call.split(":")[1] for call in fleet.PER_SOURCE_REGION)
    for i in range(SOURCES):
        for region in fleet.REGIONS:
            made = Counter(
                e["operation"]
                for e in entries
                if e["account"] == fleet.source(i) and e["region"] == region and e["operation"] != "GetRole"
            )
            assert made == expected, (fleet.source(i), region, made)


def test_regions_are_read_while_the_organization_is_listed(emu, coffer, tmp_path):
    """The organization's membership (`DescribeOrganization`, then every page of `ListAccounts`,
    one after another) and the regions need nothing of each other, so a slow listing does not
    hold the regions back: with the listing's answer held 3 s, region reads are answered before
    it. Read one after the other, every region read would come after it."""
    emu.load_world(text=fleet.world(SOURCES))
    topology = tmp_path / "fleet.yaml"
    topology.write_text(fleet.topology(SOURCES))
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied
    emu.admin("PUT", "faults", {"latency_ms": {"organizations:ListAccounts": 3000}})

    entries = _calls_of(emu, coffer, "plan", topology)
    listed = max(e["seq"] for e in entries if e["operation"] == "ListAccounts")
    regions = [e for e in entries if e["service"] in ("tagging", "kms", "backup")]
    assert regions, entries
    answered_before = [e["operation"] for e in regions if e["seq"] < listed]
    assert answered_before, f"every region read waited for the organization's listing: {[e['operation'] for e in entries]}"


def test_every_accounts_calls_share_one_pool_of_connections(emu, coffer, tmp_path):
    """With one call in flight at a time (`--concurrency 1`), a fleet's read needs two connections:
    one for the calls, one for the AssumeRole a call waits on while it holds its turn. A client of
    its own per account, service and Region would open a connection for each."""
    emu.load_world(text=fleet.world(SOURCES))
    topology = tmp_path / "fleet.yaml"
    topology.write_text(fleet.topology(SOURCES))
    applied = coffer.apply(topology=topology)
    assert applied.code == 0, applied

    emu.admin("DELETE", "requests")
    result = coffer.run("plan", "--detailed-exitcode", "--concurrency", "1", topology=topology)
    assert result.code == 0, result
    entries = emu.admin("GET", "requests")["requests"]
    connections = Counter(e["connection"] for e in entries)
    clients = {(e["account"], e["service"], e["region"]) for e in entries}
    assert len(clients) > 2 * len(fleet.REGIONS) * SOURCES, clients
    assert len(connections) <= 2, f"{len(entries)} calls over {len(connections)} connections: {connections}"
