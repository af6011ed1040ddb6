package cloudflareidentityreceiver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// BenchmarkManyAccounts is one token reaching 1,000 accounts of 50 members,
// each with 5 logins a minute, for a simulated hour at the default config:
// the polls need far more requests than the budget, so every account waits
// its turn. The simulator enforces Cloudflare's 1,200 requests per 5
// minutes; simulator, receiver and rate limiter share an injected clock that
// the limiter's waits move. The two streams' steps run one after the other
// (the collector runs them side by side, sharing the same budget). After the
// hour, polling goes on until every login has reached the pipeline.
//
// The floor is the best any schedule could do with the same budget: every
// request the users stream and the account listing leave goes to a login
// poll, one request per account, so an account can be polled every
// accounts / (that rate) minutes; a login waits at worst that period, half
// of it at the median. Parameters: CFI_BENCH_ACCOUNTS, CFI_BENCH_LOGINS_PER_MINUTE.
func BenchmarkManyAccounts(b *testing.B) {
	accounts := envInt("CFI_BENCH_ACCOUNTS", 1000)
	perMinute := envInt("CFI_BENCH_LOGINS_PER_MINUTE", 5)
	const members, hour = 50, time.Hour
	var (
		mu        sync.Mutex
		latencies []time.Duration
		clock     *cloudflaresim.ManualClock
	)
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		now := clock.Now()
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if lr.EventName() == eventLogin {
						latencies = append(latencies, now.Sub(lr.Timestamp().AsTime()))
					}
				}
			}
		}
		return nil
	})
	e := newTestEnv(b, cloudflaresim.Config{Accounts: accounts, MembersPerAccount: members, RateLimit: 1200},
		withConsumer(next), withVirtualWaits())
	clock = e.clock
	start := clock.Now()
	want := 0
	for _, a := range e.sim.Accounts() {
		want += len(e.sim.GenerateLogins(a.ID, perMinute*int(hour/time.Minute), start, start.Add(hour)))
	}
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(latencies)
	}

	b.ResetTimer()
	ctx := context.Background()
	streams := []*stream{e.r.streamNamed(streamUsers), e.r.streamNamed(streamLogins)}
	nextStep := []time.Time{start, start}
	for clock.Now().Before(start.Add(hour)) || delivered() < want {
		require.Less(b, clock.Now().Sub(start), 3*hour, "logins still missing: %d of %d", delivered(), want)
		i := 0
		if nextStep[1].Before(nextStep[0]) {
			i = 1
		}
		if clock.Now().Before(nextStep[i]) {
			clock.Set(nextStep[i])
		}
		stepStart := clock.Now()
		require.NoError(b, e.r.pollStep(ctx, streams[i]))
		nextStep[i] = stepStart.Add(streams[i].interval)
	}
	b.StopTimer()

	stats := e.sim.Stats()
	plan := planRequests(e.cfg, accounts, 1)                                                   // 50 members are one page
	period := float64(accounts) / (plan.available - plan.byStream[streamUsers] - plan.listing) // minutes between two polls of an account
	mu.Lock()
	slices.Sort(latencies)
	worst, median := latencies[len(latencies)-1], latencies[len(latencies)/2]
	mu.Unlock()
	b.ReportMetric(float64(accounts), "accounts")
	b.ReportMetric(float64(want), "logins")
	b.ReportMetric(float64(stats.RateLimited), "http_429")
	b.ReportMetric(float64(stats.MaxInWindow), "max_requests_per_window")
	b.ReportMetric(float64(e.cfg.RateLimit.RequestsPerWindow), "budget_per_window")
	b.ReportMetric(float64(stats.Total)/clock.Now().Sub(start).Minutes(), "requests/min")
	b.ReportMetric(plan.planned(), "planned_requests/min")
	b.ReportMetric(plan.available, "available_requests/min")
	b.ReportMetric(worst.Minutes(), "worst_latency_min")
	b.ReportMetric(median.Minutes(), "median_latency_min")
	b.ReportMetric(period, "floor_worst_latency_min")
	b.ReportMetric(period/2, "floor_median_latency_min")
}
