"""moto's own test suites in server mode, against the emulator (or plain moto server).

Called by ``run.sh`` (which creates the virtualenvs first); see ``emulator/README.md``:

    suite.py [--against emulator|moto] [--timeout SECONDS] [SERVICE ...] [-- PYTEST_ARGS ...]

1. Reads moto's pin from ``emulator/requirements.txt`` and, once, fetches that version's source
   distribution with pip into ``emulator/.moto-suite/`` (git-ignored), unpacking only ``tests/``.
2. Starts the server on a free loopback port: the emulator (``run.py --port 0``, no world, its
   ready line read as ``emulator/tests/support.py`` does) or ``moto_server``.
3. Runs ``pytest tests/test_<service>`` per service with ``TEST_SERVER_MODE=true`` and
   ``TEST_SERVER_MODE_ENDPOINT=http://127.0.0.1:PORT`` (moto's ``moto/settings.py``), the tests
   listed in ``moto-server-failures.txt`` (and, against the emulator, ``stricter.txt``) deselected,
   and prints each service's wall time and every failed test.
4. Stops the server by PID; exits 1 when any test failed (or a list names a test that no
   longer exists), else 0.
"""

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMULATOR_DIR = HERE.parent
REQUIREMENTS = EMULATOR_DIR / "requirements.txt"
CACHE = EMULATOR_DIR / ".moto-suite"
EMULATOR_PYTHON = EMULATOR_DIR / ".venv" / "bin" / "python"
SUITE_VENV = EMULATOR_DIR / ".venv-moto-suite"
STRICTER = HERE / "stricter.txt"
MOTO_SERVER_FAILURES = HERE / "moto-server-failures.txt"
HOST = "127.0.0.1"
READY_PREFIX = "coffer-emulator listening on "
SERVICES = ("backup", "kms", "sts", "organizations", "rds", "iam", "s3", "core")
# A hang guard per test (pytest-timeout), far above what any test of these suites needs.
DEFAULT_TIMEOUT_SECONDS = 600
_PIN = re.compile(r"^moto(\[[^\]]*\])?==(?P<version>\S+)", re.MULTILINE)


@dataclass
class Outcome:
    """One service's pytest run."""

    service: str
    exit_code: int
    seconds: float
    failed: list[str] = field(default_factory=list)
    passed: int = 0
    skipped: int = 0


# ------------------------------------------------------------------ moto's tests


def moto_version() -> str:
    """The moto version ``emulator/requirements.txt`` pins (``moto[server]==X``)."""
    match = _PIN.search(REQUIREMENTS.read_text())
    if match is None:
        raise SystemExit(f"suite.py: no moto pin in {REQUIREMENTS}")
    return match["version"]


