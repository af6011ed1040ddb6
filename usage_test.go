package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// usageEnv is a receiver with storage polling one account of two accepted
// members, on the injected clock.
func usageEnv(t *testing.T, opts ...envOption) (*testEnv, string, [2]cloudflaresim.Member) {
	t.Helper()
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2}, append([]envOption{withStorage()}, opts...)...)
	account := env.sim.Accounts()[0].ID
	var members [2]cloudflaresim.Member
	for i, m := range env.sim.Members(account) {
		env.sim.UpdateMember(account, m.ID, func(m *cloudflaresim.Member) { m.Status = memberAccepted })
		members[i] = env.sim.Members(account)[i]
	}
	return env, account, members
}

// loginOf is a successful login of a member.
func loginOf(m cloudflaresim.Member, id, ip string, when time.Time) cloudflaresim.LoginEvent {
	return cloudflaresim.LoginEvent{ID: id, When: when, Success: true, ActorID: m.UserID, ActorEmail: m.Email,
		ActorIP: ip, ActorType: "user", Interface: "UI"}
}

// pollBoth polls logins, then users, and returns what the pipeline took.
func (e *testEnv) pollBoth(t *testing.T) []record {
	t.Helper()
	e.sink.Reset()
	require.NoError(t, e.r.pollLogins(context.Background()))
	require.NoError(t, e.r.pollUsers(context.Background()))
	return records(e.sink.AllLogs())
}

// memberEvents lists (event, member id) of the users records, other than the inventory.
func memberEvents(recs []record) [][2]string {
	var out [][2]string
	for _, rec := range recs {
		if rec.eventName != eventLogin && rec.eventName != eventMember {
			out = append(out, [2]string{rec.eventName, rec.memberID})
		}
	}
	return out
}

// TestDormancyThroughRestarts: each member's dormancy and reactivation is
// emitted once, across restarts, counted from the last login, else from
// when the receiver started watching logins, on the injected clock.
func TestDormancyThroughRestarts(t *testing.T) {
	env, account, m := usageEnv(t, withConfig(func(cfg *Config) { cfg.Users.DormantAfter = 48 * time.Hour }))
	t0 := env.clock.Now()
	env.sim.AppendLogin(account, loginOf(m[0], "login-a1", "203.0.113.7", t0.Add(-time.Hour)))

	recs := env.pollBoth(t)
	require.Empty(t, memberEvents(recs))
	knownSince := t0.Add(-env.cfg.Logins.InitialLookback).Format(time.RFC3339Nano)
	for _, rec := range recs {
		if rec.eventName != eventMember {
			continue
		}
		assert.Equal(t, knownSince, rec.attrs[attrLastLoginSince], "inventory of %s", rec.memberID)
		if rec.memberID == m[0].ID {
			assert.Equal(t, t0.Add(-time.Hour).Format(time.RFC3339Nano), rec.attrs[attrLastLogin])
		} else {
			assert.NotContains(t, rec.attrs, attrLastLogin, "no login seen")
		}
	}

	// 49 h after the watch began, m[1] has never logged in: dormant, once.
	env.clock.Advance(25 * time.Hour)
	assert.Equal(t, [][2]string{{eventMemberDormant, m[1].ID}}, memberEvents(env.pollBoth(t)))
	env.restart(t)
	assert.Empty(t, memberEvents(env.pollBoth(t)), "a restart does not repeat the transition")

	// m[0] goes idle too; m[1] logs in again.
	env.clock.Advance(24 * time.Hour)
	env.sim.AppendLogin(account, loginOf(m[1], "login-b1", "198.51.100.20", env.clock.Now().Add(-time.Minute)))
	recs = env.pollBoth(t)
	assert.Equal(t, [][2]string{{eventMemberDormant, m[0].ID}, {eventMemberReactivated, m[1].ID}}, memberEvents(recs))
	for _, rec := range recs {
		if rec.eventName == eventMemberReactivated {
			assert.Equal(t, env.clock.Now().Add(-time.Minute).Format(time.RFC3339Nano), rec.attrs[attrLastLogin])
		}
	}
	env.restart(t)
	env.clock.Advance(time.Hour)
	assert.Empty(t, memberEvents(env.pollBoth(t)), "each transition once")
}

