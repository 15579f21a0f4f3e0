#!/usr/bin/env bash
# Instructions per order: a server's user-space instructions, counted exactly by valgrind's
# callgrind (this machine's wall clock drifts by 15% between runs; instruction counts do not),
# over a steady window of a closed-loop load, divided by the requests decoded in that window
# (calls of the codec's `decode_request`, which the staged server and the inline baseline both
# make once per request). Prints the figure and the functions that execute the most
# instructions per order themselves (their callees not included).
#
#   scripts/instructions.sh SERVER [tcp|http] [-- serve flags...]
#
# SERVER is a `sedaflow` binary, or `baseline` for the server benchmark's inline baseline
# (built by `cargo bench -p sedaflow-cli --bench server --no-run`). tcp: `sedaflow loadgen
# --connections 8 --pipeline 16` (the load of the server benchmark); http: `wrk -t2 -c40`
# posting IOC orders to seeded books, as `tools/sedaflow/benches/http.sh` does. Under
# callgrind the server runs some 30 times slower, so its batches are those of a saturated
# server. Instructions are not time (cache misses, system calls and waiting are not in them),
# so this is for comparing code, beside the wall-clock benchmarks, not instead of them. Needs
# valgrind, and wrk for http. Run it while nothing else builds.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
[ $# -ge 1 ] || { sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2; }
server=$1
shift
load=tcp
case ${1:-} in tcp | http) load=$1; shift ;; esac
[ "${1:-}" = "--" ] && shift
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind missing (Debian: apt-get install valgrind)" >&2; exit 1; }
loadgen=$target/release/sedaflow
[ -x "$loadgen" ] || { echo "instructions.sh: build $loadgen first" >&2; exit 1; }

scratch=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$scratch"' EXIT
out=$scratch/callgrind.out
if [ "$server" = baseline ]; then
    bin=$(find "$target/release/deps" -maxdepth 1 -type f -executable -name 'server-*' \
        -printf '%T@ %p\n' | sort -rn | awk 'NR == 1 {print $2}')
    [ -n "$bin" ] || { echo "instructions.sh: build the server benchmark first" >&2; exit 1; }
    command=("$bin" --inline-baseline 127.0.0.1:0 127.0.0.1:0)
else
    command=("$server" serve --tcp 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0 "$@")
fi
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "${command[@]}" \
    >"$scratch/server.out" 2>"$scratch/server.err" &
pid=$!
for _ in $(seq 300); do
    http=$(awk '/^listening http/ {print $3}' "$scratch/server.out")
    [ -n "$http" ] && break
    sleep 0.1
done
[ -n "$http" ] || { echo "instructions.sh: the server did not start" >&2; tail -5 "$scratch/server.err" >&2; exit 1; }
tcp=$(awk '/^listening tcp/ {print $3}' "$scratch/server.out")

case $load in
tcp)
    "$loadgen" loadgen --addr "$tcp" --connections 8 --pipeline 16 --duration 12s \
        --warmup 1s >"$scratch/load.out" 2>&1 &
    ;;
http)
    command -v wrk >/dev/null || { echo "instructions.sh: wrk missing" >&2; exit 1; }
    for s in S0 S1 S2 S3 S4 S5 S6 S7; do
        for side in sell:100 buy:99; do
            curl -sf -o /dev/null -H 'Content-Type: application/json' \
                -d "{\"op\":\"limit\",\"id\":1,\"symbol\":\"$s\",\"side\":\"${side%:*}\",\"price\":\"${side#*:}\",\"qty\":1000000000}" \
                "http://$http/orders"
        done
    done
    wrk -t2 -c40 -d12s -s tools/sedaflow/benches/http_orders.lua "http://$http/orders" \
        >"$scratch/load.out" 2>&1 &
    ;;
*) echo "instructions.sh: load is tcp or http" >&2; exit 2 ;;
esac
load_pid=$!
sleep 4
callgrind_control -i on "$pid" >/dev/null 2>&1
sleep 5
callgrind_control -i off "$pid" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
wait "$load_pid"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

# The dump of the window is the largest file (the one at exit holds nothing).
dump=$(ls -S "$out"* | head -1)
# Calls of decode_request: callgrind names a function once, then by its number.
orders=$(awk '
    /^c?fn=\(/ {
        id = $1; sub(/^c?fn=/, "", id)
        if (NF > 1) { name[id] = $2; for (i = 3; i <= NF; i++) name[id] = name[id] " " $i }
        target = ($0 ~ /^cfn=/ && name[id] ~ /::decode_request$/)
        next
    }
    /^calls=/ && target { split($0, c, /[= ]/); n += c[2]; target = 0 }
    END { print n + 0 }' "$dump")
[ "$orders" -gt 0 ] || { echo "instructions.sh: no request decoded in the window" >&2; exit 1; }
# `totals:` (the dump's `summary:` can be 0 for a dump taken on request).
total=$(awk '/^totals:/ {print $2; exit}' "$dump")
echo "$server ($load): $((total / orders)) instructions per order ($orders orders in the window)"
callgrind_annotate --threshold=100 --auto=no "$dump" 2>/dev/null |
    awk -v n="$orders" '/^ *[0-9,]+ \(/ && !/PROGRAM TOTALS/ {
        v = $1; gsub(/,/, "", v)
        f = $0; sub(/^ *[0-9,]+ \([^)]*\) +/, "", f); sub(/^[^:]*:/, "", f); sub(/ \[[^]]*\]$/, "", f)
        self[f] += v
    }
    END { for (f in self) printf "%7.0f  %s\n", self[f] / n, substr(f, 1, 110) }' |
    sort -rn | head -"${TOP:-25}"
