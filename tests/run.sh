#!/usr/bin/env bash
# The whole test suite on a fresh machine. Tests that need a real server get it installed here,
# as root, before cargo runs; each test starts its own copy on a free loopback port, and a
# system service the package may start is not used.
set -euo pipefail
cd "$(dirname "$0")/.."

# need PACKAGE COMMAND...: installs Debian's PACKAGE unless every COMMAND is on the PATH.
need() {
    local package=$1
    shift
    local missing=0 c
    for c in "$@"; do command -v "$c" >/dev/null || missing=1; done
    [ "$missing" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/run.sh: $* missing and installing them needs root:" >&2
        echo "  apt-get install $package   (or run this script as root)" >&2
        exit 1
    fi
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; }; then
        echo "tests/run.sh: installing Debian's $package package failed" >&2
        exit 1
    fi
    for c in "$@"; do
        command -v "$c" >/dev/null || {
            echo "tests/run.sh: the $package package did not provide $c" >&2
            exit 1
        }
    done
}

# tools/sedaflow/tests/monitoring_dashboard.rs runs the dashboard's queries against a real
# Prometheus and lints /metrics with promtool: Debian's `prometheus` package has both.
need prometheus prometheus promtool
# tools/sedaflow/tests/cluster_*.rs run the scale-out roles against a real `nats-server -js`.
need nats-server nats-server
# tools/sedaflow/tests/market_page_browser.rs opens the market page in a headless `chromium`.
need chromium chromium

cargo test --workspace
# The benchmarks are not tests, but they must keep building: `cargo test` does not build them.
cargo check --workspace --benches
