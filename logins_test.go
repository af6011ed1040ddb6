package cloudflareidentityreceiver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
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
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1})
	sim, sink, r := env.sim, env.sink, env.r
	// 2,500 entries; those around the first page boundary (index 1000) share one timestamp.
	events := appendLogins(sim, sim.Accounts()[0].ID, 2500, env.clock.Now().Add(-20*time.Hour), 20*time.Second,
		func(i int) bool { return i >= 995 && i <= 1005 })
	sim.ResetStats()

	require.NoError(t, r.pollLogins(context.Background()))

	counts := uidCounts(records(sink.AllLogs()))
	require.Len(t, counts, len(events))
	for _, e := range events {
		assert.Equal(t, 1, counts[e.ID], "entry %s", e.ID)
	}
	assert.Equal(t, 3, sim.Stats().Requests[cloudflaresim.EndpointAuditLogs], "pages of 1000, 1000 and 500")

	sink.Reset()
	env.clock.Advance(time.Minute)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, sink.LogRecordCount(), "the late-arrival re-read emits nothing twice")
}

// TestLoginsPollGolden pins a whole logins poll of a fixed-seed simulator on
// a fixed clock, after a users poll: a resource per account and page, its
// scope, and every login's record as the pipeline gets it, those of members
// with user.full_name and user.roles.
func TestLoginsPollGolden(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 5, LoginSpan: time.Hour},
		withConfig(func(cfg *Config) { cfg.Logins.PageSize = 3 }))
	require.NoError(t, env.r.pollUsers(context.Background()))
	env.sink.Reset()
	require.NoError(t, env.r.pollLogins(context.Background()))
	compareGolden(t, "poll_logins.yaml", concatLogs(env.sink.AllLogs()), plogtest.IgnoreObservedTimestamp())
}

func TestLoginsLateArrivalEmittedOnce(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1})
	sim, clock, sink, r := env.sim, env.clock, env.sink, env.r
	account := sim.Accounts()[0].ID
	appendLogins(sim, account, 5, clock.Now().Add(-30*time.Minute), time.Minute, func(int) bool { return false })
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
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 5}, withStorage())
	sim, clock := env.sim, env.clock
	accounts := sim.Accounts()
	var all []cloudflaresim.LoginEvent
	for _, a := range accounts {
		all = append(all, sim.GenerateLogins(a.ID, 300, clock.Now().Add(-10*time.Hour), clock.Now())...)
	}
	require.NoError(t, env.r.pollLogins(context.Background()))

	// Down for two hours while logins happen.
	for _, a := range accounts {
		all = append(all, sim.GenerateLogins(a.ID, 50, clock.Now(), clock.Now().Add(2*time.Hour))...)
	}
	clock.Advance(2 * time.Hour)
	env.restart(t)
	require.NoError(t, env.r.pollLogins(context.Background()))

	counts := uidCounts(records(env.sink.AllLogs()))
	assert.Len(t, counts, len(all))
	for _, e := range all {
		assert.Equal(t, 1, counts[e.ID], "entry %s", e.ID)
	}
}

func TestLoginsExporterFailureLosesNothing(t *testing.T) {
	// The second page fails once.
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, beforeConsume(func(_ context.Context, call int) error {
		if call == 2 {
			return assert.AnError
		}
		return nil
	}))
	events := appendLogins(env.sim, env.sim.Accounts()[0].ID, 1500, env.clock.Now().Add(-5*time.Hour), 10*time.Second,
		func(int) bool { return false })

	require.ErrorIs(t, env.r.pollLogins(context.Background()), assert.AnError)
	assert.Equal(t, 1000, env.sink.LogRecordCount())
	require.NoError(t, env.r.pollLogins(context.Background()))
	counts := uidCounts(records(env.sink.AllLogs()))
	require.Len(t, counts, len(events))
	for _, e := range events {
		require.Equal(t, 1, counts[e.ID])
	}
}

