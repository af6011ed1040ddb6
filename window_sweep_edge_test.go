package cloudflareidentityreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// sweepSettings sets the logins stream's late-arrival window and sweep
// interval, and turns the users stream off.
func sweepSettings(window, every time.Duration) envOption {
	return withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.LateArrivalWindow = window
		cfg.Logins.LateArrivalSweep = every
	})
}

// tickingPoll returns a step that appends a login a second before the clock
// (so the checkpoint stays a second behind it) and polls the logins stream.
func tickingPoll(t *testing.T, e *testEnv) func() {
	account := e.sim.Accounts()[0].ID
	return func() {
		t.Helper()
		e.sim.AppendLogin(account, lateLogin(fmt.Sprintf("tick-%d", e.clock.Now().Unix()), e.clock.Now().Add(-time.Second), time.Time{}))
		require.NoError(t, e.r.pollLogins(context.Background()))
	}
}

// TestSweepCatchesAnEntryAWholeWindowLate tests the edge of the window
// itself: an entry shown a second after a sweep, exactly late_arrival_window
// after it happened, lies a couple of seconds after the lower bound that
// sweep set (the checkpoint a second behind the clock, minus the window),
// and the next sweep emits it. (TestSweepCoversTheWholeWindow places its
// entry 70 s inside the window.)
// Mutation caught: sweep.go sweep, `cursor.before(w.settings.LateArrivalWindow)`
// -> `cursor.before(w.settings.LateArrivalWindow - time.Minute)` (entries
// 9 to 10 minutes late are never read).
func TestSweepCatchesAnEntryAWholeWindowLate(t *testing.T) {
	window, every := 10*time.Minute, 5*time.Minute
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, sweepSettings(window, every))
	account := e.sim.Accounts()[0].ID
	poll := tickingPoll(t, e)
	poll() // the first poll: the first sweep is due a sweep interval later
	for range int(every / time.Minute) {
		e.clock.Advance(time.Minute)
		poll() // the last one sweeps
	}
	shown := e.clock.Now().Add(time.Second)
	late := lateLogin("late-0000-4000-8000-000000000010", shown.Add(-window), shown)
	e.sim.AppendLogin(account, late)
	for range int(every / time.Minute) { // through the next sweep
		e.clock.Advance(time.Minute)
		poll()
	}
	assert.Equal(t, 1, uidCounts(records(e.sink.AllLogs()))[late.ID], "a login shown a whole window late")
}

// emptySweepPage routes the receiver through a proxy in front of the
// simulator that, once armed, makes the simulator answer the first audit
// log request starting at since with an empty page (FaultEmptyPage): its
// result_info.total_count still counts the entries of the range.
func emptySweepPage(since time.Time, armed *atomic.Bool) envOption {
	return func(e *testEnv) {
		sim := e.sim
		want := since.UTC().Format(time.RFC3339Nano)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/audit_logs") && r.URL.Query().Get("since") == want && armed.CompareAndSwap(true, false) {
				sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultEmptyPage, Endpoint: cloudflaresim.EndpointAuditLogs})
			}
			sim.Handler().ServeHTTP(w, r)
		}))
		e.tb.Cleanup(proxy.Close)
		e.cfg.Endpoint = proxy.URL + "/client/v4"
	}
}

