#!/usr/bin/env bash
# End-to-end figures of docs/performance.md: starts `signer-parent dev` from BIN_DIR (release
# binaries) in a temporary data dir on a random loopback port, then runs signer-load at c=1 and c=16.
# usage: scripts/bench-e2e.sh BIN_DIR LABEL CURVE "<extra signer-load args>"
#   e.g. scripts/bench-e2e.sh target/release one-shot secp256k1 "--attestation session --auth one-shot"
set -euo pipefail
BIN=$1; LABEL=$2; CURVE=$3; EXTRA=$4
DIR=$(mktemp -d /tmp/bench-XXXX)
PORT=$((20000 + RANDOM % 20000))
"$BIN/signer-parent" dev --listen 127.0.0.1:$PORT --data-dir "$DIR" --enclave-bin "$BIN/signer-enclave" > "$DIR/parent.log" 2>&1 &
PID=$!
for i in $(seq 1 100); do curl -sf localhost:$PORT/readyz >/dev/null 2>&1 && break; sleep 0.2; done
W=$("$BIN/signer-load" --credentials "$DIR/dev-credentials.json" --concurrency 4 --requests 400 --curve $CURVE $EXTRA --json | jq -r '.wallet // .walletId // empty')
WARG=""; [ -n "$W" ] && WARG="--wallet $W"
for C in 1 16; do
  N=$(( C == 1 ? 2000 : 10000 ))
  OUT=$("$BIN/signer-load" --credentials "$DIR/dev-credentials.json" --concurrency $C --requests $N --curve $CURVE $WARG $EXTRA --json)
  echo "$LABEL c=$C $(echo "$OUT" | jq -c '{tp:.throughput, p50:.p50Ms, p99:.p99Ms, err:.errors}' 2>/dev/null || echo "$OUT")"
done
kill $PID; wait $PID 2>/dev/null || true
rm -rf "$DIR"
