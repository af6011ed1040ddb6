package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// appendLoginsFrom is appendLogins with ids that start at first, so that two
// batches do not share ids.
func appendLoginsFrom(sim *cloudflaresim.Server, account string, first, n int, start time.Time, step time.Duration) []cloudflaresim.LoginEvent {
	var out []cloudflaresim.LoginEvent
	for i := range n {
		e := cloudflaresim.LoginEvent{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", first+i), When: start.Add(time.Duration(i) * step), Success: true,
			ActorID: "7c5dae5552338874e5053f2534d2767a", ActorEmail: "ada@example.com", ActorIP: "192.0.2.10", ActorType: "user", Interface: "UI",
		}
		sim.AppendLogin(account, e)
		out = append(out, e)
	}
	return out
}

// TestLoginSourceSwitchNeitherReemitsNorMisses switches logins.source on a
// stored state, each way: the new source starts from the old one's
// high-water mark, so nothing from before the switch comes again (under the
// new source's ids) and everything after it comes once.
// Mutations caught: switchedFrom ignoring the other checkpoint (the new
// source reads initial_lookback again: the past is re-emitted); starting at
// the high-water mark itself rather than just after it (the last login
// before the switch comes again under the new id).
func TestLoginSourceSwitchNeitherReemitsNorMisses(t *testing.T) {
	for _, tc := range []struct{ from, to string }{{loginSourceV1, loginSourceV2}, {loginSourceV2, loginSourceV1}} {
		t.Run(tc.from+"_to_"+tc.to, func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1}, withStorage(),
				withConfig(func(cfg *Config) { cfg.Logins.Source = tc.from; cfg.Logins.PageSize = 7 }))
			sim, clock, sink := env.sim, env.clock, env.sink
			account := sim.Accounts()[0].ID
			idOf := func(source, id string) string {
				if source == loginSourceV2 {
					return cloudflaresim.V2ID(id)
				}
				return id
			}
			before := appendLoginsFrom(sim, account, 0, 20, clock.Now().Add(-2*time.Hour), time.Minute)
			require.NoError(t, env.r.pollLogins(context.Background()))
			assert.Equal(t, 20, sink.LogRecordCount())

			// Switch, with logins after the switch point and some in the same second as the last one seen.
			clock.Advance(10 * time.Minute)
			after := appendLoginsFrom(sim, account, 100, 15, before[len(before)-1].When.Add(time.Millisecond), 30*time.Second)
			sink.Reset()
			env.cfg.Logins.Source = tc.to
			env.restart(t)
			require.NoError(t, env.r.pollLogins(context.Background()))
			want := map[string]int{}
			for _, e := range after {
				want[idOf(tc.to, e.ID)] = 1
			}
			assert.Equal(t, want, uidCounts(records(sink.AllLogs())), "exactly the logins after the switch, under the new source's ids")

			// And back: again nothing twice.
			clock.Advance(10 * time.Minute)
			later := appendLoginsFrom(sim, account, 200, 5, clock.Now().Add(-5*time.Minute), 30*time.Second)
			sink.Reset()
			env.cfg.Logins.Source = tc.from
			env.restart(t)
			require.NoError(t, env.r.pollLogins(context.Background()))
			want = map[string]int{}
			for _, e := range later {
				want[idOf(tc.from, e.ID)] = 1
			}
			assert.Equal(t, want, uidCounts(records(sink.AllLogs())))
		})
	}
}

// TestLoginsV2FilterFallback: when v2 refuses action_type=login with a 400,
// the poll lists without the filter, keeps the logins, warns once per poll
// (the sweep of the same poll does not try the filter again), and the 400
// is counted in the request metric.
// Mutations caught: no fallback (the poll fails); the sweep trying the
// filter again (a second 400 and WARN in the second poll).
func TestLoginsV2FilterFallback(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, RejectLoginActionType: true}, withTelemetry(), observeLogs(zapcore.WarnLevel),
		withConfig(func(cfg *Config) { cfg.Logins.Source = loginSourceV2; cfg.Logins.PageSize = 10 }))
	sim, clock, sink, r := env.sim, env.clock, env.sink, env.r
	account := sim.Accounts()[0].ID
	appendLoginsFrom(sim, account, 0, 25, clock.Now().Add(-time.Hour), time.Minute)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Equal(t, 25, sink.LogRecordCount())
	warnings := func() int { return env.logs.FilterMessageSnippet("refused the action_type=login filter").Len() }
	assert.Equal(t, 1, warnings())
	rejected := func() float64 {
		return sumMetric(t, env.tel, "otelcol_receiver_cloudflare_api_requests",
			attribute.String("endpoint", cloudflare.EndpointAuditLogsV2), attribute.Int("http.response.status_code", 400))
	}
	assert.Equal(t, 1.0, rejected())

	// The next poll is due a sweep: the filter is tried once, by the poll.
	clock.Advance(env.cfg.Logins.LateArrivalSweep)
	appendLoginsFrom(sim, account, 100, 3, clock.Now().Add(-time.Minute), time.Second)
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Equal(t, 28, sink.LogRecordCount())
	assert.Len(t, uidCounts(records(sink.AllLogs())), 28)
	assert.Equal(t, 2, warnings())
	assert.Equal(t, 2.0, rejected())
}

// TestV2LoginFilterClientSide: v2 entries are logins by action.type login
// or a login description, whatever their case; others are dropped.
func TestV2LoginFilterClientSide(t *testing.T) {
	since := testPollTime.Add(-time.Hour)
	query := cloudflare.RangeQuery{Since: since, Before: testPollTime}
	page := []cloudflare.AuditEntry{
		{ID: "a", When: since.Add(time.Minute), ActionType: "LOGIN"},
		{ID: "b", When: since.Add(time.Minute), ActionType: "view", Description: "SSO_LOGIN"},
		{ID: "c", When: since.Add(time.Minute), ActionType: "create", Description: "Add Member"},
		{ID: "d", When: since.Add(time.Minute), ActionType: "update", Description: "sign_in"},
	}
	v2 := &loginsPoll{cfg: LoginsConfig{Source: loginSourceV2}}
	var kept []string
	for _, e := range unseenEntries(page, &windowCursor{}, query, v2.isLogin, cloudflare.AuditStamp) {
		kept = append(kept, e.ID)
	}
	assert.Equal(t, []string{"a", "b", "d"}, kept)
	v1 := &loginsPoll{cfg: LoginsConfig{Source: loginSourceV1}}
	assert.Empty(t, unseenEntries(page, &windowCursor{}, query, v1.isLogin, cloudflare.AuditStamp), "v1 takes action.type login only")
}
