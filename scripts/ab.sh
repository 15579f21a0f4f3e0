#!/usr/bin/env bash
# A/B of two order servers under the same closed-loop load: each is a `sedaflow` binary with a
# config file (the same binary with two configs, or two builds with one). Rounds alternate
# A and B on fresh servers, so the machine's drift hits both alike; prints each run, then the
# medians and the ratios B/A of orders/s and of server CPU per order. Quicker and steadier
# than the server benchmark's rotation when only two variants matter.
#
#   scripts/ab.sh BIN_A CONFIG_A BIN_B CONFIG_B [--rounds 3] [--connections 8] [--duration 5s]
#
# CPU per order is the server process's user+system time over its whole life (warm-up
# included) divided by the requests answered after warm-up scaled to that time. Everything
# runs on 127.0.0.1 ports 17878/18080/19000. Run it while nothing else builds (for example
# under the build lock: `flock /tmp/sedaflow-cargo.lock scripts/ab.sh ...`).
set -euo pipefail

usage() {
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
}

[[ $# -ge 4 ]] || usage
command -v bc >/dev/null || {
    echo "ab.sh: needs bc (apt-get install bc)" >&2
    exit 2
}
bins=("$1" "$3")
configs=("$2" "$4")
shift 4
rounds=3
connections=8
duration=5
while [[ $# -gt 0 ]]; do
    case "$1" in
    --rounds) rounds=$2 ;;
    --connections) connections=$2 ;;
    --duration) duration=${2%s} ;;
    *) usage ;;
    esac
    shift 2
done
loadgen=${bins[0]}
warmup=1
tick=$(getconf CLK_TCK)
declare -a rates_a rates_b cpus_a cpus_b

one_run() {
    local bin=$1 config=$2 pid out n used
    "$bin" serve --config "$config" --tcp 127.0.0.1:17878 --http 127.0.0.1:18080 \
        --metrics 127.0.0.1:19000 >/dev/null 2>&1 &
    pid=$!
    sleep 0.7
    out=$("$loadgen" loadgen --addr 127.0.0.1:17878 --connections "$connections" \
        --duration "${duration}s" --warmup "${warmup}s" 2>&1) || {
        kill "$pid" 2>/dev/null
        echo "ab.sh: the load generator failed against $bin $config" >&2
        exit 1
    }
    used=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    n=$(grep -oE '^ *[0-9]+ requests in' <<<"$out" | grep -oE '[0-9]+')
    # rate (orders/s) and CPU µs per order (life's CPU over the answers scaled to the life).
    echo "$((n / duration)) $(bc <<<"scale=3; $used * 1000000 / $tick / ($n * ($duration + $warmup) / $duration)")"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for r in $(seq 1 "$rounds"); do
    for side in 0 1; do
        read -r rate cpu < <(one_run "${bins[$side]}" "${configs[$side]}")
        name=$([[ $side == 0 ]] && echo A || echo B)
        echo "round $r $name ${bins[$side]} ${configs[$side]}: $rate orders/s, $cpu µs CPU/order"
        if [[ $side == 0 ]]; then
            rates_a+=("$rate") cpus_a+=("$cpu")
        else
            rates_b+=("$rate") cpus_b+=("$cpu")
        fi
    done
done
ra=$(median "${rates_a[@]}") rb=$(median "${rates_b[@]}")
ca=$(median "${cpus_a[@]}") cb=$(median "${cpus_b[@]}")
echo "median A: $ra orders/s, $ca µs CPU/order"
echo "median B: $rb orders/s, $cb µs CPU/order"
printf 'B/A: %.3fx orders/s, %.3fx CPU per order\n' "$(bc <<<"scale=4; $rb / $ra")" \
    "$(bc <<<"scale=4; $cb / $ca")"
