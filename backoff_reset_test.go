package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestSuccessResetsTheFailureBackoff: a poll that succeeds ends an
// account's run of failures. After two failures (the second doubles its wait
// to two steps), a success and one more failure, the account waits a single
// interval again, as after a first failure, not the four of a third one.
// Mutation caught: stream.go done, drop `delete(s.failures, key)` (the count
// of failures never resets after a success).
func TestSuccessResetsTheFailureBackoff(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	sim, clock, sink := env.sim, env.clock, env.sink
	account := sim.Accounts()[0].ID
	refuse := func() {
		sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointAuditLogs, AccountID: account})
	}
	steps := []struct {
		refused bool // the account's audit log answers 403 in this step
		polled  bool // the account is polled in this step
	}{
		{refused: true, polled: true}, // 1st failure: wait one interval
		{refused: true, polled: true}, // 2nd failure: wait two
		{polled: false},               // sits out
		{polled: true},                // success
		{refused: true, polled: true}, // a first failure again: wait one interval
		{polled: true},                // polled at once
	}
	for i, step := range steps {
		if step.refused {
			refuse()
		}
		login := lateLogin(fmt.Sprintf("step-%d", i+1), clock.Now().Add(-time.Second), time.Time{})
		sim.AppendLogin(account, login)
		sink.Reset()
		err := env.r.pollLogins(context.Background())
		switch {
		case step.refused:
			require.Error(t, err, "step %d", i+1)
		case step.polled:
			require.NoError(t, err, "step %d", i+1)
			assert.Equal(t, 1, uidCounts(records(sink.AllLogs()))[login.ID], "step %d: polled, the new login emitted", i+1)
		default:
			require.NoError(t, err, "step %d", i+1)
			assert.Zero(t, sink.LogRecordCount(), "step %d: the account sits out", i+1)
		}
		sim.ClearFaults()
		clock.Advance(env.cfg.Logins.PollInterval)
	}
}
