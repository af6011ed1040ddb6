#!/usr/bin/env bash
# Runs the demo: the Cloudflare API simulator in the background on 127.0.0.1:8787, the
# collector in the foreground on config/demo.yaml. Ctrl-C (or the collector exiting)
# stops both; no process is left behind. Used by `make run`.
#
# Every run is a fresh demo, so it shows records every time: the receiver's checkpoints
# in DEMO_DIR are deleted, and the simulator gets a new seed (SIM_SEED), so it serves a
# new tenant (new accounts, members and audit ids) and a log.record.uid in the appended
# DEMO_DIR/records.jsonl never names two different events. DEMO_DIR must be the
# file_storage directory of CONFIG.
set -euo pipefail
cd "$(dirname "$0")/.."

OTELCOL=${OTELCOL:-_build/otelcol-cloudflare}
SIM=${SIM:-bin/cloudflare-sim}
SIM_ADDR=${SIM_ADDR:-127.0.0.1:8787}
CONFIG=${CONFIG:-config/demo.yaml}
DEMO_DIR=${DEMO_DIR:-_storage/demo}
SIM_SEED=${SIM_SEED:-$((RANDOM << 30 | RANDOM << 15 | RANDOM))}

for f in "$OTELCOL" "$SIM"; do
  [[ -x $f ]] || { echo "run-demo: $f not found; run 'make build sim' first" >&2; exit 1; }
done

sim_pid=""
col_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $col_pid ]] && kill -0 "$col_pid" 2>/dev/null; then
    kill -INT "$col_pid" 2>/dev/null || true   # graceful: the collector flushes and saves state
    wait "$col_pid" 2>/dev/null || true
  fi
  if [[ -n $sim_pid ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 0' INT     # Ctrl-C is the normal way to end the demo
trap 'exit 143' TERM

mkdir -p "$DEMO_DIR"
# A fresh demo state: only the receiver's checkpoints go; records.jsonl is kept.
rm -f "$DEMO_DIR"/receiver_cloudflare_identity_*
echo ">> starting the Cloudflare API simulator on $SIM_ADDR with seed $SIM_SEED (log: $DEMO_DIR/cloudflare-sim.log)"
"$SIM" -addr "$SIM_ADDR" -token sim-token -seed "$SIM_SEED" -live-interval 5s >"$DEMO_DIR/cloudflare-sim.log" 2>&1 &
sim_pid=$!

# Wait until it listens (at most 10 s).
host=${SIM_ADDR%:*} port=${SIM_ADDR##*:}
for _ in $(seq 100); do
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "run-demo: the simulator exited:" >&2; cat "$DEMO_DIR/cloudflare-sim.log" >&2; exit 1
  fi
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo ">> starting the collector: $OTELCOL --config $CONFIG (Ctrl-C stops both)"
# Started in the background and waited for, so that a signal to this script is handled at once.
"$OTELCOL" --config "$CONFIG" &
col_pid=$!
rc=0
wait "$col_pid" || rc=$?
col_pid=""
exit "$rc"