// TestSweepPageHidingOneEntryFailsTheSweep: a sweep's range holds a single
// late login, and its page comes back empty while total_count says 1 (a
// short page hiding exactly one entry). The sweep fails instead of counting
// as complete, keeps its lower bound, and the next poll's sweep emits the
// login; had it completed, the next bound (a window before the checkpoint)
// would lie past the login, and it would be lost.
// Mutation caught: internal/cloudflare paging.go advance, `total > shown {`
// -> `total > shown+1 {`.
func TestSweepPageHidingOneEntryFailsTheSweep(t *testing.T) {
	window, every := 10*time.Minute, 5*time.Minute
	t0 := testPollTime
	var armed atomic.Bool
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, sweepSettings(window, every), emptySweepPage(t0.Add(-window), &armed))
	clock, sim, r := e.clock, e.sim, e.r
	account := sim.Accounts()[0].ID
	pollAt := func(at time.Time) error {
		clock.Advance(at.Sub(clock.Now()))
		return r.pollLogins(context.Background())
	}
	require.NoError(t, pollAt(t0)) // the first sweep will start a window before t0

	// The checkpoint moves on to t0+1m30s, then a login of t0-9m shows:
	// within the first sweep's range, and more than a window before the
	// checkpoint, so before the lower bound the next sweep would get.
	sim.AppendLogin(account, lateLogin("tick-0000-4000-8000-000000000001", t0.Add(90*time.Second), time.Time{}))
	late := lateLogin("late-0000-4000-8000-000000000011", t0.Add(-9*time.Minute), t0.Add(150*time.Second))
	sim.AppendLogin(account, late)
	for minute := 1; minute < 5; minute++ {
		require.NoError(t, pollAt(t0.Add(time.Duration(minute)*time.Minute)), "minute %d", minute)
	}
	require.Zero(t, uidCounts(records(e.sink.AllLogs()))[late.ID], "polls do not read that far back")

	armed.Store(true)
	err := pollAt(t0.Add(every)) // the sweep is due: its only page hides the late login
	require.False(t, armed.Load(), "the sweep read from t0 minus the window")
	kind, _ := cloudflare.KindOf(err)
	require.Equal(t, cloudflare.KindBadResponse, kind, "the sweep whose page hid an entry fails: %v", err)
	for minute := 6; minute <= 15; minute++ { // through two more sweeps
		_ = pollAt(t0.Add(time.Duration(minute) * time.Minute))
	}
	assert.Equal(t, 1, uidCounts(records(e.sink.AllLogs()))[late.ID], "the late login, found by a sweep retried from the same bound")
}

// TestFirstSweepKeepsToTheLookback: with an initial_lookback shorter than
// the late-arrival window, the first sweep starts at the first poll's lower
// bound, not a window before the first poll: a login from before the
// lookback, which the first poll left out, is not emitted by a sweep either.
// Mutation caught: window.go poll, the new cursor's clamp of SweepFrom to
// Start dropped (the first sweep reads from a window before the first poll).
func TestFirstSweepKeepsToTheLookback(t *testing.T) {
	window, every := 10*time.Minute, 5*time.Minute
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, sweepSettings(window, every),
		withConfig(func(cfg *Config) { cfg.Logins.InitialLookback = 2 * time.Minute }))
	account := e.sim.Accounts()[0].ID
	t0 := e.clock.Now()
	before := lateLogin("before-00-4000-8000-000000000012", t0.Add(-5*time.Minute), time.Time{})
	within := lateLogin("within-00-4000-8000-000000000013", t0.Add(-time.Minute), time.Time{})
	e.sim.AppendLogin(account, before)
	e.sim.AppendLogin(account, within)
	poll := tickingPoll(t, e)
	poll()
	for range 2 * int(every/time.Minute) { // through two sweeps
		e.clock.Advance(time.Minute)
		poll()
	}
	counts := uidCounts(records(e.sink.AllLogs()))
	assert.Equal(t, 1, counts[within.ID], "within the lookback")
	assert.Zero(t, counts[before.ID], "before the lookback: neither the first poll nor a sweep reads it")
}

// TestOldCheckpointSweepBoundIsStoredWhenFixed: the sweep bound of a
// checkpoint stored before sweeps existed is written to storage as soon as
// it is fixed, before the poll reads anything, so that it is in storage
// even when that poll fails. (Every later write of the checkpoint carries
// the bound too, and the high-water mark it is derived from only moves with
// such a write, so this test reads storage rather than emitted records.)
// Mutation caught: window.go poll, the save after fixing an old
// checkpoint's SweepFrom -> `error(nil)`.
func TestOldCheckpointSweepBoundIsStoredWhenFixed(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	account := e.sim.Accounts()[0].ID
	key := loginCursorKey(loginSourceV1, account)
	highWater := e.clock.Now().Add(-time.Hour)
	stored, err := json.Marshal(map[string]any{"high_water": highWater, "emitted": map[string]time.Time{"old": highWater}})
	require.NoError(t, err)
	require.NoError(t, e.r.store.client.Set(context.Background(), key, stored))

	e.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultServerError, Endpoint: cloudflaresim.EndpointAuditLogs, Count: -1})
	require.Error(t, e.r.pollLogins(context.Background()))

	data, err := e.r.store.client.Get(context.Background(), key)
	require.NoError(t, err)
	var cursor windowCursor
	require.NoError(t, json.Unmarshal(data, &cursor))
	assert.True(t, highWater.Add(-e.cfg.Logins.LateArrivalWindow).Equal(cursor.SweepFrom),
		"stored sweep bound %s, want the window before the high-water mark %s", cursor.SweepFrom, highWater)
}
