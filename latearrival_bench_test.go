package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// BenchmarkLateArrivals runs the late-arrival scenarios of BENCHMARKS.md on a
// simulated clock: one account receiving logins at a steady rate for four
// minutes, one in a hundred shown late (by up to the whole window). It counts
// the audit requests of those four minutes against what the new entries
// alone need (one request per poll, more when a poll's new entries fill
// pages), then keeps polling without new logins until every late arrival is
// due, and checks that every login came out once and how long each late one
// took from showing up to reaching the pipeline.
func BenchmarkLateArrivals(b *testing.B) {
	scenarios := []struct {
		name                string
		perSecond           int
		poll, window, sweep time.Duration
	}{
		{name: "soak", perSecond: 50, poll: 10 * time.Second, window: 2 * time.Minute, sweep: time.Minute},
		{name: "defaults", perSecond: 50, poll: time.Minute, window: 10 * time.Minute, sweep: 5 * time.Minute},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				runLateArrivals(b, sc.perSecond, sc.poll, sc.window, sc.sweep)
			}
		})
	}
}

func runLateArrivals(b *testing.B, perSecond int, poll, window, sweep time.Duration) {
	const (
		run      = 4 * time.Minute
		pageSize = 1000
	)
	var mu sync.Mutex
	emitted := map[string]time.Time{} // uid -> first emission
	emissions := 0
	var clock *cloudflaresim.ManualClock
	next, _ := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		for _, rec := range records([]plog.Logs{logs}) {
			emissions++
			if _, ok := emitted[rec.uid]; !ok {
				emitted[rec.uid] = clock.Now()
			}
		}
		return nil
	})
	e := newTestEnv(b, cloudflaresim.Config{Accounts: 1}, withConsumer(next), withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.PollInterval, cfg.Logins.LateArrivalWindow, cfg.Logins.LateArrivalSweep = poll, window, sweep
		cfg.Logins.InitialLookback, cfg.Logins.PageSize = 0, pageSize
		cfg.RateLimit.RequestsPerWindow = 1 << 20
	}))
	clock, sim, r := e.clock, e.sim, e.r
	account := sim.Accounts()[0].ID
	require.NoError(b, r.pollLogins(context.Background()))
	sim.ResetStats()

	rng := rand.New(rand.NewPCG(16, 0))
	visibleAt := map[string]time.Time{} // late arrivals
	total, need, newSincePoll := 0, 0, 0
	start := clock.Now()
	for clock.Now().Sub(start) < run {
		clock.Advance(time.Second)
		now := clock.Now()
		for i := range perSecond {
			id := fmt.Sprintf("soak-%07d", total)
			when := now.Add(-time.Duration(rng.Int64N(int64(time.Second))))
			e := cloudflaresim.LoginEvent{ID: id, When: when, Success: true, ActorEmail: "ada@example.com", ActorType: "user"}
			if i == 0 && total%100 == 0 { // one in a hundred
				// Shown late by anything up to the window.
				e.VisibleAt = when.Add(windowOverlap + time.Duration(rng.Int64N(int64(window-windowOverlap))))
				visibleAt[id] = e.VisibleAt
			} else {
				newSincePoll++
			}
			sim.AppendLogin(account, e)
			total++
		}
		if now.Sub(start)%poll == 0 {
			need += max(1, (newSincePoll+pageSize-1)/pageSize)
			newSincePoll = 0
			require.NoError(b, r.pollLogins(context.Background()))
		}
	}
	requests := sim.Stats().Requests[cloudflaresim.EndpointAuditLogs]

	// No new logins: poll until every late arrival has shown and a sweep has passed.
	for range int((window+sweep+poll)/poll) + 1 {
		clock.Advance(poll)
		require.NoError(b, r.pollLogins(context.Background()))
	}

	mu.Lock()
	defer mu.Unlock()
	worst := time.Duration(0)
	for id, shown := range visibleAt {
		if at, ok := emitted[id]; ok {
			worst = max(worst, at.Sub(shown))
		}
	}
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(need), "need_requests")
	b.ReportMetric(float64(requests)/float64(need), "requests/need")
	b.ReportMetric(float64(total-len(emitted)), "lost")
	b.ReportMetric(float64(emissions-len(emitted)), "duplicated")
	b.ReportMetric(float64(len(visibleAt)), "late_arrivals")
	b.ReportMetric(worst.Seconds(), "worst_late_latency_s")
	b.ReportMetric((sweep + poll).Seconds(), "late_latency_target_s")
}
