#!/usr/bin/env bash
# moto's own test suites (backup, kms, sts, organizations, rds, iam, s3, core) in server mode
# against the emulator; see emulator/README.md, "moto's own tests".
#
#   emulator/moto-suite/run.sh [--against emulator|moto] [--timeout S] [SERVICE ...] [-- PYTEST_ARGS ...]
#
# Creates emulator/.venv (setup.sh) and emulator/.venv-moto-suite (the emulator's pinned
# requirements plus requirements.txt beside this script; again when either changes), then runs
# suite.py, which fetches moto's tests into emulator/.moto-suite/ once. Exit status 1 when a test
# that is not listed in stricter.txt or moto-server-failures.txt fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
emulator="$(dirname "$here")"
venv="$emulator/.venv-moto-suite"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

bash "$emulator/setup.sh"

wanted="$("$python" -c 'import hashlib, platform, sys; print(hashlib.sha256(b"".join(open(p, "rb").read() for p in sys.argv[1:]) + platform.python_version().encode()).hexdigest())' "$emulator/requirements.txt" "$here/requirements.txt")"
if ! { [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; }; then
  echo "moto-suite: installing moto's test dependencies into $venv" >&2
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$emulator/requirements.txt" -r "$here/requirements.txt"
  echo "$wanted" > "$stamp"
fi

exec "$venv/bin/python" "$here/suite.py" "$@"