func TestLoginsPermanentErrorDropsBatchAndMovesOn(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, beforeConsume(func(_ context.Context, call int) error {
		if call == 1 {
			return consumererror.NewPermanent(assert.AnError)
		}
		return nil
	}))
	appendLogins(env.sim, env.sim.Accounts()[0].ID, 10, env.clock.Now().Add(-time.Hour), time.Minute, func(int) bool { return false })

	require.NoError(t, env.r.pollLogins(context.Background()))
	assert.Zero(t, env.sink.LogRecordCount())
	env.clock.Advance(time.Minute)
	require.NoError(t, env.r.pollLogins(context.Background()))
	assert.Zero(t, env.sink.LogRecordCount(), "a permanently refused batch is not sent again")
}

func TestLoginsCarryMemberNameAndRoles(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3})
	sim, clock := env.sim, env.clock
	account := sim.Accounts()[0].ID
	member := sim.Members(account)[0]
	sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "known-0000-4000-8000-000000000001", When: clock.Now().Add(-time.Minute),
		Success: true, ActorID: member.UserID, ActorEmail: member.Email, ActorType: "user"})
	sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "unknown-000-4000-8000-000000000002", When: clock.Now().Add(-time.Minute),
		Success: false, ActorEmail: "stranger@example.net", ActorType: "user"})

	require.NoError(t, env.r.pollUsers(context.Background()))
	env.sink.Reset()
	require.NoError(t, env.r.pollLogins(context.Background()))
	recs := records(env.sink.AllLogs())
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

// TestLoginsLookbackHoldsWhilePipelineRefuses pins issue 9.1: with no
// checkpoint yet, the first poll's lower bound is kept, so that while the
// pipeline refuses the backlog, or the collector restarts before it took it,
// the oldest part of initial_lookback does not slide out of reach. Before the
// fix every poll of a fresh state read from now - initial_lookback, and the
// ten logins of the lookback's first ten minutes were lost.
func TestLoginsLookbackHoldsWhilePipelineRefuses(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(),
				beforeConsume(func(_ context.Context, call int) error {
					if call <= 3 {
						return errors.New("exporter queue full")
					}
					return nil
				}))
			events := appendLogins(env.sim, env.sim.Accounts()[0].ID, 10, env.clock.Now().Add(-env.cfg.Logins.InitialLookback), time.Minute,
				func(int) bool { return false })
			for range 3 {
				require.Error(t, env.r.pollLogins(context.Background()))
				env.clock.Advance(10 * time.Minute)
			}
			if restart {
				env.restart(t)
			}
			require.NoError(t, env.r.pollLogins(context.Background()))

			counts := uidCounts(records(env.sink.AllLogs()))
			for _, e := range events {
				assert.Equal(t, 1, counts[e.ID], "login at %s", e.When)
			}
		})
	}
}

// TestLoginsWithoutTimeAreEmittedOnce pins issue 9.2: an entry whose `when`
// is missing is emitted once, with Timestamp unset, and a WARN names it.
// Before the fix its id was pruned from the checkpoint at once, and every
// poll emitted it again.
func TestLoginsWithoutTimeAreEmittedOnce(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 5, LoginSpan: time.Hour}, observeLogs(zapcore.WarnLevel))
	// The newest entry: every later poll reads it again.
	logins := env.sim.Logins(env.sim.Accounts()[0].ID)
	env.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultMissingWhen, EntryID: logins[len(logins)-1].ID, Count: -1})
	for range 3 {
		require.NoError(t, env.r.pollLogins(context.Background()))
		env.clock.Advance(time.Minute)
	}

	counts := uidCounts(records(env.sink.AllLogs()))
	require.Len(t, counts, 5)
	for uid, n := range counts {
		assert.Equal(t, 1, n, uid)
	}
	timeless := 0
	for _, logs := range env.sink.AllLogs() {
		lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			if lrs.At(i).Timestamp() == 0 {
				timeless++
				assert.NotZero(t, lrs.At(i).ObservedTimestamp())
			}
		}
	}
	assert.Equal(t, 1, timeless, "the newest entry came without a time")
	warned := env.logs.FilterMessageSnippet("without a readable time").All()
	require.Len(t, warned, 1, "a WARN in the poll that emitted it, none after")
	assert.Len(t, warned[0].ContextMap()["ids"], 1)
}

