package cloudflareidentityreceiver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// pagedList is one kind of list the receiver reads in offset pages of 50 and
// diffs: how the tests change it in the simulator and find it in the records.
type pagedList struct {
	name     string
	endpoint cloudflaresim.Endpoint
	config   envOption
	poll     func(*identityReceiver, context.Context) error
	ids      func(sim *cloudflaresim.Server, account string) []string
	// insert puts a new item at index of the list and returns its id.
	insert                    func(sim *cloudflaresim.Server, account string, index int) string
	remove                    func(sim *cloudflaresim.Server, account, id string)
	inventory, added, removed string
	idKey                     string
}

var pagedLists = []pagedList{
	{
		name: "members", endpoint: cloudflaresim.EndpointMembers,
		config: withConfig(func(*Config) {}),
		poll:   (*identityReceiver).pollUsers,
		ids: func(sim *cloudflaresim.Server, account string) (ids []string) {
			for _, m := range sim.Members(account) {
				ids = append(ids, m.ID)
			}
			return ids
		},
		insert: func(sim *cloudflaresim.Server, account string, index int) string {
			m := sim.NewMember()
			sim.InsertMember(account, index, m)
			return m.ID
		},
		remove:    (*cloudflaresim.Server).RemoveMember,
		inventory: eventMember, added: eventMemberAdded, removed: eventMemberRemoved, idKey: attrMemberID,
	},
	{
		name: "access users", endpoint: cloudflaresim.EndpointAccessUsers,
		config: withAccessUsers(func(*InventoryConfig) {}),
		poll:   (*identityReceiver).pollAccessUsers,
		ids: func(sim *cloudflaresim.Server, account string) (ids []string) {
			for _, u := range sim.AccessUsers(account) {
				ids = append(ids, u.ID)
			}
			return ids
		},
		insert: func(sim *cloudflaresim.Server, account string, index int) string {
			u := sim.NewAccessUser()
			sim.InsertAccessUser(account, index, u)
			return u.ID
		},
		remove:    (*cloudflaresim.Server).RemoveAccessUser,
		inventory: eventAccessUser, added: eventAccessUserAdded, removed: eventAccessUserRemoved, idKey: "user.id",
	},
}

// listEdit removes the item at index at, or inserts a new one there; at ==
// atEnd appends.
type listEdit struct {
	insert bool
	at     int
}

const atEnd = -1

func removeAt(i int) listEdit { return listEdit{at: i} }
func insertAt(i int) listEdit { return listEdit{insert: true, at: i} }

// listMove is edits the simulator makes right after page afterPage of a read
// was served, before the reader asks for the next page.
type listMove struct {
	afterPage int
	edits     []listEdit
}

// listHistory is every state a list went through, as ids in list order.
type listHistory struct {
	mu     sync.Mutex
	states [][]string
}

func (h *listHistory) add(ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states = append(h.states, ids)
}

func (h *listHistory) all() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.states)
}

// queueMoves has the simulator make moves while the list of account is read,
// recording each state the list goes through in history.
func queueMoves(sim *cloudflaresim.Server, l pagedList, account string, moves []listMove, history *listHistory) {
	for _, move := range moves {
		sim.ChangeListAfterPage(l.endpoint, account, move.afterPage, func() {
			for _, edit := range move.edits {
				ids := l.ids(sim, account)
				switch at := edit.at; {
				case edit.insert && at == atEnd:
					l.insert(sim, account, len(ids))
				case edit.insert:
					l.insert(sim, account, at)
				default:
					l.remove(sim, account, ids[at])
				}
			}
			history.add(l.ids(sim, account))
		})
	}
}

// idsOf lists the id attribute of the records of one event, in emitted order.
func idsOf(recs []record, eventName, idKey string) []string {
	var ids []string
	for _, rec := range recs {
		if rec.eventName == eventName {
			ids = append(ids, rec.attrs[idKey].(string))
		}
	}
	return ids
}

