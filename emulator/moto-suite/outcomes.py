"""pytest plugin of ``suite.py`` (``-p outcomes``): appends ``<outcome> <node id>`` for every test
report to the file ``MOTO_SUITE_OUTCOMES`` names: ``failed`` (any phase), ``passed`` (the call) or
``skipped`` (xfail included). ``suite.py`` adds them up and lists the failed tests."""

import os

import pytest


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record the outcome of one phase of a test, when it says something."""
    target = os.environ.get("MOTO_SUITE_OUTCOMES")
    if not target:
        return
    if report.failed:
        outcome = "failed"
    elif report.skipped:
        outcome = "skipped"
    elif report.when == "call":
        outcome = "passed"
    else:
        return
    with open(target, "a", encoding="utf-8") as out:
        out.write(f"{outcome} {report.nodeid}\n")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that cannot be collected counts as a failed test (its node id is the module's)."""
    target = os.environ.get("MOTO_SUITE_OUTCOMES")
    if target and report.failed:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"failed {report.nodeid}\n")
