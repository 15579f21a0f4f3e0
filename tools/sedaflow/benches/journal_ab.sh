#!/bin/bash
# Journal off vs on with the release binary and `sedaflow loadgen`, one server after the
# other in one run: closed loop 8 x 16 for the maximum, then open loop at half of that
# server's own maximum for latency; the journal's commit counters from /metrics.
#
#   cargo build --release --bin sedaflow && tools/sedaflow/benches/journal_ab.sh
set -eu
B=${CARGO_TARGET_DIR:-target}/release/sedaflow
J=$(mktemp -d "${CARGO_TARGET_DIR:-target}/journal-ab.XXXXXX") # the target's disk, not a tmpfs
for variant in off journal; do
  rm -rf "$J"/*; out=$(mktemp)
  extra=(); [ "$variant" = journal ] && extra=(--journal "$J")
  "$B" serve --tcp 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0 "${extra[@]}" >"$out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q "listening metrics" "$out" && break; sleep 0.1; done
  tcp=$(awk '/listening tcp/{print $3}' "$out"); met=$(awk '/listening metrics/{print $3}' "$out")
  "$B" loadgen --addr "$tcp" --connections 8 --pipeline 16 --duration 1s >/dev/null 2>&1
  max=$("$B" loadgen --addr "$tcp" --connections 8 --pipeline 16 --duration 5s 2>&1 |
    awk '/Requests\/sec/{print int($2)}')
  echo "== $variant: closed max ${max}/s; open @$((max / 2))/s:"
  "$B" loadgen --addr "$tcp" --connections 8 --pipeline 16 --duration 5s --rate $((max / 2)) 2>&1 |
    grep -E "^ +(50|99|99.9)%|lost|Requests/sec"
  curl -s "$met/metrics" | grep -E '^sedaflow_journal_(writes_total|sync_seconds_(sum|count))' || true
  kill -TERM "$pid"; wait "$pid"; rm -f "$out"
done
rm -rf "$J"
