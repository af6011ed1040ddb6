#!/usr/bin/env bash
# make bench: measures the receiver against its floors and writes BENCHMARKS.md.
# Every figure and every verdict in the report comes from the run this script just made
# (or, with BENCH_LOGS, from the raw outputs a run kept); the targets are the only numbers
# written here. One function per section: bench_<name> measures and prints its section.
#
# Environment: BENCH_WINDOW_SECONDS (scaled 5-minute window, default 60), BENCH_RUNS (default 3),
# BENCH_QUICK=1 (make bench-quick: one run of a reduced set, written to BENCH_OUT),
# BENCH_OUT (default BENCHMARKS.md), BENCH_LOGS=DIR (measure nothing: rewrite the report from the
# raw outputs a run kept in DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${BENCH_QUICK:-}
WINDOW=${BENCH_WINDOW_SECONDS:-$([[ -n $QUICK ]] && echo 10 || echo 60)}
RUNS=${BENCH_RUNS:-$([[ -n $QUICK ]] && echo 1 || echo 3)}
OUT=${BENCH_OUT:-BENCHMARKS.md}
LOG=${BENCH_LOGS:-$(mktemp -d)/bench}
mkdir -p "$LOG"
measure() { [[ -z ${BENCH_LOGS:-} ]]; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }
maximum() { sort -g | tail -1; }
# metric FILE NAME: every value of a benchmark metric in a go test output file
metric() { grep -oE "[0-9.e+-]+ $2([[:space:]]|$)" "$1" | awk '{print $1}'; }
# calc EXPR VAR=VALUE...: awk arithmetic, e.g. calc '%.2f' 'a/b' a=1 b=2
calc() {
  local fmt=$1 expr=$2; shift 2
  local args=(); for kv in "$@"; do args+=(-v "$kv"); done
  awk "${args[@]}" "BEGIN {printf \"$fmt\", $expr}"
}
# verdict VALUE TARGET: met when VALUE <= TARGET
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "**missed**"}'; }
# zero_verdict VALUE: met when VALUE is 0
zero_verdict() { verdict "$1" 0; }
# run_bench FILE CMD: runs CMD (a go test command line) unless replaying, keeping its output in FILE
run_bench() {
  if measure; then eval "$2" | tee "$1" | grep '^Benchmark' >&2; fi
}

