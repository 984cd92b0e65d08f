# Coffer's tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run every test: the Rust workspace (unit, property and emulator tests), the emulator's own
# tests and the end-to-end tests (the coffer binary against the emulator, checked with boto3).
# The build compiles exactly what `cargo test` runs (same packages, targets, features and
# profile), the binary the end-to-end tests call included, so `cargo test` compiles nothing.
# The feature `test-hooks` compiles in the hooks the end-to-end tests use (stop after N calls,
# a short lock renewal); a release build and `just build` leave them out.
test: emulator-setup
    cargo build --workspace --all-targets --locked --features coffer/test-hooks
    cargo test --workspace --all-targets --locked --features coffer/test-hooks
    emulator/.venv/bin/python -m pytest emulator/tests tests -q

# Create the emulator's virtualenv (once; again when its requirements change).
emulator-setup:
    bash emulator/setup.sh

# moto's own tests (backup, kms, sts, organizations, rds, iam, s3, core) against the emulator in
# server mode; fails when a test not listed in emulator/moto-suite/*.txt fails. `just moto-suite
# kms sts` runs some services; `just moto-suite --against moto` runs them against plain moto.
moto-suite *args:
    bash emulator/moto-suite/run.sh {{args}}

# Run the local AWS emulator in the foreground with the seed world.
emulator port="5000": emulator-setup
    emulator/.venv/bin/python emulator/run.py --port {{port}} --world emulator/worlds/seed.yaml

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    cargo clippy --workspace --all-targets --locked --features coffer/test-hooks -- -D warnings

# Regenerate the committed JSON Schema of the topology file.
schema:
    cargo run -q -p coffer -- schema > schemas/topology.schema.json

# Regenerate the generated docs (the checks catalog and the topology file reference).
docs:
    cargo run -q -p coffer -- check --list > docs/checks.md
    cargo run -q -p coffer -- schema --markdown > docs/topology.md

# The main job on the local emulator: validate, plan, apply, plan, drift, drill.
demo:
    bash scripts/demo.sh

# Benchmarks: timings printed, never asserted (the tests only guard against hangs).
# Plan CPU: `coffer plan --live-in` (the release binary) on fleets of 100 and 10,000 accounts.
bench:
    cargo run --release -q -p coffer-spec --example load_bench
    cargo build --release -q --locked -p coffer -p coffer-fuzz
    emulator/.venv/bin/python scripts/bench_fleet.py
    "${CARGO_TARGET_DIR:-target}/release/plan_cpu"

# Fuzzing: CASES generated and mutated topology files and CASES generated live states (a
# million of each by default) through load, validate and plan, on every core, each case under
# a time limit. Prints cases/s, the outcomes and the seed; `just fuzz 10000 --seed 42` repeats
# a run, `--show topology:17 --seed 42` prints one case. Failing inputs go to
# target/fuzz-failures; the exit status is 1 when a case panicked, hung or lost its position.
fuzz cases="1000000" *args:
    cargo run --release -q -p coffer-fuzz --locked --bin coffer-fuzz -- {{cases}} {{args}}

# Build the coffer binary.
build:
    cargo build -p coffer --locked
