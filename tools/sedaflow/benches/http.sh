#!/usr/bin/env bash
# HTTP order entry, side by side: `sedaflow serve` against the server benchmark's inline
# baseline (benches/server/inline_http.rs: hyper, decode, match and encode inline), each
# driven by `wrk -t2 -c40 --latency` posting IOC limit orders (http_orders.lua) to
# `POST /orders`. Rounds alternate the servers (which one goes first too); every measurement
# gets a fresh server, a seeded book (a sell at 100 and a buy at 99 per symbol, so about 40%
# of the orders cross), a 1 s warm-up, then the measured run. Prints each run's requests/s,
# P50, P99 and the server's CPU time per request, then the medians and sedaflow/baseline.
#
#   flock /tmp/sedaflow-cargo.lock cargo build --release -p sedaflow-cli
#   flock /tmp/sedaflow-cargo.lock cargo bench -p sedaflow-cli --bench server --no-run
#   flock /tmp/sedaflow-cargo.lock bash tools/sedaflow/benches/http.sh [duration, default 5s] \
#       [rounds, default 3]
#
# SEDAFLOW_BENCH_BEFORE=PATH adds an older `sedaflow` binary ("before") to every round, so a
# change is measured against its predecessor in the same run.
#
# Needs wrk (installed with apt-get when run as root) and curl. Everything listens on free
# loopback ports; the servers are stopped at the end. wrk shares the machine's cores with
# the server it drives.
set -euo pipefail
cd "$(dirname "$0")/../../.."
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/sedaflow
duration=${1:-5s}
rounds=${2:-3}
lua=tools/sedaflow/benches/http_orders.lua
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null
    else
        echo "http.sh: wrk missing (Debian: apt-get install wrk, as root)" >&2
        exit 1
    fi
fi
command -v curl >/dev/null || { echo "http.sh: curl missing" >&2; exit 1; }
[ -x "$bin" ] || { echo "http.sh: build $bin first (see the header)" >&2; exit 1; }
# The server benchmark's executable (its newest build) is the baseline server.
baseline=$(find "$target/release/deps" -maxdepth 1 -type f -executable -name 'server-*' \
    -printf '%T@ %p\n' 2>/dev/null | sort -rn | awk 'NR == 1 {print $2}')
[ -n "$baseline" ] || { echo "http.sh: build the server benchmark first (see the header)" >&2; exit 1; }

scratch=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap 'stop; rm -rf "$scratch"' EXIT

# start NAME: starts the server NAME (sedaflow or baseline) and waits for its HTTP address.
start() {
    local command
    local serve=(serve --tcp 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0)
    case $1 in
    sedaflow) command=("$bin" "${serve[@]}") ;;
    baseline) command=("$baseline" --inline-baseline 127.0.0.1:0 127.0.0.1:0) ;;
    before) command=("$SEDAFLOW_BENCH_BEFORE" "${serve[@]}") ;;
    esac
    "${command[@]}" >"$scratch/$1.out" 2>"$scratch/$1.err" &
    pid=$!
    for _ in $(seq 300); do
        http=$(awk '/^listening http/ {print $3}' "$scratch/$1.out")
        [ -n "$http" ] && return 0
        sleep 0.1
    done
    echo "http.sh: $1 did not start:" >&2
    tail -5 "$scratch/$1.err" >&2
    exit 1
}

# seed: rests the liquidity the IOC orders cross, on every symbol of http_orders.lua.
seed() {
    local s side price
    for s in S0 S1 S2 S3 S4 S5 S6 S7; do
        for side in sell:100 buy:99; do
            price=${side#*:}
            curl -sf -o /dev/null -H 'Content-Type: application/json' \
                -d "{\"op\":\"limit\",\"id\":1,\"symbol\":\"$s\",\"side\":\"${side%:*}\",\"price\":\"$price\",\"qty\":1000000000}" \
                "http://$http/orders"
        done
    done
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# in_us TEXT: a wrk latency (`812.00us`, `1.20ms`, `2.00s`) in microseconds.
in_us() {
    awk -v t="$1" 'BEGIN {
        v = t + 0
        if (t ~ /us$/) f = 1; else if (t ~ /ms$/) f = 1000; else if (t ~ /s$/) f = 1000000
        printf "%.0f", v * f
    }'
}

# measure NAME ROUND: one fresh server, warmed up and measured; appends
# "NAME req/s p50_us p99_us cpu_us_per_request" to $scratch/results.
measure() {
    local name=$1 round=$2
    start "$name"
    seed
    wrk -t2 -c40 -d1s -s "$lua" "http://$http/orders" >/dev/null
    local before out
    before=$(ticks "$pid")
    out=$(wrk -t2 -c40 -d"$duration" --latency -s "$lua" "http://$http/orders")
    local used=$(($(ticks "$pid") - before))
    stop
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        echo "http.sh: $name had failed requests:" >&2
        grep -E 'Non-2xx|Socket errors' <<<"$out" >&2
        exit 1
    fi
    local rps requests p50 p99 cpu
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
    requests=$(awk '/ requests in / {print $1}' <<<"$out")
    p50=$(in_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(in_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    cpu=$(awk -v u="$used" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
        'BEGIN {printf "%.1f", u / hz * 1e6 / n}')
    printf 'round %d  %-9s %9s req/s  p50 %6s µs  p99 %6s µs  server cpu %5s µs/request\n' \
        "$round" "$name" "$rps" "$p50" "$p99" "$cpu"
    echo "$name $rps $p50 $p99 $cpu" >>"$scratch/results"
}

echo "# HTTP order entry: wrk -t2 -c40 -d$duration --latency, IOC orders, $rounds rounds ($(date -u '+%Y-%m-%d %H:%M UTC'))"
servers="sedaflow baseline"
if [ -n "${SEDAFLOW_BENCH_BEFORE:-}" ]; then
    [ -x "$SEDAFLOW_BENCH_BEFORE" ] || { echo "http.sh: $SEDAFLOW_BENCH_BEFORE is not executable" >&2; exit 1; }
    servers="$servers before"
fi
for round in $(seq "$rounds"); do
    # Alternate the order, so a drift of the machine's speed does not favour one server.
    if [ $((round % 2)) = 1 ]; then order=$servers; else order=$(tr ' ' '\n' <<<"$servers" | tac | xargs); fi
    for name in $order; do measure "$name" "$round"; done
done

# median NAME FIELD: the median of one column (2 req/s, 3 p50, 4 p99, 5 cpu) of NAME's runs.
median() {
    awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$scratch/results" | sort -g |
        awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
printf '%-9s %10s %8s %8s %14s\n' server "req/s" "p50 µs" "p99 µs" "cpu µs/req"
for name in $servers; do
    printf '%-9s %10s %8s %8s %14s\n' "$name" "$(median "$name" 2)" "$(median "$name" 3)" \
        "$(median "$name" 4)" "$(median "$name" 5)"
done
awk -v r="$(median sedaflow 2)" -v rb="$(median baseline 2)" \
    -v p="$(median sedaflow 4)" -v pb="$(median baseline 4)" \
    'BEGIN {printf "sedaflow/baseline: throughput %.2fx, p99 %.2fx (medians)\n", r / rb, p / pb}'
if [ -n "${SEDAFLOW_BENCH_BEFORE:-}" ]; then
    awk -v r="$(median sedaflow 2)" -v rb="$(median before 2)" \
        -v c="$(median sedaflow 5)" -v cb="$(median before 5)" \
        'BEGIN {printf "sedaflow/before: throughput %.2fx, cpu per request %.2fx (medians)\n", r / rb, c / cb}'
fi
