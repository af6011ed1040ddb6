package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// A backfill that would take the whole quota shares it with the token
// owner's dashboard use: paced by Cloudflare's rate-limit headers, it leaves
// the reserve free, and neither the owner nor the receiver meets a 429.
func TestBackfillLeavesTheReserveToTheTokenOwner(t *testing.T) {
	const logins = 2000
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 5, LoginsPerAccount: logins, LoginSpan: time.Hour,
		RateLimit: 100, RateWindow: time.Minute, DashboardRequestsPerWindow: 50, DashboardBurst: 10},
		withVirtualWaits(), withConfig(func(cfg *Config) {
			cfg.Users.Enabled = false
			cfg.Logins.PageSize = 10 // 200 pages: many windows' worth
			cfg.Logins.InitialLookback = 2 * time.Hour
			cfg.RateLimit.RequestsPerWindow, cfg.RateLimit.Window = 1000, time.Minute // only the headers hold it back
		}))
	start := e.clock.Now()
	for range 10 {
		require.NoError(t, e.r.pollLogins(context.Background()))
		if len(uidCounts(records(e.sink.AllLogs()))) == logins {
			break
		}
	}
	counts := uidCounts(records(e.sink.AllLogs()))
	assert.Len(t, counts, logins)
	for uid, n := range counts {
		require.Equal(t, 1, n, uid)
	}
	stats := e.sim.Stats()
	assert.Zero(t, stats.RateLimited, "429s")
	assert.Positive(t, stats.DashboardRequests)
	assert.Zero(t, stats.DashboardRefused, "the token owner was refused")
	// 200 pages at the 30 requests per minute the owner and the reserve leave.
	assert.Less(t, e.clock.Now().Sub(start), 10*time.Minute, "paced, not stalled")
}