// TestUnseenEntriesKeepsToTheWindow: entries the API returns outside the
// poll's [since, before) are not emitted from it (issue 9.2); an entry
// without a time cannot be placed and is kept.
func TestUnseenEntriesKeepsToTheWindow(t *testing.T) {
	since := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	query := cloudflare.RangeQuery{Since: since, Before: since.Add(time.Hour)}
	login := func(id string, when time.Time) cloudflare.AuditEntry {
		return cloudflare.AuditEntry{ID: id, When: when, ActionType: loginActionType}
	}
	page := []cloudflare.AuditEntry{
		login("before-since", since.Add(-time.Nanosecond)),
		login("at-since", since),
		login("inside", since.Add(time.Minute)),
		login("at-before", since.Add(time.Hour)),
		login("no-time", time.Time{}),
		login("emitted", since.Add(2*time.Minute)),
		login("inside", since.Add(time.Minute)),
		{ID: "not-a-login", When: since.Add(time.Minute), ActionType: "user_update"},
	}
	cursor := &windowCursor{Emitted: emittedIDs{"emitted": since.Add(2 * time.Minute)}}
	var kept []string
	for _, e := range unseenEntries(page, cursor, query, (&loginsPoll{cfg: LoginsConfig{Source: loginSourceV1}}).isLogin, cloudflare.AuditStamp) {
		kept = append(kept, e.ID)
	}
	assert.Equal(t, []string{"at-since", "inside", "no-time"}, kept)
}

// TestLoginsPagingSurvivesShiftingResults pins issue 9.3: paging by page
// number inside a fixed window skipped entries at page boundaries when ties
// came back in another order, or when the oldest entries expired during the
// backfill. Each case fails with page-number paging.
func TestLoginsPagingSurvivesShiftingResults(t *testing.T) {
	tests := []struct {
		name string
		sim  cloudflaresim.Config
		// shared says which entries share the instant of the one before.
		shared func(i int) bool
		// perBatch advances the clock each time the pipeline takes a batch.
		perBatch time.Duration
	}{
		{name: "ties in another order on every request", sim: cloudflaresim.Config{ShuffleTies: true},
			shared: func(i int) bool { return i%6 != 0 }},
		{name: "oldest entries expire while paging", sim: cloudflaresim.Config{Retention: 24 * time.Hour},
			shared: func(int) bool { return false }, perBatch: 3 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sim.Accounts = 1
			var env *testEnv
			env = newTestEnv(t, tt.sim, withConfig(func(cfg *Config) { cfg.Logins.PageSize = 10 }),
				beforeConsume(func(context.Context, int) error {
					env.clock.Advance(tt.perBatch)
					return nil
				}))
			// The first entry is a second inside retention and the lookback.
			events := appendLogins(env.sim, env.sim.Accounts()[0].ID, 200, env.clock.Now().Add(-24*time.Hour+time.Second-time.Minute),
				time.Minute, tt.shared)
			// 20 pages are two turns; with the clock moving, a step ends after a
			// turn, and the loop's next steps go on.
			for range 3 {
				require.NoError(t, env.r.pollLogins(context.Background()))
			}

			counts := uidCounts(records(env.sink.AllLogs()))
			for _, e := range events {
				assert.Equal(t, 1, counts[e.ID], "login %s at %s", e.ID, e.When)
			}
		})
	}
}

// TestLoginsWithoutIDStayApart pins issue 9.4: entries that come without an
// id get a key from their content. Before the fix they all had the id "" and
// only the first was ever emitted.
func TestLoginsWithoutIDStayApart(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 30, LoginSpan: time.Hour},
		withConfig(func(cfg *Config) { cfg.Logins.PageSize = 7 }))
	env.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultMissingID, Count: -1})
	require.NoError(t, env.r.pollLogins(context.Background()))
	env.clock.Advance(time.Minute)
	require.NoError(t, env.r.pollLogins(context.Background()))

	counts := uidCounts(records(env.sink.AllLogs()))
	assert.Len(t, counts, 30, "one key per entry")
	for uid, n := range counts {
		assert.True(t, strings.HasPrefix(uid, "sha256:"), uid)
		assert.Equal(t, 1, n, "emitted once: %s", uid)
	}
}

