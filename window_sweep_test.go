package cloudflareidentityreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// lateLogin is a login that happened at when but shows in the API only at visible.
func lateLogin(id string, when, visible time.Time) cloudflaresim.LoginEvent {
	return cloudflaresim.LoginEvent{ID: id, When: when, VisibleAt: visible, Success: true, ActorEmail: "ada@example.com", ActorType: "user"}
}

// TestLateArrivalsAreFoundByTheSweep: a poll reads only what is new, so an
// entry shown late behind the checkpoint is emitted by the next sweep (and
// its lateness recorded), not by the polls before it.
func TestLateArrivalsAreFoundByTheSweep(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withTelemetry(), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	clock, sim, r, sink := e.clock, e.sim, e.r, e.sink
	account := sim.Accounts()[0].ID
	appendLogins(sim, account, 3, clock.Now().Add(-4*time.Minute), time.Minute, func(int) bool { return false })
	require.NoError(t, r.pollLogins(context.Background()))
	require.Equal(t, 3, sink.LogRecordCount())

	// Two minutes before the checkpoint, shown a minute from now.
	late := lateLogin("late-0000-4000-8000-000000000001", clock.Now().Add(-2*time.Minute), clock.Now().Add(time.Minute))
	sim.AppendLogin(account, late)
	sink.Reset()
	for minute := 1; minute < 5; minute++ {
		clock.Advance(time.Minute)
		require.NoError(t, r.pollLogins(context.Background()))
		assert.Zero(t, sink.LogRecordCount(), "minute %d: no sweep yet, and the polls do not read that far back", minute)
	}
	clock.Advance(time.Minute) // five minutes after the first poll: the sweep is due
	onTime := lateLogin("ontime-0000-4000-8000-000000000001", clock.Now().Add(-10*time.Second), time.Time{})
	sim.AppendLogin(account, onTime)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Equal(t, map[string]int{late.ID: 1, onTime.ID: 1}, uidCounts(records(sink.AllLogs())))
	// One late arrival, found seven minutes after it happened; the new login
	// read with it (the sweep rides on the poll) was not late.
	assert.Equal(t, 1.0, sumMetric(t, e.tel, "otelcol_receiver_cloudflare_login_lateness"))
	m, err := e.tel.GetMetric("otelcol_receiver_cloudflare_login_lateness")
	require.NoError(t, err)
	assert.Equal(t, 7*60.0, m.Data.(metricdata.Histogram[float64]).DataPoints[0].Sum)
}

// TestPollsReadOnlyWhatIsNew: between sweeps a poll's requests follow the new
// entries, not the late-arrival window (before, every poll re-read the whole
// window: 10 minutes of 250 logins a minute).
func TestPollsReadOnlyWhatIsNew(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.PageSize = 100
		cfg.Logins.LateArrivalSweep = cfg.Logins.LateArrivalWindow // no sweep within this test
	}))
	clock, sim, r, sink := e.clock, e.sim, e.r, e.sink
	account := sim.Accounts()[0].ID
	require.NoError(t, r.pollLogins(context.Background()))
	for minute := range 9 {
		for i := range 250 {
			when := clock.Now().Add(-time.Minute + time.Duration(i)*239*time.Millisecond)
			sim.AppendLogin(account, lateLogin(fmt.Sprintf("m%d-%03d", minute, i), when, time.Time{}))
		}
		sim.ResetStats()
		require.NoError(t, r.pollLogins(context.Background()))
		// 250 new entries, and the few of the last 5 seconds before the checkpoint, at 100 a page.
		assert.Equal(t, 3, sim.Stats().Requests[cloudflaresim.EndpointAuditLogs], "minute %d", minute)
		clock.Advance(time.Minute)
	}
	counts := uidCounts(records(sink.AllLogs()))
	assert.Len(t, counts, 9*250)
	for id, n := range counts {
		assert.Equal(t, 1, n, id)
	}
}

