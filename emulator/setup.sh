#!/usr/bin/env bash
# Create emulator/.venv and install emulator/requirements.txt into it, only when needed.
# Idempotent: when the venv exists and was installed from the same requirements file with
# the same Python, it prints nothing and exits 0. Needs only python3 (3.11+).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
requirements="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

# Stamp: hash of the requirements file plus the interpreter version.
wanted="$("$python" -c 'import hashlib, platform, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read() + platform.python_version().encode()).hexdigest())' "$requirements")"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "emulator/setup.sh: installing emulator dependencies into $venv" >&2
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
echo "$wanted" > "$stamp"