// TestNewAddressThroughRestarts: the networks a user signed in from survive
// a restart, a refused batch is judged again from the same state, and a
// network unused for new_address_memory is new again.
func TestNewAddressThroughRestarts(t *testing.T) {
	refuse := false
	env, account, m := usageEnv(t,
		withConfig(func(cfg *Config) {
			cfg.Logins.NewAddressMemory = 48 * time.Hour
			cfg.Logins.InitialLookback = 72 * time.Hour
		}),
		beforeConsume(func(context.Context, int) error {
			if refuse {
				refuse = false
				return assert.AnError
			}
			return nil
		}))
	t0 := env.clock.Now()
	failed := loginOf(m[0], "failed", "192.0.2.1", t0.Add(-11*time.Hour))
	failed.Success = false
	for _, e := range []cloudflaresim.LoginEvent{
		failed,
		loginOf(m[0], "first", "203.0.113.7", t0.Add(-10*time.Hour)),
		loginOf(m[0], "same-net", "203.0.113.99", t0.Add(-9*time.Hour)),
		loginOf(m[0], "v6", "2001:db8:1:2::1", t0.Add(-8*time.Hour)),
		loginOf(m[0], "v6-same-56", "2001:db8:1:ff::9", t0.Add(-7*time.Hour)),
		loginOf(m[1], "other-user", "203.0.113.8", t0.Add(-6*time.Hour)),
	} {
		env.sim.AppendLogin(account, e)
	}
	flags := func(recs []record) map[string]any {
		out := map[string]any{}
		for _, rec := range recs {
			if rec.eventName == eventLogin {
				out[rec.uid] = rec.attrs[attrNewAddress]
			}
		}
		return out
	}
	assert.Equal(t, map[string]any{"failed": nil, "first": true, "same-net": false, "v6": true, "v6-same-56": false, "other-user": true},
		flags(env.pollBoth(t)))

	env.restart(t)
	env.clock.Advance(time.Hour)
	env.sim.AppendLogin(account, loginOf(m[0], "after-restart", "203.0.113.50", env.clock.Now().Add(-time.Minute)))
	env.sim.AppendLogin(account, loginOf(m[0], "new-net", "198.51.100.1", env.clock.Now().Add(-30*time.Second)))
	refuse = true
	require.Error(t, env.r.pollLogins(context.Background()))
	want := map[string]any{"after-restart": false, "new-net": true}
	assert.Equal(t, want, flags(env.pollBoth(t)), "the refused batch again, judged from the same state")

	env.clock.Advance(49 * time.Hour)
	env.sim.AppendLogin(account, loginOf(m[0], "back-after-memory", "203.0.113.51", env.clock.Now().Add(-time.Minute)))
	assert.Equal(t, map[string]any{"back-after-memory": true}, flags(env.pollBoth(t)))
}

