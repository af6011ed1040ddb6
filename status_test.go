package cloudflareidentityreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// TestAccountNotVisibleIsNotATokenError pins issue 17.4: a configured account
// the token cannot see answers 403 code 9109 on its members; the ERROR says
// so and names the account, instead of calling the token refused.
func TestAccountNotVisibleIsNotATokenError(t *testing.T) {
	const unknown = "0123456789abcdef0123456789abcdef"
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2}, observeLogs(zapcore.ErrorLevel),
		func(e *testEnv) {
			e.cfg.Accounts = []string{e.sim.Accounts()[0].ID, unknown}
			e.cfg.Logins.Enabled = false
		})

	require.Error(t, env.r.pollUsers(context.Background()))
	assert.Equal(t, 2, env.sink.LogRecordCount(), "the visible account is polled as usual")
	lines := env.logs.All()
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0].Message, "this account is not visible to this token")
	assert.NotContains(t, lines[0].Message, "token was refused")
	assert.Equal(t, unknown, lines[0].ContextMap()["account_id"])
}

// TestStatusBeforeAndAfterTheFirstPolls pins issue 17.5: the receiver reports
// no OK of its own before every stream has polled once, and an API it cannot
// reach at all is a RecoverableError after the first failed poll, not the
// second.
func TestStatusBeforeAndAfterTheFirstPolls(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		env := newTestEnv(t, cloudflaresim.Config{}, withConfig(func(cfg *Config) {
			cfg.Endpoint = "http://127.0.0.1:9/client/v4" // nothing listens there
		}))
		require.Error(t, env.r.pollLogins(context.Background()))
		assert.Equal(t, componentstatus.StatusRecoverableError, env.host.last())
		assert.Equal(t, 1, env.host.count())
	})
	t.Run("healthy", func(t *testing.T) {
		env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 3})
		require.NoError(t, env.r.pollLogins(context.Background()))
		assert.Equal(t, 0, env.host.count(), "the users stream has not polled yet")
		require.NoError(t, env.r.pollUsers(context.Background()))
		assert.Equal(t, componentstatus.StatusOK, env.host.last())
	})
	t.Run("a working stream's single transient failure is not a state", func(t *testing.T) {
		env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 3},
			withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
		require.NoError(t, env.r.pollLogins(context.Background()))
		env.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultServerError, Endpoint: cloudflaresim.EndpointAuditLogs, Count: -1})
		require.Error(t, env.r.pollLogins(context.Background()))
		assert.Equal(t, componentstatus.StatusOK, env.host.last())
		require.Error(t, env.r.pollLogins(context.Background()))
		assert.Equal(t, componentstatus.StatusRecoverableError, env.host.last())
	})
}

// TestStatusAndMessagesOfAuthFailure: one ERROR that names the call,
// Cloudflare's code and message and the permissions, then OK by itself.
func TestStatusAndMessagesOfAuthFailure(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3}, observeLogs(zapcore.InfoLevel),
		withConfig(func(cfg *Config) { cfg.Logins.Enabled = false })) // OK needs every enabled stream to have polled
	sim, logs, host, r := env.sim, env.logs, env.host, env.r

	sim.SetToken("rotated")
	for range 3 {
		_ = r.pollUsers(context.Background())
	}
	errorsLogged := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, errorsLogged, 1, "one line per state change")
	line := errorsLogged[0].Message + " " + errorsLogged[0].ContextMap()["error"].(string)
	for _, want := range []string{"accounts", "1000", "Invalid API Token", "Account Settings:Read", "Memberships:Read", "User Details:Read"} {
		assert.Contains(t, line, want)
	}
	assert.Equal(t, componentstatus.StatusRecoverableError, host.last())

	sim.SetToken(simtest.Token)
	for range 3 { // the listing backs off after failing: a step or two pass before it is read again
		_ = r.pollUsers(context.Background())
	}
	assert.Equal(t, componentstatus.StatusOK, host.last())
	assert.Len(t, logs.FilterMessageSnippet("healthy").All(), 1)
}

// TestEachStreamLogsItsOwnError pins issue 9.8: a logins failure gets its own
// ERROR even while the users stream is failing already. Before the fix only
// the first failing stream was ever logged.
func TestEachStreamLogsItsOwnError(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3}, observeLogs(zapcore.ErrorLevel))
	sim, logs, r := env.sim, env.logs, env.r

	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultServerError, Endpoint: cloudflaresim.EndpointMembers, Count: -1})
	require.Error(t, r.pollUsers(context.Background()))
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultInvalidToken, Endpoint: cloudflaresim.EndpointAuditLogs, Count: -1})
	require.Error(t, r.pollLogins(context.Background()))

	lines := logs.All()
	require.Len(t, lines, 2, "one ERROR per failing stream")
	assert.Equal(t, streamUsers, lines[0].ContextMap()["stream"])
	assert.Contains(t, lines[0].ContextMap()["error"], "HTTP 500")
	assert.Equal(t, streamLogins, lines[1].ContextMap()["stream"])
	assert.Contains(t, lines[1].ContextMap()["error"], "HTTP 401, code 1000")
	assert.Contains(t, lines[1].Message, "the API token was refused")
}

