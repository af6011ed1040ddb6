package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// appendLogins adds n successful logins of one actor to an account, the ones
// with index in shared all at the same instant.
func appendLogins(sim *cloudflaresim.Server, account string, n int, start time.Time, step time.Duration, shared func(i int) bool) []cloudflaresim.LoginEvent {
	var out []cloudflaresim.LoginEvent
	when := start
	for i := range n {
		if !shared(i) {
			when = when.Add(step)
		}
		e := cloudflaresim.LoginEvent{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), When: when, Success: i%7 != 0,
			ActorID: "7c5dae5552338874e5053f2534d2767a", ActorEmail: "ada@example.com", ActorIP: "192.0.2.10", ActorType: "user", Interface: "UI",
		}
		sim.AppendLogin(account, e)
		out = append(out, e)
	}
	return out
}

func TestLoginsBackfillAcrossPagesEmitsEachOnce(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1})
	account := sim.Accounts()[0].ID
	// 2,500 entries; those around the first page boundary (index 1000) share one timestamp.
	events := appendLogins(sim, account, 2500, clock.Now().Add(-20*time.Hour), 20*time.Second,
		func(i int) bool { return i >= 995 && i <= 1005 })
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, testConfig(sim), clock, sink, nil)
	sim.ResetStats()

	require.NoError(t, r.pollLogins(context.Background()))

	counts := uidCounts(records(sink.AllLogs()))
	require.Len(t, counts, len(events))
	for _, e := range events {
		assert.Equal(t, 1, counts[e.ID], "entry %s", e.ID)
	}
	assert.Equal(t, 3, sim.Stats().Requests[cloudflaresim.EndpointAuditLogs], "pages of 1000, 1000 and 500")

	sink.Reset()
	clock.Advance(time.Minute)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, sink.LogRecordCount(), "the late-arrival re-read emits nothing twice")
}

func TestLoginsLateArrivalEmittedOnce(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1})
	account := sim.Accounts()[0].ID
	appendLogins(sim, account, 5, clock.Now().Add(-30*time.Minute), time.Minute, func(int) bool { return false })
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, testConfig(sim), clock, sink, nil)
	require.NoError(t, r.pollLogins(context.Background()))
	require.Equal(t, 5, sink.LogRecordCount())

	// An event that happened 4 minutes ago shows up in the API 3 minutes from now.
	late := cloudflaresim.LoginEvent{ID: "late-0000-4000-8000-000000000001", When: clock.Now().Add(-4 * time.Minute),
		VisibleAt: clock.Now().Add(3 * time.Minute), Success: true, ActorEmail: "ada@example.com", ActorType: "user"}
	sim.AppendLogin(account, late)
	sink.Reset()
	for range 5 {
		clock.Advance(time.Minute)
		require.NoError(t, r.pollLogins(context.Background()))
	}
	assert.Equal(t, map[string]int{late.ID: 1}, uidCounts(records(sink.AllLogs())))
}

func TestLoginsRestartWithStorageMissesNothing(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 5})
	host, storageID := storageHost(t)
	cfg := testConfig(sim)
	cfg.StorageID = storageID
	accounts := sim.Accounts()
	var all []cloudflaresim.LoginEvent
	for _, a := range accounts {
		all = append(all, sim.GenerateLogins(a.ID, 300, clock.Now().Add(-10*time.Hour), clock.Now())...)
	}

	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, sink, host)
	require.NoError(t, r.pollLogins(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))

	// Down for two hours while logins happen.
	for _, a := range accounts {
		all = append(all, sim.GenerateLogins(a.ID, 50, clock.Now(), clock.Now().Add(2*time.Hour))...)
	}
	clock.Advance(2 * time.Hour)

	r2 := newPollingReceiver(t, cfg, clock, sink, host)
	require.NoError(t, r2.pollLogins(context.Background()))

	counts := uidCounts(records(sink.AllLogs()))
	assert.Len(t, counts, len(all))
	for _, e := range all {
		assert.Equal(t, 1, counts[e.ID], "entry %s", e.ID)
	}
}

