"""The shell-level smoke test (emulator/smoke.sh) passes: it starts and stops its own emulator."""

import subprocess

import pytest
from support import EMULATOR_DIR

pytestmark = pytest.mark.emulator_only(reason="launcher: smoke.sh starts its own emulator")


def test_smoke_script():
    result = subprocess.run(["bash", str(EMULATOR_DIR / "smoke.sh")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("smoke test passed")