// TestStorageFailureIsReported: a storage extension that cannot be read
// (its Redis down, its directory gone) is an ERROR naming the storage and a
// RecoverableError; before, it was taken for a refusal of the pipeline and
// only logged at debug level.
func TestStorageFailureIsReported(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 5, LoginSpan: time.Hour},
		withStorage(), observeLogs(zapcore.ErrorLevel), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	env.r.store.client = unreadableStorage{env.r.store.client}

	for range 3 {
		require.ErrorIs(t, env.r.pollLogins(context.Background()), assert.AnError)
	}
	lines := env.logs.All()
	require.Len(t, lines, 1, "one ERROR per state change")
	assert.Contains(t, lines[0].Message, "the storage extension named by `storage` failed")
	assert.Equal(t, streamLogins, lines[0].ContextMap()["stream"])
	assert.Equal(t, componentstatus.StatusRecoverableError, env.host.last())
}

// TestStorageFailureOfAWorkingStreamIsAStateAtOnce: a transient failure of
// Cloudflare turns the status of a stream that has worked only when it
// repeats; a failing storage at its first failed poll, so that the health
// endpoint shows a Redis outage within one poll (issue 23 item 4).
func TestStorageFailureOfAWorkingStreamIsAStateAtOnce(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 5, LoginSpan: time.Hour},
		withStorage(), withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	require.NoError(t, env.r.pollLogins(context.Background()))
	require.Equal(t, componentstatus.StatusOK, env.host.last())
	env.r.store.client = unwritableStorage{env.r.store.client}
	appendLogins(env.sim, env.sim.Accounts()[0].ID, 1, env.clock.Now().Add(-time.Minute), time.Second, func(int) bool { return false })
	require.ErrorIs(t, env.r.pollLogins(context.Background()), assert.AnError)
	assert.Equal(t, componentstatus.StatusRecoverableError, env.host.last())
}

// unwritableStorage is a storage client whose every write fails.
type unwritableStorage struct{ storage.Client }

func (unwritableStorage) Set(context.Context, string, []byte) error          { return assert.AnError }
func (unwritableStorage) Batch(context.Context, ...*storage.Operation) error { return assert.AnError }

// unreadableStorage is a storage client whose every read fails.
type unreadableStorage struct{ storage.Client }

func (unreadableStorage) Get(context.Context, string) ([]byte, error) { return nil, assert.AnError }

// TestPollDurationCountsOnlyPollsThatRan: a loop step in which every key
// sits out its backoff polls nothing, and is no outcome (issue 22 item 6: with
// a refused token, skipped steps were counted as successful polls).
func TestPollDurationCountsOnlyPollsThatRan(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3}, withTelemetry(),
		withConfig(func(cfg *Config) {
			cfg.Logins.Enabled = false
			cfg.Users.PollInterval = minUsersPollInterval // shorter than the longest backoff: steps are sat out
		}))
	steps := func(outcome string) float64 {
		return sumMetric(t, env.tel, "otelcol_receiver_cloudflare_poll_duration",
			attribute.String("stream", streamUsers), attribute.String("outcome", outcome))
	}
	env.sim.SetToken("rotated")
	for range 6 {
		_ = env.r.pollUsers(context.Background())
	}
	listings := float64(env.sim.Stats().Requests[cloudflaresim.EndpointAccounts])
	require.Less(t, listings, 6.0, "the refused listing backs off")
	assert.Zero(t, steps("success"), "no poll succeeded")
	assert.Equal(t, listings, steps("failure"), "one failure per listing sent")

	env.sim.SetToken(simtest.Token)
	users := env.r.streamNamed(streamUsers)
	ran := 0.0
	for range 4 {
		if users.skips[""] == 0 { // the step lists accounts and polls the account, or sits out the backoff
			ran++
		}
		require.NoError(t, env.r.pollUsers(context.Background()))
	}
	require.Positive(t, ran)
	assert.Equal(t, ran, steps("success"), "one success per step that polled, once the token works again")
}

// TestShutdownOfAReceiverThatNeverWorkedIsNotHealthy: polls cut short by
// shutdown are no outcome; they must not turn a receiver that never reached
// Cloudflare healthy (issue 22 item 6: Ctrl-C logged "Cloudflare polling is healthy").
func TestShutdownOfAReceiverThatNeverWorkedIsNotHealthy(t *testing.T) {
	var arrived atomic.Int32
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		arrived.Add(1)
		<-req.Context().Done() // never answers
	}))
	t.Cleanup(hanging.Close)
	env := newTestEnv(t, cloudflaresim.Config{}, observeLogs(zapcore.InfoLevel),
		withConfig(func(cfg *Config) { cfg.Endpoint = hanging.URL + "/client/v4" }))
	env.r.startLoops(context.Background(), nil)
	require.Eventually(t, func() bool { return arrived.Load() >= 2 }, 10*time.Second, time.Millisecond,
		"the token check and an account listing are waiting for an answer")
	require.NoError(t, env.r.Shutdown(context.Background()))
	assert.Empty(t, env.logs.FilterMessageSnippet("healthy").All())
	assert.NotEqual(t, componentstatus.StatusOK, env.host.last())
}
