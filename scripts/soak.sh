#!/usr/bin/env bash
# Soak test of the order server: builds release, starts `sedaflow serve` on free loopback ports,
# drives it with `sedaflow loadgen` for a long time, samples the server's memory, open files,
# threads and stage queue depths into a CSV, and judges whether memory and file descriptors
# stay flat after warm-up. Not part of the test command: it takes minutes by design.
#
#   scripts/soak.sh [--duration 10m] [--interval 5s] [--warmup 1m] [--rate 20000]
#                   [--connections 8] [--csv soak.csv] [--rss-tolerance 10] [--fd-slack 4]
#   scripts/soak.sh --judge soak.csv [--warmup 1m] [--rss-tolerance 10] [--fd-slack 4]
#
# Verdict, over the samples after warm-up split into two halves by time: the median RSS of the
# second half may exceed that of the first by at most --rss-tolerance percent (a leak moves the
# median; a burst of load that is absorbed again does not), and the peak fd count of the second
# half that of the first by at most --fd-slack. --judge only judges an existing CSV. Exits 0
# when flat, 1 when not (or when the server or the load generator failed), 2 on bad usage.
# Honours CARGO_TARGET_DIR.
set -euo pipefail

duration=10m
interval=5s
warmup=1m
rate=20000
connections=8
csv=soak.csv
rss_tolerance=10
fd_slack=4
judge_only=

usage() {
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
}

while [[ $# -gt 0 ]]; do
    [[ $1 == -h || $1 == --help ]] && usage
    [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; usage; }
    case "$1" in
        --duration) duration=$2 ;;
        --interval) interval=$2 ;;
        --warmup) warmup=$2 ;;
        --rate) rate=$2 ;;
        --connections) connections=$2 ;;
        --csv) csv=$2 ;;
        --rss-tolerance) rss_tolerance=$2 ;;
        --fd-slack) fd_slack=$2 ;;
        --judge) judge_only=$2 ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
    shift 2
done

# "90s", "5m", "1h" or plain seconds, to seconds.
seconds() {
    local value=$1
    case "$value" in
        *h) echo $((${value%h} * 3600)) ;;
        *m) echo $((${value%m} * 60)) ;;
        *s) echo "${value%s}" ;;
        *) echo "$value" ;;
    esac
}
duration_s=$(seconds "$duration")
interval_s=$(seconds "$interval")
warmup_s=$(seconds "$warmup")
for n in "$duration_s" "$interval_s" "$warmup_s" "$rate" "$connections" "$rss_tolerance" "$fd_slack"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "not a whole number: $n" >&2; usage; }
done
(( interval_s > 0 )) || { echo "--interval must be at least 1s" >&2; exit 2; }
(( warmup_s < duration_s )) || { echo "--warmup must be shorter than --duration" >&2; exit 2; }

# The verdict on a CSV (see the header).
judge() {
    awk -F, -v warmup="$warmup_s" -v tol="$rss_tolerance" -v slack="$fd_slack" '
        function median(a, from, to,    m, i, j, v, k) {
            m = 0
            for (i = from; i < to; i++) {
                v = a[i]
                for (j = m; j > 0 && s[j - 1] > v; j--) s[j] = s[j - 1]
                s[j] = v
                m++
            }
            k = int(m / 2)
            return m % 2 ? s[k] : (s[k - 1] + s[k]) / 2
        }
        BEGIN { n = 0 }
        NR == 1 { next }
        $1 >= warmup { t[n] = $1; rss[n] = $2; fds[n] = $3; thr[n] = $4; n++ }
        END {
            if (n < 4) { print "verdict: too few samples after warm-up (" n ")"; exit 1 }
            half = int(n / 2)
            for (i = 0; i < n; i++) {
                if (i == 0 || rss[i] < rss_min) rss_min = rss[i]
                if (i == 0 || rss[i] > rss_max) rss_max = rss[i]
                if (i == 0 || thr[i] < thr_min) thr_min = thr[i]
                if (i == 0 || thr[i] > thr_max) thr_max = thr[i]
                if (i == 0 || fds[i] < fd_min) fd_min = fds[i]
                if (i == 0 || fds[i] > fd_max) fd_max = fds[i]
                if (i < half) { if (fds[i] > fd1) fd1 = fds[i] } else { if (fds[i] > fd2) fd2 = fds[i] }
            }
            rss1 = median(rss, 0, half)
            rss2 = median(rss, half, n)
            printf "after warm-up (%d samples, %ds..%ds): rss %d..%d KiB, fds %d..%d, threads %d..%d\n",
                n, t[0], t[n - 1], rss_min, rss_max, fd_min, fd_max, thr_min, thr_max
            printf "median rss: first half %d KiB, second half %d KiB (%+.1f%%, tolerance %d%%)\n",
                rss1, rss2, (rss2 / rss1 - 1) * 100, tol
            printf "peak fds: first half %d, second half %d (slack %d)\n", fd1, fd2, slack
            flat = rss2 <= rss1 * (1 + tol / 100) && fd2 <= fd1 + slack
            print "verdict: " (flat ? "FLAT" : "GROWING")
            exit flat ? 0 : 1
        }' "$1"
}

