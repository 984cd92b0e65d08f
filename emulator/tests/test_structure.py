"""The shape of the emulator's package, ``coffer_emulator``: its modules import each other without
a cycle (every ``import`` and ``from`` statement counts, relative ones and those under
``TYPE_CHECKING`` or inside functions included), no module is over 600 lines and no function over
120. Read with ``ast``: nothing is imported, so no emulator runs."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "coffer_emulator"
PACKAGE = PACKAGE_DIR.name
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 120

pytestmark = pytest.mark.emulator_only(reason="the emulator's source layout: reads its files, no AWS call")


def module_files(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name (a package by its own name)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The package's modules that ``name`` (at ``path``) imports: ``from X import Y`` names
    module ``X.Y`` when that is a module, else ``X``; imports from outside the package are left out."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target in known)


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    modules = module_files(root)
    known = set(modules)
    return {name: set(imported_modules(name, path, known)) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        trail: list[str] = [start]
        branches = [iter(sorted(graph[start]))]
        while branches:
            following = next(branches[-1], None)
            if following is None:
                done.add(trail.pop())
                branches.pop()
            elif following in trail:
                return trail[trail.index(following) :] + [following]
            elif following not in done:
                trail.append(following)
                branches.append(iter(sorted(graph[following])))
    return None


def oversized(root: Path = PACKAGE_DIR) -> list[str]:
    """Modules over the line limit and functions over theirs, as ``path[:line]: what``."""
    found: list[str] = []
    for path in module_files(root).values():
        text = path.read_text()
        where = path.relative_to(root.parent)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines (limit {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{where}:{node.lineno}: {node.name} is {length} lines (limit {MAX_FUNCTION_LINES})")
    return found


def test_the_package_imports_without_a_cycle():
    graph = import_graph()
    assert len(graph) > 20 and graph[f"{PACKAGE}.middleware"], "the import graph was not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_or_function_is_oversized():
    assert oversized() == []


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / PACKAGE
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


CYCLES = {
    "relative": {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from .a import thing\n"},
    "type-checking-only": {
        "__init__.py": "",
        "a.py": "from .sub.c import C\n",
        "sub/__init__.py": "",
        "sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import A\n",
    },
    "absolute-in-a-function": {
        "__init__.py": "",
        "a.py": "import coffer_emulator.b\n",
        "b.py": "def late():\n    from coffer_emulator import a\n",
    },
}


@pytest.mark.parametrize("files", CYCLES.values(), ids=CYCLES.keys())
def test_the_cycle_check_finds_a_cycle(tmp_path: Path, files: dict[str, str]):
    cycle = find_cycle(import_graph(write_package(tmp_path, files)))
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) >= 3


def test_the_cycle_check_accepts_layers_and_outside_imports(tmp_path: Path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "import json\nfrom . import b\nfrom .sub import c\n",
            "b.py": "from moto.core import BaseBackend\nfrom .sub.c import C\n",
            "sub/__init__.py": "",
            "sub/c.py": "from .. import clock\n",
            "clock.py": "import threading\n",
        },
    )
    graph = import_graph(package)
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.b", f"{PACKAGE}.sub.c"}
    assert find_cycle(graph) is None


def test_the_size_check_finds_long_modules_and_functions(tmp_path: Path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    package = write_package(
        tmp_path,
        {"__init__.py": "", "long.py": "x = 0\n" * (MAX_MODULE_LINES + 1), "deep.py": f"def f():\n{body}"},
    )
    found = oversized(package)
    assert len(found) == 2
    assert any("long.py: 601 lines" in line for line in found)
    assert any("deep.py:1: f is 121 lines" in line for line in found)
