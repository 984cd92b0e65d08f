"""docs/emulator-fidelity.md names a test for every rule: each row of its rule table names exactly
one test, and that test exists (the file defines the function). Every emulator test module that
tests AWS rules is cited at least once."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "emulator-fidelity.md"
NODE = re.compile(r"`((?:emulator/tests|tests/e2e)/[\w/]+\.py)::(test_\w+)(\[[^`]*\])?`")
# Modules that test the emulator's own machinery or code rather than an AWS rule.
NOT_RULES = {
    "test_launcher.py",
    "test_smoke.py",
    "test_conformance_mode.py",
    "test_structure.py",
    "test_lost_responses.py",
    "test_dispatch.py",
}


def _rule_rows() -> list[str]:
    text = DOC.read_text()
    assert "## The rules" in text, "docs/emulator-fidelity.md lost its `## The rules` section"
    rules = text.split("## The rules", 1)[1].split("\n## ", 1)[0]
    return [line for line in rules.splitlines() if line.startswith("| ") and not line.startswith("| rule ")]


def test_every_rule_row_names_one_existing_test():
    rows = _rule_rows()
    assert len(rows) >= 100, f"only {len(rows)} rule rows"
    problems = []
    for row in rows:
        last = row.rstrip().rstrip("|").rsplit(" | ", 1)[-1]
        nodes = NODE.findall(last)
        if len(nodes) != 1:
            problems.append(f"names {len(nodes)} tests: {row[:120]}")
            continue
        path, function, _ = nodes[0]
        source = REPO / path
        if not source.is_file():
            problems.append(f"{path} does not exist: {row[:120]}")
        elif not re.search(rf"^def {function}\(", source.read_text(), re.M):
            problems.append(f"{path} defines no {function}: {row[:120]}")
    assert problems == [], "\n".join(problems)


def test_every_rule_test_module_is_cited():
    cited = {Path(path).name for path, _, _ in NODE.findall(DOC.read_text())}
    modules = {p.name for p in (REPO / "emulator" / "tests").glob("test_*.py")} - NOT_RULES
    assert sorted(modules - cited) == []