// without lists the ids of a that b lacks.
func without(a, b []string) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// TestTornListReadEmitsOnlyTrueChanges: members and Access users come in
// offset pages of 50, which shift when the list changes between two page
// requests. Whatever the simulator changes there (removals and additions
// before and after the reader's position, a removal paired with an addition
// that keeps total_count), during an account's first inventory or a later
// poll, the inventory is the list as it stood at one instant, and that poll
// with a quiet one after it emit exactly the true changes, each once: no
// member who never left is removed and added again.
// Mutations caught: inventory.readUntorn trusting every read alone (false
// removed and added); trusting the first read of an account alone (an
// inventory holding a removed member and missing one who never left).
func TestTornListReadEmitsOnlyTrueChanges(t *testing.T) {
	// 120 items: pages 1 and 2 of 50, page 3 of 20.
	tests := []struct {
		name  string
		moves []listMove
	}{
		{name: "page 1 loses one and one is added at the end, after page 1",
			moves: []listMove{{afterPage: 1, edits: []listEdit{removeAt(10), insertAt(atEnd)}}}},
		{name: "page 2 loses one and one is added at the end, after page 2: page 1 and total_count stay",
			moves: []listMove{{afterPage: 2, edits: []listEdit{removeAt(60), insertAt(atEnd)}}}},
		{name: "one added before the reader's position, after page 1",
			moves: []listMove{{afterPage: 1, edits: []listEdit{insertAt(10)}}}},
		{name: "one removed after the reader's position, after page 1",
			moves: []listMove{{afterPage: 1, edits: []listEdit{removeAt(110)}}}},
		{name: "one removed and one added before the reader's position, after page 2",
			moves: []listMove{{afterPage: 2, edits: []listEdit{removeAt(10), insertAt(70)}}}},
		{name: "removals and additions on both sides, after pages 1 and 2",
			moves: []listMove{
				{afterPage: 1, edits: []listEdit{removeAt(5), insertAt(20), removeAt(105), insertAt(75)}},
				{afterPage: 2, edits: []listEdit{removeAt(30), insertAt(atEnd)}},
			}},
	}
	for _, l := range pagedLists {
		for _, tt := range tests {
			for _, first := range []bool{false, true} {
				name := l.name + "/" + tt.name + "/later poll"
				if first {
					name = l.name + "/" + tt.name + "/first inventory"
				}
				t.Run(name, func(t *testing.T) {
					env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 120, AccessUsersPerAccount: 120}, l.config)
					ctx := context.Background()
					account := env.sim.Accounts()[0].ID
					history := &listHistory{}
					history.add(l.ids(env.sim, account))
					if !first {
						require.NoError(t, l.poll(env.r, ctx))
						env.sink.Reset()
					}
					queueMoves(env.sim, l, account, tt.moves, history)

					require.NoError(t, l.poll(env.r, ctx))
					inventory := idsOf(records(env.sink.AllLogs()), l.inventory, l.idKey)
					env.clock.Advance(15 * time.Minute)
					require.NoError(t, l.poll(env.r, ctx), "a quiet poll")

					states := history.all()
					require.Len(t, states, 1+len(tt.moves), "every move was made")
					before, after := states[0], states[len(states)-1]
					if first {
						assert.True(t, slices.ContainsFunc(states, func(state []string) bool { return slices.Equal(state, inventory) }),
							"the inventory is the list as it stood at one instant")
						before = inventory
					} else {
						assert.Empty(t, inventory, "no inventory after the first poll")
					}
					recs := records(env.sink.AllLogs())
					assert.ElementsMatch(t, without(after, before), idsOf(recs, l.added, l.idKey), "added")
					assert.ElementsMatch(t, without(before, after), idsOf(recs, l.removed, l.idKey), "removed")
				})
			}
		}
	}
}