// TestSweepAndPollOverlapLoseNothing: entries shown late in the sweep's range,
// at its edge with the poll's range, and new ones all come out once when a
// sweep and a poll run in the same step.
func TestSweepAndPollOverlapLoseNothing(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) {
		cfg.Users.Enabled = false
		cfg.Logins.PageSize = 7
	}))
	clock, sim, r, sink := e.clock, e.sim, e.r, e.sink
	account := sim.Accounts()[0].ID
	require.NoError(t, r.pollLogins(context.Background()))

	var want []string
	for step := range 12 {
		now := clock.Now()
		for i := range 20 {
			// New entries, entries around the overlap's edge, and entries up to 9 minutes late.
			when := now.Add(-time.Duration(i) * time.Second)
			if i%3 == 0 {
				when = now.Add(-windowOverlap - time.Duration(i-10)*time.Millisecond)
			}
			if i%5 == 0 {
				when = now.Add(-time.Duration(1+i%9) * time.Minute)
			}
			id := fmt.Sprintf("step%02d-%02d", step, i)
			sim.AppendLogin(account, lateLogin(id, when, now))
			want = append(want, id)
		}
		require.NoError(t, r.pollLogins(context.Background()))
		clock.Advance(time.Minute)
	}
	for range 6 { // through the last sweep
		require.NoError(t, r.pollLogins(context.Background()))
		clock.Advance(time.Minute)
	}
	counts := uidCounts(records(sink.AllLogs()))
	for _, id := range want {
		assert.Equal(t, 1, counts[id], id)
	}
}

// TestRestartKeepsTheSweepSchedule: the time of the last sweep and a due
// sweep's lower bound are stored, so a restart neither sweeps early nor lets
// a due sweep's window slide.
func TestRestartKeepsTheSweepSchedule(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	clock, sim, sink := e.clock, e.sim, e.sink
	account := sim.Accounts()[0].ID
	// One login a minute keeps the checkpoint moving.
	tick := func(r *identityReceiver) error {
		sim.AppendLogin(account, lateLogin(fmt.Sprintf("tick-%d", clock.Now().Unix()), clock.Now().Add(-time.Second), time.Time{}))
		return r.pollLogins(context.Background())
	}
	lateCount := func(id string) int { return uidCounts(records(sink.AllLogs()))[id] }

	require.NoError(t, tick(e.r))
	late := lateLogin("late-0000-4000-8000-000000000002", clock.Now().Add(-time.Minute), clock.Now().Add(time.Minute))
	sim.AppendLogin(account, late)
	clock.Advance(4 * time.Minute)
	require.NoError(t, tick(e.r))

	e.restart(t)
	require.NoError(t, tick(e.r))
	assert.Zero(t, lateCount(late.ID), "four minutes after the last sweep: none yet")
	clock.Advance(time.Minute)
	require.NoError(t, tick(e.r))
	assert.Equal(t, 1, lateCount(late.ID), "five minutes after it: swept")

	// A sweep falls due; the poll moves the checkpoint on, but the pipeline
	// refuses what the sweep found. After a restart and minutes of new logins
	// the sweep is retried from the lower bound fixed when it fell due.
	late2 := lateLogin("late-0000-4000-8000-000000000003", clock.Now().Add(-9*time.Minute), clock.Now().Add(time.Minute))
	sim.AppendLogin(account, late2)
	clock.Advance(5 * time.Minute)
	e.next = refusing(late2.ID, sink)
	e.restart(t)
	require.Error(t, tick(e.r))
	require.Zero(t, lateCount(late2.ID))

	e.next = sink
	e.restart(t)
	for range 4 {
		clock.Advance(time.Minute)
		require.NoError(t, tick(e.r))
	}
	assert.Equal(t, 1, lateCount(late2.ID), "swept from the bound fixed when the sweep fell due, 4 minutes before")
}

