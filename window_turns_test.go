package cloudflareidentityreceiver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// One account's backfill does not hold back the live polls of the others:
// its pages are read in turns between their polls. The pipeline takes a
// second per page on the injected clock, so the backfill's 100 pages take
// 100 s, ten poll intervals; a login of another account, shown during the
// backfill, reaches the pipeline within an interval and a turn.
func TestBackfillTakesTurnsWithLivePolls(t *testing.T) {
	const (
		interval = 10 * time.Second
		perPage  = time.Second // the pipeline's time per batch
		backlog  = 1000        // 100 pages of 10
		liveID   = "live-login-of-b"
	)
	var (
		mu        sync.Mutex
		e         *testEnv
		batches   int
		backfill  int // account A's records delivered
		shownAt   time.Time
		latency   time.Duration
		aAtLive   int // A's records delivered when B's login arrived
		accountA  string
		accountB  string
		delivered = map[string]int{}
	)
	next, _ := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		e.clock.Advance(perPage)
		batches++
		for _, rec := range records([]plog.Logs{logs}) {
			delivered[rec.uid]++
			if rec.account == accountA {
				backfill++
			}
			if rec.uid == liveID {
				latency, aAtLive = e.clock.Now().Sub(shownAt), backfill
			}
		}
		if batches == 15 { // during the backfill's second turn
			shownAt = e.clock.Now()
			e.sim.AppendLogin(accountB, cloudflaresim.LoginEvent{ID: liveID, When: shownAt, Success: true,
				ActorEmail: "ada@example.com", ActorType: "user"})
		}
		return nil
	})
	e = newTestEnv(t, cloudflaresim.Config{Accounts: 3, MembersPerAccount: 5}, withConsumer(next), withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.PollInterval, cfg.Logins.PageSize = interval, 10
		cfg.Logins.InitialLookback, cfg.Logins.LateArrivalWindow = 2*time.Hour, 0
	}))
	accountA, accountB = e.sim.Accounts()[0].ID, e.sim.Accounts()[1].ID
	appendLogins(e.sim, accountA, backlog, e.clock.Now().Add(-time.Hour), time.Second, func(int) bool { return false })

	// The polling loop: a step every interval, the next at once when one overran.
	for range 30 {
		start := e.clock.Now()
		require.NoError(t, e.r.pollLogins(context.Background()))
		if wait := interval - e.clock.Now().Sub(start); wait > 0 {
			e.clock.Advance(wait)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, delivered[liveID], "the live login")
	assert.Less(t, aAtLive, backlog, "the backfill was still going on")
	// At worst the live login shows just after B's poll: the step goes on
	// with A's turns until the interval is over, and the next polls A's turn
	// first, then B.
	assert.LessOrEqual(t, latency, interval+pagesPerTurn*perPage+2*perPage, "latency of B's login")
	assert.Equal(t, backlog, backfill, "A's backfill completes")
	for uid, n := range delivered {
		require.Equal(t, 1, n, uid)
	}
}

// A turn goes on from the checkpoint, at its instant. When more pages than a
// turn share that instant, a turn cannot get past them; the next turn then
// reads to the end instead of starting over for ever.
func TestTurnsGetPastAnInstantLongerThanATurn(t *testing.T) {
	const entries = 3 * pagesPerTurn * 10 // three turns of pages of 10, all at one instant
	var e *testEnv
	e = newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.PollInterval, cfg.Logins.PageSize = 10*time.Second, 10
	}), beforeConsume(func(context.Context, int) error {
		e.clock.Advance(time.Second) // a step ends after a turn
		return nil
	}))
	events := appendLogins(e.sim, e.sim.Accounts()[0].ID, entries, e.clock.Now().Add(-time.Hour), time.Second,
		func(i int) bool { return i > 0 })
	for range 5 {
		require.NoError(t, e.r.pollLogins(context.Background()))
	}
	counts := uidCounts(records(e.sink.AllLogs()))
	for _, ev := range events {
		require.Equal(t, 1, counts[ev.ID], ev.ID)
	}
}
