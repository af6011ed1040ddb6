package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	nooptrace "go.opentelemetry.io/otel/trace/noop"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// The scenario benchmarks of BENCHMARKS.md. Each runs once (-benchtime 1x);
// scripts/bench.sh runs them in separate processes so that each process's
// peak RSS is its own. Their figures are custom metrics.

// envInt reads a scenario parameter from the environment.
func envInt(name string, fallback int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return fallback
}

// countingConsumer counts records and closes done when want have arrived.
func countingConsumer(want int64, count *atomic.Int64, done chan struct{}) consumer.Logs {
	logs, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if count.Add(int64(ld.LogRecordCount())) >= want {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	})
	return logs
}

// peakRSSMiB is this process's peak resident set (VmHWM).
func peakRSSMiB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			require.NoError(b, err)
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// peakLiveHeap samples the live heap (what the last GC kept) until stop is
// closed, then reports its peak in MiB: without GOMEMLIMIT the Go runtime
// lets the heap grow to about twice the live heap before it collects.
func peakLiveHeap(stop <-chan struct{}) <-chan float64 {
	peak := make(chan float64, 1)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var most uint64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > most+1<<20 {
				most = live
				if path := os.Getenv("CFI_BENCH_PEAK_PROFILE"); path != "" {
					// What the heap held at the collection that found the peak.
					if f, err := os.Create(path); err == nil {
						_ = pprof.WriteHeapProfile(f)
						_ = f.Close()
					}
				}
			}
			most = max(most, sample[0].Value.Uint64())
			select {
			case <-stop:
				peak <- float64(most) / (1 << 20)
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
}

// BenchmarkBackfill collects every member and login of a large estate through
// the receiver's own loops, against a simulator enforcing a scaled rate limit.
// Parameters: CFI_BENCH_LOGINS (total, over 4 accounts), CFI_BENCH_MEMBERS
// (total), CFI_BENCH_WINDOW_SECONDS (the scaled 5-minute window),
// CFI_BENCH_PERSON (the token owner's dashboard requests per window, in bursts);
// CFI_BENCH_HEAP_PROFILE, a file to write the heap profile to once every
// record was delivered, and CFI_BENCH_PEAK_PROFILE one to write it to at each
// new peak of the live heap (go tool pprof -sample_index=inuse_space).
func BenchmarkBackfill(b *testing.B) {
	const accounts, serverLimit = 4, 1200
	person := envInt("CFI_BENCH_PERSON", 0)
	logins := envInt("CFI_BENCH_LOGINS", 100_000)
	members := envInt("CFI_BENCH_MEMBERS", 20_000)
	window := time.Duration(envInt("CFI_BENCH_WINDOW_SECONDS", 60)) * time.Second
	// The simulator runs in a process of its own, so that its data does not
	// count in this process's memory and CPU.
	// Seed 1, cmd/cloudflare-sim's default: the data BENCHMARKS.md was measured on.
	url := simtest.StartProcess(b, cloudflaresim.Config{Seed: 1, Accounts: accounts, MembersPerAccount: members / accounts,
		LoginsPerAccount: logins / accounts, LoginSpan: 24 * time.Hour, RateLimit: serverLimit, RateWindow: window,
		DashboardRequestsPerWindow: person})

	tel := componenttest.NewTelemetry()
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	// The collector traces nothing unless service::telemetry::traces says
	// so; the test telemetry would record every span in this process's memory.
	set.TracerProvider = nooptrace.NewTracerProvider()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.APIToken = url, simtest.Token
	cfg.Logins.InitialLookback = 25 * time.Hour
	cfg.Users.PollInterval = time.Hour
	cfg.RateLimit.Window = window
	var count atomic.Int64
	done := make(chan struct{})
	want := int64(logins + members)
	rcvr, err := NewFactory().CreateLogs(context.Background(), set, cfg, countingConsumer(want, &count, done))
	require.NoError(b, err)

	b.ResetTimer()
	start := time.Now()
	stopSampling := make(chan struct{})
	liveHeap := peakLiveHeap(stopSampling)
	require.NoError(b, rcvr.Start(context.Background(), componenttest.NewNopHost()))
	select {
	case <-done:
	case <-time.After(30 * time.Minute):
		b.Fatalf("only %d of %d records after 30 minutes", count.Load(), want)
	}
	wall := time.Since(start)
	close(stopSampling)
	b.StopTimer()
	// What the receiver holds once every record was delivered: its state, without the pages in flight.
	runtime.GC()
	retained := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(retained)
	if path := os.Getenv("CFI_BENCH_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.WriteHeapProfile(f))
		require.NoError(b, f.Close())
	}
	require.NoError(b, rcvr.Shutdown(context.Background()))

	requests := func(endpoint, class string) float64 {
		attrs := []attribute.KeyValue{attribute.String("endpoint", endpoint)}
		if class != "" {
			attrs = append(attrs, attribute.String("status_class", class))
		}
		return sumMetric(b, tel, "otelcol_receiver_cloudflare_api_requests", attrs...)
	}
	total := requests("accounts", "") + requests("members", "") + requests("audit_logs", "") +
		requests("user_tokens_verify", "") + requests("account_tokens_verify", "")
	// Pages of 1,000 logins (a full last page needs one more, empty, to end),
	// pages of 50 members, twice for a list of more than a page (an account's
	// first read of it is confirmed by a second: inventory.readUntorn), one
	// account listing and one token check.
	perAccountLogins := logins / accounts
	memberPages := (members/accounts + 49) / 50
	if memberPages > 1 {
		memberPages *= 2
	}
	minimum := accounts*(perAccountLogins/1000+1) + accounts*memberPages + 1 + 1
	// The budget left to the receiver: its own, within the quota less the
	// reserve and the person's use. With a sliding window, request k can go
	// at floor(k/budget) windows.
	reserve := int(math.Ceil(serverLimit * cfg.RateLimit.Reserve))
	budget := min(cfg.RateLimit.RequestsPerWindow, serverLimit-reserve-person)
	floor := time.Duration((minimum-1)/budget) * window
	b.ReportMetric(float64(count.Load()), "records")
	b.ReportMetric(total, "requests")
	b.ReportMetric(float64(minimum), "min_requests")
	b.ReportMetric(sumMetric(b, tel, "otelcol_receiver_cloudflare_api_requests",
		attribute.Int("http.response.status_code", http.StatusTooManyRequests)), "http_429")
	b.ReportMetric(float64(budget), "budget")
	b.ReportMetric(wall.Seconds(), "wall_s")
	b.ReportMetric(floor.Seconds(), "floor_s")
	b.ReportMetric(float64(count.Load())/wall.Seconds(), "records/s")
	b.ReportMetric(peakRSSMiB(b), "peak_rss_MiB")
	b.ReportMetric(<-liveHeap, "peak_live_heap_MiB")
	b.ReportMetric(float64(retained[0].Value.Uint64())/(1<<20), "retained_heap_MiB")
}

// countingListings counts the login listings the receiver asks for: a poll
// lists up to now, a sweep up to the checkpoint before it.
type countingListings struct {
	cloudflare.Client
	now func() time.Time

	mu            sync.Mutex
	polls, sweeps int
}

func (c *countingListings) ListLogins(ctx context.Context, q cloudflare.RangeQuery, fn func(page []cloudflare.AuditEntry) error) error {
	c.mu.Lock()
	if q.Before.Equal(c.now()) {
		c.polls++
	} else {
		c.sweeps++
	}
	c.mu.Unlock()
	return c.Client.ListLogins(ctx, q, fn)
}

func (c *countingListings) counts() (polls, sweeps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.polls, c.sweeps
}

func (c *countingListings) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polls, c.sweeps = 0, 0
}

