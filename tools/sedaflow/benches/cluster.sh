#!/usr/bin/env bash
# Throughput of the scale-out deployment (NATS JetStream, one ingress, 1 or 2 matchers) against
# the single process, with the same closed-loop load generator, plus the CPU time each process
# spent per order. Every process shares this machine's cores, so this measures the cost of the
# distribution, not scale-out gains.
#
#   cargo build --release --bin sedaflow
#   bash tools/sedaflow/benches/cluster.sh [duration, default 10s] [partitions, default 8] \
#       [requests in flight per connection, default 16]
#
# Needs nats-server (Debian: apt-get install nats-server). Starts everything on free loopback
# ports with a scratch JetStream store and stops it all at the end.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin=${CARGO_TARGET_DIR:-target}/release/sedaflow
duration=${1:-10s}
partitions=${2:-8}
pipeline=${3:-16}
command -v nats-server >/dev/null || { echo "cluster.sh: nats-server missing" >&2; exit 1; }
[ -x "$bin" ] || { echo "cluster.sh: build $bin first (see the header)" >&2; exit 1; }

scratch=$(mktemp -d)
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$scratch"' EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME ARGS...: runs `sedaflow serve ARGS` and waits for its `listening metrics` line.
start() {
    local name=$1
    shift
    "$bin" serve --metrics 127.0.0.1:0 "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" &
    pids+=($!)
    eval "pid_$name=$!"
    for _ in $(seq 300); do
        grep -qs '^listening metrics' "$scratch/$name.out" && return 0
        sleep 0.1
    done
    echo "cluster.sh: $name did not start:" >&2
    tail -5 "$scratch/$name.err" >&2
    exit 1
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run LABEL PIDS...: drives the server whose stdout is $scratch/ingress.out, then prints the
# load generator's summary and the CPU time each process spent per 1000 requests.
run() {
    local label=$1
    shift
    local tcp
    tcp=$(awk '/^listening tcp/ {print $3}' "$scratch/ingress.out")
    local before=() p
    for p in "$@"; do before+=("$(ticks "$p")"); done
    "$bin" loadgen --addr "$tcp" --connections 8 --pipeline "$pipeline" --duration "$duration" \
        >"$scratch/load.out" 2>&1
    echo "== $label"
    grep -E 'requests in|Requests/sec|^ +(50|99)%|^lost' "$scratch/load.out"
    local requests hz i=0
    requests=$(grep -oE '[0-9]+ requests in' "$scratch/load.out" | grep -oE '^[0-9]+')
    hz=$(getconf CLK_TCK)
    for p in "$@"; do
        local used=$(( $(ticks "$p") - before[i] ))
        echo "   pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60)): cpu $(( used * 1000 / hz )) ms, $(( used * 1000 * 1000000 / hz / requests )) ns/request"
        i=$((i + 1))
    done
}

echo "# single process"
start ingress --tcp 127.0.0.1:0 --http 127.0.0.1:0
run "single process (--role all)" "$pid_ingress"
stop_all

for matchers in 1 2; do
    echo "# one ingress, $matchers matcher(s), $partitions partitions"
    nport=$(free_port)
    rm -rf "$scratch/js"
    nats-server -js -a 127.0.0.1 -p "$nport" -sd "$scratch/js" >"$scratch/nats.log" 2>&1 &
    pids+=($!)
    pid_nats=$!
    sleep 0.5
    common=(--nats "nats://127.0.0.1:$nport" --partitions "$partitions")
    mpids=()
    for m in $(seq "$matchers"); do
        start "matcher$m" --role matcher "${common[@]}"
        eval "mpids+=(\$pid_matcher$m)"
    done
    start ingress --role ingress --tcp 127.0.0.1:0 --http 127.0.0.1:0 "${common[@]}"
    sleep 2 # matchers claim and split partitions
    run "ingress + $matchers matcher(s) (pids: ingress, nats-server, matchers)" \
        "$pid_ingress" "$pid_nats" "${mpids[@]}"
    stop_all
done
