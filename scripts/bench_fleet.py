"""Fleet benchmark (printed, never asserted): the AWS calls an in-sync read of a generated fleet
makes, and how well the reads hide latency.

    emulator/.venv/bin/python scripts/bench_fleet.py [--sources 100] [--coffer PATH]

For a fleet of N source accounts in two Regions (``tests/e2e/fleet.py``) it starts the emulator
on a free port, applies the fleet, then prints for `coffer plan`, `coffer drift` and
`coffer check --live`: the calls of the run, the calls per source account and Region (all
calls, the central accounts' included, divided by N x 2), and how many requests were repeated
(the emulator's ``request_key``). Then the latency-hiding ratio: the time a plan of N sources
and of 1 source gains when the emulator adds 50 ms to every call (the median of the
differences of 5 pairs of plans, one without and one with), and their quotient (1 would be perfect hiding; N x 2 none at all). `just bench` runs it with the release binary.
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


def timed_plan(coffer: Coffer, topology: Path) -> float:
    started = time.monotonic()
    result = coffer.run("plan", "--detailed-exitcode", *PLAN_ARGS, topology=topology, timeout=3600)
    if result.code != 0:
        sys.exit(f"plan: {result}")
    return time.monotonic() - started


def latency_cost(emu: Emulator, coffer: Coffer, topology: Path) -> tuple[float, float, float]:
    """A plan's time without and with the injected latency (medians of ROUNDS plans each), and
    the latency-induced time: the median of the differences within each pair of plans, taken
    one after the other, so a change in the machine's load touches both of a pair alike. (The
    emulator's own CPU varies by more than the latency a large fleet's plan adds; one pair is
    noise.)"""
    plain: list[float] = []
    slow: list[float] = []
    for _ in range(ROUNDS):
        emu.admin("PUT", "faults", {"latency_ms": {}})
        plain.append(timed_plan(coffer, topology))
        emu.admin("PUT", "faults", {"latency_ms": {"*": LATENCY_MS}})
        slow.append(timed_plan(coffer, topology))
    emu.admin("PUT", "faults", {"latency_ms": {}})
    differences = [s - p for p, s in zip(plain, slow)]
    print(f"latency-induced time of each pair: {', '.join(f'{d:.2f} s' for d in differences)}")
    induced = statistics.median(differences)
    return statistics.median(plain), statistics.median(slow), induced


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
            small_plain, small_slow, small_induced = latency_cost(emu, coffer, small)
            large = applied_fleet(emu, coffer, args.sources, Path(directory))
            calls(emu, coffer, large, args.sources)
            large_plain, large_slow, large_induced = latency_cost(emu, coffer, large)
    finally:
        running.stop()
    print(f"\n## Latency ({LATENCY_MS} ms added to every call)")
    print("| sources | plan | plan with latency | latency-induced |")
    print("|---:|---:|---:|---:|")
    for n, plain, slow, induced in (
        (1, small_plain, small_slow, small_induced),
        (args.sources, large_plain, large_slow, large_induced),
    ):
        print(f"| {n} | {plain:.2f} s | {slow:.2f} s | {induced:.2f} s |")
    ratio = large_induced / max(small_induced, 1e-9)
    print(f"\nlatency-induced time, {args.sources} sources / 1 source: {ratio:.1f}x")


if __name__ == "__main__":
    main()
