"""The source reads in pieces a reader can hold: no source file over 600 lines and no function
over 120 lines, in the Rust crates, the emulator and the Python tests (docs/architecture.md,
"Module map"). Generated files and test tables are the exceptions, each listed with its reason.
"""

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 120

# Files allowed to be longer, each with why (a generated file or a table of test cases).
LONG_FILES: dict[str, str] = {}

RUST_FN = re.compile(r"^(\s*)(?:pub(?:\([\w:]+\))? )?(?:const )?(?:async )?(?:unsafe )?fn (\w+)")


def _tracked(*suffixes: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    paths = [REPO / name for name in listed.split("\0") if name.endswith(suffixes)]
    return [path for path in paths if path.is_file()]


def rust_functions(text: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every `fn` with a body, as rustfmt lays them out: the body
    ends at the first later line that is `}` at the `fn`'s indentation."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = RUST_FN.match(line)
        if not match:
            continue
        indent, name = match.groups()
        if line.rstrip().endswith("}"):
            found.append((name, number + 1, 1))
            continue
        for end in range(number + 1, len(lines)):
            stripped = lines[end].rstrip()
            if stripped.startswith(indent) and stripped[len(indent) :] in ("}", "};"):
                found.append((name, number + 1, end - number + 1))
                break
            if "{" not in "".join(lines[number : end + 1]) and stripped.endswith(";"):
                break  # a declaration without a body (a trait's method)
    return found


def python_functions(text: str) -> list[tuple[str, int, int]]:
    return [
        (node.name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def _sources() -> list[Path]:
    return [
        path
        for path in _tracked(".rs", ".py")
        if not any(part.startswith(".") for part in path.relative_to(REPO).parts)
    ]


def test_no_source_file_is_over_600_lines():
    long = []
    for path in _sources():
        name = str(path.relative_to(REPO))
        count = len(path.read_text().splitlines())
        if count > MAX_FILE_LINES and name not in LONG_FILES:
            long.append(f"{name}: {count} lines")
    assert not long, "split these files by concern (at most 600 lines each):\n" + "\n".join(long)


def test_no_function_is_over_120_lines():
    long = []
    for path in _sources():
        name = str(path.relative_to(REPO))
        if name in LONG_FILES:
            continue
        text = path.read_text()
        functions = rust_functions(text) if path.suffix == ".rs" else python_functions(text)
        long += [f"{name}:{line} {fn}: {length} lines" for fn, line, length in functions if length > MAX_FUNCTION_LINES]
    assert not long, "split these functions (at most 120 lines each):\n" + "\n".join(long)


def test_the_rust_measure_finds_a_long_function_and_ignores_declarations():
    body = "\n".join(f"    let x{i} = {i};" for i in range(130))
    text = f"pub trait T {{\n    fn declared(&self);\n}}\n\npub fn long() {{\n{body}\n}}\n\nfn short() {{}}\n"
    found = {name: length for name, _, length in rust_functions(text)}
    assert found.get("long") == 132
    assert "declared" not in found


def test_every_command_is_thin():
    """A command parses its arguments, calls one library function and renders: under 100 lines."""
    commands = sorted((REPO / "crates" / "cli" / "src" / "commands").glob("*.rs"))
    assert commands, "crates/cli/src/commands/ has no command files"
    long = [f"{path.name}: {n} lines" for path in commands if (n := len(path.read_text().splitlines())) >= 100]
    assert not long, "move the logic of these commands into a library crate:\n" + "\n".join(long)