// TestListThatKeepsMovingFailsThePoll: a list that changes during every
// read of a poll fails it with a bad response naming the account, after
// maxListReads reads, and emits nothing; the next poll, the list standing
// still, emits the true changes from the last checkpoint.
// Mutation caught: inventory.readUntorn trusting its last read when no two
// agree (the poll emits from a torn read).
func TestListThatKeepsMovingFailsThePoll(t *testing.T) {
	for _, l := range pagedLists {
		t.Run(l.name, func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 120, AccessUsersPerAccount: 120}, l.config)
			ctx := context.Background()
			account := env.sim.Accounts()[0].ID
			require.NoError(t, l.poll(env.r, ctx))
			history := &listHistory{}
			history.add(l.ids(env.sim, account))
			env.sink.Reset()
			env.sim.ResetStats()

			moves := make([]listMove, maxListReads) // one on every read
			for i := range moves {
				moves[i] = listMove{afterPage: 1, edits: []listEdit{removeAt(10 + i), insertAt(atEnd)}}
			}
			queueMoves(env.sim, l, account, moves, history)
			err := l.poll(env.r, ctx)
			require.Error(t, err)
			kind, _ := cloudflare.KindOf(err)
			assert.Equal(t, cloudflare.KindBadResponse, kind)
			assert.ErrorContains(t, err, "account "+account+": the list changed while it was read, 3 reads in a row")
			assert.Zero(t, env.sink.LogRecordCount(), "nothing from a torn read")
			assert.Equal(t, maxListReads*3, env.sim.Stats().Requests[l.endpoint], "three pages a read")

			env.clock.Advance(15 * time.Minute)
			require.NoError(t, l.poll(env.r, ctx))
			states := history.all()
			before, after := states[0], states[len(states)-1]
			recs := records(env.sink.AllLogs())
			assert.ElementsMatch(t, without(after, before), idsOf(recs, l.added, l.idKey), "added")
			assert.ElementsMatch(t, without(before, after), idsOf(recs, l.removed, l.idKey), "removed")
		})
	}
}

// TestListReadCost: a list that stands still costs one read per poll (three
// pages of 120 items) when it holds every item of the checkpoint, and two
// when it lacks one or is an account's first: the second confirms the first.
// Mutation caught: inventory.readUntorn confirming every read (twice the
// requests of every poll).
func TestListReadCost(t *testing.T) {
	tests := []struct {
		name string
		// change edits the list after a first poll; nil: the poll is the first.
		change       func(sim *cloudflaresim.Server, l pagedList, account string)
		wantRequests int
	}{
		{name: "the first poll of an account", wantRequests: 6},
		{name: "a list unchanged", change: func(*cloudflaresim.Server, pagedList, string) {}, wantRequests: 3},
		{name: "a list that only grew", change: func(sim *cloudflaresim.Server, l pagedList, account string) {
			l.insert(sim, account, 30)
		}, wantRequests: 3},
		{name: "a list that lost an item", change: func(sim *cloudflaresim.Server, l pagedList, account string) {
			l.remove(sim, account, l.ids(sim, account)[30])
		}, wantRequests: 6},
	}
	for _, l := range pagedLists {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 120, AccessUsersPerAccount: 120}, l.config)
				ctx := context.Background()
				if tt.change != nil {
					require.NoError(t, l.poll(env.r, ctx))
					tt.change(env.sim, l, env.sim.Accounts()[0].ID)
					env.clock.Advance(15 * time.Minute)
					env.sim.ResetStats()
				}
				require.NoError(t, l.poll(env.r, ctx))
				assert.Equal(t, tt.wantRequests, env.sim.Stats().Requests[l.endpoint])
			})
		}
	}
}

// TestOnePageListIsReadOnce: an account's first read of a list of one page
// is one answer of the API, which no change can tear: it is trusted alone,
// where a longer list is read twice (TestListReadCost).
// Mutation caught: readUntorn without its `pages == 1` rule (two requests).
func TestOnePageListIsReadOnce(t *testing.T) {
	for _, l := range pagedLists {
		t.Run(l.name, func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 40, AccessUsersPerAccount: 40}, l.config)
			require.NoError(t, l.poll(env.r, context.Background()))
			assert.Equal(t, 1, env.sim.Stats().Requests[l.endpoint])
		})
	}
}
