#!/usr/bin/env bash
# Throughput at c=16 of several stacks, run in turns (A B A B ...) so that drift of this machine
# hits each alike; prints each run and the median per label. docs/performance.md's issue-8 ratio.
# usage: scripts/bench-interleaved.sh ROUNDS REQUESTS LABEL:BIN_DIR:"signer-load args" ...
#   e.g. scripts/bench-interleaved.sh 5 20000 "bearer:/tmp/old/release:--attestation session" \
#          "one-shot:target/release:--attestation session --auth one-shot"
set -uo pipefail
ROUNDS=$1; N=$2; shift 2
declare -A RESULTS
for _ in $(seq 1 "$ROUNDS"); do
  for spec in "$@"; do
    IFS=: read -r LABEL BIN EXTRA <<< "$spec"
    DIR=$(mktemp -d /tmp/bench-XXXX); PORT=$((20000 + RANDOM % 20000))
    "$BIN/signer-parent" dev --listen 127.0.0.1:$PORT --data-dir "$DIR" --enclave-bin "$BIN/signer-enclave" > "$DIR/parent.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -sf localhost:$PORT/readyz >/dev/null 2>&1 && break; sleep 0.2; done
    # shellcheck disable=SC2086 # EXTRA is a list of arguments
    W=$("$BIN/signer-load" --credentials "$DIR/dev-credentials.json" --concurrency 4 --requests 400 $EXTRA --json | jq -r '.walletId')
    # shellcheck disable=SC2086
    TP=$("$BIN/signer-load" --credentials "$DIR/dev-credentials.json" --concurrency 16 --requests "$N" --wallet "$W" $EXTRA --json | jq -r '.throughput')
    RESULTS[$LABEL]="${RESULTS[$LABEL]:-} $TP"
    kill $PID; wait $PID 2>/dev/null; rm -rf "$DIR"
  done
done
for spec in "$@"; do
  IFS=: read -r LABEL _ _ <<< "$spec"
  MEDIAN=$(echo ${RESULTS[$LABEL]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$LABEL:${RESULTS[$LABEL]} median $MEDIAN"
done
