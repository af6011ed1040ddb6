#!/usr/bin/env bash
# Runs the demo: the Cloudflare API simulator in the background on SIM_ADDR, the collector on
# config/demo.yaml in the background, and in the foreground the demo console (cmd/demo-console),
# which prints one line per record and one per poll. Ctrl-C (or the collector exiting) stops all
# three; no process is left behind. Used by `make run`.
#
# Every run is a fresh demo, so it shows records every time: the receiver's checkpoints in
# DEMO_DIR are deleted, and the simulator gets a new seed (SIM_SEED), so it serves a new tenant
# (new accounts, members and audit ids) and a log.record.uid in the appended DEMO_DIR/records.jsonl
# never names two different events.
#
# The addresses are checked before anything starts: one that is taken stops the demo at once,
# saying which and how to choose another (SIM_ADDR, HEALTH_ADDR, METRICS_ADDR). They, DEMO_DIR and
# the collector's logging (DEBUG, for the receiver's "Poll done" lines, as JSON into
# DEMO_DIR/collector.log, which the console reads) are set on the collector's command line (--set),
# over what config/demo.yaml says.
set -euo pipefail
cd "$(dirname "$0")/.."

OTELCOL=${OTELCOL:-_build/otelcol-cloudflare}
SIM=${SIM:-bin/cloudflare-sim}
DEMO_CONSOLE=${DEMO_CONSOLE:-bin/demo-console}
SIM_ADDR=${SIM_ADDR:-127.0.0.1:8787}
HEALTH_ADDR=${HEALTH_ADDR:-127.0.0.1:13133}
METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:8888}
CONFIG=${CONFIG:-config/demo.yaml}
DEMO_DIR=${DEMO_DIR:-_storage/demo}
SIM_SEED=${SIM_SEED:-$((RANDOM << 30 | RANDOM << 15 | RANDOM))}
# A small tenant, so that its first inventory and a day of logins fit on a screen (about 110 lines);
# every 5 s new logins, every 15 s one of them held back for 30 s: it shows in the audit log after
# newer ones, and the receiver's late-arrival sweep (config/demo.yaml: every 30 s) finds it.
SIM_ARGS=${SIM_ARGS:--accounts 2 -members 8 -logins 20 -access-users 6 -access-logins 20 -live-interval 5s -late-delay 30s -late-every 3}

for f in "$OTELCOL" "$SIM" "$DEMO_CONSOLE"; do
  [[ -x $f ]] || { echo "run-demo: $f not found; run 'make run' (it builds them)" >&2; exit 1; }
done

# listening HOST:PORT: whether something accepts connections there.
listening() {
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

for spec in "SIM_ADDR:$SIM_ADDR:the Cloudflare API simulator" "HEALTH_ADDR:$HEALTH_ADDR:the collector's health check" \
            "METRICS_ADDR:$METRICS_ADDR:the collector's metrics for Prometheus"; do
  var=${spec%%:*} rest=${spec#*:}
  addr=${rest%:*} role=${rest##*:}
  if listening "$addr"; then
    port=${addr##*:}
    echo "run-demo: $addr, the address of $role, is in use by another process (a demo still running?):" \
      "ss -ltnp 'sport = :$port' shows which. Stop it, or give the demo another address: $var=127.0.0.1:$((port + 10000)) make run" >&2
    exit 1
  fi
done

sim_pid=""
col_pid=""
console_pid=""
stop() { # stop PID SIGNAL: signal it and wait for it, if it still runs
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
    kill "-$2" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  trap - EXIT INT TERM
  stop "$col_pid" INT       # graceful: the collector flushes and saves state
  stop "$sim_pid" TERM
  if [[ -n $console_pid ]]; then
    stop "$console_pid" TERM  # after the collector: it prints what is left, then exits
    echo ">> demo stopped; this run's records stay in $DEMO_DIR/records.jsonl"
  fi
}
trap cleanup EXIT
trap 'exit 0' INT     # Ctrl-C is the normal way to end the demo
trap 'exit 143' TERM

mkdir -p "$DEMO_DIR"
# A fresh demo state: only the receiver's checkpoints go; records.jsonl is kept.
rm -f "$DEMO_DIR"/receiver_cloudflare_identity_*
records=$DEMO_DIR/records.jsonl
collector_log=$DEMO_DIR/collector.log
: >"$collector_log"   # this run's log only

# shellcheck disable=SC2086 # SIM_ARGS is a list of flags
"$SIM" -addr "$SIM_ADDR" -token sim-token -seed "$SIM_SEED" $SIM_ARGS >"$DEMO_DIR/cloudflare-sim.log" 2>&1 &
sim_pid=$!
# Wait until it listens (at most 10 s).
for _ in $(seq 100); do
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "run-demo: the simulator exited:" >&2; cat "$DEMO_DIR/cloudflare-sim.log" >&2; exit 1
  fi
  if listening "$SIM_ADDR"; then break; fi
  sleep 0.1
done

cat <<EOF
>> Cloudflare identity receiver demo (Ctrl-C stops it)
   simulator   http://$SIM_ADDR/client/v4, seed $SIM_SEED: new logins every 5 s, one held back for 30 s every 15 s
               (a late arrival: the receiver's sweep finds it, marked "(late)" below); log: $DEMO_DIR/cloudflare-sim.log
   collector   $OTELCOL --config $CONFIG; log: $collector_log
   health      curl -s 'http://$HEALTH_ADDR/status?verbose'
   metrics     curl -s http://$METRICS_ADDR/metrics | grep cloudflare
   records     one line each below; in full (every attribute and the Body, OTLP/JSON, one batch a line, every run's
               records appended) in $records, e.g. the logins:
               jq '.resourceLogs[].scopeLogs[].logRecords[] | select(.eventName == "cloudflare.user.login")' $records

EOF

# The console starts at the current end of records.jsonl: the records of this run only.
offset=0
[[ -f $records ]] && offset=$(wc -c <"$records")
"$DEMO_CONSOLE" -records "$records" -records-offset "$offset" -log "$collector_log" -of-parent &
console_pid=$!

"$OTELCOL" --config "$CONFIG" \
  "--set=receivers::cloudflare_identity::endpoint=http://$SIM_ADDR/client/v4" \
  "--set=extensions::healthcheckv2::http::endpoint=$HEALTH_ADDR" \
  "--set=service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: ${METRICS_ADDR%:*}, port: ${METRICS_ADDR##*:}}}}}]" \
  "--set=extensions::file_storage::directory=$DEMO_DIR" \
  "--set=exporters::file::path=$records" \
  "--set=service::telemetry::logs::level=debug" \
  "--set=service::telemetry::logs::encoding=json" \
  >>"$collector_log" 2>&1 &
col_pid=$!
# Started in the background and waited for, so that a signal to this script is handled at once.
rc=0
wait "$col_pid" || rc=$?
col_pid=""
if [[ $rc -ne 0 ]]; then
  echo "run-demo: the collector exited with status $rc; the end of $collector_log:" >&2
  tail -n 5 "$collector_log" >&2
fi
exit "$rc"
