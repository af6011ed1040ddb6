package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

func TestPlanRequests(t *testing.T) {
	tests := []struct {
		name        string
		change      func(cfg *Config)
		accounts    int
		memberPages float64
		planned     float64 // per minute
		available   float64
	}{
		// listing 1 page / 5 m + logins 10 / 1 m (the sweeps read with them) + members 10 x 1 page / 15 m
		{name: "defaults, 10 accounts", accounts: 10, memberPages: 1, planned: 0.2 + 10 + 10.0/15, available: 180},
		// listing 20 pages / 5 m + 1,000 / 1 m + 1,000 x 1 page / 15 m
		{name: "defaults, 1,000 accounts", accounts: 1000, memberPages: 1, planned: 4 + 1000 + 1000.0/15, available: 180},
		{name: "logins only, no sweeps", accounts: 60, memberPages: 1, change: func(cfg *Config) {
			cfg.Users.Enabled, cfg.Logins.LateArrivalWindow = false, 0
		}, planned: 2.0/5 + 60, available: 180},
		{name: "users only, 3 member pages", accounts: 10, memberPages: 3, change: func(cfg *Config) {
			cfg.Logins.Enabled = false
			cfg.RateLimit.RequestsPerWindow, cfg.RateLimit.Window = 60, time.Minute
		}, planned: 0.2 + 10*3.0/15, available: 60},
		// the defaults plus Access logins 10 / 1 m + Access users 10 x 1 page / 1 h
		{name: "all four streams, 10 accounts", accounts: 10, memberPages: 1, change: func(cfg *Config) {
			cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
		}, planned: 0.2 + 10 + 10.0/15 + 10 + 10.0/60, available: 180},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			if tt.change != nil {
				tt.change(cfg)
			}
			plan := planRequests(cfg, tt.accounts, tt.memberPages)
			assert.InDelta(t, tt.planned, plan.planned(), 1e-9)
			assert.InDelta(t, tt.available, plan.available, 1e-9)
		})
	}
}

// More accounts than the budget serves at the configured intervals: one
// WARN with the intervals that fit, again only when the count changes, and
// the rates as a metric.
func TestPlanOverBudgetWarnsOncePerAccountCount(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 20, MembersPerAccount: 5}, withTelemetry(), observeLogs(zapcore.WarnLevel),
		withVirtualWaits(), withConfig(func(cfg *Config) {
			cfg.Users.Enabled = false
			cfg.Logins.LateArrivalWindow = 0
			cfg.RateLimit.RequestsPerWindow = 50 // 10 a minute, for 20 polls a minute and the listing
		}))
	warnings := func() []map[string]any {
		var out []map[string]any
		for _, entry := range e.logs.FilterMessageSnippet("need more requests than rate_limit allows").All() {
			out = append(out, entry.ContextMap())
		}
		return out
	}
	require.NoError(t, e.r.pollLogins(context.Background()))
	require.NoError(t, e.r.pollLogins(context.Background()))
	require.Len(t, warnings(), 1, "the same account count is not warned about twice")
	warning := warnings()[0]
	assert.EqualValues(t, 20, warning["accounts"])
	assert.InDelta(t, 20.2, warning["planned_requests_per_minute"], 1e-9)
	assert.InDelta(t, 10, warning["available_requests_per_minute"], 1e-9)
	// 2.02 times the poll interval, rounded up to a second.
	assert.Equal(t, 2*time.Minute+2*time.Second, warning["fitting_logins_poll_interval"])
	assert.Equal(t, 2*time.Minute+2*time.Second, warning["expected_login_latency"])
	rate := func(which string) float64 {
		return sumMetric(t, e.tel, "otelcol_receiver_cloudflare_request_rate", attribute.String("rate", which))
	}
	assert.InDelta(t, 20.2, rate("planned"), 1e-9)
	assert.InDelta(t, 10, rate("available"), 1e-9)

	e.sim.AddAccount(cloudflaresim.Account{ID: "0123456789abcdef0123456789abcdef", Name: "new"})
	e.clock.Advance(accountRefreshInterval)
	require.NoError(t, e.r.pollLogins(context.Background()))
	require.Len(t, warnings(), 2, "a new account count is planned again")
	assert.EqualValues(t, 21, warnings()[1]["accounts"])
}

func TestPlanWithinBudgetDoesNotWarn(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 3, MembersPerAccount: 5}, withTelemetry(), observeLogs(zapcore.WarnLevel))
	require.NoError(t, e.r.pollUsers(context.Background()))
	require.NoError(t, e.r.pollLogins(context.Background()))
	assert.Zero(t, e.logs.FilterMessageSnippet("need more requests").Len())
	assert.Positive(t, sumMetric(t, e.tel, "otelcol_receiver_cloudflare_request_rate", attribute.String("rate", "planned")))

	// Exactly at the budget still fits: 3 accounts polled every minute and
	// the listing every five minutes plan 3.2 requests a minute, as many as
	// 16 per 5 minutes allow.
	atBudget := newTestEnv(t, cloudflaresim.Config{Accounts: 3, MembersPerAccount: 5}, observeLogs(zapcore.WarnLevel),
		withVirtualWaits(), withConfig(func(cfg *Config) {
			cfg.Users.Enabled = false
			cfg.Logins.LateArrivalWindow = 0
			cfg.Logins.PollInterval = time.Minute
			cfg.RateLimit.RequestsPerWindow = 16
			cfg.RateLimit.Window = 5 * time.Minute
		}))
	require.NoError(t, atBudget.r.pollLogins(context.Background()))
	planned, available, ok := atBudget.r.plan.rates()
	require.True(t, ok)
	require.Equal(t, available, planned, "the plan is exactly at the budget")
	assert.Zero(t, atBudget.logs.FilterMessageSnippet("need more requests").Len())
}