// TestLateLoginsMoveLastLoginForwardOnly: a login the sweep finds late
// updates last_login when it is newer, and never moves it back.
func TestLateLoginsMoveLastLoginForwardOnly(t *testing.T) {
	env, account, m := usageEnv(t, withConfig(func(cfg *Config) {
		cfg.Users.PollInterval, cfg.Users.SnapshotInterval = time.Minute, time.Minute // an inventory on every users poll
	}))
	t0 := env.clock.Now()
	env.sim.AppendLogin(account, loginOf(m[0], "on-time", "203.0.113.7", t0.Add(-time.Minute)))
	env.pollBoth(t)

	lastLoginOf := func(recs []record) any {
		for _, rec := range recs {
			if rec.eventName == eventMember && rec.memberID == m[0].ID {
				return rec.attrs[attrLastLogin]
			}
		}
		return nil
	}
	// Shown after the poll that covered its time: one older than on-time,
	// found by the sweep; then one newer, found a sweep later.
	older := loginOf(m[0], "late-older", "203.0.113.8", t0.Add(-2*time.Minute))
	older.VisibleAt = t0.Add(time.Minute)
	newer := loginOf(m[0], "late-newer", "203.0.113.9", t0.Add(-30*time.Second))
	newer.VisibleAt = t0.Add(env.cfg.Logins.LateArrivalSweep + 2*time.Minute)
	env.sim.AppendLogin(account, older)
	env.sim.AppendLogin(account, newer)

	env.clock.Advance(env.cfg.Logins.LateArrivalSweep + time.Minute)
	recs := env.pollBoth(t)
	require.Equal(t, 1, uidCounts(recs)["late-older"], "found by the sweep")
	assert.Equal(t, t0.Add(-time.Minute).Format(time.RFC3339Nano), lastLoginOf(recs), "never backwards")

	env.clock.Advance(env.cfg.Logins.LateArrivalSweep + time.Minute)
	recs = env.pollBoth(t)
	require.Equal(t, 1, uidCounts(recs)["late-newer"])
	assert.Equal(t, t0.Add(-30*time.Second).Format(time.RFC3339Nano), lastLoginOf(recs))
}

// TestRemovedMemberForgetsLoginHistory: the history of a member who left is
// deleted from storage, so the state stays bounded by the member count.
func TestRemovedMemberForgetsLoginHistory(t *testing.T) {
	env, account, m := usageEnv(t)
	env.sim.AppendLogin(account, loginOf(m[0], "a", "203.0.113.7", env.clock.Now().Add(-time.Minute)))
	env.sim.AppendLogin(account, loginOf(m[1], "b", "203.0.113.8", env.clock.Now().Add(-time.Minute)))
	env.pollBoth(t)
	stored := func(m cloudflaresim.Member) bool {
		data, err := env.r.storageClient.Get(context.Background(), loginHistoryKey(account, m.UserID))
		require.NoError(t, err)
		return data != nil
	}
	require.True(t, stored(m[0]))
	require.True(t, stored(m[1]))

	env.sim.RemoveMember(account, m[1].ID)
	env.clock.Advance(time.Hour)
	env.pollBoth(t)
	assert.True(t, stored(m[0]))
	assert.False(t, stored(m[1]))
}

// TestCrashBeforeTheCheckpointRepeatsThePageWithTheSameFlags: the page in
// flight when the checkpoint write failed is emitted again after a restart,
// judged from the same stored state, so its flags do not change.
func TestCrashBeforeTheCheckpointRepeatsThePageWithTheSameFlags(t *testing.T) {
	env, account, m := usageEnv(t, withConfig(func(cfg *Config) {
		cfg.Logins.NewAddressMemory = 48 * time.Hour
		cfg.Logins.InitialLookback = 72 * time.Hour
	}))
	t0 := env.clock.Now()
	env.sim.AppendLogin(account, loginOf(m[0], "login-0", "203.0.113.7", t0.Add(-10*time.Minute)))
	env.sim.AppendLogin(account, loginOf(m[0], "login-1", "203.0.113.8", t0.Add(-9*time.Minute)))
	env.sim.AppendLogin(account, loginOf(m[0], "login-2", "198.51.100.1", t0.Add(-8*time.Minute)))
	flags := func() map[string]any {
		out := map[string]any{}
		for _, rec := range records(env.sink.AllLogs()) {
			out[rec.uid] = rec.attrs[attrNewAddress]
		}
		return out
	}
	want := map[string]any{"login-0": true, "login-1": false, "login-2": true}

	env.r.store.client = &failingCursorWrite{Client: env.r.store.client, cursor: loginCursorKey(loginSourceV1, account)}
	require.Error(t, env.r.pollLogins(context.Background()))
	require.Equal(t, want, flags(), "taken by the pipeline before the write failed")

	env.sink.Reset()
	env.restart(t)
	require.NoError(t, env.r.pollLogins(context.Background()))
	assert.Equal(t, want, flags(), "the page again, with the same flags")
}