if [[ -n $judge_only ]]; then
    judge "$judge_only"
    exit
fi

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
echo "building release..." >&2
cargo build --release --bin sedaflow --manifest-path "$root/Cargo.toml" >&2
bin=$target/release/sedaflow

work=$(mktemp -d)
server_pid=
loadgen_pid=
cleanup() {
    [[ -n $loadgen_pid ]] && kill "$loadgen_pid" 2>/dev/null || true
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Created before the server starts, so the wait below never reads a file not there yet.
: >"$work/serve.out"
"$bin" serve --tcp 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0 \
    >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
tcp= metrics=
for _ in $(seq 300); do
    tcp=$(awk '$1 == "listening" && $2 == "tcp" { print $3 }' "$work/serve.out")
    metrics=$(awk '$1 == "listening" && $2 == "metrics" { print $3 }' "$work/serve.out")
    [[ -n $tcp && -n $metrics ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "server exited:" >&2; cat "$work/serve.err" >&2; exit 1; }
    sleep 0.1
done
[[ -n $tcp && -n $metrics ]] || { echo "server printed no listening lines" >&2; exit 1; }
echo "server pid $server_pid, tcp $tcp, metrics $metrics" >&2

scrape() {
    # HTTP/1.0, so the body comes unchunked; bash's /dev/tcp keeps the script free of curl.
    local host=${metrics%:*} port=${metrics##*:}
    exec 3<>"/dev/tcp/$host/$port"
    printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$metrics" >&3
    cat <&3
    exec 3<&-
}

stages=$(scrape | awk -F'[{}"]' '/^sedaflow_stage_queue_depth\{/ { for (i = 1; i < NF; i++) if ($i ~ /stage=$/) print $(i + 1) }' | sort -u)
[[ -n $stages ]] || { echo "no sedaflow_stage_queue_depth series on /metrics" >&2; exit 1; }
{
    printf 'elapsed_s,rss_kb,fds,threads,connections,answered_total'
    for s in $stages; do printf ',queue_%s' "$s"; done
    printf '\n'
} >"$csv"

"$bin" loadgen --addr "$tcp" --rate "$rate" --connections "$connections" \
    --duration "${duration_s}s" >"$work/loadgen.out" 2>"$work/loadgen.err" &
loadgen_pid=$!
echo "loadgen: $rate orders/s over $connections connections for ${duration_s}s; sampling every ${interval_s}s into $csv" >&2

start=$(date +%s)
sample() {
    local now page rss threads fds row
    now=$(($(date +%s) - start))
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$server_pid/status")
    fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    page=$(scrape)
    row="$now,$rss,$fds,$threads"
    row+=",$(awk '/^sedaflow_server_connections / { print $2 }' <<<"$page")"
    row+=",$(awk '/^sedaflow_server_answered_total / { print $2 }' <<<"$page")"
    for s in $stages; do
        row+=",$(awk -v s="stage=\"$s\"" '/^sedaflow_stage_queue_depth\{/ && index($0, s) { print $2 }' <<<"$page")"
    done
    echo "$row" >>"$csv"
}
while kill -0 "$loadgen_pid" 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { echo "server died during the soak:" >&2; tail -20 "$work/serve.err" >&2; exit 1; }
    sample
    sleep "$interval_s"
done
loadgen_status=0
wait "$loadgen_pid" || loadgen_status=$?
loadgen_pid=
cat "$work/loadgen.out"
kill -0 "$server_pid" 2>/dev/null || { echo "server died during the soak" >&2; exit 1; }
kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
if (( loadgen_status != 0 || server_status != 0 )); then
    echo "loadgen exited $loadgen_status, server exited $server_status" >&2
    tail -20 "$work/loadgen.err" "$work/serve.err" >&2
    exit 1
fi

judge "$csv"
