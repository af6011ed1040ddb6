package cloudflareidentityreceiver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestCrashBetweenConsumeAndCheckpoint: a crash after the pipeline took a
// batch but before its checkpoint was written costs that batch twice, nothing else.
func TestCrashBetweenConsumeAndCheckpoint(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 250, LoginSpan: 5 * time.Hour},
		withStorage(), withConfig(func(cfg *Config) { cfg.Logins.PageSize = 50 }))
	sink := env.sink

	// Set 1 stores the fresh cursor's lower bound, sets 2 and 3 the first two
	// batches' checkpoints: set 4 is the third batch's.
	env.r.store.client = &failingStorage{Client: env.r.store.client, failOn: 4}
	require.ErrorIs(t, env.r.pollLogins(context.Background()), assert.AnError)
	env.restart(t)
	require.Len(t, sink.AllLogs(), 3)
	inFlight := sink.AllLogs()[2].LogRecordCount()
	emittedBeforeCrash := sink.LogRecordCount()

	require.NoError(t, env.r.pollLogins(context.Background()))
	counts := uidCounts(records(sink.AllLogs()))
	assert.Len(t, counts, 250, "nothing lost")
	assert.Equal(t, 250+inFlight, sink.LogRecordCount(), "only the batch in flight is emitted twice")
	assert.Greater(t, emittedBeforeCrash, inFlight)
	twice := 0
	for _, n := range counts {
		require.LessOrEqual(t, n, 2)
		if n == 2 {
			twice++
		}
	}
	assert.Equal(t, inFlight, twice, "only the batch in flight is repeated")
	t.Logf("%d logins, pages of %d, crash before the 3rd checkpoint: %d records before the crash (batch in flight: %d), "+
		"%d unique after the restart, %d emitted twice", len(env.sim.Logins(env.sim.Accounts()[0].ID)), env.cfg.Logins.PageSize,
		emittedBeforeCrash, inFlight, len(counts), twice)
}

// TestUnreadableCheckpointIsDiscarded: a damaged checkpoint costs a re-read
// of initial_lookback (duplicates at worst), never a stuck receiver.
func TestUnreadableCheckpointIsDiscarded(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 20, LoginSpan: time.Hour},
		withStorage(), observeLogs(zapcore.WarnLevel))
	account, r := env.sim.Accounts()[0].ID, env.r
	require.NoError(t, r.store.client.Set(context.Background(), loginCursorKey(loginSourceV1, account), []byte("{not json")))
	require.NoError(t, r.store.client.Set(context.Background(), memberSnapshotKey(account), []byte{0xff}))

	require.NoError(t, r.pollLogins(context.Background()))
	require.NoError(t, r.pollUsers(context.Background()))
	assert.Equal(t, map[string]int{eventLogin: 20, eventMember: 3}, countByEvent(records(env.sink.AllLogs())))
	assert.Len(t, env.logs.FilterMessageSnippet("Discarding an unreadable").All(), 2)
}