def moto_tests(version: str) -> Path:
    """The directory holding moto ``version``'s ``tests/``; fetched with pip on first use."""
    root = CACHE / f"moto-{version}"
    if (root / "tests" / "__init__.py").is_file():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    dist = CACHE / "dist"
    print(f"suite.py: fetching moto {version}'s source distribution (tests only)", file=sys.stderr)
    subprocess.run(
        [str(SUITE_VENV / "bin" / "python"), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-binary", ":all:", "--no-deps", f"moto=={version}", "-d", str(dist)],
        check=True,
    )
    archive = dist / f"moto-{version}.tar.gz"
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch, tarfile.open(archive) as tar:
        prefix = f"moto-{version}/tests/"
        members = [member for member in tar.getmembers() if member.name.startswith(prefix)]
        tar.extractall(scratch, members=members, filter="data")
        shutil.rmtree(root, ignore_errors=True)
        (Path(scratch) / f"moto-{version}").rename(root)
    return root


def listed(path: Path) -> list[str]:
    """Test node ids of a list file: one per line, ``#`` starts a comment."""
    if not path.is_file():
        return []
    ids = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [node for node in ids if node]


def missing_listed(root: Path, ids: list[str]) -> list[str]:
    """Listed node ids whose test function is no longer in its file (a moto upgrade moved,
    renamed or removed it): deselecting them would silently deselect nothing."""
    missing = []
    for node in ids:
        path, *names = node.split("::")
        function = names[-1].split("[", 1)[0] if names else ""
        source = root / path
        if not source.is_file() or not re.search(rf"def {re.escape(function)}\b", source.read_text()):
            missing.append(node)
    return missing


# ------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator_server(log: Path) -> Iterator[str]:
    """The emulator on a free loopback port with no world; yields its URL."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(EMULATOR_PYTHON), str(EMULATOR_DIR / "run.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            lines: queue.Queue[str] = queue.Queue()
            assert process.stdout is not None
            threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                raise SystemExit(f"suite.py: the emulator printed no ready line (see {log})") from None
            if not line.startswith(READY_PREFIX):
                raise SystemExit(f"suite.py: unexpected first line from the emulator: {line!r} (see {log})")
            yield line[len(READY_PREFIX) :].strip()
        finally:
            stop(process)


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Plain ``moto_server`` (same virtualenv, same moto) on a free loopback port; yields its URL."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(SUITE_VENV / "bin" / "moto_server"), "-H", HOST, "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(url, process, log)
            yield url
        finally:
            stop(process)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"suite.py: moto_server exited with {process.returncode} (see {log})")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"suite.py: moto_server did not answer on {url} (see {log})")


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by PID, SIGKILL it if it does not exit."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


# ------------------------------------------------------------------ pytest


def suite_environment(url: str) -> dict[str, str]:
    """The environment of moto's tests: server mode against ``url``, nothing else of AWS's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MOTO_", "TEST_"))}
    env.update(
        TEST_SERVER_MODE="true",
        TEST_SERVER_MODE_ENDPOINT=url,
        TESTS_SKIP_REQUIRES_DOCKER="true",
        AWS_ACCESS_KEY_ID="FOOBARKEY",
        AWS_SECRET_ACCESS_KEY="FOOBARSECRET",
        NO_PROXY=f"{HOST},localhost",
        no_proxy=f"{HOST},localhost",
        PYTHONPATH=str(HERE),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_service(root: Path, service: str, url: str, deselect: list[str], timeout: int, extra: list[str]) -> Outcome:
    """``pytest tests/test_<service>`` in server mode; the outcomes are collected by the
    ``outcomes`` plugin (``outcomes.py`` beside this file)."""
    outcomes = CACHE / f"outcomes-{service}.txt"
    outcomes.unlink(missing_ok=True)
    own = [node for node in deselect if node.startswith(f"tests/test_{service}/")]
    command = [
        str(SUITE_VENV / "bin" / "python"), "-m", "pytest", f"tests/test_{service}",
        "-c", str(HERE / "pytest.ini"), "--rootdir", str(root),
        "-p", "outcomes", "-p", "no:cacheprovider",
        "-q", "-m", "not network", f"--timeout={timeout}",
        *(f"--deselect={node}" for node in own),
        *extra,
    ]  # fmt: skip
    env = suite_environment(url)
    env["MOTO_SUITE_OUTCOMES"] = str(outcomes)
    started = time.monotonic()
    result = subprocess.run(command, cwd=root, env=env, check=False)
    seconds = time.monotonic() - started
    return tally(service, result.returncode, seconds, outcomes)


def tally(service: str, exit_code: int, seconds: float, outcomes: Path) -> Outcome:
    """Each test's outcome from the plugin's lines: failed in any phase wins, then skipped."""
    per_test: dict[str, str] = {}
    lines = outcomes.read_text().splitlines() if outcomes.is_file() else []
    for line in lines:
        outcome, node = line.split(" ", 1)
        if per_test.get(node) != "failed" and not (outcome == "passed" and node in per_test):
            per_test[node] = outcome
    failed = [node for node, outcome in per_test.items() if outcome == "failed"]
    passed = sum(outcome == "passed" for outcome in per_test.values())
    skipped = sum(outcome == "skipped" for outcome in per_test.values())
    return Outcome(service, exit_code, seconds, failed, passed, skipped)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(prog="run.sh", description="moto's own test suites in server mode")
    parser.add_argument("--against", choices=("emulator", "moto"), default="emulator", help="the server to test")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_SECONDS, help="hang guard per test (s)")
    parser.add_argument("services", nargs="*", metavar="SERVICE", help=f"default: {' '.join(SERVICES)}")
    args = parser.parse_args(argv)
    unknown = [service for service in args.services if service not in SERVICES]
    if unknown:
        parser.error(f"unknown services {unknown}; known: {' '.join(SERVICES)}")
    return args, extra


def main(argv: list[str]) -> int:
    args, extra = parse_args(argv)
    services = args.services or list(SERVICES)
    root = moto_tests(moto_version())
    deselect = listed(MOTO_SERVER_FAILURES) + (listed(STRICTER) if args.against == "emulator" else [])
    stale = missing_listed(root, deselect)
    server = emulator_server if args.against == "emulator" else moto_server
    outcomes: list[Outcome] = []
    with server(CACHE / f"{args.against}-server.log") as url:
        print(f"suite.py: moto's tests against the {args.against} at {url}", file=sys.stderr, flush=True)
        for service in services:
            outcomes.append(run_service(root, service, url, deselect, args.timeout, extra))
    return report(args.against, outcomes, stale)


def report(against: str, outcomes: list[Outcome], stale: list[str]) -> int:
    """Print per-service wall times and failed node ids; the exit status of the run."""
    print(f"\nmoto-suite against the {against}:")
    for outcome in outcomes:
        status = "ok" if outcome.exit_code == 0 else f"FAILED (pytest exit {outcome.exit_code})"
        counts = f"{outcome.passed} passed, {len(outcome.failed)} failed, {outcome.skipped} skipped"
        print(f"  {outcome.service:<14} {outcome.seconds:7.1f}s  {counts}  {status}")
    print(f"  {'total':<14} {sum(o.seconds for o in outcomes):7.1f}s")
    failed = [node for outcome in outcomes for node in outcome.failed]
    if failed:
        print(f"\nFailed tests ({len(failed)}); fix the emulator, or list them with the rule that makes them fail:")
        for node in failed:
            print(f"  {node}")
    if stale:
        print("\nListed tests whose file no longer exists (remove them from the lists):")
        for node in stale:
            print(f"  {node}")
    passed = sum(o.passed for o in outcomes)
    skipped = sum(o.skipped for o in outcomes)
    print(f"\nmoto-suite: {passed} passed, {len(failed)} failed, {skipped} skipped")
    return 0 if all(o.exit_code == 0 for o in outcomes) and not stale else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
