package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// pollAccessLogins runs one step of the access_logins stream, as its loop does.
func (r *identityReceiver) pollAccessLogins(ctx context.Context) error {
	return r.pollStep(ctx, r.streamNamed(streamAccessLogins))
}

// withAccessLogins enables the access_logins stream alone, with pageSize entries a page.
func withAccessLogins(pageSize int) envOption {
	return withConfig(func(cfg *Config) {
		cfg.Users.Enabled, cfg.Logins.Enabled = false, false
		cfg.AccessLogins.Enabled = true
		cfg.AccessLogins.PageSize = pageSize
	})
}

// accessKey is the dedupe key the receiver derives from a simulated entry,
// whose created_at the simulator sends in RFC 3339 with nanoseconds.
func accessKey(r cloudflaresim.AccessRequest) string {
	return cloudflare.AccessRequestKey(r.RayID, r.CreatedAt.UTC().Format(time.RFC3339Nano), r.UserEmail, r.AppUID, r.Action)
}

// accessUIDCounts counts how often each Access login was emitted.
func accessUIDCounts(recs []record) map[string]int {
	counts := map[string]int{}
	for _, r := range recs {
		if r.eventName == eventAccessLogin {
			counts[r.uid]++
		}
	}
	return counts
}

// assertEachAccessLoginOnce checks that exactly the entries want were emitted, each once.
func assertEachAccessLoginOnce(t *testing.T, recs []record, want []cloudflaresim.AccessRequest) {
	t.Helper()
	counts := accessUIDCounts(recs)
	assert.Len(t, counts, len(want))
	for _, r := range want {
		assert.Equal(t, 1, counts[accessKey(r)], "entry %s at %s", r.RayID, r.CreatedAt)
	}
}

// TestAccessLoginsBackfillEmitsEachOnce reads a seeded authentication log
// through many pages (ties and sub-second times included) with the real
// client against the simulator: every entry once, also two that share a ray
// id (a retried request); the next poll emits nothing.
// Mutations caught: loginPaging[E].advance starting the next page a
// nanosecond after the newest entry (ties at a page boundary lost);
// AccessRequestKey of ray_id alone (the retried request lost).
func TestAccessLoginsBackfillEmitsEachOnce(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, AccessUsersPerAccount: 15, AccessRequestsPerAccount: 400, LoginSpan: 6 * time.Hour},
		withAccessLogins(37))
	sim, clock := env.sim, env.clock
	account := sim.Accounts()[0].ID
	first := sim.AccessRequests(account)[10]
	retried := first
	retried.CreatedAt = first.CreatedAt.Add(time.Second)
	sim.AppendAccessRequest(account, retried)

	require.NoError(t, env.r.pollAccessLogins(context.Background()))
	var want []cloudflaresim.AccessRequest
	for _, a := range sim.Accounts() {
		want = append(want, sim.AccessRequests(a.ID)...)
	}
	assertEachAccessLoginOnce(t, records(env.sink.AllLogs()), want)

	clock.Advance(time.Minute)
	env.sink.Reset()
	require.NoError(t, env.r.pollAccessLogins(context.Background()))
	assert.Zero(t, env.sink.LogRecordCount(), "nothing new")
}

// TestAccessLoginsRestartWithStorageMissesNothing: entries logged while the
// collector was down are read from the stored checkpoint, each once.
// Mutation caught: accessLoginCursorKey returning a new key per receiver
// (the checkpoint is not found after the restart: the lookback is read again).
func TestAccessLoginsRestartWithStorageMissesNothing(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, AccessUsersPerAccount: 10}, withStorage(), withAccessLogins(50))
	sim, clock := env.sim, env.clock
	var all []cloudflaresim.AccessRequest
	for _, a := range sim.Accounts() {
		all = append(all, sim.GenerateAccessRequests(a.ID, 200, clock.Now().Add(-10*time.Hour), clock.Now())...)
	}
	require.NoError(t, env.r.pollAccessLogins(context.Background()))

	// Down for two hours while users sign in.
	for _, a := range sim.Accounts() {
		all = append(all, sim.GenerateAccessRequests(a.ID, 40, clock.Now(), clock.Now().Add(2*time.Hour))...)
	}
	clock.Advance(2 * time.Hour)
	env.restart(t)
	require.NoError(t, env.r.pollAccessLogins(context.Background()))
	assertEachAccessLoginOnce(t, records(env.sink.AllLogs()), all)
}

// TestAccessLoginsLateArrivalFoundBySweep: an entry that shows up minutes
// after newer ones, behind the checkpoint, is emitted by the next sweep, once.
// Mutation caught: openAccessLoginsStream giving the window its lookback and
// page size only (no late_arrival_window: no sweep, the late entry is never
// emitted).
func TestAccessLoginsLateArrivalFoundBySweep(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, AccessUsersPerAccount: 5, AccessRequestsPerAccount: 20, LoginSpan: time.Hour},
		withAccessLogins(10))
	sim, clock := env.sim, env.clock
	account := sim.Accounts()[0].ID
	require.NoError(t, env.r.pollAccessLogins(context.Background()))

	// Made two minutes ago, visible three minutes from now: behind every checkpoint until then.
	late := cloudflaresim.AccessRequest{RayID: "5ec0ffee5ec0ffee", CreatedAt: clock.Now().Add(-2 * time.Minute), Action: "login",
		Allowed: true, AppDomain: "wiki.example.com", AppUID: "app-late", Connection: "okta", IPAddress: "192.0.2.7",
		UserEmail: "late@example.com", VisibleAt: clock.Now().Add(3 * time.Minute)}
	sim.AppendAccessRequest(account, late)
	sim.GenerateAccessRequests(account, 3, clock.Now(), clock.Now().Add(time.Minute))
	for range 6 { // polls a minute apart, past the late-arrival sweep
		clock.Advance(time.Minute)
		require.NoError(t, env.r.pollAccessLogins(context.Background()))
	}
	assertEachAccessLoginOnce(t, records(env.sink.AllLogs()), sim.AccessRequests(account))
}

// TestAccessLoginsExporterFailureLosesNothing: a page the pipeline refuses
// is read again from the checkpoint by the next poll; nothing is lost or doubled.
// Mutation caught: deliver saving the checkpoint when consume failed.
func TestAccessLoginsExporterFailureLosesNothing(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, AccessUsersPerAccount: 5, AccessRequestsPerAccount: 300, LoginSpan: 3 * time.Hour},
		withAccessLogins(100), beforeConsume(func(_ context.Context, call int) error {
			if call == 2 {
				return assert.AnError
			}
			return nil
		}))
	require.ErrorIs(t, env.r.pollAccessLogins(context.Background()), assert.AnError)
	assert.Equal(t, 100, env.sink.LogRecordCount())
	require.NoError(t, env.r.pollAccessLogins(context.Background()))
	assertEachAccessLoginOnce(t, records(env.sink.AllLogs()), env.sim.AccessRequests(env.sim.Accounts()[0].ID))
}
