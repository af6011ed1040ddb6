package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestFailureBackoff pins the wait after consecutive failed polls: the
// interval, doubled per failure after the first, capped at 5 minutes, and
// never shorter than the interval (a users stream polled every 15 minutes is
// not polled sooner because it failed).
// Mutations caught: the cap raised or lowered (maxFailureBackoff 5m -> 10m or
// 4m); the doubling started one failure early (`i < failures` -> `i <= failures`);
// the floor dropped (`max(interval, min(wait, cap))` -> `min(wait, cap)`).
func TestFailureBackoff(t *testing.T) {
	tests := []struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{interval: time.Minute, failures: 0, want: time.Minute},
		{interval: time.Minute, failures: 1, want: time.Minute},
		{interval: time.Minute, failures: 2, want: 2 * time.Minute},
		{interval: time.Minute, failures: 3, want: 4 * time.Minute},
		{interval: time.Minute, failures: 4, want: 5 * time.Minute}, // 8m, capped
		{interval: time.Minute, failures: 1000, want: 5 * time.Minute},
		{interval: 10 * time.Second, failures: 5, want: 160 * time.Second},
		{interval: 10 * time.Second, failures: 6, want: 5 * time.Minute}, // 320s, capped
		{interval: 3 * time.Minute, failures: 2, want: 5 * time.Minute},  // 6m, capped
		{interval: 5 * time.Minute, failures: 3, want: 5 * time.Minute},
		{interval: 15 * time.Minute, failures: 1, want: 15 * time.Minute}, // above the cap: never below the interval
		{interval: 15 * time.Minute, failures: 10, want: 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.interval, tt.failures), func(t *testing.T) {
			assert.Equal(t, tt.want, failureBackoff(tt.interval, tt.failures))
		})
	}
}

// TestOneFailingAccountDoesNotSlowTheOthers pins issue 9.6: the backoff after
// failed polls is per account. Before the fix it was per stream, so a 403 on
// one account stretched every account's login poll towards 5 minutes.
func TestOneFailingAccountDoesNotSlowTheOthers(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2}, withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	sim, clock, sink, host := env.sim, env.clock, env.sink, env.host
	failing, healthy := sim.Accounts()[0].ID, sim.Accounts()[1].ID
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointAuditLogs, AccountID: failing, Count: -1})

	// The failing account is polled in steps 1 and 2, then in step 4 (its wait
	// doubled to two steps) and step 8 (four); the healthy one in every step.
	failingPolled := []bool{true, true, false, true, false, false, false, true}
	for step, wantFailing := range failingPolled {
		sim.AppendLogin(healthy, cloudflaresim.LoginEvent{ID: "healthy-" + string(rune('a'+step)), When: clock.Now().Add(-time.Second),
			Success: true, ActorEmail: "ada@example.com", ActorType: "user"})
		sink.Reset()
		err := env.r.pollLogins(context.Background())
		if wantFailing {
			require.Error(t, err, "step %d", step+1)
			assert.Contains(t, err.Error(), failing)
		} else {
			require.NoError(t, err, "step %d: the failing account sits out", step+1)
		}
		assert.Equal(t, 1, sink.LogRecordCount(), "step %d: the healthy account's new login", step+1)
		assert.Equal(t, componentstatus.StatusRecoverableError, host.last(), "step %d", step+1)
		clock.Advance(env.cfg.Logins.PollInterval)
	}
	require.NotNil(t, host.lastEvent().Err())
	assert.Contains(t, host.lastEvent().Err().Error(), failing, "the status names the failing account")
}