// refusing passes batches to next, but refuses (not permanently) every batch
// that holds the record with log.record.uid id.
func refusing(id string, next consumer.Logs) consumer.Logs {
	refuse, _ := consumer.NewLogs(func(ctx context.Context, logs plog.Logs) error {
		for _, rec := range records([]plog.Logs{logs}) {
			if rec.uid == id {
				return errors.New("refused by the test")
			}
		}
		return next.ConsumeLogs(ctx, logs)
	})
	return refuse
}

// TestSweepCoversTheWholeWindow: an entry shown just after a sweep, almost a
// late_arrival_window late, is in the next sweep's range although the
// checkpoint moved on by a sweep interval meanwhile. (A sweep of only
// [checkpoint - window, ...) would catch entries up to window - sweep late.)
func TestSweepCoversTheWholeWindow(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	clock, sim, r, sink, cfg := e.clock, e.sim, e.r, e.sink, e.cfg
	account := sim.Accounts()[0].ID
	step := func() {
		sim.AppendLogin(account, lateLogin(fmt.Sprintf("tick-%d", clock.Now().Unix()), clock.Now().Add(-time.Second), time.Time{}))
		require.NoError(t, r.pollLogins(context.Background()))
		clock.Advance(time.Minute)
	}
	for range 6 { // the first sweep runs in the sixth step
		step()
	}
	late := lateLogin("late-0000-4000-8000-000000000004", clock.Now().Add(-cfg.Logins.LateArrivalWindow+10*time.Second), clock.Now())
	sim.AppendLogin(account, late)
	for range 5 { // the next sweep
		step()
	}
	assert.Equal(t, 1, uidCounts(records(sink.AllLogs()))[late.ID])
}

// TestPollOverlapCatchesImmediateLag: an entry the audit log shows a moment
// after a newer one, within windowOverlap of it, comes with the next poll
// rather than waiting for the sweep.
func TestPollOverlapCatchesImmediateLag(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	account := e.sim.Accounts()[0].ID
	now := e.clock.Now()
	e.sim.AppendLogin(account, lateLogin("newer-000-4000-8000-000000000001", now.Add(-time.Second), time.Time{}))
	// Two seconds older than the newer one, shown a second after it was read.
	lagging := lateLogin("lagging-0-4000-8000-000000000002", now.Add(-3*time.Second), now.Add(time.Second))
	e.sim.AppendLogin(account, lagging)
	require.NoError(t, e.r.pollLogins(context.Background()))
	e.clock.Advance(time.Minute)
	require.NoError(t, e.r.pollLogins(context.Background()))
	assert.Equal(t, 1, uidCounts(records(e.sink.AllLogs()))[lagging.ID], "emitted by the second poll, no sweep yet")
}

// TestCheckpointFromBeforeSweepsIsNotSweptFromTheStart: a login checkpoint
// stored by a version without sweeps has no sweep bound. Its first sweep is
// due at once and starts a window before the checkpoint, not at the
// beginning of the log, which would emit the logins of the past again.
func TestCheckpointFromBeforeSweepsIsNotSweptFromTheStart(t *testing.T) {
	e := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	account := e.sim.Accounts()[0].ID
	past := appendLogins(e.sim, account, 30, e.clock.Now().Add(-3*time.Hour), time.Minute, func(int) bool { return false })
	// As an earlier version stored it: the newest login accepted and the ids of
	// the window before it, no sweep fields.
	highWater := past[len(past)-1].When
	emitted := map[string]time.Time{}
	for _, l := range past {
		if !l.When.Before(highWater.Add(-e.cfg.Logins.LateArrivalWindow)) {
			emitted[l.ID] = l.When
		}
	}
	stored, err := json.Marshal(map[string]any{"high_water": highWater, "emitted": emitted})
	require.NoError(t, err)
	require.NoError(t, e.r.store.client.Set(context.Background(), loginCursorKey(loginSourceV1, account), stored))
	late := lateLogin("late-0000-4000-8000-000000000005", past[len(past)-1].When.Add(-time.Minute), time.Time{})
	e.sim.AppendLogin(account, late)

	require.NoError(t, e.r.pollLogins(context.Background()))
	assert.Equal(t, map[string]int{late.ID: 1}, uidCounts(records(e.sink.AllLogs())), "only the late one, from within the window")
}