// TestCheckpointsEncodeAsEncodingJSONWould: the login cursor, which encodes
// itself, decodes to what encoding/json's encoding of the same value decodes
// to, whatever its ids and times hold.
// Mutations caught: jsonappend.String without its check for '"' (or '\\');
// the cursor's appendJSON writing last_sweep when zero, or dropping the comma
// between emitted ids.
func TestCheckpointsEncodeAsEncodingJSONWould(t *testing.T) {
	at := time.Date(2026, 11, 27, 13, 34, 3, 123456789, time.UTC)
	cursors := []windowCursor{
		{},
		{HighWater: at, Emitted: emittedIDs{}},
		{Start: at.Add(-time.Hour), HighWater: at, LastSweep: at, SweepFrom: at.Add(-10 * time.Minute),
			Emitted: emittedIDs{"e1": at, "8f2b1c3a-5d7e-4f60-9a1b-2c3d4e5f6a7b": at.Add(time.Second)}},
		{HighWater: at, Emitted: emittedIDs{`a"b`: at, `a\b`: at, "tab\there": at, "<&>": at, "naïve": at, "\x00": at}},
		{Start: at.In(time.FixedZone("", -5*3600)), HighWater: at.Truncate(time.Second), Emitted: emittedIDs{"whole": at.Truncate(time.Second)}},
	}
	for _, cursor := range cursors {
		encoded, err := encodeCheckpoint(&cursor)
		require.NoError(t, err)
		// The same fields without the cursor's encoder: encoding/json's reflection.
		type plainCursor struct {
			Start     time.Time  `json:"start,omitzero"`
			HighWater time.Time  `json:"high_water"`
			LastSweep time.Time  `json:"last_sweep,omitzero"`
			SweepFrom time.Time  `json:"sweep_from,omitzero"`
			Emitted   emittedIDs `json:"emitted"`
		}
		want, err := json.Marshal(plainCursor(cursor))
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(encoded))
	}
	_, err := encodeCheckpoint(&windowCursor{HighWater: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.Error(t, err, "a time encoding/json refuses is refused")
}

// TestStoredCursorStaysFlatOverHours: the login cursor written with every page
// keeps only the ids a poll or a sweep reads again, whatever the late-arrival
// window, so its stored size stays flat as logins go on; with the window off
// it keeps the poll overlap's ids only (issue 22 item 4: with
// late_arrival_window 0 it kept every id ever emitted). A window turned on
// later sweeps from where the kept ids start: nothing is emitted twice.
func TestStoredCursorStaysFlatOverHours(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		maxIDs int // a login a minute: the ids of the window and the sweep interval, or of the 5 s overlap
	}{
		{name: "window off", window: 0, maxIDs: 1},
		{name: "default window", window: defaultLateArrivalWindow, maxIDs: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(), withConfig(func(cfg *Config) {
				cfg.Users.Enabled = false
				cfg.Logins.LateArrivalWindow = tt.window
			}))
			account := env.sim.Accounts()[0].ID
			stored := func() (ids, size int) {
				data, err := env.r.store.client.Get(context.Background(), loginCursorKey(loginSourceV1, account))
				require.NoError(t, err)
				var cursor windowCursor
				require.NoError(t, json.Unmarshal(data, &cursor))
				return len(cursor.Emitted), len(data)
			}
			logins := 0
			pollFor := func(minutes int) {
				for range minutes {
					appendLoginsFrom(env.sim, account, logins, 1, env.clock.Now().Add(-30*time.Second), 0)
					logins++
					require.NoError(t, env.r.pollLogins(context.Background()))
					env.clock.Advance(time.Minute)
				}
			}
			pollFor(60)
			idsAfterAnHour, sizeAfterAnHour := stored()
			pollFor(60)
			idsAfterTwoHours, sizeAfterTwoHours := stored()
			assert.LessOrEqual(t, idsAfterTwoHours, tt.maxIDs)
			assert.Equal(t, idsAfterAnHour, idsAfterTwoHours, "ids kept after one hour and after two")
			assert.Equal(t, sizeAfterAnHour, sizeAfterTwoHours, "bytes stored after one hour and after two")

			// The window turned on (or kept) after a restart: its sweeps read
			// nothing already emitted again.
			env.cfg.Logins.LateArrivalWindow = defaultLateArrivalWindow
			env.restart(t)
			pollFor(15)
			counts := uidCounts(records(env.sink.AllLogs()))
			assert.Len(t, counts, logins, "every login emitted")
			for id, n := range counts {
				require.Equal(t, 1, n, "login %s emitted %d times", id, n)
			}
		})
	}
}

// TestCheckpointsOfEarlierVersionsStillLoad restarts on the checkpoints a
// receiver at commit 0641e4c stored (testdata/checkpoints, written by the same
// polls as below, on the same simulated tenant and clock): every stream goes
// on from them, so nothing is emitted again, and the cursors hold what was
// stored. A field whose JSON name changed reads as missing: its stream
// starts afresh and emits again.
func TestCheckpointsOfEarlierVersionsStillLoad(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "checkpoints", "written-by-0641e4c.json"))
	require.NoError(t, err)
	var stored map[string]string
	require.NoError(t, json.Unmarshal(data, &stored))

	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 4, AccessUsersPerAccount: 3, LoginsPerAccount: 20,
		AccessRequestsPerAccount: 10}, withStorage(), withConfig(func(cfg *Config) {
		cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
		cfg.Users.DormantAfter = time.Hour
	}))
	ctx := context.Background()
	for key, value := range stored {
		require.NoError(t, env.r.storageClient.Set(ctx, key, []byte(value)))
	}
	env.clock.Advance(6 * time.Minute) // as when they were written
	for _, name := range []string{streamUsers, streamLogins, streamAccessLogins, streamAccessUsers} {
		require.NoError(t, env.r.pollStep(ctx, env.r.streamNamed(name)))
	}
	assert.Empty(t, countByEvent(records(env.sink.AllLogs())), "records emitted again from the stored checkpoints")

	for _, account := range env.sim.Accounts() {
		var cursor windowCursor
		found, err := env.r.store.load(ctx, loginCursorKey(loginSourceV1, account.ID), &cursor)
		require.NoError(t, err)
		require.True(t, found)
		assert.False(t, cursor.Start.IsZero() || cursor.HighWater.IsZero() || cursor.LastSweep.IsZero() || cursor.SweepFrom.IsZero(),
			"a time of the stored cursor was lost: %+v", cursor)
		assert.NotEmpty(t, cursor.Emitted)
	}

	// The control: the same polls without the checkpoints emit every kind.
	fresh := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 4, AccessUsersPerAccount: 3, LoginsPerAccount: 20,
		AccessRequestsPerAccount: 10}, withStorage(), withConfig(func(cfg *Config) {
		cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
	}))
	for _, name := range []string{streamUsers, streamLogins, streamAccessLogins, streamAccessUsers} {
		require.NoError(t, fresh.r.pollStep(ctx, fresh.r.streamNamed(name)))
	}
	counts := countByEvent(records(fresh.sink.AllLogs()))
	for _, event := range []string{eventMember, eventLogin, eventAccessLogin, eventAccessUser} {
		assert.Positive(t, counts[event], event)
	}
}
