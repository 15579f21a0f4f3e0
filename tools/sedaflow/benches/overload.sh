#!/usr/bin/env bash
# Overload when the network itself is the bottleneck (issue 16): `sedaflow serve` with its
# defaults, no synthetic delay, 32 connections. A first closed-loop run measures the
# capacity C; then rounds of three fresh-server runs each: closed loop, open loop at C/3 and
# open loop at 2C (`sedaflow loadgen --rate`, latency from each request's intended send
# time). Prints every run (requests/s, P50, P99, goodput = acks + cancels per second,
# refusals by cause, server CPU seconds), then the medians and P99(2C) / P99(C/3).
#
# The server runs on CPU 0 and the load generator on CPU 1 (`taskset`): at 2C the generator
# needs about a core to keep its schedule and read its answers. Sharing both cores, it fell
# behind reading them (megabytes of answers unread in its sockets while the server's were
# empty) and the latency it reported was its own; at a higher priority instead, it starved
# the server in some rounds. Pinned, each has one core, and the waiting happens where the
# test means it to: in the server's sockets.
#
#   flock /tmp/sedaflow-cargo.lock cargo build --release -p sedaflow-cli
#   flock /tmp/sedaflow-cargo.lock bash tools/sedaflow/benches/overload.sh [rounds, default 3]
#
# Needs curl, bc and taskset, and two CPUs.
set -euo pipefail
cd "$(dirname "$0")/../../.."
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/sedaflow
rounds=${1:-3}
for tool in curl bc taskset; do
    command -v "$tool" >/dev/null || { echo "overload.sh: $tool missing" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "overload.sh: build $bin first" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "overload.sh: needs two CPUs" >&2; exit 1; }
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run closed|RATE: one measurement on a fresh server; prints one line, sets $rps.
run() {
    local tcp= metrics= mode=() t0 t1 out
    taskset -c 0 "$bin" serve --tcp 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0 \
        >"$work/serve.out" 2>"$work/serve.err" &
    server=$!
    for _ in $(seq 300); do
        tcp=$(awk '/^listening tcp/ {print $3}' "$work/serve.out")
        metrics=$(awk '/^listening metrics/ {print $3}' "$work/serve.out")
        [ -n "$tcp" ] && [ -n "$metrics" ] && break
        sleep 0.1
    done
    if [ -z "$metrics" ]; then
        echo "overload.sh: the server did not start:" >&2
        tail -5 "$work/serve.err" >&2
        exit 1
    fi
    [ "$1" = closed ] || mode=(--rate "$1")
    t0=$(cpu_ticks "$server")
    taskset -c 1 "$bin" loadgen --addr "$tcp" --connections 32 --duration 5s \
        --warmup 1s "${mode[@]}" >"$work/loadgen.txt" 2>&1
    t1=$(cpu_ticks "$server")
    out=$(curl -sf "http://$metrics/metrics" | awk '
        /^sedaflow_server_refused_total\{reason="read_backlog"\}/ { shed = $2 }
        /^sedaflow_server_refused_total\{reason="admission"\}/ { limit = $2 }
        END { printf "shed at read %d, limit %d", shed, limit }')
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
    rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$work/loadgen.txt")
    local p50 p99 good lost
    p50=$(awk '/^ +50%/ { print $2; exit }' "$work/loadgen.txt")
    p99=$(awk '/^ +99%/ { print $2; exit }' "$work/loadgen.txt")
    good=$(grep -oE '[0-9]+ acks, [0-9]+ cancelled' "$work/loadgen.txt" |
        awk '{ printf "%d", ($1 + $3) / 5 }')
    lost=$(awk '/^lost/ { print $2 }' "$work/loadgen.txt")
    printf '%-7s %8s req/s  p50 %9s  p99 %9s  goodput %7s/s  lost %s  %s  server cpu %s s\n' \
        "$1" "$rps" "$p50" "$p99" "$good" "$lost" "$out" \
        "$(echo "($t1 - $t0) / 100" | bc -l | cut -c1-4)"
    echo "$1 $rps $(ms "$p99")" >>"$work/runs"
}

# ms TEXT: a loadgen latency (`812.00us`, `1.20ms`, `2.00s`) in milliseconds.
ms() {
    case $1 in
    *us) echo "${1%us} / 1000" | bc -l ;;
    *ms) echo "${1%ms}" ;;
    *s) echo "${1%s} * 1000" | bc -l ;;
    esac
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# network overload: server on CPU 0, generator on CPU 1, 32 connections, 5 s after 1 s warm-up, $rounds rounds ($(date -u '+%Y-%m-%d %H:%M') UTC)"
run closed
capacity=$rps
third=$((capacity / 3))
double=$((capacity * 2))
echo "capacity $capacity req/s: open loop at $third and $double"
for round in $(seq "$rounds"); do
    echo "-- round $round"
    run closed
    run "$third"
    run "$double"
done
p99() { awk -v m="$1" '$1 == m { print $3 }' "$work/runs" | median; }
low=$(p99 "$third")
high=$(p99 "$double")
printf 'median p99: %.2f ms at C/3, %.2f ms at 2C: %.1fx (target <= 10x)\n' \
    "$low" "$high" "$(echo "$high / $low" | bc -l)"