bench_perrecord() {
  local count=$((RUNS * 5))
  local cmd="go test -run '^\$' -bench 'BenchmarkLoginPage' -benchtime 40x -count $count ."
  run_bench "$LOG/perrecord.txt" "$cmd"
  local b
  for b in BenchmarkLoginPageDecodeFloor BenchmarkLoginPagePdataFloor BenchmarkLoginPageToPlog; do
    grep "^$b-" "$LOG/perrecord.txt" >"$LOG/$b.txt"
  done
  local floor_ns full_ns floor_b full_b floor_a full_a ratio full_apr pdata_ns pdata_b pdata_a pdata_apr
  floor_ns=$(metric "$LOG/BenchmarkLoginPageDecodeFloor.txt" ns/record | median)
  full_ns=$(metric "$LOG/BenchmarkLoginPageToPlog.txt" ns/record | median)
  floor_b=$(metric "$LOG/BenchmarkLoginPageDecodeFloor.txt" B/op | median)
  full_b=$(metric "$LOG/BenchmarkLoginPageToPlog.txt" B/op | median)
  floor_a=$(metric "$LOG/BenchmarkLoginPageDecodeFloor.txt" allocs/op | median)
  full_a=$(metric "$LOG/BenchmarkLoginPageToPlog.txt" allocs/op | median)
  ratio=$(calc '%.2f' 'a/b' a="$full_ns" b="$floor_ns")
  full_apr=$(calc '%.1f' 'v/1000' v="$full_a")
  pdata_ns=$(metric "$LOG/BenchmarkLoginPagePdataFloor.txt" ns/record | median)
  pdata_b=$(metric "$LOG/BenchmarkLoginPagePdataFloor.txt" B/op | median)
  pdata_a=$(metric "$LOG/BenchmarkLoginPagePdataFloor.txt" allocs/op | median)
  pdata_apr=$(calc '%.1f' 'v/1000' v="$pdata_a")
  local alloc_ratio
  alloc_ratio=$(calc '%.3f' 'a/b' a="$full_a" b="$pdata_a")
  cat <<MD
## 1. Per-record cost: a 1,000-entry login page to plog

The full path decodes the page as the client does (\`cloudflare.DecodeAuditPage\`) and maps every
entry (\`appendLoginRecord\`, with the member enrichment); the floor only decodes the same bytes, served
by the simulator in Cloudflare's wire format, with encoding/json into plain structs.

| | ns/record | B/record | allocs/record |
|---|---|---|---|
| decode floor | $(calc '%.0f' v v="$floor_ns") | $(calc '%.0f' 'v/1000' v="$floor_b") | $(calc '%.1f' 'v/1000' v="$floor_a") |
| pdata floor | $(calc '%.0f' v v="$pdata_ns") | $(calc '%.0f' 'v/1000' v="$pdata_b") | ${pdata_apr} |
| full path | $(calc '%.0f' v v="$full_ns") | $(calc '%.0f' 'v/1000' v="$full_b") | ${full_apr} |
| **ratio** | **${ratio}x** to the decode floor (target <= 2x: $(verdict "$ratio" 2)) | | **${alloc_ratio}x** to the pdata floor (target <= 1.1x: $(verdict "$alloc_ratio" 1.1)) |

The pdata floor copies the full path's 1,000 records into new ones (\`LogRecord.CopyTo\`): what pdata
itself allocates to hold them, one allocation per attribute and per value of the Body, with nothing decoded.
The full path allocates $(calc '%.1f' 'a-b' a="$full_apr" b="$pdata_apr") per record beyond it. The Body stays the entry as a map, whose
fields downstream processors read: pdata alone needs ${pdata_apr} allocations per record for it, so the
allocation target is against that floor.

\`$cmd\` (median of $count runs)

MD
}

# backfill_run LOGINS PERSON RUNS [MEMBERS [WINDOW [TAG]]]: BenchmarkBackfill RUNS times, each in its own
# process (its own peak RSS), with PERSON dashboard requests per window sharing the token; MEMBERS other
# than the default 20,000 name the file backfill-LOGINS-PERSON-MEMBERS.txt; a WINDOW (seconds, with the
# default MEMBERS) names it backfill-LOGINS-PERSON-wWINDOW.txt, a TAG backfill-LOGINS-PERSON-TAG.txt
backfill_run() {
  local members=${4:-20000} window=${5:-$WINDOW}
  local f="$LOG/backfill-$1-$2${4:+-$4}.txt"
  [[ -z ${5:-} ]] || f="$LOG/backfill-$1-$2-w$5.txt"
  [[ -z ${6:-} ]] || f="$LOG/backfill-$1-$2-$6.txt"
  measure || return 0
  : >"$f"
  for _ in $(seq "$3"); do
    CFI_BENCH_LOGINS=$1 CFI_BENCH_PERSON=$2 CFI_BENCH_MEMBERS=$members CFI_BENCH_WINDOW_SECONDS=$window \
      go test -run '^$' -bench 'BenchmarkBackfill$' -benchtime 1x -timeout 60m . | grep '^BenchmarkBackfill' | tee -a "$f" >&2
  done
}

# backfill_row FILE LABEL: one row of the backfill table
backfill_row() {
  local f=$1 wall floor ratio
  wall=$(metric "$f" wall_s | median); floor=$(metric "$f" floor_s | median)
  if awk -v f="$floor" 'BEGIN {exit !(f > 0)}'; then
    ratio="$(calc '%.3f' 'a/b' a="$wall" b="$floor")x (the verdict is taken at the real window, below)"
  else
    ratio="no floor: every request fits in the first window"
  fi
  echo "| $2 | $(metric "$f" requests | median) | $(metric "$f" min_requests | median) | $(metric "$f" budget | median) | $(metric "$f" http_429 | maximum) ($(zero_verdict "$(metric "$f" http_429 | maximum)")) | ${wall} s | ${floor} s | ${ratio} | $(metric "$f" records/s | median) | $(metric "$f" peak_rss_MiB | median) MiB | $(metric "$f" peak_live_heap_MiB | median) MiB | $(metric "$f" retained_heap_MiB | median) MiB |"
}

# real_window_paragraph LOGINS LABEL: the backfill at the scaled window against the same at 300 s
real_window_paragraph() {
  local scaled="$LOG/backfill-$1-0.txt" real="$LOG/backfill-$1-0-w300.txt"
  local swall sfloor after
  swall=$(metric "$scaled" wall_s | median); sfloor=$(metric "$scaled" floor_s | median)
  after=$(calc '%.0f' 'a-b' a="$(metric "$scaled" min_requests | median)" b="$(metric "$scaled" budget | median)")
  echo "At the ${WINDOW} s window, ${after} of the ${2} logins' required requests can only go in the second window,"
  echo "and reading them takes $(calc '%.2f' 'a-b' a="$swall" b="$sfloor") s after the floor (wall less floor)."
  if [[ ! -f $real ]]; then
    echo "(bench-quick does not run the backfill at Cloudflare's real 300 s window.)"
    return
  fi
  local rwall rfloor ratio
  rwall=$(metric "$real" wall_s | median); rfloor=$(metric "$real" floor_s | median)
  ratio=$(calc '%.3f' 'a/b' a="$rwall" b="$rfloor")
  echo "The same ${2}-login backfill at Cloudflare's real"
  echo "5-minute window (\`CFI_BENCH_WINDOW_SECONDS=300\`, once): $(metric "$real" requests | median) requests,"
  echo "$(metric "$real" http_429 | maximum) 429s, wall ${rwall} s against a floor of ${rfloor} s, $(calc '%.2f' 'a-b' a="$rwall" b="$rfloor") s after it:"
  echo "**${ratio}x** (target <= 1.05: $(verdict "$ratio" 1.05)); peak RSS $(metric "$real" peak_rss_MiB | median) MiB."
}

# The GOMEMLIMIT the Kubernetes manifests set.
GOMEMLIMIT_K8S=$(sed -n '/name: GOMEMLIMIT/{n;s/.*value: *//p;q}' deploy/kubernetes/single/deployment.yaml)

# memlimit_sentence LOGINS: the backfill run under the manifests' GOMEMLIMIT
memlimit_sentence() {
  local f="$LOG/backfill-$1-0-memlimit.txt"
  if [[ ! -f $f ]]; then
    echo "(bench-quick does not run the backfill under GOMEMLIMIT.)"
    return
  fi
  local rss limit
  rss=$(metric "$f" peak_rss_MiB | median); limit=${GOMEMLIMIT_K8S%MiB}
  echo "Under the Kubernetes manifests' \`GOMEMLIMIT=${GOMEMLIMIT_K8S}\` (once): peak RSS ${rss} MiB,"
  echo "peak live heap $(metric "$f" peak_live_heap_MiB | median) MiB (target: RSS within that limit: $(verdict "$rss" "$limit"))."
}

bench_backfill() {
  local big=1000000 big_label=1,000,000
  backfill_run 100000 0 "$RUNS"
  backfill_run "$big" 0 "$RUNS"
  backfill_run 4000 0 "$RUNS" 20000
  backfill_run "$big" 0 "$RUNS" 200
  # bench-quick leaves out the run at Cloudflare's real window (over 5 minutes)
  [[ -n $QUICK ]] || backfill_run "$big" 0 1 20000 300
  [[ -n $QUICK ]] || GOMEMLIMIT=$GOMEMLIMIT_K8S backfill_run "$big" 0 1 20000 "$WINDOW" memlimit
  local small_rss big_rss small_heap big_heap growth
  small_rss=$(metric "$LOG/backfill-100000-0.txt" peak_rss_MiB | median)
  big_rss=$(metric "$LOG/backfill-$big-0.txt" peak_rss_MiB | median)
  small_heap=$(metric "$LOG/backfill-100000-0.txt" peak_live_heap_MiB | median)
  big_heap=$(metric "$LOG/backfill-$big-0.txt" peak_live_heap_MiB | median)
  growth=$(calc '%.2f' 'b/a' a="$small_heap" b="$big_heap")
  local small_held big_held held_growth
  small_held=$(metric "$LOG/backfill-100000-0.txt" retained_heap_MiB | median)
  big_held=$(metric "$LOG/backfill-$big-0.txt" retained_heap_MiB | median)
  held_growth=$(calc '%.2f' 'b/a' a="$small_held" b="$big_held")
  cat <<MD
## 2. Backfill at the rate-limit floor

4 accounts, 20,000 members, logins spread over the last 24 h, collected by the receiver's own loops
(\`Start\`, default config but \`rate_limit.window\`) into a counting consumer, without \`GOMEMLIMIT\`. The
simulator runs in its own process and enforces Cloudflare's 1,200 requests per window, with the
5-minute window scaled to ${WINDOW} s. The budget is what the receiver may spend per window: its
\`rate_limit.requests_per_window\`, and no more than the quota less \`rate_limit.reserve\`. With a sliding
window, request *k* can go no earlier than floor(k / budget) windows after the start: that time for the
last required request is the floor.

| logins | requests made | minimum needed | budget per window | 429s (target 0) | wall | floor | wall / floor | records/s | peak RSS | peak live heap | heap held after |
|---|---|---|---|---|---|---|---|---|---|---|---|
$(backfill_row "$LOG/backfill-100000-0.txt" "100,000")
$(backfill_row "$LOG/backfill-$big-0.txt" "$big_label")

Minimum = pages of 1,000 logins (a full last page needs one more, empty, to end) + pages of 50 members,
twice for an account's list of more than one page (its first read is confirmed by a second, so that a list
changing while it is read cannot hide a member: \`TestTornListReadEmitsOnlyTrueChanges\`) + one account
listing + one token check.

$(real_window_paragraph "$big" "$big_label")

Where the memory goes, the same backfill with one of the two reduced:

| logins | members | requests made | wall | floor | wall / floor | peak RSS | peak live heap |
|---|---|---|---|---|---|---|---|
$(for run in "4000 20000 4,000 20,000" "$big 200 $big_label 200"; do
  set -- $run; f="$LOG/backfill-$1-0-$2.txt"
  wall=$(metric "$f" wall_s | median); floor=$(metric "$f" floor_s | median)
  ratio=$(awk -v w="$wall" -v f="$floor" 'BEGIN {if (f > 0) printf "%.3fx", w/f; else print "no floor"}')
  echo "| $3 | $4 | $(metric "$f" requests | median) | ${wall} s | ${floor} s | ${ratio} | $(metric "$f" peak_rss_MiB | median) MiB | $(metric "$f" peak_live_heap_MiB | median) MiB |"
done)

The member pages (50 members a request) share the budget with the login pages, so with 20,000 members
more login pages wait for the second window and are read after the floor.

Peak RSS is the \`VmHWM\` of the process running the receiver (the simulator's data is in the other
process). The peak live heap is the most a garbage collection kept, sampled every 10 ms
(\`/gc/heap/live:bytes\`); the memory targets are on it. At ${big_label} logins: ${big_heap} MiB (target <= 45 MiB:
$(verdict "$big_heap" 45)); from 100,000 to ${big_label} logins: ${growth}x (target <= 1.10x: $(verdict "$growth" 1.10)).
The heap held after is the live heap after a collection once every record was delivered: the receiver's
state (members, their records compressed, login histories, cursors) without the pages in flight. It grows
${held_growth}x from 100,000 to ${big_label} logins (${small_held} to ${big_held} MiB): what grows with the logins is
what is in flight when the live heap peaks. \`CFI_BENCH_PEAK_PROFILE=FILE\` writes the heap profile at each
new peak: at ${big_label} logins it is an account's first member inventory, 5,000 records with their role
permissions in one batch, while login pages arrive; a collection during that counts what is allocated
while it runs as live, and the ${big_label}-login run allocates faster (records/s above).
Without \`GOMEMLIMIT\` the Go runtime lets the heap grow to about twice the live heap before collecting, so
the peak RSS at ${big_label} logins is $(calc '%.1f' 'a/b' a="$big_rss" b="$big_heap")x its peak live heap. $(memlimit_sentence "$big")

\`CFI_BENCH_LOGINS=<100000|$big|4000> CFI_BENCH_MEMBERS=<20000|200> CFI_BENCH_PERSON=0 CFI_BENCH_WINDOW_SECONDS=$WINDOW go test -run '^\$' -bench 'BenchmarkBackfill\$' -benchtime 1x .\`
(median of $RUNS runs each; 429s: the most of any run)

MD
}

bench_shared() {
  local person=600
  backfill_run 1000000 "$person" 1
  local f="$LOG/backfill-1000000-$person.txt" wall floor
  wall=$(metric "$f" wall_s | median); floor=$(metric "$f" floor_s | median)
  cat <<MD
## 3. Sharing the budget with the token owner

The 1,000,000-login backfill of section 2 while the token owner uses the dashboard: ${person} requests per
window in bursts of 60, counted by the simulator against the same 1,200 (window scaled to ${WINDOW} s).
The receiver paces by Cloudflare's \`Ratelimit\`/\`Ratelimit-Policy\` headers and leaves
\`rate_limit.reserve\` (default 20% of the quota) free. Its floor is section 2's with the budget left to
it: the quota less the reserve and the owner's use.

| 429s to the receiver (target 0) | requests made | budget left per window | wall | floor | wall / floor |
|---|---|---|---|---|---|
| $(metric "$f" http_429 | maximum) ($(zero_verdict "$(metric "$f" http_429 | maximum)")) | $(metric "$f" requests | median) | $(metric "$f" budget | median) | ${wall} s | ${floor} s | $(calc '%.3f' 'a/b' a="$wall" b="$floor")x |

A lockout refuses the owner and the receiver alike, so a 429 to the owner would show here too; the
test \`TestBackfillLeavesTheReserveToTheTokenOwner\` counts the owner's refusals on the in-process simulator.

\`CFI_BENCH_LOGINS=1000000 CFI_BENCH_PERSON=$person CFI_BENCH_WINDOW_SECONDS=$WINDOW go test -run '^\$' -bench 'BenchmarkBackfill\$' -benchtime 1x .\` (once)

MD
}

# many_run ACCOUNTS PERSON: BenchmarkManyAccounts once, into many-ACCOUNTS-PERSON.txt
many_run() {
  measure || return 0
  CFI_BENCH_ACCOUNTS=$1 CFI_BENCH_PERSON=$2 go test -run '^$' -bench 'BenchmarkManyAccounts' -benchtime 1x -timeout 60m . |
    grep '^BenchmarkManyAccounts' | tee "$LOG/many-$1-$2.txt" >&2
}

# many_row ACCOUNTS PERSON: one row of the many-accounts table
many_row() {
  local f="$LOG/many-$1-$2.txt" worst median fworst fmedian peak budget warn wr mr
  worst=$(metric "$f" worst_latency_min | median); median=$(metric "$f" median_latency_min | median)
  fworst=$(metric "$f" floor_worst_latency_min | median); fmedian=$(metric "$f" floor_median_latency_min | median)
  peak=$(metric "$f" max_requests_per_window | median); budget=$(metric "$f" budget_per_window | median)
  warn=$(metric "$f" warn_expected_latency_min | median)
  wr=$(calc '%.3f' 'a/b' a="$worst" b="$fworst"); mr=$(calc '%.3f' 'a/b' a="$median" b="$fmedian")
  echo "| $1 | $2 | $(metric "$f" http_429 | maximum) ($(zero_verdict "$(metric "$f" http_429 | maximum)")) | ${peak} of $(calc '%g' 'a+b' a="$budget" b="$2") ($(verdict "$peak" "$(calc '%g' 'a+b' a="$budget" b="$2")")) | ${worst} min | ${fworst} min | **${wr}x** ($(verdict "$wr" 1.25)) | ${median} min | ${fmedian} min | **${mr}x** ($(verdict "$mr" 1.1)) | ${warn} min ($(calc '%.2f' 'a/b' a="$warn" b="$worst")x the worst) |"
}

bench_many() {
  local small=$([[ -n $QUICK ]] && echo 250 || echo 1000) big=$([[ -n $QUICK ]] && echo 750 || echo 3000)
  many_run "$small" 0
  many_run "$big" 0
  many_run "$small" 600
  cat <<MD
## 4. Many accounts on one token

Accounts of 50 members, 5 logins per account per minute, default config, for a simulated hour; then
polling goes on until every login has reached the pipeline. The users and logins loops run side by side,
as in the collector, on an injected clock shared by the in-process simulator (enforcing 1,200 requests
per 5 minutes), the receiver and its rate limiter: one loop runs at a time, until it waits (the limiter,
its pacing, its next step), and the clock then moves to the earliest wake-up (\`eventClock\`). The polls
need far more requests than the budget, so every account waits its turn. The budget is the receiver's
\`requests_per_window\` (900), no more than the quota less the reserve and the token owner's requests
(the third run: 600 per window, counted by the simulator).

The floor is the best any schedule could do with that budget: the account listing takes what it needs,
the users stream what it needs up to half of what is left, and every other request goes to a login poll,
one per account; a login waits at worst one such round, half of it at the median. "Most requests in a
window" counts the simulator's, against the receiver's budget plus the owner's requests. The WARN's \`expected_login_latency\` is the
planner's figure for the configured budget: it does not know the owner's use.

| accounts | owner's requests per window | 429s (target 0) | most requests in any 5-minute window | worst login latency | floor | worst / floor (target <= 1.25x) | median login latency | floor | median / floor (target <= 1.1x) | WARN expected_login_latency |
|---|---|---|---|---|---|---|---|---|---|---|
$(many_row "$small" 0)
$(many_row "$big" 0)
$(many_row "$small" 600)

\`CFI_BENCH_ACCOUNTS=<$small|$big> CFI_BENCH_PERSON=<0|600> go test -run '^\$' -bench 'BenchmarkManyAccounts' -benchtime 1x -timeout 60m .\` (once each)

MD
}

bench_steady() {
  local cmd="go test -run '^\$' -bench 'BenchmarkSteadyState' -benchtime 1x -count $RUNS ."
  run_bench "$LOG/steady.txt" "$cmd"
  local f="$LOG/steady.txt" saudit spolls ssweeps starget
  saudit=$(metric "$f" audit_requests/hour | median)
  spolls=$(metric "$f" audit_polls/hour | median)
  ssweeps=$(metric "$f" audit_sweeps/hour | median)
  starget=$(calc '%g' 'a+b' a="$spolls" b="$ssweeps")
  cat <<MD
## 5. Steady state: 10 accounts for a simulated hour

Logins polled every minute with 20 new logins per account per minute, users every 15 minutes, on an
injected clock against the in-process simulator. Polls and sweeps are the login listings the receiver
asked the client for, counted as it asked.

| requests per hour | audit requests per hour | audit polls and sweeps per hour | CPU seconds per hour |
|---|---|---|---|
| $(metric "$f" requests/hour | median) | ${saudit} (target: one per poll = ${spolls}: $(verdict "$saudit" "$spolls")) | ${spolls} polls, ${ssweeps} sweeps apart (a due sweep is read with its poll) | $(metric "$f" cpu_s/hour | median) (receiver and simulator together) |

\`$cmd\`

MD
}

bench_latency() {
  local samples=$([[ -n $QUICK ]] && echo 2 || echo 6)
  local cmd="CFI_BENCH_LATENCY_SAMPLES=$samples go test -run '^\$' -bench 'BenchmarkLoginLatency' -benchtime 1x ."
  run_bench "$LOG/latency.txt" "$cmd"
  local f="$LOG/latency.txt" worst target
  worst=$(metric "$f" worst_latency_s | median)
  target=$(metric "$f" target_s | median)
  cat <<MD
## 6. Latency

A login appended to the simulator (visible at once) until its record reaches the pipeline, with
\`logins.poll_interval\` 10 s (its minimum), $samples samples spread over the poll cycle.

| worst | mean | target |
|---|---|---|
| ${worst} s | $(metric "$f" mean_latency_s | median) s | poll_interval + 1 s = ${target} s: $(verdict "$worst" "$target") |

\`$cmd\`

MD
}

# late_row SCENARIO LABEL: one table row from BenchmarkLateArrivals/SCENARIO
late_row() {
  local f="$LOG/late-$1.txt"
  grep "^BenchmarkLateArrivals/$1-" "$LOG/late.txt" >"$f"
  local req need ratio worst target
  req=$(metric "$f" requests | median); need=$(metric "$f" need_requests | median)
  ratio=$(calc '%.2f' 'a/b' a="$req" b="$need")
  worst=$(metric "$f" worst_late_latency_s | median); target=$(metric "$f" late_latency_target_s | median)
  echo "| $2 | ${req} | ${need} | **${ratio}x** (target <= 1.5x: $(verdict "$ratio" 1.5)) | $(metric "$f" lost | median) | $(metric "$f" duplicated | median) | $(metric "$f" late_arrivals | median) | ${worst} s (target ${target} s: $(verdict "$worst" "$target")) |"
}

bench_late() {
  local cmd="go test -run '^\$' -bench 'BenchmarkLateArrivals' -benchtime 1x ."
  run_bench "$LOG/late.txt" "$cmd"
  cat <<MD
## 7. Late arrivals: polls read what is new, sweeps re-read the window

One account receiving 50 logins a second for 4 simulated minutes (a simulated clock shared by the
simulator and the receiver), one in a hundred shown late by up to \`late_arrival_window\`. Requests are
the audit requests of those 4 minutes; "new entries need" is one request per poll, more where a poll's
new entries fill more than a page of 1,000. Lost, duplicated and the worst latency (from an entry
showing up to its record reaching the pipeline) are counted after polling on until every late arrival
has been swept.

| scenario | requests | new entries need | ratio | lost | duplicated | late arrivals | worst late-arrival latency |
|---|---|---|---|---|---|---|---|
$(late_row soak "soak: poll 10 s, window 2 m, sweep 1 m")
$(late_row defaults "defaults: poll 1 m, window 10 m, sweep 5 m")

A sweep re-reads from a window before the checkpoint the previous sweep ended at; it is read with the
poll it is due at, as one range, so it costs requests of its own only where that range fills more than a
page.

\`$cmd\`

MD
}

# BenchmarkLoginHistorySize reports storage_bytes, storage_bytes/member and heap_bytes.
# BenchmarkLoginHistorySize reports storage_bytes, storage_bytes/member, heap_bytes and heap_bytes/member.
bench_usage() {
  local cmd="go test -run '^\$' -bench 'BenchmarkLoginHistorySize' -benchtime 1x -count $RUNS ."
  run_bench "$LOG/usage-state.txt" "$cmd"
  local bytes heap per heapper
  bytes=$(metric "$LOG/usage-state.txt" storage_bytes | median)
  heap=$(metric "$LOG/usage-state.txt" heap_bytes | median)
  per=$(metric "$LOG/usage-state.txt" storage_bytes/member | median)
  heapper=$(metric "$LOG/usage-state.txt" heap_bytes/member | median)
  cat <<MD
## 8. New-address state: 10,000 members x 32 networks

The login history the receiver keeps per user (last login and at most 32 networks, least recently used
forgotten first; \`logins.new_address_memory\`), at its bound for 10,000 members of one account: each
user's history is its own storage key, written with the login checkpoint of the page that changed it, and
kept encoded in memory as in storage (a network as a number, the time it was last seen as seconds before
the last login, both as varints).

| stored (keys and values) | per member (target <= 400 B) | live heap | per member (target <= 400 B) |
|---|---|---|---|
| $(awk -v v="$bytes" 'BEGIN {printf "%.2f MiB", v/1048576}') | $(awk -v v="$per" 'BEGIN {printf "%.0f B", v}') ($(verdict "$per" 400)) | $(awk -v v="$heap" 'BEGIN {printf "%.2f MiB", v/1048576}') | $(awk -v v="$heapper" 'BEGIN {printf "%.0f B", v}') ($(verdict "$heapper" 400)) |

Measured at one member count only: each member's history holds at most 32 networks, so the stored size is
bounded by the member count times one full history (the per-member figure above, taken at that bound).

\`$cmd\` (median of $RUNS runs)

MD
}

# The sections, in the report's order.
SECTIONS=(perrecord backfill shared many steady latency late usage)

report="$LOG/report.md"
# The commit measured: kept with the raw outputs, so that a report rewritten from them names it.
if measure; then
  echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo -dirty)" >"$LOG/commit"
fi
measured=$(cat "$LOG/commit")
current=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo -dirty)
{
  cat <<MD
# Benchmarks

Written by \`make bench$([[ -n $QUICK ]] && echo -quick)\` (\`scripts/bench.sh\`) at commit ${measured}$([[ $measured == "$current" ]] || echo " (the report rewritten at ${current} from that run's raw outputs)") on $(date -u +%Y-%m-%d), $(nproc) CPUs, $(go version | cut -d' ' -f3-4).
Absolute times vary across machines; the ratios are against floors measured in the same run, and
every figure is the median of the runs given. Each target's verdict is computed from this run.

MD
  n=0
  for s in "${SECTIONS[@]}"; do
    n=$((n + 1))
    echo ">> $n/${#SECTIONS[@]} $s" >&2
    "bench_$s"
  done
} >"$report"
# Trailing blank line off, then into place.
sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$report" >"$OUT"
echo ">> wrote $OUT (raw outputs in $LOG)"
