package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// pollAccessUsers runs one step of the access_users stream, as its loop does.
func (r *identityReceiver) pollAccessUsers(ctx context.Context) error {
	return r.pollStep(ctx, r.streamNamed(streamAccessUsers))
}

// withAccessUsers enables the access_users stream alone.
func withAccessUsers(change func(cfg *InventoryConfig)) envOption {
	return withConfig(func(cfg *Config) {
		cfg.Users.Enabled, cfg.Logins.Enabled = false, false
		cfg.AccessUsers.Enabled = true
		change(&cfg.AccessUsers)
	})
}

// accessUserIDs lists the user.id of an account's records of one event.
func accessUserIDs(recs []record, account, eventName string) []string {
	var ids []string
	for _, rec := range recs {
		if rec.account == account && rec.eventName == eventName {
			ids = append(ids, rec.attrs["user.id"].(string))
		}
	}
	return ids
}

// TestAccessUsersFirstPollIsInventoryWithSeats: the first poll lists every
// Access user of every account (over several pages) as inventory, never as
// added, and ends each account's inventory with its seat summary, counted on
// the receiver's clock; an unchanged list then emits nothing.
// Mutation caught: inventory.poll without its appendSummary call.
func TestAccessUsersFirstPollIsInventoryWithSeats(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, AccessUsersPerAccount: 120}, withAccessUsers(func(*InventoryConfig) {}))
	sim := env.sim
	require.NoError(t, env.r.pollAccessUsers(context.Background()))

	recs := records(env.sink.AllLogs())
	assert.Equal(t, map[string]int{eventAccessUser: 240, eventAccessSeats: 2}, countByEvent(recs))
	for _, account := range sim.Accounts() {
		var want []string
		access, gateway, unused30, unused90 := 0, 0, 0, 0
		for _, u := range sim.AccessUsers(account.ID) {
			want = append(want, u.ID)
			access, gateway = access+boolCount(u.AccessSeat), gateway+boolCount(u.GatewaySeat)
			if !u.AccessSeat && !u.GatewaySeat {
				continue
			}
			idle := testPollTime.Sub(u.LastSuccessfulLogin)
			unused30 += boolCount(u.LastSuccessfulLogin.IsZero() || idle >= 30*24*time.Hour)
			unused90 += boolCount(u.LastSuccessfulLogin.IsZero() || idle >= 90*24*time.Hour)
		}
		assert.ElementsMatch(t, want, accessUserIDs(recs, account.ID, eventAccessUser))
		for _, rec := range recs {
			if rec.account == account.ID && rec.eventName == eventAccessSeats {
				assert.Equal(t, map[string]any{attrSeatsUsers: int64(120), attrSeatsAccess: int64(access), attrSeatsGateway: int64(gateway),
					attrSeatsUnused30d: int64(unused30), attrSeatsUnused90d: int64(unused90)}, rec.attrs)
			}
		}
	}

	env.sink.Reset()
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	assert.Zero(t, env.sink.LogRecordCount(), "an unchanged list emits nothing")
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestAccessUsersChangesEmitOneEventEach: an added, a removed and a changed
// user give one event each; a new last login alone gives none.
// Mutation caught: appendChanges comparing by position rather than by id
// (the removal shows as changes of every later user).
func TestAccessUsersChangesEmitOneEventEach(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, AccessUsersPerAccount: 30}, withAccessUsers(func(*InventoryConfig) {}))
	sim := env.sim
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	env.sink.Reset()

	account := sim.Accounts()[0].ID
	users := sim.AccessUsers(account)
	added := sim.NewAccessUser()
	sim.AddAccessUser(account, added)
	removed := users[3]
	sim.RemoveAccessUser(account, removed.ID)
	changed := users[10]
	sim.UpdateAccessUser(account, changed.ID, func(u *cloudflaresim.AccessUser) { u.GatewaySeat = !u.GatewaySeat })
	sim.UpdateAccessUser(account, users[11].ID, func(u *cloudflaresim.AccessUser) { u.LastSuccessfulLogin = testPollTime })
	env.clock.Advance(time.Hour)

	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	recs := records(env.sink.AllLogs())
	assert.Equal(t, map[string]int{eventAccessUserAdded: 1, eventAccessUserRemoved: 1, eventAccessUserChanged: 1}, countByEvent(recs))
	assert.Equal(t, []string{added.ID}, accessUserIDs(recs, account, eventAccessUserAdded))
	assert.Equal(t, []string{removed.ID}, accessUserIDs(recs, account, eventAccessUserRemoved))
	require.Equal(t, []string{changed.ID}, accessUserIDs(recs, account, eventAccessUserChanged))
	for _, rec := range recs {
		if rec.eventName == eventAccessUserChanged {
			assert.Equal(t, []any{fieldGatewaySeat}, rec.attrs[attrAccessUserChanged])
			assert.Equal(t, map[string]any{fieldGatewaySeat: changed.GatewaySeat}, rec.attrs[attrAccessUserPrevious])
		}
	}
}

// TestAccessUsersInventoryRepeatsEverySnapshotInterval, with its seat summary.
// Mutation caught: inventory.poll comparing with `>` (no inventory at exactly
// the interval).
func TestAccessUsersInventoryRepeatsEverySnapshotInterval(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, AccessUsersPerAccount: 8},
		withAccessUsers(func(cfg *InventoryConfig) { cfg.SnapshotInterval = 24 * time.Hour }))
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	env.clock.Advance(23 * time.Hour)
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	assert.Equal(t, 9, env.sink.LogRecordCount(), "no second inventory before the interval")
	env.clock.Advance(time.Hour)
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	assert.Equal(t, map[string]int{eventAccessUser: 16, eventAccessSeats: 2}, countByEvent(records(env.sink.AllLogs())))
}

// TestAccessUsersRestartWithStorageEmitsOnlyChanges: after a restart the
// stored list is diffed: a user removed while down is one removed event, no
// second inventory.
// Mutation caught: accessUserSnapshotKey returning the member key (each
// stream then diffs against the other's list).
func TestAccessUsersRestartWithStorageEmitsOnlyChanges(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 4, AccessUsersPerAccount: 20}, withStorage(),
		withConfig(func(cfg *Config) { cfg.Logins.Enabled, cfg.AccessUsers.Enabled = false, true }))
	require.NoError(t, env.r.pollUsers(context.Background()))
	require.NoError(t, env.r.pollAccessUsers(context.Background()))

	account := env.sim.Accounts()[1].ID
	gone := env.sim.AccessUsers(account)[0]
	env.sim.RemoveAccessUser(account, gone.ID)
	env.clock.Advance(2 * time.Hour)
	env.sink.Reset()

	env.restart(t)
	require.NoError(t, env.r.pollUsers(context.Background()))
	require.NoError(t, env.r.pollAccessUsers(context.Background()))
	recs := records(env.sink.AllLogs())
	assert.Equal(t, map[string]int{eventAccessUserRemoved: 1}, countByEvent(recs), "the members did not change")
	assert.Equal(t, []string{gone.ID}, accessUserIDs(recs, account, eventAccessUserRemoved))
}
