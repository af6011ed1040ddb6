package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestLoginSourceSwitchWithNothingNewKeepsItsStart: logins.source switched
// from v1 to v2 while no login came after the switch point. The first poll
// of the new source emits nothing, and must keep the checkpoint it started
// from the old source's: the second poll (the switch is looked at once per
// account) otherwise finds no checkpoint and reads the whole
// initial_lookback again, emitting every login of the past under v2's ids.
// Mutation caught: logins.go switchedFrom, `return cursor, l.cursors.save(ctx, account.ID, cursor)`
// -> `return cursor, nil`.
func TestLoginSourceSwitchWithNothingNewKeepsItsStart(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(),
		withConfig(func(cfg *Config) { cfg.Users.Enabled = false; cfg.Logins.Source = loginSourceV1 }))
	sim, clock, sink := env.sim, env.clock, env.sink
	account := sim.Accounts()[0].ID
	appendLoginsFrom(sim, account, 0, 20, clock.Now().Add(-2*time.Hour), time.Minute)
	require.NoError(t, env.r.pollLogins(context.Background()))
	require.Equal(t, 20, sink.LogRecordCount())

	clock.Advance(10 * time.Minute)
	env.cfg.Logins.Source = loginSourceV2
	env.restart(t)
	sink.Reset()
	for poll := 1; poll <= 3; poll++ {
		require.NoError(t, env.r.pollLogins(context.Background()), "poll %d", poll)
		assert.Zero(t, sink.LogRecordCount(), "poll %d after the switch: nothing new", poll)
		clock.Advance(time.Minute)
	}
}