// TestEndlessPagesCostBoundedRequests pins issue 9.5: an account whose audit
// log ignores `since` and `page` returns the same full page for ever. Before
// the fix the poll never ended, and the other account was never polled; now
// the repeat is found on the second request and the poll goes on.
func TestEndlessPagesCostBoundedRequests(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, LoginsPerAccount: 40, LoginSpan: time.Hour},
		withConfig(func(cfg *Config) { cfg.Logins.PageSize = 10 }))
	sim, sink, r := env.sim, env.sink, env.r
	endless, healthy := sim.Accounts()[0].ID, sim.Accounts()[1].ID
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultIgnorePaging, AccountID: endless, Count: -1})
	sim.ResetStats()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.pollLogins(ctx)
	require.Error(t, err)
	kind, ok := cloudflare.KindOf(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, cloudflare.KindBadResponse, kind)
	assert.Contains(t, err.Error(), endless)
	assert.Contains(t, err.Error(), "audit_logs")

	// The endless account: two requests; the healthy one: 40 entries at 10 a
	// page, each page after the first re-reading one entry: 5 requests.
	assert.Equal(t, 2+5, sim.Stats().Requests[cloudflaresim.EndpointAuditLogs])
	counts := uidCounts(records(sink.AllLogs()))
	for _, e := range sim.Logins(healthy) {
		assert.Equal(t, 1, counts[e.ID], "healthy account's login %s", e.ID)
	}
}

// TestLoginsAfterRestartCarryMemberNames pins issue 9.7: after a restart,
// the logins stream finds names and roles in the stored member snapshot
// before the users stream has polled. Before the fix they were missing.
func TestLoginsAfterRestartCarryMemberNames(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3}, withStorage())
	account := env.sim.Accounts()[0].ID
	member := env.sim.Members(account)[0]
	require.NoError(t, env.r.pollUsers(context.Background()))
	env.restart(t)
	env.sink.Reset()

	env.sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "after-restart-4000-8000-000000000001", When: env.clock.Now().Add(-time.Minute),
		Success: true, ActorID: member.UserID, ActorEmail: member.Email, ActorType: "user"})
	require.NoError(t, env.r.pollLogins(context.Background()))
	recs := records(env.sink.AllLogs())
	require.Len(t, recs, 1)
	assert.Equal(t, member.FirstName+" "+member.LastName, recs[0].attrs["user.full_name"])
	assert.NotEmpty(t, recs[0].attrs["user.roles"])
}

