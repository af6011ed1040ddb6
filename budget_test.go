package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestBudgetPerHour is README's budget arithmetic, measured: every stream
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

	// README: 10×60 + 10×12 (logins) + 10×10×4 (users) + 10×60 + 10×12 (Access logins) + 10×10×1 (Access users) + 12.
	pages := func(n, perPage int) int { return (n + perPage - 1) / perPage }
	assert.Equal(t, 12, requests[cloudflaresim.EndpointAccounts], "one account listing every 5 minutes")
	assert.Equal(t, accounts*pages(members, 50)*4, requests[cloudflaresim.EndpointMembers], "users every 15 minutes")
	assert.Equal(t, accounts*(60+12), requests[cloudflaresim.EndpointAuditLogs], "logins every minute, sweeps every 5")
	assert.Equal(t, accounts*(60+12), requests[cloudflaresim.EndpointAccessRequests], "Access logins as logins")
	assert.Equal(t, accounts*pages(accessUsers, 50), requests[cloudflaresim.EndpointAccessUsers], "Access users every hour")
}
