"""The emulator's pytest plugin (emulator/tests/pytest_emulator.py) for the tests of this tree.

The emulator tests' modules (the plugin, the launcher and the admin API of ``support.py``) are
imported from their directory rather than copied.
"""

import sys
from pathlib import Path

EMULATOR_TESTS = Path(__file__).resolve().parents[1] / "emulator" / "tests"
if str(EMULATOR_TESTS) not in sys.path:
    sys.path.insert(0, str(EMULATOR_TESTS))

pytest_plugins = ["pytest_emulator"]