func TestLoginsExporterFailureLosesNothing(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1})
	account := sim.Accounts()[0].ID
	events := appendLogins(sim, account, 1500, clock.Now().Add(-5*time.Hour), 10*time.Second, func(int) bool { return false })
	// The second page fails once.
	next := &failingConsumer{}
	r := newPollingReceiver(t, testConfig(sim), clock, next, nil)
	r.next = consumerFunc(func(ctx context.Context, n int) error {
		if n == 2 {
			return assert.AnError
		}
		return nil
	}, next)

	require.ErrorIs(t, r.pollLogins(context.Background()), assert.AnError)
	assert.Equal(t, 1000, next.LogRecordCount())
	require.NoError(t, r.pollLogins(context.Background()))
	counts := uidCounts(records(next.AllLogs()))
	require.Len(t, counts, len(events))
	for _, e := range events {
		require.Equal(t, 1, counts[e.ID])
	}
}

func TestLoginsPermanentErrorDropsBatchAndMovesOn(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1})
	account := sim.Accounts()[0].ID
	appendLogins(sim, account, 10, clock.Now().Add(-time.Hour), time.Minute, func(int) bool { return false })
	next := &failingConsumer{failures: 1, err: consumererror.NewPermanent(assert.AnError)}
	r := newPollingReceiver(t, testConfig(sim), clock, next, nil)

	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, next.LogRecordCount())
	clock.Advance(time.Minute)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, next.LogRecordCount(), "a permanently refused batch is not sent again")
}

func TestLoginsCarryMemberNameAndRoles(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3})
	account := sim.Accounts()[0].ID
	member := sim.Members(account)[0]
	sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "known-0000-4000-8000-000000000001", When: clock.Now().Add(-time.Minute),
		Success: true, ActorID: member.UserID, ActorEmail: member.Email, ActorType: "user"})
	sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "unknown-000-4000-8000-000000000002", When: clock.Now().Add(-time.Minute),
		Success: false, ActorEmail: "stranger@example.net", ActorType: "user"})
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, testConfig(sim), clock, sink, nil)

	require.NoError(t, r.pollUsers(context.Background()))
	sink.Reset()
	require.NoError(t, r.pollLogins(context.Background()))
	recs := records(sink.AllLogs())
	require.Len(t, recs, 2)
	var roles []any
	for _, role := range member.Roles {
		roles = append(roles, role.Name)
	}
	for _, rec := range recs {
		switch rec.uid {
		case "known-0000-4000-8000-000000000001":
			assert.Equal(t, member.FirstName+" "+member.LastName, rec.attrs["user.full_name"])
			assert.Equal(t, roles, rec.attrs["user.roles"])
			assert.Equal(t, "success", rec.attrs[attrActionResult])
		default:
			assert.NotContains(t, rec.attrs, "user.full_name")
			assert.Equal(t, "login_failed", rec.attrs["error.type"])
		}
	}
}

// TestUnreadableCheckpointIsDiscarded: a damaged checkpoint costs a re-read
// of initial_lookback (duplicates at worst), never a stuck receiver.
func TestUnreadableCheckpointIsDiscarded(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 20, LoginSpan: time.Hour})
	account := sim.Accounts()[0].ID
	host, storageID := storageHost(t)
	cfg := testConfig(sim)
	cfg.StorageID = storageID
	core, logs := observer.New(zapcore.WarnLevel)
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, sink, host, zap.New(core))
	require.NoError(t, r.store.client.Set(context.Background(), loginCursorKey(account), []byte("{not json")))
	require.NoError(t, r.store.client.Set(context.Background(), memberSnapshotKey(account), []byte{0xff}))

	require.NoError(t, r.pollLogins(context.Background()))
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventLogin: 20, eventMember: 3}, countByEvent(records(sink.AllLogs())))
	assert.Len(t, logs.FilterMessageSnippet("Discarding an unreadable").All(), 2)
}
