package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

func TestUsersFirstPollIsInventory(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 120})
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, testConfig(sim), clock, sink, nil)

	require.NoError(t, r.pollUsers(context.Background()))

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
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Zero(t, sink.LogRecordCount(), "an unchanged list emits nothing")
}

func TestUsersChangesEmitOneEventEach(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 60})
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, testConfig(sim), clock, sink, nil)
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
	clock.Advance(15 * time.Minute)

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
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 8})
	sink := new(consumertest.LogsSink)
	cfg := testConfig(sim)
	cfg.Users.SnapshotInterval = time.Hour
	r := newPollingReceiver(t, cfg, clock, sink, nil)

	require.NoError(t, r.pollUsers(context.Background()))
	clock.Advance(59 * time.Minute)
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Equal(t, 8, sink.LogRecordCount(), "no second inventory before the interval")
	clock.Advance(time.Minute)
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventMember: 16}, countByEvent(records(sink.AllLogs())))
}

func TestUsersRestartWithStorageEmitsOnlyChanges(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 30})
	host, storageID := storageHost(t)
	cfg := testConfig(sim)
	cfg.StorageID = storageID

	first := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, first, host)
	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
	require.Equal(t, 60, first.LogRecordCount())

	// While the receiver is down, one member leaves.
	account := sim.Accounts()[1].ID
	gone := sim.Members(account)[0]
	sim.RemoveMember(account, gone.ID)
	clock.Advance(time.Hour)

	second := new(consumertest.LogsSink)
	r2 := newPollingReceiver(t, cfg, clock, second, host)
	require.NoError(t, r2.pollUsers(context.Background()))
	recs := records(second.AllLogs())
	require.Equal(t, map[string]int{eventMemberRemoved: 1}, countByEvent(recs), "no inventory again, no added for everyone")
	assert.Equal(t, eventMemberRemoved, recs[0].eventName)
	assert.Equal(t, gone.ID, recs[0].memberID)
}

func TestUsersExporterFailureLosesNothing(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 10})
	next := &failingConsumer{err: assert.AnError}
	r := newPollingReceiver(t, testConfig(sim), clock, next, nil)

	require.NoError(t, r.pollUsers(context.Background()))
	account := sim.Accounts()[0].ID
	sim.AddMember(account, sim.NewMember())
	next.failures = 1
	require.Error(t, r.pollUsers(context.Background()))
	assert.Equal(t, 10, next.LogRecordCount())

	require.NoError(t, r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventMember: 10, eventMemberAdded: 1}, countByEvent(records(next.AllLogs())))
}
