# Coffer's tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Run every test: the Rust workspace (unit, property, emulator and end-to-end tests).
test:
    cargo test --workspace --all-targets --locked

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Regenerate the committed JSON Schema of the topology file.
schema:
    cargo run -q -p coffer -- schema > schemas/topology.schema.json

# Build the coffer binary.
build:
    cargo build -p coffer --locked
