package cloudflareidentityreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestMissingAccessPermissionNamesStreamAccountAndPermission: with both
// Access streams enabled and a token without the Access permissions, the
// status is RecoverableError and each Access stream logs one ERROR per
// account naming the stream, the account and the missing permission, once
// however often it fails; the dashboard streams go on emitting everything.
// Mutations caught: accessPermissions without its access_requests entry (the
// ERROR reads as a refused token); the status reporter logging on every
// failure rather than on change (two ERRORs per key).
func TestMissingAccessPermissionNamesStreamAccountAndPermission(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 4, LoginsPerAccount: 30, LoginSpan: time.Hour,
		AccessUsersPerAccount: 5, AccessRequestsPerAccount: 10, WithoutAccessPermissions: true},
		observeLogs(zapcore.ErrorLevel), withConfig(func(cfg *Config) {
			cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
		}))
	r, sim := env.r, env.sim
	for range 2 {
		require.NoError(t, r.pollUsers(context.Background()))
		require.NoError(t, r.pollLogins(context.Background()))
		err := r.pollAccessLogins(context.Background())
		kind, _ := cloudflare.KindOf(err)
		assert.Equal(t, cloudflare.KindAuth, kind, "%v", err)
		kind, _ = cloudflare.KindOf(r.pollAccessUsers(context.Background()))
		assert.Equal(t, cloudflare.KindAuth, kind)
		env.clock.Advance(time.Hour) // past any backoff
	}

	assert.Equal(t, componentstatus.StatusRecoverableError, env.host.last())
	want := map[string]string{streamAccessLogins: "Access: Audit Logs Read", streamAccessUsers: "Access: Users Read"}
	lines := env.logs.All()
	require.Len(t, lines, 4, "one ERROR per Access stream and account")
	seen := map[[2]string]bool{}
	for _, line := range lines {
		fields := line.ContextMap()
		stream, account := fields["stream"].(string), fields["account_id"].(string)
		seen[[2]string{stream, account}] = true
		require.Contains(t, want, stream)
		assert.Contains(t, line.Message, "lacks the permission "+want[stream])
	}
	for _, a := range sim.Accounts() {
		assert.True(t, seen[[2]string{streamAccessLogins, a.ID}] && seen[[2]string{streamAccessUsers, a.ID}], "account %s", a.ID)
	}

	counts := countByEvent(records(env.sink.AllLogs()))
	assert.Equal(t, 8, counts[eventMember], "the users stream is untouched")
	assert.Equal(t, 60, counts[eventLogin], "the logins stream is untouched")
	assert.Zero(t, counts[eventAccessLogin]+counts[eventAccessUser])
}
