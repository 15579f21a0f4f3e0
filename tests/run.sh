#!/usr/bin/env bash
# The whole test suite on a fresh machine. Tests that need a real server (later: prometheus,
# nats-server) get it installed here, as root, before cargo runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
