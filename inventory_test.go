package cloudflareidentityreceiver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// bodiesByID maps the id attribute of every record of one event to its Body.
func bodiesByID(all []plog.Logs, eventName, idKey string) map[string]any {
	bodies := map[string]any{}
	for _, logs := range all {
		for _, rl := range logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if lr.EventName() != eventName {
						continue
					}
					id, _ := lr.Attributes().Get(idKey)
					bodies[id.Str()] = lr.Body().AsRaw()
				}
			}
		}
	}
	return bodies
}

// TestRemovalBodyIsTheLastKnownRecord: once a list was taken, the receiver
// keeps its records compressed, and a later poll's removal events carry the
// removed items' records as they were listed, whether the list is the one in
// memory or the one stored before a restart. Two items apart are removed so
// that the records in between are skipped.
// Mutations caught: restoreBodies not restoring the body (removal events
// without one), not skipping the records of items still listed, or stopping
// before the last removed item.
func TestRemovalBodyIsTheLastKnownRecord(t *testing.T) {
	type list struct {
		name               string
		config             envOption
		poll               func(*identityReceiver, context.Context) error
		ids                func(sim *cloudflaresim.Server, account string) []string
		remove             func(sim *cloudflaresim.Server, account, id string)
		inventory, removal string
		idKey              string
	}
	lists := []list{
		{
			name:   "members",
			config: withConfig(func(*Config) {}),
			poll:   (*identityReceiver).pollUsers,
			ids: func(sim *cloudflaresim.Server, account string) (ids []string) {
				for _, m := range sim.Members(account) {
					ids = append(ids, m.ID)
				}
				return ids
			},
			remove:    (*cloudflaresim.Server).RemoveMember,
			inventory: eventMember, removal: eventMemberRemoved, idKey: attrMemberID,
		},
		{
			name:   "access users",
			config: withAccessUsers(func(*InventoryConfig) {}),
			poll:   (*identityReceiver).pollAccessUsers,
			ids: func(sim *cloudflaresim.Server, account string) (ids []string) {
				for _, u := range sim.AccessUsers(account) {
					ids = append(ids, u.ID)
				}
				return ids
			},
			remove:    (*cloudflaresim.Server).RemoveAccessUser,
			inventory: eventAccessUser, removal: eventAccessUserRemoved, idKey: "user.id",
		},
	}
	for _, l := range lists {
		for _, restart := range []bool{false, true} {
			name := l.name + "/in memory"
			if restart {
				name = l.name + "/after a restart"
			}
			t.Run(name, func(t *testing.T) {
				env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 12, AccessUsersPerAccount: 12},
					l.config, withStorage())
				require.NoError(t, l.poll(env.r, context.Background()))
				listed := bodiesByID(env.sink.AllLogs(), l.inventory, l.idKey)
				require.Len(t, listed, 12)

				account := env.sim.Accounts()[0].ID
				ids := l.ids(env.sim, account)
				gone := []string{ids[4], ids[9]}
				for _, id := range gone {
					l.remove(env.sim, account, id)
				}
				env.clock.Advance(time.Hour)
				env.sink.Reset()
				if restart {
					env.restart(t)
				}
				require.NoError(t, l.poll(env.r, context.Background()))

				removed := bodiesByID(env.sink.AllLogs(), l.removal, l.idKey)
				require.Len(t, removed, len(gone))
				for _, id := range gone {
					require.NotNil(t, removed[id], "removal of %s", id)
					assert.Equal(t, listed[id], removed[id], "removal of %s", id)
				}
			})
		}
	}
}

// TestTakenListKeepsNoRecordsInItsItems: once the pipeline took a member
// list, the members the receiver keeps (the login records are enriched from
// them) no longer hold their records: the compressed copy does
// (TestRemovalBodyIsTheLastKnownRecord reads it back).
// Mutations caught: inventory.poll without its compactBodies call;
// loginsPoll.storedMembers keeping the records.
func TestTakenListKeepsNoRecordsInItsItems(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 30}, withStorage())
	require.NoError(t, env.r.pollUsers(context.Background()))
	assertNoRecords := func(when string) {
		kept := env.r.members.byAccount[env.sim.Accounts()[0].ID].byUserID
		require.Len(t, kept, 30, when)
		for _, m := range kept {
			assert.Nil(t, m.Raw, "%s: member %s", when, m.ID)
		}
	}
	assertNoRecords("after the users poll")

	// After a restart, the logins stream reads the members from storage first.
	env.restart(t)
	require.NoError(t, env.r.pollLogins(context.Background()))
	assertNoRecords("read from storage")
}

// TestUniqueByID: repeats of an id are dropped, the first kept, in order;
// a list without repeats is the same list, not a copy.
// Mutations caught: copying items[:i+1] on the first repeat; keeping a
// repeat that comes after the first.
func TestUniqueByID(t *testing.T) {
	id := func(s *string) string { return *s }
	tests := []struct {
		name  string
		items []string
		want  []string
	}{
		{name: "none", items: nil, want: nil},
		{name: "no repeats", items: []string{"a", "b", "c"}, want: []string{"a", "b", "c"}},
		{name: "repeat next to it", items: []string{"a", "a", "b"}, want: []string{"a", "b"}},
		{name: "repeat at the end", items: []string{"a", "b", "c", "a"}, want: []string{"a", "b", "c"}},
		{name: "several repeats", items: []string{"a", "b", "b", "c", "a", "d", "c"}, want: []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := slices.Clone(tt.items)
			got := uniqueByID(items, id)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.items, items, "the input is left as it was")
			if len(tt.want) == len(tt.items) && len(items) > 0 {
				assert.Same(t, &items[0], &got[0], "a list without repeats is not copied")
			}
		})
	}
}
