#!/usr/bin/env bash
# CPU time and context switches per request of each process (parent, enclave, load tool) at
# c=16, from `perf stat`: where docs/performance.md's per-request budget comes from.
# usage: scripts/bench-cpu.sh BIN_DIR REQUESTS "<signer-load args>"
#   e.g. scripts/bench-cpu.sh target/release 20000 "--attestation session --auth one-shot"
set -uo pipefail
BIN=$1; N=$2; EXTRA=$3
DIR=$(mktemp -d /tmp/bench-XXXX); PORT=$((20000 + RANDOM % 20000))
"$BIN/signer-parent" dev --listen 127.0.0.1:$PORT --data-dir "$DIR" --enclave-bin "$BIN/signer-enclave" > "$DIR/parent.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf localhost:$PORT/readyz >/dev/null 2>&1 && break; sleep 0.2; done
# shellcheck disable=SC2086 # EXTRA is a list of arguments
W=$("$BIN/signer-load" --credentials "$DIR/dev-credentials.json" --concurrency 4 --requests 400 $EXTRA --json | jq -r '.walletId')
EPID=$(pgrep -P $PID -f signer-enclave | head -1)
perf stat -e task-clock,context-switches -p $PID -o "$DIR/parent.txt" & S1=$!
perf stat -e task-clock,context-switches -p "$EPID" -o "$DIR/enclave.txt" & S2=$!
sleep 0.3
# shellcheck disable=SC2086
perf stat -e task-clock,context-switches -o "$DIR/load.txt" "$BIN/signer-load" --credentials "$DIR/dev-credentials.json" \
  --concurrency 16 --requests "$N" --wallet "$W" $EXTRA --json | jq -c '{throughput}'
kill -INT $S1 $S2; wait $S1 $S2
for f in parent enclave load; do
  awk -v n="$N" -v f=$f '/task-clock/ {gsub(",","",$1); t=$1} /context-switches/ {gsub(",","",$1); c=$1}
    END {printf "%s: %.1f us CPU, %.2f context switches per request\n", f, t*1000/n, c/n}' "$DIR/$f.txt"
done
kill $PID; wait $PID 2>/dev/null; rm -rf "$DIR"
