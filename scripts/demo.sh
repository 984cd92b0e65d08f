#!/usr/bin/env bash
# The main job on the local AWS emulator: validate, plan, apply, plan again, drift after an
# out-of-band change, restore drill. Starts the emulator with the seed world on a free
# loopback port and stops it (by PID) when done.
set -euo pipefail
cd "$(dirname "$0")/.."

topology=examples/seed/topology.yaml
bash emulator/setup.sh
# COFFER_BIN: run a coffer you installed or built instead of building one here.
if [ -n "${COFFER_BIN:-}" ]; then
  coffer="$COFFER_BIN"
  [ -x "$coffer" ] || { echo "demo: COFFER_BIN=$coffer is not an executable file" >&2; exit 1; }
else
  # Not quiet: the first build takes a few minutes, and cargo shows what it compiles. Later
  # runs print one "Finished" line. The same build as `just build`, so the demo reuses it.
  echo "demo: building coffer (the first build takes a few minutes)" >&2
  cargo build -p coffer --locked
  coffer="${CARGO_TARGET_DIR:-target}/debug/coffer"
fi

log="$(mktemp -d)"
emulator/.venv/bin/python emulator/run.py --port 0 --world emulator/worlds/seed.yaml --job-delay 0.5 >"$log/out" 2>"$log/err" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; rm -rf "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$log/out" 2>/dev/null && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$log/err" >&2; exit 1; }
  sleep 0.1
done
endpoint="$(sed -n 's/^coffer-emulator listening on //p' "$log/out")"
[ -n "$endpoint" ] || { echo "demo: the emulator did not start" >&2; cat "$log/err" >&2; exit 1; }

# The emulator accepts any base credentials; Coffer assumes CofferDeployRole in each account.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "coffer validate -f $topology"
"$coffer" validate -f "$topology"

step "coffer plan (empty accounts: everything is created)"
"$coffer" plan -f "$topology" --endpoint-url "$endpoint" --detailed-exitcode || [ $? -eq 2 ]

step "coffer apply --auto-approve"
"$coffer" apply -f "$topology" --endpoint-url "$endpoint" --auto-approve

step "coffer plan --detailed-exitcode (converged: no changes)"
"$coffer" plan -f "$topology" --endpoint-url "$endpoint" --detailed-exitcode

step "out of band: someone turns cross-account backup off and key rotation off"
emulator/.venv/bin/python scripts/out_of_band.py "$endpoint"

step "coffer drift (exit 2: drift, rated by risk)"
"$coffer" drift -f "$topology" --endpoint-url "$endpoint" || [ $? -eq 2 ]

step "coffer apply --auto-approve (repairs the drift)"
"$coffer" apply -f "$topology" --endpoint-url "$endpoint" --auto-approve

step "coffer drill (backup, cross-account copy, restore in the backup account)"
"$coffer" drill -f "$topology" --endpoint-url "$endpoint" --poll-seconds 0.2

step "done"
