package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

func TestUsersFirstPollIsInventory(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 120})
	sim, sink := env.sim, env.sink

	require.NoError(t, env.r.pollUsers(context.Background()))

	recs := records(sink.AllLogs())
	assert.Equal(t, map[string]int{eventMember: 240}, countByEvent(recs), "inventory only, never added")
	for _, account := range sim.Accounts() {
		var ids []string
		for _, rec := range recs {
			if rec.account == account.ID {
				ids = append(ids, rec.memberID)
			}
		}
		var want []string
		for _, m := range sim.Members(account.ID) {
			want = append(want, m.ID)
		}
		assert.ElementsMatch(t, want, ids, "every member of account %s once", account.ID)
	}

	sink.Reset()
	require.NoError(t, env.r.pollUsers(context.Background()))
	assert.Zero(t, sink.LogRecordCount(), "an unchanged list emits nothing")
}

// TestUsersPollGolden pins a whole users poll of a fixed-seed simulator on a
// fixed clock: a resource per account and batch, its scope, and every
// member's record as the pipeline gets it.
func TestUsersPollGolden(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3})
	require.NoError(t, env.r.pollUsers(context.Background()))
	compareGolden(t, "poll_users.yaml", concatLogs(env.sink.AllLogs()), plogtest.IgnoreObservedTimestamp())
}

func TestUsersChangesEmitOneEventEach(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 60})
	sim, sink, r := env.sim, env.sink, env.r
	require.NoError(t, r.pollUsers(context.Background()))
	sink.Reset()

	account := sim.Accounts()[0].ID
	members := sim.Members(account)
	added := sim.NewMember()
	sim.AddMember(account, added)
	removed := members[3]
	sim.RemoveMember(account, removed.ID)
	changed := members[10]
	newStatus := map[string]string{"accepted": "pending", "pending": "accepted"}[changed.Status]
	sim.UpdateMember(account, changed.ID, func(m *cloudflaresim.Member) {
		m.Status = newStatus
		m.TwoFactor = !m.TwoFactor
	})
	env.clock.Advance(15 * time.Minute)

	require.NoError(t, r.pollUsers(context.Background()))
	recs := records(sink.AllLogs())
	require.Len(t, recs, 3)
	byEvent := map[string]record{}
	for _, rec := range recs {
		byEvent[rec.eventName] = rec
	}
	assert.Equal(t, added.ID, byEvent[eventMemberAdded].memberID)
	assert.Equal(t, removed.ID, byEvent[eventMemberRemoved].memberID)
	assert.Equal(t, changed.ID, byEvent[eventMemberChanged].memberID)
	assert.Equal(t, []any{fieldStatus, fieldTwoFactor}, byEvent[eventMemberChanged].attrs[attrMemberChanged])
	assert.Equal(t, map[string]any{fieldStatus: changed.Status, fieldTwoFactor: changed.TwoFactor},
		byEvent[eventMemberChanged].attrs[attrMemberPrevious])
	assert.Equal(t, newStatus, byEvent[eventMemberChanged].attrs[attrMemberStatus])

	sink.Reset()
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Zero(t, sink.LogRecordCount())
}

func TestUsersInventoryRepeatsEverySnapshotInterval(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 8},
		withConfig(func(cfg *Config) { cfg.Users.SnapshotInterval = time.Hour }))

	require.NoError(t, env.r.pollUsers(context.Background()))
	env.clock.Advance(59 * time.Minute)
	require.NoError(t, env.r.pollUsers(context.Background()))
	assert.Equal(t, 8, env.sink.LogRecordCount(), "no second inventory before the interval")
	env.clock.Advance(time.Minute)
	require.NoError(t, env.r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventMember: 16}, countByEvent(records(env.sink.AllLogs())))
}

func TestUsersRestartWithStorageEmitsOnlyChanges(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 30}, withStorage())
	require.NoError(t, env.r.pollUsers(context.Background()))
	require.Equal(t, 60, env.sink.LogRecordCount())

	// While the receiver is down, one member leaves.
	account := env.sim.Accounts()[1].ID
	gone := env.sim.Members(account)[0]
	env.sim.RemoveMember(account, gone.ID)
	env.clock.Advance(time.Hour)
	env.sink.Reset()

	env.restart(t)
	require.NoError(t, env.r.pollUsers(context.Background()))
	recs := records(env.sink.AllLogs())
	require.Equal(t, map[string]int{eventMemberRemoved: 1}, countByEvent(recs), "no inventory again, no added for everyone")
	assert.Equal(t, eventMemberRemoved, recs[0].eventName)
	assert.Equal(t, gone.ID, recs[0].memberID)
}

func TestUsersExporterFailureLosesNothing(t *testing.T) {
	// The pipeline refuses the second batch: the second poll's.
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 10},
		beforeConsume(func(_ context.Context, call int) error {
			if call == 2 {
				return assert.AnError
			}
			return nil
		}))

	require.NoError(t, env.r.pollUsers(context.Background()))
	account := env.sim.Accounts()[0].ID
	env.sim.AddMember(account, env.sim.NewMember())
	require.Error(t, env.r.pollUsers(context.Background()))
	assert.Equal(t, 10, env.sink.LogRecordCount())

	require.NoError(t, env.r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventMember: 10, eventMemberAdded: 1}, countByEvent(records(env.sink.AllLogs())))
}
