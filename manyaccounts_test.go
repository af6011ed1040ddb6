package cloudflareidentityreceiver

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// eventClock runs the receiver's stream loops side by side, as the collector
// does, on a manual clock: one goroutine at a time runs until it waits (for
// the rate limiter, its pacing or its next step), and once all wait, the
// clock moves to the earliest wake-up and releases that goroutine. Waiters
// due at the same time are released in a random order, as the Go runtime
// wakes timers that fire together, so that none takes every freed request.
type eventClock struct {
	clock *cloudflaresim.ManualClock
	rng   *rand.Rand

	mu       sync.Mutex
	running  int
	sleepers []*sleeper
}

type sleeper struct {
	wake  time.Time
	woken chan struct{}
}

// newEventClock starts the clock with the calling goroutine running.
func newEventClock(clock *cloudflaresim.ManualClock) *eventClock {
	return &eventClock{clock: clock, rng: rand.New(rand.NewPCG(1, 2)), running: 1}
}

// handOff turns the calling goroutine, which then only waits for them, into
// n goroutines it starts next.
func (c *eventClock) handOff(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running += n - 1
}

// sleep is the receiver's sleep: it waits d on the clock.
func (c *eventClock) sleep(_ context.Context, d time.Duration) error {
	c.until(c.clock.Now().Add(d))
	return nil
}

// until waits until the clock reads t.
func (c *eventClock) until(t time.Time) {
	s := &sleeper{wake: t, woken: make(chan struct{})}
	c.mu.Lock()
	c.sleepers = append(c.sleepers, s)
	c.running--
	c.releaseLocked()
	c.mu.Unlock()
	<-s.woken
}

// exit ends a goroutine's part.
func (c *eventClock) exit() {
	c.mu.Lock()
	c.running--
	c.releaseLocked()
	c.mu.Unlock()
}

func (c *eventClock) releaseLocked() {
	if c.running > 0 || len(c.sleepers) == 0 {
		return
	}
	earliest := slices.MinFunc(c.sleepers, func(a, b *sleeper) int { return a.wake.Compare(b.wake) })
	var due []int
	for i, s := range c.sleepers {
		if !s.wake.After(earliest.wake) {
			due = append(due, i)
		}
	}
	i := due[c.rng.IntN(len(due))]
	s := c.sleepers[i]
	c.sleepers = slices.Delete(c.sleepers, i, i+1)
	if s.wake.After(c.clock.Now()) {
		c.clock.Set(s.wake)
	}
	c.running++
	close(s.woken)
}

// manyAccounts is one token reaching many accounts of 50 members, each with
// loginsPerMinute logins a minute for a simulated duration, polled by the
// users and logins streams side by side at the default config on an
// eventClock; the simulator enforces Cloudflare's 1,200 requests per 5
// minutes (less the token owner's ownerPerWindow); after the duration,
// polling goes on until every login has reached the pipeline.
type manyAccounts struct {
	accounts, loginsPerMinute, ownerPerWindow int
	requestsPerWindow                         int // rate_limit.requests_per_window; 0: the default
	duration                                  time.Duration
}

// manyAccountsResult is what a run measured.
type manyAccountsResult struct {
	env                         *testEnv
	logins                      int
	worst, median               time.Duration
	floorWorst, floorMedian     time.Duration
	requestsPerMinute           float64
	http429, maxInWindow        int
	expectedLatency             time.Duration // the WARN's expected_login_latency
	budgetPerWindow, loginsRate float64
}