// TestEarlyEmptyPageDoesNotEndASweep: a page that comes back empty too early
// in a sweep fails the sweep as a bad response instead of ending it as
// complete, so the sweep's time and lower bound stay, and the next poll
// sweeps again: a late arrival older than the next sweep's lower bound is
// emitted exactly once, on either source.
// Mutations caught: ListLogins with `total = -1` for every page (v1) and
// ListLoginsV2 without its empty-page check (v2): the sweep ends as
// complete, SweepFrom moves past the late arrival, and it is never emitted.
func TestEarlyEmptyPageDoesNotEndASweep(t *testing.T) {
	for _, source := range []string{loginSourceV1, loginSourceV2} {
		t.Run(source, func(t *testing.T) {
			var e *testEnv
			armed := false // the next page consumed arms an empty page for the request after it
			e = newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withConfig(func(cfg *Config) {
				cfg.Users.Enabled = false
				cfg.Logins.PageSize = 5
				cfg.Logins.Source = source
			}), beforeConsume(func(context.Context, int) error {
				if armed {
					armed = false
					endpoint := cloudflaresim.EndpointAuditLogs
					if source == loginSourceV2 {
						endpoint = cloudflaresim.EndpointAuditLogsV2
					}
					e.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultEmptyPage, Endpoint: endpoint})
				}
				return nil
			}))
			clock, sim, r, sink := e.clock, e.sim, e.r, e.sink
			account := sim.Accounts()[0].ID
			window, sweepEvery := e.cfg.Logins.LateArrivalWindow, e.cfg.Logins.LateArrivalSweep
			t0 := clock.Now()
			appendLogins(sim, account, 12, t0.Add(-window+30*time.Second), 30*time.Second, func(int) bool { return false })
			require.NoError(t, r.pollLogins(context.Background()))

			// In the first sweep's range, and older than the second sweep's
			// lower bound: only the first sweep can find it.
			late := lateLogin("late-0000-4000-8000-000000000001", t0.Add(-window+4*time.Minute), t0.Add(2*time.Minute))
			sim.AppendLogin(account, late)
			// Another on the sweep's first page (of 5): consuming it arms the
			// empty page for the second, which holds late.
			sim.AppendLogin(account, lateLogin("late-0000-4000-8000-000000000000", t0.Add(-window+45*time.Second), t0.Add(2*time.Minute)))
			newLogin := func(step int) {
				sim.AppendLogin(account, lateLogin(fmt.Sprintf("new-%02d", step), clock.Now().Add(-10*time.Second), time.Time{}))
			}
			minutes := int(sweepEvery / time.Minute)
			for step := 1; step < minutes; step++ {
				clock.Advance(time.Minute)
				newLogin(step)
				require.NoError(t, r.pollLogins(context.Background()))
			}
			// The sweep is due, and read with the poll: its first page is
			// consumed, then its second comes back empty.
			clock.Advance(time.Minute)
			newLogin(minutes)
			armed = true
			err := r.pollLogins(context.Background())
			kind, _ := cloudflare.KindOf(err)
			require.Equal(t, cloudflare.KindBadResponse, kind, "the sweep with the empty page: %v", err)
			assert.Zero(t, uidCounts(records(sink.AllLogs()))[uidOf(source, late.ID)], "not found yet")

			for step := minutes + 1; step <= 3*minutes; step++ { // through two more sweeps
				clock.Advance(time.Minute)
				newLogin(step)
				require.NoError(t, r.pollLogins(context.Background()))
			}
			counts := uidCounts(records(sink.AllLogs()))
			for _, login := range sim.Logins(account) {
				assert.Equal(t, 1, counts[uidOf(source, login.ID)], login.ID)
			}
		})
	}
}