// TestPaginationAnomalies: an entry repeated on two pages, a page that comes
// back empty too early, and entries inserted while paging neither lose nor
// double a login, on either source. It compares the ids emitted, repeats
// included, with the simulator's events: every event appended before the
// polls and every event inserted ahead of the reading position exactly once;
// none of the events inserted behind it, which are older than the checkpoint
// by more than the late-arrival window and so, like any entry the API shows
// that late, not due. The early empty page fails the first poll as a bad
// response (its result_info says the range holds more), and the next poll
// reads on from the checkpoint.
// Mutations caught: unseenEntries without its `cursor.Emitted` check (the
// repeated entry and the second poll's re-read window come twice); ListLogins
// ending after the second page (`last := len(entries) < q.PageSize || page >= 2`:
// later events and those inserted ahead are lost); the second poll reading
// 4 hours back instead of late_arrival_window (ids pruned from the cursor come
// again); ListLoginsV2 without its empty-page check (v2 follows the empty
// page's cursor past 20 entries older than the late-arrival window: lost);
// ListLogins with `total = -1` for every page (v1: the first poll succeeds).
// Unlike the previous assertion (count of ids = events + inserted seen), it
// also fails if an inserted-behind entry is emitted, or one inserted ahead is not.
func TestPaginationAnomalies(t *testing.T) {
	tests := []struct {
		name  string
		fault *cloudflaresim.Fault
		// insertWhilePaging adds entries behind and ahead of the reading
		// position while the first page is consumed.
		insertWhilePaging bool
		// wantBadResponse: the first poll fails as a bad response.
		wantBadResponse bool
	}{
		{name: "entry repeated on the next page", fault: &cloudflaresim.Fault{Kind: cloudflaresim.FaultDuplicateEntry, Count: 3}},
		{name: "empty page too early", fault: &cloudflaresim.Fault{Kind: cloudflaresim.FaultEmptyPage}, wantBadResponse: true},
		{name: "entries inserted while paging", insertWhilePaging: true},
	}
	for _, source := range []string{loginSourceV1, loginSourceV2} {
		for _, tt := range tests {
			t.Run(source+"/"+tt.name, func(t *testing.T) {
				var env *testEnv
				var events, behind, ahead []cloudflaresim.LoginEvent
				insert := func(prefix string, after cloudflaresim.LoginEvent) (out []cloudflaresim.LoginEvent) {
					for i := range 5 {
						e := cloudflaresim.LoginEvent{ID: fmt.Sprintf("%s-%d", prefix, i), When: after.When.Add(time.Second),
							Success: true, ActorEmail: "late@example.com", ActorType: "user"}
						env.sim.AppendLogin(env.sim.Accounts()[0].ID, e)
						out = append(out, e)
					}
					return out
				}
				env = newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) {
					cfg.Logins.PageSize = 20
					cfg.Logins.Source = source
				}),
					beforeConsume(func(_ context.Context, call int) error {
						if tt.insertWhilePaging && call == 1 { // the first page (entries 0-19) is being consumed
							behind = insert("behind", events[2])
							ahead = insert("ahead", events[50])
						}
						return nil
					}))
				sim, account := env.sim, env.sim.Accounts()[0].ID
				events = appendLogins(sim, account, 95, env.clock.Now().Add(-3*time.Hour), time.Minute, func(int) bool { return false })
				if tt.fault != nil {
					fault := *tt.fault
					fault.Endpoint = cloudflaresim.EndpointAuditLogs
					if source == loginSourceV2 {
						fault.Endpoint = cloudflaresim.EndpointAuditLogsV2
					}
					sim.InjectFault(fault)
				}

				err := env.r.pollLogins(context.Background())
				if tt.wantBadResponse {
					kind, _ := cloudflare.KindOf(err)
					require.Equal(t, cloudflare.KindBadResponse, kind, "first poll: %v", err)
				} else {
					require.NoError(t, err)
				}
				env.clock.Advance(time.Minute)
				require.NoError(t, env.r.pollLogins(context.Background()))

				var want []string
				for _, id := range append(eventIDs(events), eventIDs(ahead)...) {
					want = append(want, uidOf(source, id))
				}
				assert.ElementsMatch(t, want, emittedLoginIDs(env.sink))
				// What was not emitted is exactly what was inserted behind the reader.
				require.Len(t, sim.Logins(account), len(want)+len(behind))
			})
		}
	}
}

// eventIDs lists the ids of simulator events.
func eventIDs(events []cloudflaresim.LoginEvent) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// emittedLoginIDs lists the log.record.uid of every login record emitted, repeats included.
func emittedLoginIDs(sink *consumertest.LogsSink) []string {
	var ids []string
	for _, rec := range records(sink.AllLogs()) {
		if rec.eventName == eventLogin {
			ids = append(ids, rec.uid)
		}
	}
	return ids
}

func TestBackfillProgressIsLogged(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) { cfg.Logins.PageSize = 10 }),
		observeLogs(zapcore.InfoLevel))
	clock, logs, r := env.clock, env.logs, env.r
	account := env.sim.Accounts()[0].ID
	appendLogins(env.sim, account, 95, clock.Now().Add(-2*time.Hour), time.Minute, func(int) bool { return false })
	require.NoError(t, r.pollLogins(context.Background()))

	done := logs.FilterMessage("Login backfill done").All()
	require.Len(t, done, 1)
	fields := done[0].ContextMap()
	assert.Equal(t, int64(95), fields["records"])
	// Each page after the first starts at the newest time of the one before and
	// re-reads the entry found there: 95 entries at 10 a page take 11 pages.
	assert.Equal(t, int64(11), fields["pages"])
	assert.Equal(t, account, fields["account_id"])

	// A steady-state poll of one page logs nothing at INFO.
	clock.Advance(time.Minute)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Len(t, logs.FilterMessage("Login backfill done").All(), 1)
}

func TestBackfillProgressCoverage(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p := newBackfillProgress(zap.NewNop(), "a", since, since.Add(100*time.Hour), 1000)
	assert.Equal(t, "0%", p.covered(time.Time{}))
	assert.Equal(t, "25.0%", p.covered(since.Add(25*time.Hour)))
	assert.Equal(t, "100.0%", p.covered(since.Add(200*time.Hour)))
}