func (m manyAccounts) run(tb testing.TB) manyAccountsResult {
	const members = 50
	var (
		mu        sync.Mutex
		latencies []time.Duration
		clock     *cloudflaresim.ManualClock
	)
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		now := clock.Now()
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if lr.EventName() == eventLogin {
						latencies = append(latencies, now.Sub(lr.Timestamp().AsTime()))
					}
				}
			}
		}
		return nil
	})
	var events *eventClock
	e := newTestEnv(tb, cloudflaresim.Config{Accounts: m.accounts, MembersPerAccount: members, RateLimit: 1200,
		DashboardRequestsPerWindow: m.ownerPerWindow},
		withConsumer(next), observeLogs(zapcore.WarnLevel), withConfig(func(cfg *Config) {
			if m.requestsPerWindow > 0 {
				cfg.RateLimit.RequestsPerWindow = m.requestsPerWindow
			}
		}), func(e *testEnv) {
			events = newEventClock(e.clock)
			e.sleep = events.sleep
		})
	clock = e.clock
	start := clock.Now()
	want := 0
	for _, a := range e.sim.Accounts() {
		want += len(e.sim.GenerateLogins(a.ID, m.loginsPerMinute*int(m.duration/time.Minute), start, start.Add(m.duration)))
	}
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(latencies)
	}
	ctx := context.Background()
	// Listed once before the loops start: the second stream to list would
	// wait for the first, outside the event clock.
	_, err := e.r.accounts.list(ctx)
	require.NoError(tb, err)
	var wg sync.WaitGroup
	var failed error
	events.handOff(2)
	for _, name := range []string{streamUsers, streamLogins} {
		s := e.r.streamNamed(name)
		wg.Go(func() {
			defer events.exit()
			for clock.Now().Before(start.Add(m.duration)) || delivered() < want {
				if clock.Now().Sub(start) > 3*m.duration+time.Hour {
					failed = assert.AnError
					return
				}
				stepStart := clock.Now()
				if err := e.r.pollStep(ctx, s); err != nil {
					failed = err
					return
				}
				events.until(stepStart.Add(s.interval))
			}
		})
	}
	wg.Wait()
	require.NoError(tb, failed, "logins still missing: %d of %d", delivered(), want)

	stats := e.sim.Stats()
	plan := planRequests(e.cfg, m.accounts, 1) // 50 members are one page
	// The receiver's budget: its own, and no more than the quota less the
	// reserve and the owner's use.
	budget := min(float64(e.cfg.RateLimit.RequestsPerWindow), 1200*(1-e.cfg.RateLimit.Reserve)-float64(m.ownerPerWindow))
	available := budget * float64(time.Minute) / float64(e.cfg.RateLimit.Window)
	// The floor: the best any schedule could do with that budget. The
	// listing takes what it needs; the users stream what it needs up to half
	// of what is left; every other request goes to a login poll, one per
	// account, so an account is polled every accounts / (that rate) minutes:
	// a login waits at worst that period, half of it at the median.
	users := min(plan.byStream[streamUsers], (available-plan.listing)/2)
	loginsRate := available - plan.listing - users
	period := time.Duration(float64(m.accounts) / loginsRate * float64(time.Minute))
	result := manyAccountsResult{env: e, logins: want, floorWorst: period, floorMedian: period / 2,
		requestsPerMinute: float64(stats.Total) / clock.Now().Sub(start).Minutes(), http429: stats.RateLimited,
		maxInWindow: stats.MaxInWindow, budgetPerWindow: budget, loginsRate: loginsRate}
	mu.Lock()
	slices.Sort(latencies)
	result.worst, result.median = latencies[len(latencies)-1], latencies[len(latencies)/2]
	mu.Unlock()
	if warns := e.logs.FilterMessageSnippet("need more requests").All(); len(warns) > 0 {
		if d, ok := warns[0].ContextMap()["expected_login_latency"].(time.Duration); ok {
			result.expectedLatency = d
		}
	}
	return result
}

// TestPlannedLatencyIsMeasured: the over-budget WARN's expected_login_latency
// is, within 20 %, the worst login latency a run on the simulator measures
// (BenchmarkManyAccounts' scenario at a tenth of its scale), and that
// latency is within 15 % of the floor (the target is 25 %; this run gives
// 1.11x), the median within 10 %: no account waits more than a round.
// Mutations caught: pollStep without its pacing (the users steps take half
// the budget while they run: worst 1.23x the floor); the limiter never
// spreading (bursts as fast as the window allows: 1.60x); requestPlan.latency
// stretched by planned / available, as every interval (5m57s, 0.59x the
// measured 10m06s).
func TestPlannedLatencyIsMeasured(t *testing.T) {
	// 100 accounts on a tenth of the default budget: the stretch of 1,000
	// accounts on all of it, for a tenth of the requests.
	result := manyAccounts{accounts: 100, loginsPerMinute: 2, requestsPerWindow: 90, duration: time.Hour}.run(t)
	t.Logf("worst %s, median %s; floor %s, %s; WARN expected_login_latency %s; %d x 429",
		result.worst, result.median, result.floorWorst, result.floorMedian, result.expectedLatency, result.http429)
	require.NotZero(t, result.expectedLatency, "the plan is over budget: a WARN says the latency")
	assert.InEpsilon(t, result.worst.Seconds(), result.expectedLatency.Seconds(), 0.2, "the WARN's latency against the measured worst")
	assert.LessOrEqual(t, result.worst.Seconds(), 1.15*result.floorWorst.Seconds(), "worst latency against the floor")
	assert.LessOrEqual(t, result.median.Seconds(), 1.1*result.floorMedian.Seconds(), "median latency against the floor")
	assert.Zero(t, result.http429)
}
