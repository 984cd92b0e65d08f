"""Fleet benchmark (printed, never asserted): the AWS calls an in-sync read of a generated fleet
makes, and how well the reads hide latency.

    emulator/.venv/bin/python scripts/bench_fleet.py [--sources 100] [--coffer PATH]

For a fleet of N source accounts in two Regions (``tests/e2e/fleet.py``) it starts the emulator
on a free port, applies the fleet, then prints for `coffer plan`, `coffer drift` and
`coffer check --live`: the calls of the run, the calls per source account and Region (all
calls, the central accounts' included, divided by N x 2), and how many requests were repeated
(the emulator's ``request_key``). Then the latency-hiding ratio: the time a plan of N sources
and of 1 source gains when the emulator adds 50 ms to every call (the median of the
differences of 5 pairs of plans, one without and one with), and their quotient (1 would be
perfect hiding; N x 2 none at all). Both are printed twice: by the wall clock, and counting only
the time the emulator was not computing (its CPU per call varies with the machine's load by more
than the latency adds to a large fleet's plan). `just bench` runs it with the release binary.
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
# Plans timed with and without latency, each.
ROUNDS = 5


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


def cpu_seconds(pid: int) -> float:
    """The CPU (user + system, all threads) process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_plan(coffer: Coffer, topology: Path, emulator_pid: int) -> tuple[float, float]:
    """One plan's wall-clock time, and the part of it the emulator was not computing."""
    cpu = cpu_seconds(emulator_pid)
    started = time.monotonic()
    result = coffer.run("plan", "--detailed-exitcode", *PLAN_ARGS, topology=topology, timeout=3600)
    if result.code != 0:
        sys.exit(f"plan: {result}")
    wall = time.monotonic() - started
    return wall, wall - (cpu_seconds(emulator_pid) - cpu)


class Cost:
    """ROUNDS pairs of plans, one without the injected latency and one with, taken in turn."""

    def __init__(self, pairs: list[tuple[tuple[float, float], tuple[float, float]]]):
        self.plain = statistics.median(p[0] for p, _ in pairs)
        self.slow = statistics.median(s[0] for _, s in pairs)
        self.walls = [s[0] - p[0] for p, s in pairs]
        self.waits = [s[1] - p[1] for p, s in pairs]
        # The median of the differences within a pair: a change in the machine's load touches
        # both plans of a pair alike.
        self.induced = statistics.median(self.walls)
        # The same, counting only the time the emulator was not computing: its CPU per call
        # varies with the machine's load by more than the latency adds to a large fleet's plan,
        # and the added latency is a sleep, which takes none.
        self.induced_waiting = statistics.median(self.waits)


def latency_cost(emu: Emulator, coffer: Coffer, topology: Path, emulator_pid: int) -> Cost:
    pairs = []
    for _ in range(ROUNDS):
        emu.admin("PUT", "faults", {"latency_ms": {}})
        plain = timed_plan(coffer, topology, emulator_pid)
        emu.admin("PUT", "faults", {"latency_ms": {"*": LATENCY_MS}})
        pairs.append((plain, timed_plan(coffer, topology, emulator_pid)))
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
            small_cost = latency_cost(emu, coffer, small, running.process.pid)
            large = applied_fleet(emu, coffer, args.sources, Path(directory))
            calls(emu, coffer, large, args.sources)
            large_cost = latency_cost(emu, coffer, large, running.process.pid)
    finally:
        running.stop()
    print(f"\n## Latency ({LATENCY_MS} ms added to every call)")
    print("| sources | plan | plan with latency | latency-induced | outside the emulator's CPU |")
    print("|---:|---:|---:|---:|---:|")
    for n, cost in ((1, small_cost), (args.sources, large_cost)):
        print(f"| {n} | {cost.plain:.2f} s | {cost.slow:.2f} s | {cost.induced:.2f} s | {cost.induced_waiting:.2f} s |")
    for n, cost in ((1, small_cost), (args.sources, large_cost)):
        walls = ", ".join(f"{d:.2f}" for d in cost.walls)
        waits = ", ".join(f"{d:.2f}" for d in cost.waits)
        print(f"\n{n} sources, each pair's latency-induced time (s): {walls}; outside the emulator's CPU: {waits}")
    ratio = large_cost.induced / max(small_cost.induced, 1e-9)
    waiting = large_cost.induced_waiting / max(small_cost.induced_waiting, 1e-9)
    print(f"\nlatency-induced time, {args.sources} sources / 1 source: {ratio:.1f}x")
    print(f"latency-induced time outside the emulator's CPU, {args.sources} sources / 1 source: {waiting:.1f}x")


if __name__ == "__main__":
    main()
