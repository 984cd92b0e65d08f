"""Fleet benchmark (printed, never asserted): the AWS calls an in-sync read of a generated fleet
makes, and how well the reads hide latency.

    emulator/.venv/bin/python scripts/bench_fleet.py [--sources 100] [--coffer PATH]

For a fleet of N source accounts in two Regions (``tests/e2e/fleet.py``) it starts the emulator
on a free port, applies the fleet, then prints for `coffer plan`, `coffer drift` and
`coffer check --live`: the calls of the run, the calls per source account and Region (all
calls, the central accounts' included, divided by N x 2), and how many requests were repeated
(the emulator's ``request_key``). Then the latency-hiding ratio: the time a plan of N sources
and of 1 source gains when the emulator adds 50 ms to every call (the median of the
differences of 16 pairs of plans, one without and one with, the pair's first plan taking turns),
and their quotient (1 would be perfect hiding; N x 2 none at all). `just bench` runs it with the
release binary.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "emulator" / "tests"), str(REPO / "tests" / "e2e")]

import fleet  # noqa: E402
from coffer_e2e import Coffer  # noqa: E402
from support import Emulator, RunningEmulator  # noqa: E402

COMMANDS = {"plan": ("plan", "--detailed-exitcode"), "drift": ("drift",), "check --live": ("check", "--live")}
LATENCY_MS = 50
# Pairs of plans timed, one without latency and one with.
ROUNDS = 16


def default_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "coffer"


def applied_fleet(emu: Emulator, coffer: Coffer, sources: int, directory: Path) -> Path:
    """The fleet of ``sources`` loaded in the emulator and applied; its topology file."""
    emu.load_world(text=fleet.world(sources))
    topology = directory / f"fleet-{sources}.yaml"
    topology.write_text(fleet.topology(sources))
    started = time.monotonic()
    result = coffer.run("apply", "--auto-approve", topology=topology, timeout=3600)
    if result.code != 0:
        sys.exit(f"apply of {sources} sources failed: {result}")
    print(f"applied {sources} sources x {len(fleet.REGIONS)} Regions in {time.monotonic() - started:.1f} s")
    return topology


def calls(emu: Emulator, coffer: Coffer, topology: Path, sources: int) -> None:
    print(f"\n## AWS calls, {sources} sources x {len(fleet.REGIONS)} Regions")
    print("| command | calls | per source account-Region | repeated requests |")
    print("|---|---:|---:|---:|")
    for name, args in COMMANDS.items():
        emu.admin("DELETE", "requests")
        result = coffer.run(*args, topology=topology, timeout=3600)
        if result.code != 0:
            sys.exit(f"`coffer {name}` on the applied fleet: {result}")
        entries = emu.admin("GET", "requests")["requests"]
        repeated = sum(n - 1 for n in Counter(e["request_key"] for e in entries).values() if n > 1)
        per = len(entries) / (sources * len(fleet.REGIONS))
        print(f"| `coffer {name}` | {len(entries)} | {per:.2f} | {repeated} |")


PLAN_ARGS: list[str] = []  # extra arguments of the timed plans (--concurrency)


def timed_plan(emu: Emulator, coffer: Coffer, topology: Path, latency_ms: int) -> float:
    """One plan's wall-clock time, with ``latency_ms`` added to every call."""
    emu.admin("PUT", "faults", {"latency_ms": {"*": latency_ms} if latency_ms else {}})
    started = time.monotonic()
    result = coffer.run("plan", "--detailed-exitcode", *PLAN_ARGS, topology=topology, timeout=3600)
    if result.code != 0:
        sys.exit(f"plan: {result}")
    return time.monotonic() - started


class Cost:
    """ROUNDS pairs of plans, one without the injected latency and one with."""

    def __init__(self, pairs: list[tuple[float, float]]):
        self.plain = statistics.median(plain for plain, _ in pairs)
        self.slow = statistics.median(slow for _, slow in pairs)
        self.differences = [slow - plain for plain, slow in pairs]
        # The median of the differences within a pair: a change in the machine's load touches
        # both plans of a pair alike.
        self.induced = statistics.median(self.differences)


def latency_cost(emu: Emulator, coffer: Coffer, topology: Path) -> Cost:
    """The pairs' first plan takes turns (without latency first, then with), so a machine
    slowing down or speeding up over the rounds does not lean every difference one way."""
    pairs = []
    for turn in range(ROUNDS):
        if turn % 2 == 0:
            plain = timed_plan(emu, coffer, topology, 0)
            slow = timed_plan(emu, coffer, topology, LATENCY_MS)
        else:
            slow = timed_plan(emu, coffer, topology, LATENCY_MS)
            plain = timed_plan(emu, coffer, topology, 0)
        pairs.append((plain, slow))
    emu.admin("PUT", "faults", {"latency_ms": {}})
    return Cost(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100, help="source accounts of the large fleet (default 100)")
    parser.add_argument("--coffer", type=Path, default=default_binary(), help="the coffer binary (default: release)")
    parser.add_argument("--concurrency", type=int, help="the timed plans' --concurrency (default: Coffer's)")
    args = parser.parse_args()
    if args.concurrency is not None:
        PLAN_ARGS.extend(["--concurrency", str(args.concurrency)])
    if not args.coffer.is_file():
        sys.exit(f"no coffer binary at {args.coffer}: build it (cargo build --release -p coffer) or pass --coffer")
    running = RunningEmulator.start()
    try:
        emu = Emulator(running)
        coffer = Coffer(args.coffer, emu.url)
        with tempfile.TemporaryDirectory() as directory:
            small = applied_fleet(emu, coffer, 1, Path(directory))
            small_cost = latency_cost(emu, coffer, small)
            large = applied_fleet(emu, coffer, args.sources, Path(directory))
            calls(emu, coffer, large, args.sources)
            large_cost = latency_cost(emu, coffer, large)
    finally:
        running.stop()
    print(f"\n## Latency ({LATENCY_MS} ms added to every call)")
    print("| sources | plan | plan with latency | latency-induced |")
    print("|---:|---:|---:|---:|")
    for n, cost in ((1, small_cost), (args.sources, large_cost)):
        print(f"| {n} | {cost.plain:.2f} s | {cost.slow:.2f} s | {cost.induced:.2f} s |")
    for n, cost in ((1, small_cost), (args.sources, large_cost)):
        differences = ", ".join(f"{d:.2f}" for d in cost.differences)
        print(f"\n{n} sources, each pair's latency-induced time (s): {differences}")
    ratio = large_cost.induced / max(small_cost.induced, 1e-9)
    print(f"\nlatency-induced time, {args.sources} sources / 1 source: {ratio:.1f}x")


if __name__ == "__main__":
    main()
