"""Start Coffer's local AWS emulator; see emulator/README.md.

emulator/.venv/bin/python emulator/run.py --port PORT [--world FILE] [--job-delay SECONDS]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coffer_emulator.server import run  # noqa: E402

if __name__ == "__main__":
    run()
