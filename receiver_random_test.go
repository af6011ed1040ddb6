package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// randomFaults are the API faults the randomized run draws from.
var randomFaults = []cloudflaresim.Fault{
	{Kind: cloudflaresim.FaultRateLimited, RetryAfter: time.Second},
	{Kind: cloudflaresim.FaultServerError},
	{Kind: cloudflaresim.FaultBadGateway},
	{Kind: cloudflaresim.FaultSlow, Delay: time.Second},
	{Kind: cloudflaresim.FaultHTMLBody},
	{Kind: cloudflaresim.FaultTruncatedBody},
	{Kind: cloudflaresim.FaultConnectionReset},
	{Kind: cloudflaresim.FaultDuplicateEntry},
	{Kind: cloudflaresim.FaultEmptyPage},
}

// randomLogins is the login stream a randomized run drives.
type randomLogins struct {
	name      string
	configure func(cfg *Config)
	// appendLogin adds login number n of an account and returns the id it is emitted under.
	appendLogin func(sim *cloudflaresim.Server, account string, n int, when time.Time, success bool) string
	poll        func(r *identityReceiver) error
	uidCounts   func(recs []record) map[string]int
	// faults are the API faults the run draws from.
	faults []cloudflaresim.Fault
}

// dashboardLogins is the logins stream reading source.
func dashboardLogins(source string) randomLogins {
	return randomLogins{
		name:      source,
		configure: func(cfg *Config) { cfg.Logins.Source = source },
		appendLogin: func(sim *cloudflaresim.Server, account string, n int, when time.Time, success bool) string {
			id := fmt.Sprintf("rnd-%08d", n)
			sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: id, Success: success, When: when, ActorEmail: "ada@example.com", ActorType: "user"})
			if source == loginSourceV2 {
				return cloudflaresim.V2ID(id)
			}
			return id
		},
		poll:      func(r *identityReceiver) error { return r.pollLogins(context.Background()) },
		uidCounts: uidCounts,
		faults:    randomFaults,
	}
}

// accessLogins is the access_logins stream, in place of the logins stream.
var accessLogins = randomLogins{
	name: streamAccessLogins,
	configure: func(cfg *Config) {
		cfg.Logins.Enabled, cfg.AccessLogins.Enabled = false, true
		cfg.AccessLogins.PageSize = 60
	},
	appendLogin: func(sim *cloudflaresim.Server, account string, n int, when time.Time, success bool) string {
		entry := cloudflaresim.AccessRequest{RayID: fmt.Sprintf("%016x", n/2), CreatedAt: when, Action: "login", Allowed: success,
			AppDomain: "wiki.example.com", AppUID: "app-1", Connection: "okta", IPAddress: "192.0.2.1", UserEmail: "ada@example.com"}
		sim.AppendAccessRequest(account, entry) // ray ids repeat: two requests share each
		return accessKey(entry)
	},
	poll:      func(r *identityReceiver) error { return r.pollAccessLogins(context.Background()) },
	uidCounts: accessUIDCounts,
	// The Access log answers a bare array: an early empty page cannot be told
	// from the end of the range, and one that cuts a sweep short loses what
	// it hid (see RELIABILITY.md, limits).
	faults: slices.DeleteFunc(slices.Clone(randomFaults), func(f cloudflaresim.Fault) bool {
		return f.Kind == cloudflaresim.FaultEmptyPage
	}),
}

// TestRandomizedFaultsDeliverEverythingOnce drives 5,000 login events (one in
// 20 shown up to 8 minutes late) and 200 member changes through random API
// faults and exporter failures, drawn from seeded generators of their own,
// and then checks that every login was emitted exactly once and that the
// member events replay to exactly the final member lists; once per
// logins.source, and once with Access logins instead.
// Mutation caught: ListLogins with `total = -1` for every page (an early
// empty page ends a v1 sweep as complete): audit_logs loses late logins.
func TestRandomizedFaultsDeliverEverythingOnce(t *testing.T) {
	for _, logins := range []randomLogins{dashboardLogins(loginSourceV1), dashboardLogins(loginSourceV2), accessLogins} {
		t.Run(logins.name, func(t *testing.T) { testRandomizedFaults(t, logins) })
	}
}