// BenchmarkSteadyState polls 10 accounts for a simulated hour: logins every
// minute (20 new per account per minute), users every 15 minutes.
func BenchmarkSteadyState(b *testing.B) {
	const accounts, newPerMinute = 10, 20
	sink := new(atomic.Int64)
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		sink.Add(int64(ld.LogRecordCount()))
		return nil
	})
	env := newTestEnv(b, cloudflaresim.Config{Accounts: accounts, MembersPerAccount: 40}, withConsumer(next))
	sim, clock, r := env.sim, env.clock, env.r
	listings := &countingListings{Client: r.client, now: clock.Now}
	r.client = listings
	r.newPollState(env.host) // the streams list through it
	ctx := context.Background()
	require.NoError(b, r.pollUsers(ctx))
	require.NoError(b, r.pollLogins(ctx))
	sim.ResetStats()
	listings.reset()
	sink.Store(0)

	b.ResetTimer()
	cpuStart := cpuSeconds()
	for minute := 1; minute <= 60; minute++ {
		for _, a := range sim.Accounts() {
			sim.GenerateLogins(a.ID, newPerMinute, clock.Now(), clock.Now().Add(time.Minute))
		}
		clock.Advance(time.Minute)
		if minute%15 == 0 {
			require.NoError(b, r.pollUsers(ctx))
		}
		require.NoError(b, r.pollLogins(ctx))
	}
	cpu := cpuSeconds() - cpuStart
	b.StopTimer()
	stats := sim.Stats()
	b.ReportMetric(float64(stats.Total), "requests/hour")
	b.ReportMetric(float64(stats.Requests[cloudflaresim.EndpointAuditLogs]), "audit_requests/hour")
	polls, sweeps := listings.counts()
	b.ReportMetric(float64(polls), "audit_polls/hour")
	b.ReportMetric(float64(sweeps), "audit_sweeps/hour")
	b.ReportMetric(float64(sink.Load()), "records/hour")
	b.ReportMetric(cpu, "cpu_s/hour")
}

// BenchmarkLoginLatency measures the time from a login becoming visible in
// the API to its record reaching the pipeline, with logins.poll_interval 10s.
// Parameter: CFI_BENCH_LATENCY_SAMPLES.
func BenchmarkLoginLatency(b *testing.B) {
	samples := envInt("CFI_BENCH_LATENCY_SAMPLES", 5)
	sim := simtest.Start(b, cloudflaresim.Config{Accounts: 1})
	account := sim.Accounts()[0].ID
	seen := make(chan string, 16)
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					uid, _ := lr.Attributes().Get("log.record.uid")
					seen <- uid.Str()
				}
			}
		}
		return nil
	})
	cfg := testConfig(sim)
	cfg.Logins.PollInterval = 10 * time.Second
	rcvr, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(b, err)
	require.NoError(b, rcvr.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { _ = rcvr.Shutdown(context.Background()) })

	b.ResetTimer()
	var worst, total time.Duration
	for i := range samples {
		// Spread the appends over the poll cycle.
		time.Sleep(time.Duration(1+i*3) * time.Second % (10 * time.Second))
		id := fmt.Sprintf("latency-%d", i)
		visible := time.Now()
		sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: id, When: visible, Success: true, ActorEmail: "ada@example.com", ActorType: "user"})
		for uid := range seen {
			if uid == id {
				break
			}
		}
		latency := time.Since(visible)
		total += latency
		worst = max(worst, latency)
	}
	b.StopTimer()
	b.ReportMetric(worst.Seconds(), "worst_latency_s")
	b.ReportMetric(total.Seconds()/float64(samples), "mean_latency_s")
	b.ReportMetric(cfg.Logins.PollInterval.Seconds()+1, "target_s")
}
