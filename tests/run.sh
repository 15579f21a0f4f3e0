#!/usr/bin/env bash
# The whole test suite on a fresh machine. Tests that need a real server (prometheus; later:
# nats-server) get it installed here, as root, before cargo runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# stages/tests/monitoring_dashboard.rs runs the dashboard's queries against a real Prometheus
# and lints /metrics with promtool: Debian's `prometheus` package has both. The test starts its
# own prometheus on a free loopback port; a system service the package may start is not used.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/run.sh: prometheus/promtool are missing and installing them needs root:" >&2
        echo "  apt-get install prometheus   (or run this script as root)" >&2
        exit 1
    fi
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; }; then
        echo "tests/run.sh: installing Debian's prometheus package failed" >&2
        exit 1
    fi
    command -v prometheus >/dev/null && command -v promtool >/dev/null || {
        echo "tests/run.sh: the prometheus package did not provide prometheus and promtool" >&2
        exit 1
    }
fi

cargo test --workspace
