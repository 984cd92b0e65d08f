#!/usr/bin/env bash
# Shell-level smoke test: set up the venv if needed, start the emulator on a free 127.0.0.1
# port with the seed world, run smoke.py (backup -> cross-account copy -> restore with boto3)
# against it, and stop the emulator by PID.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
python="$here/.venv/bin/python"
ready="$(mktemp)"

"$python" "$here/run.py" --port 0 --world "$here/worlds/seed.yaml" --job-delay 0.2 >"$ready" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$ready"' EXIT

for _ in $(seq 300); do
  if grep -q '^coffer-emulator listening on ' "$ready"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "smoke.sh: emulator exited early" >&2; exit 1; fi
  sleep 0.1
done
url="$(sed -n 's/^coffer-emulator listening on //p' "$ready")"
if [ -z "$url" ]; then echo "smoke.sh: emulator not ready after 30 s" >&2; exit 1; fi

"$python" "$here/smoke.py" "$url"