func testRandomizedFaults(t *testing.T, logins randomLogins) {
	const (
		seed            = 20261128
		rounds          = 25
		loginsPerRound  = 200
		changesPerRound = 8
	)
	rng := rand.New(rand.NewPCG(seed, 0))
	// The API faults come from a generator of their own: a change to the
	// data drawn does not change which faults a run meets.
	chaos := rand.New(rand.NewPCG(seed, 1))
	exporterFailures, rateLimits := 0, 0
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 40},
		withConfig(func(cfg *Config) {
			cfg.Timeout = 200 * time.Millisecond
			cfg.Logins.PageSize = 60
			logins.configure(cfg)
		}),
		beforeConsume(func(context.Context, int) error {
			if rng.Float64() < 0.2 {
				exporterFailures++
				return assert.AnError
			}
			return nil
		}))
	sim, clock, sink, r := env.sim, env.clock, env.sink, env.r
	accounts := sim.Accounts()

	generated := map[string]bool{}
	memberChanges := 0
	faultsInjected := 0
	for range rounds {
		for range loginsPerRound {
			account := accounts[rng.IntN(len(accounts))].ID
			success := rng.Float64() < 0.9
			// Most logins show within a minute; one in 20 up to 8 minutes
			// late, within the late-arrival window: only a sweep finds those.
			lateness := time.Minute
			if rng.IntN(20) == 0 {
				lateness = 8 * time.Minute
			}
			when := clock.Now().Add(-time.Duration(rng.Int64N(int64(lateness))))
			generated[logins.appendLogin(sim, account, len(generated), when, success)] = true
		}
		for range changesPerRound {
			changeRandomMember(rng, sim, accounts[rng.IntN(len(accounts))].ID, nil)
			memberChanges++
		}
		for range chaos.IntN(4) {
			fault := logins.faults[chaos.IntN(len(logins.faults))]
			if fault.Kind == cloudflaresim.FaultRateLimited {
				if rateLimits >= 3 {
					continue // each costs a second of real time
				}
				rateLimits++
			}
			fault.Count = 1 + chaos.IntN(2)
			sim.InjectFault(fault)
			faultsInjected += fault.Count
		}
		_ = r.pollUsers(context.Background())
		_ = logins.poll(r)
		clock.Advance(time.Duration(30+rng.IntN(60)) * time.Second)
	}
	// Calm: no more faults. Polls a minute apart for longer than the longest
	// backoff and the late-arrival sweep: every account is polled again, and
	// a sweep finds the logins appended behind the checkpoint.
	sim.ClearFaults()
	r.downstream.next = sink
	for range 2 + int((maxFailureBackoff+env.cfg.Logins.LateArrivalSweep)/time.Minute) {
		clock.Advance(time.Minute)
		_ = r.pollUsers(context.Background())
		_ = logins.poll(r)
	}
	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, logins.poll(r))

	recs := records(sink.AllLogs())
	counts := logins.uidCounts(recs)
	lost, duplicated := 0, 0
	for id := range generated {
		switch n := counts[id]; {
		case n == 0:
			lost++
		case n > 1:
			duplicated += n - 1
		}
	}
	events := countByEvent(recs)
	t.Logf("%s, seed %d: logins generated=%d emitted=%d duplicated=%d lost=%d; member changes=%d, change events=%d; "+
		"API faults injected=%d, exporter failures=%d",
		logins.name, seed, len(generated), len(counts), duplicated, lost, memberChanges,
		events[eventMemberAdded]+events[eventMemberRemoved]+events[eventMemberChanged], faultsInjected, exporterFailures)
	assert.Zero(t, lost, "lost logins")
	assert.Zero(t, duplicated, "duplicated logins")
	assert.Len(t, counts, len(generated))

	for _, account := range accounts {
		assertMemberEventsReplay(t, recs, account.ID, sim.Members(account.ID))
	}
}

// changeRandomMember adds, removes or changes one member; members in keep
// are not removed.
func changeRandomMember(rng *rand.Rand, sim *cloudflaresim.Server, account string, keep map[string]bool) {
	members := sim.Members(account)
	switch op := rng.IntN(3); {
	case op == 0 || len(members) < 5:
		sim.AddMember(account, sim.NewMember())
	case op == 1:
		if gone := members[rng.IntN(len(members))].ID; !keep[gone] {
			sim.RemoveMember(account, gone)
		}
	default:
		sim.UpdateMember(account, members[rng.IntN(len(members))].ID, func(m *cloudflaresim.Member) { m.TwoFactor = !m.TwoFactor })
	}
}

// assertMemberEventsReplay rebuilds an account's member list from its
// inventory and change events and compares it with the final list: a lost,
// doubled or spurious event would make them differ.
func assertMemberEventsReplay(t *testing.T, recs []record, account string, final []cloudflaresim.Member) {
	t.Helper()
	members := map[string]bool{}
	twoFactor := map[string]bool{}
	for _, rec := range recs {
		if rec.account != account {
			continue
		}
		switch rec.eventName {
		case eventMember:
			members[rec.memberID] = true
		case eventMemberAdded:
			assert.False(t, members[rec.memberID], "added twice: %s", rec.memberID)
			members[rec.memberID] = true
		case eventMemberRemoved:
			assert.True(t, members[rec.memberID], "removed unknown: %s", rec.memberID)
			delete(members, rec.memberID)
		case eventMemberChanged:
			assert.True(t, members[rec.memberID], "changed unknown: %s", rec.memberID)
		default:
			continue
		}
		twoFactor[rec.memberID] = rec.attrs[attrTwoFactor].(bool)
	}
	want := map[string]bool{}
	for _, m := range final {
		want[m.ID] = true
		assert.Equal(t, m.TwoFactor, twoFactor[m.ID], "2FA of %s", m.ID)
	}
	assert.Equal(t, want, members)
}
