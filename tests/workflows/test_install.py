"""The README's install lines work on a fresh machine.

Run with: emulator/.venv/bin/python -m pytest tests/workflows -q

The test reads the ```sh block under "## Install" in README.md (so it follows the README),
and runs it with bash in an empty temporary HOME, where none of the directories exist yet.
One substitution: the `cargo install ...` line is replaced by copying the coffer binary this
checkout already built (`cargo build -p coffer`, which `just test` runs first) to
`$HOME/.cargo/bin/coffer`, where `cargo install` puts it. Building again would take minutes
and prove nothing more. Then it checks what the other lines promise: the bash completion
file, and a man page for `coffer` and for every page `coffer.1` refers to.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def built_coffer() -> Path:
    """The binary of this checkout: $COFFER_BIN, else $CARGO_TARGET_DIR/debug/coffer, else
    target/debug/coffer."""
    if os.environ.get("COFFER_BIN"):
        return Path(os.environ["COFFER_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    return (Path(target) if target else ROOT / "target") / "debug" / "coffer"


def install_block() -> list[str]:
    """The command lines of the first ```sh block after the "## Install" heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Install\n", 1)
    assert len(section) == 2, "README.md has no '## Install' section"
    match = re.search(r"```sh\n(.*?)```", section[1], re.S)
    assert match, "the Install section has no ```sh block"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


def script_for(lines: list[str]) -> str:
    """The install lines as a script, with `cargo install` replaced by a copy."""
    out = ["set -euo pipefail"]
    replaced = 0
    for line in lines:
        if line.split()[:2] == ["cargo", "install"]:
            # What `cargo install --locked --path crates/cli` leaves behind: the binary in
            # ~/.cargo/bin. Copied from this checkout's build instead of built again.
            out.append('mkdir -p "$HOME/.cargo/bin" && cp "$COFFER_BUILT" "$HOME/.cargo/bin/coffer"')
            replaced += 1
        else:
            out.append(line)
    assert replaced == 1, "expected one `cargo install` line in the Install block"
    return "\n".join(out) + "\n"


def test_the_install_block_installs_from_this_checkout():
    lines = install_block()
    (cargo,) = [line for line in lines if line.split()[:2] == ["cargo", "install"]]
    assert "--locked" in cargo.split() and "--path crates/cli" in cargo
    # Every directory a line writes into is created first: the test HOME below has none.
    assert any(line.startswith("mkdir -p ") for line in lines)


def test_readme_install_lines_work_in_a_fresh_home(tmp_path):
    coffer = built_coffer()
    if not coffer.is_file():
        pytest.fail(f"{coffer} is missing: build it first (`cargo build -p coffer`; `just test` does)")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        # A fresh login: the system's tools and ~/.cargo/bin, where `cargo install` puts coffer.
        "PATH": os.pathsep.join([str(home / ".cargo" / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "COFFER_BUILT": str(coffer),
        "LANG": "C.UTF-8",
    }
    script = tmp_path / "install.sh"
    script.write_text(script_for(install_block()), encoding="utf-8")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", str(script)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    completion = home / ".local/share/bash-completion/completions/coffer"
    assert completion.is_file() and completion.stat().st_size > 0
    text = completion.read_text(encoding="utf-8")
    assert "coffer" in text and "validate" in text
    check = subprocess.run(["bash", "-n", str(completion)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    man1 = home / ".local/share/man/man1"
    top = man1 / "coffer.1"
    assert top.is_file(), sorted(p.name for p in man1.iterdir()) if man1.exists() else "no man1"
    page = top.read_text(encoding="utf-8")
    assert page.startswith(".ie") or ".TH coffer 1" in page
    # Every page coffer.1 refers to (`coffer\-plan(1)`) was written too.
    referenced = {name.replace("\\-", "-") for name in re.findall(r"(coffer\\-[a-z\\-]+)\(1\)", page)}
    assert {"coffer-validate", "coffer-plan", "coffer-apply", "coffer-drill"} <= referenced, referenced
    for name in referenced:
        sub = man1 / f"{name}.1"
        assert sub.is_file(), f"coffer.1 refers to {name}(1), which was not written"
        assert f".TH {name} 1" in sub.read_text(encoding="utf-8")

    # With man-db installed, `man` finds the pages through the PATH heuristic the README
    # relies on (~/.local/bin on PATH -> ~/.local/share/man), or through MANPATH.
    man = shutil.which("man")
    if man:
        found = subprocess.run(
            [man, "-w", "coffer-plan"], env={**env, "MANPATH": str(home / ".local/share/man")},
            capture_output=True, text=True,
        )
        assert found.returncode == 0 and found.stdout.strip().endswith("coffer-plan.1"), found
