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

// TestBudgetPerHour is the budget arithmetic of docs/budget.md, measured: every stream
// at its default interval, over 10 quiet accounts of 500 members and 500
// Access users, for one hour after a first hour of warm-up (inventories,
// backfills), with the requests the simulator received printed per endpoint.
// Mutation caught: `accountRefreshInterval = time.Minute` (the accounts count).
func TestBudgetPerHour(t *testing.T) {
	const accounts, members, accessUsers = 10, 500, 500
	env := newTestEnv(t, cloudflaresim.Config{Accounts: accounts, MembersPerAccount: members, AccessUsersPerAccount: accessUsers,
		LoginsPerAccount: 20, AccessRequestsPerAccount: 20},
		withConfig(func(cfg *Config) {
			cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
			// The limiter runs on the wall clock, the hours on the test's: no waiting for it.
			cfg.RateLimit.RequestsPerWindow = 1_000_000
		}))
	runHour := func() {
		for minute := range 60 {
			for _, s := range env.r.streams {
				if minute%int(s.interval/time.Minute) == 0 {
					assert.NoError(t, env.r.pollStep(context.Background(), s))
				}
			}
			env.clock.Advance(time.Minute)
		}
	}
	runHour()
	env.sim.ResetStats()
	runHour()

	requests := env.sim.Stats().Requests
	total := 0
	for _, endpoint := range []cloudflaresim.Endpoint{cloudflaresim.EndpointAccounts, cloudflaresim.EndpointMembers,
		cloudflaresim.EndpointAuditLogs, cloudflaresim.EndpointAccessRequests, cloudflaresim.EndpointAccessUsers} {
		t.Logf("%-16s %5d requests per hour", endpoint, requests[endpoint])
		total += requests[endpoint]
	}
	t.Logf("%-16s %5d requests per hour (dashboard streams alone: %d), budget %d per hour", "total", total,
		total-requests[cloudflaresim.EndpointAccessRequests]-requests[cloudflaresim.EndpointAccessUsers],
		defaultRequestsPerWindow*int(time.Hour/defaultRateLimitWindow))

	// docs/budget.md: 10×60 (logins) + 10×10×4 (users) + 10×60 (Access logins) + 10×10×1 (Access users) + 12. The
	// sweep due every 5 minutes is read with that poll, in its one page: no request of its own.
	pages := func(n, perPage int) int { return (n + perPage - 1) / perPage }
	assert.Equal(t, 12, requests[cloudflaresim.EndpointAccounts], "one account listing every 5 minutes")
	assert.Equal(t, accounts*pages(members, 50)*4, requests[cloudflaresim.EndpointMembers], "users every 15 minutes")
	assert.Equal(t, accounts*60, requests[cloudflaresim.EndpointAuditLogs], "logins every minute, sweeps with them")
	assert.Equal(t, accounts*60, requests[cloudflaresim.EndpointAccessRequests], "Access logins as logins")
	assert.Equal(t, accounts*pages(accessUsers, 50), requests[cloudflaresim.EndpointAccessUsers], "Access users every hour")
}
