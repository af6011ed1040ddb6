package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestRandomizedFaultsKeepUsageInsight runs a seeded scenario of member
// logins from a few networks, member changes, dormancy and reactivation
// twice: through random API faults and exporter failures, and without any.
// The data comes from one generator and the faults from another, so both
// runs see the same data; the new-address flags and the dormancy transitions
// of the members present at the end must be the same, and no login lost.
// From round 10 one login per account and round shows 3 minutes late, so that
// only a sweep finds it, and an early empty page is queued three times over so
// that it reaches sweeps too. Mutation caught: ListLogins's paging with the
// total_count check never firing (an early empty page ends a v1 sweep as
// complete): audit_logs loses late logins.
func TestRandomizedFaultsKeepUsageInsight(t *testing.T) {
	for _, source := range []string{loginSourceV1, loginSourceV2} {
		t.Run(source, func(t *testing.T) {
			faulty := runUsageScenario(t, source, true)
			calm := runUsageScenario(t, source, false)
			t.Logf("%s, seed %d: %d logins; new-address flags: %d judged, %d new; members with dormancy transitions: %d; "+
				"API faults injected=%d, exporter failures=%d", source, randomSeed, len(calm.generated),
				len(calm.flags), countTrue(calm.flags), len(calm.transitions), faulty.faultsInjected, faulty.exporterFailures)
			require.NotZero(t, countTrue(calm.flags))
			require.NotEmpty(t, calm.transitions)
			counts := uidCounts(faulty.recs)
			for id := range faulty.generated {
				assert.Equal(t, 1, counts[id], "login %s emitted once", id)
			}
			assert.Equal(t, calm.flags, faulty.flags, "new-address flags as without faults")
			assert.Equal(t, calm.transitions, faulty.transitions, "dormancy transitions as without faults")
		})
	}
}

const randomSeed = 20261128

// usageRun is what one run of the usage scenario generated and emitted.
type usageRun struct {
	generated        map[string]bool // login uids
	recs             []record
	flags            map[string]bool     // login uid -> cloudflare.login.new_address
	transitions      map[string][]string // member id -> dormancy events, of the members present at the end
	faultsInjected   int
	exporterFailures int
}

func runUsageScenario(t *testing.T, source string, faults bool) usageRun {
	const (
		rounds         = 30
		loginsPerRound = 4 // per account, by the first three members
		// A member's first login comes in this round (the third never logs
		// in): each is dormant first, counted from when logins were watched.
		changesPerRound = 2
	)
	firstLogin := []int{10, 18, rounds}
	data := rand.New(rand.NewPCG(randomSeed, 0))
	chaos := rand.New(rand.NewPCG(randomSeed, 1))
	run := usageRun{generated: map[string]bool{}}
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 12},
		withConfig(func(cfg *Config) {
			cfg.Timeout = 200 * time.Millisecond
			cfg.Logins.PageSize = 5
			cfg.Logins.Source = source
			cfg.Users.DormantAfter = time.Hour
			cfg.Logins.NewAddressMemory = time.Hour
		}),
		beforeConsume(func(context.Context, int) error {
			if faults && chaos.Float64() < 0.2 {
				run.exporterFailures++
				return assert.AnError
			}
			return nil
		}))
	sim, clock, r := env.sim, env.clock, env.r
	users := map[string][]cloudflaresim.Member{}
	late := map[string]bool{} // uids of the logins shown late
	keep := map[string]bool{}
	for _, account := range sim.Accounts() {
		for _, m := range sim.Members(account.ID)[:len(firstLogin)] {
			sim.UpdateMember(account.ID, m.ID, func(m *cloudflaresim.Member) { m.Status = memberAccepted })
			users[account.ID] = append(users[account.ID], m)
			keep[m.ID] = true
		}
	}
	poll := func() {
		_ = r.pollUsers(context.Background())
		_ = r.pollLogins(context.Background())
	}
	for round := range rounds {
		// Seconds before the poll, after the previous one (the clock moves
		// 30 s or more): every run reads them in time order.
		for _, account := range sim.Accounts() {
			for i := range loginsPerRound {
				who := data.IntN(len(firstLogin))
				ip := fmt.Sprintf("203.0.%d.%d", data.IntN(8), 1+data.IntN(250))
				if data.IntN(4) == 0 {
					ip = fmt.Sprintf("2001:db8:%x:%x::1", data.IntN(2), data.IntN(1024))
				}
				if round < firstLogin[who] {
					continue
				}
				id := fmt.Sprintf("use-%06d", len(run.generated))
				sim.AppendLogin(account.ID, loginOf(users[account.ID][who], id, ip, clock.Now().Add(-time.Duration(20-i)*time.Second)))
				run.generated[uidOf(source, id)] = true
			}
			if round >= firstLogin[0] {
				// One login of the first member shows 3 minutes late, behind the
				// checkpoint: only a sweep finds it (an early empty page must not
				// end that sweep). Its network is used by no other login, and its
				// flag, judged when it is read, is not compared.
				id := fmt.Sprintf("use-%06d", len(run.generated))
				sim.AppendLogin(account.ID, loginOf(users[account.ID][0], id, "198.51.100.1", clock.Now().Add(-3*time.Minute)))
				run.generated[uidOf(source, id)] = true
				late[uidOf(source, id)] = true
			}
			for range changesPerRound {
				changeRandomMember(data, sim, account.ID, keep)
			}
		}
		for range chaos.IntN(3) {
			fault := randomFaults[chaos.IntN(len(randomFaults))]
			if fault.Kind == cloudflaresim.FaultRateLimited {
				fault.RetryAfter = time.Millisecond
			}
			fault.Count = 1 + chaos.IntN(2)
			if fault.Kind == cloudflaresim.FaultEmptyPage {
				fault.Count *= 3 // past the polls, to the sweeps too
			}
			if faults {
				sim.InjectFault(fault)
				run.faultsInjected += fault.Count
			}
		}
		poll()
		clock.Advance(time.Duration(30+data.IntN(60)) * time.Second)
	}
	// Calm, as in testRandomizedFaults: every account polled again.
	sim.ClearFaults()
	r.downstream.next = env.sink
	for range 2 + int((maxFailureBackoff+env.cfg.Logins.LateArrivalSweep)/time.Minute) {
		clock.Advance(time.Minute)
		poll()
	}
	require.NoError(t, r.pollLogins(context.Background()))
	require.NoError(t, r.pollUsers(context.Background()))

	run.recs = records(env.sink.AllLogs())
	run.flags = map[string]bool{}
	run.transitions = map[string][]string{}
	present := map[string]bool{}
	for _, account := range sim.Accounts() {
		for _, m := range sim.Members(account.ID) {
			present[m.ID] = true
		}
	}
	for _, rec := range run.recs {
		if flag, ok := rec.attrs[attrNewAddress].(bool); ok && !late[rec.uid] {
			run.flags[rec.uid] = flag
		}
		// A member removed meanwhile may be gone before a run slowed by
		// faults polled the transition.
		if present[rec.memberID] && (rec.eventName == eventMemberDormant || rec.eventName == eventMemberReactivated) {
			run.transitions[rec.memberID] = append(run.transitions[rec.memberID], rec.eventName)
		}
	}
	return run
}

func uidOf(source, id string) string {
	if source == loginSourceV2 {
		return cloudflaresim.V2ID(id)
	}
	return id
}

func countTrue(flags map[string]bool) int {
	n := 0
	for _, flag := range flags {
		if flag {
			n++
		}
	}
	return n
}
