package cloudflareidentityreceiver

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// leakWatch collects everything that could carry the token: logs, errors and exported records.
type leakWatch struct {
	mu    sync.Mutex
	logs  *observer.ObservedLogs
	texts []string
}

func newLeakWatch() (*leakWatch, *zap.Logger) {
	core, logs := observer.New(zapcore.DebugLevel)
	return &leakWatch{logs: logs}, zap.New(core)
}

func (w *leakWatch) add(texts ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.texts = append(w.texts, texts...)
}

func (w *leakWatch) addLogs(all []plog.Logs) {
	var m plog.JSONMarshaler
	for _, logs := range all {
		data, err := m.MarshalLogs(logs)
		if err == nil {
			w.add(string(data))
		}
	}
}

// assertNoToken fails if token appears in any collected text or log line.
func (w *leakWatch) assertNoToken(t *testing.T, token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, text := range w.texts {
		assert.NotContains(t, text, token)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for _, entry := range w.logs.All() {
		buf, err := enc.EncodeEntry(entry.Entry, entry.Context)
		require.NoError(t, err)
		assert.NotContains(t, buf.String(), token)
		buf.Free()
	}
}

type faultScenario struct {
	name      string
	kind      cloudflaresim.FaultKind
	delay     time.Duration
	size      int
	wantError cloudflare.ErrorKind
}

var persistentFaults = []faultScenario{
	{name: "server error", kind: cloudflaresim.FaultServerError, wantError: cloudflare.KindTransient},
	{name: "html bad gateway", kind: cloudflaresim.FaultBadGateway, wantError: cloudflare.KindTransient},
	{name: "timeout", kind: cloudflaresim.FaultSlow, delay: 3 * time.Second, wantError: cloudflare.KindTransient},
	{name: "connection reset", kind: cloudflaresim.FaultConnectionReset, wantError: cloudflare.KindTransient},
	{name: "html body", kind: cloudflaresim.FaultHTMLBody, wantError: cloudflare.KindBadResponse},
	{name: "truncated body", kind: cloudflaresim.FaultTruncatedBody, wantError: cloudflare.KindBadResponse},
	{name: "oversized body", kind: cloudflaresim.FaultOversizedBody, size: 33 << 20 /* over the client's 32 MiB cap */, wantError: cloudflare.KindBadResponse},
	{name: "revoked token", kind: cloudflaresim.FaultInvalidToken, wantError: cloudflare.KindAuth},
	{name: "missing permission", kind: cloudflaresim.FaultForbidden, wantError: cloudflare.KindAuth},
}

// streamUnderTest names what a fault scenario needs of one stream.
type streamUnderTest struct {
	name       string
	source     string // logins.source of a logins stream; "" for users
	endpoint   cloudflaresim.Endpoint
	poll       func(*identityReceiver) error
	records    func(sim *cloudflaresim.Server) int // records a complete first poll emits
	checkpoint func(t *testing.T, r *identityReceiver, account string) bool
}

var streamsUnderTest = []streamUnderTest{
	{
		name: streamUsers, endpoint: cloudflaresim.EndpointMembers,
		poll: func(r *identityReceiver) error { return r.pollUsers(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.Members(sim.Accounts()[0].ID))
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			found, err := r.store.load(context.Background(), memberSnapshotKey(account), &memberSnapshot{})
			require.NoError(t, err)
			return found
		},
	},
	{
		name: streamLogins, source: loginSourceV1, endpoint: cloudflaresim.EndpointAuditLogs,
		poll: func(r *identityReceiver) error { return r.pollLogins(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.Logins(sim.Accounts()[0].ID))
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			var cursor windowCursor
			_, err := r.store.load(context.Background(), loginCursorKey(loginSourceV1, account), &cursor)
			require.NoError(t, err)
			return !cursor.HighWater.IsZero()
		},
	},
	{
		name: streamLogins + "_v2", source: loginSourceV2, endpoint: cloudflaresim.EndpointAuditLogsV2,
		poll: func(r *identityReceiver) error { return r.pollLogins(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.Logins(sim.Accounts()[0].ID))
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			var cursor windowCursor
			_, err := r.store.load(context.Background(), loginCursorKey(loginSourceV2, account), &cursor)
			require.NoError(t, err)
			return !cursor.HighWater.IsZero()
		},
	},
	{
		name: streamAccessLogins, endpoint: cloudflaresim.EndpointAccessRequests,
		poll: func(r *identityReceiver) error { return r.pollAccessLogins(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.AccessRequests(sim.Accounts()[0].ID))
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			var cursor windowCursor
			_, err := r.store.load(context.Background(), accessLoginCursorKey(account), &cursor)
			require.NoError(t, err)
			return !cursor.HighWater.IsZero()
		},
	},
	{
		name: streamAccessUsers, endpoint: cloudflaresim.EndpointAccessUsers,
		poll: func(r *identityReceiver) error { return r.pollAccessUsers(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.AccessUsers(sim.Accounts()[0].ID)) + 1 // and the seat summary
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			found, err := r.store.load(context.Background(), accessUserSnapshotKey(account), &listSnapshot[cloudflare.AccessUser]{})
			require.NoError(t, err)
			return found
		},
	},
}

// faultSimConfig is the tenant of the fault tests: one account with data for every stream.
var faultSimConfig = cloudflaresim.Config{Accounts: 1, MembersPerAccount: 12, LoginsPerAccount: 45, LoginSpan: 6 * time.Hour,
	AccessUsersPerAccount: 12, AccessRequestsPerAccount: 45}

// TestFaultMatrix puts every fault in front of each stream: the poll fails
// with the right class after bounded retries, nothing is emitted and the
// checkpoint stays; the status turns when it should and recovers by itself;
// once the fault is gone every record is emitted exactly once. The token
// never shows up in logs, errors or records.
func TestFaultMatrix(t *testing.T) {
	watch, logger := newLeakWatch()
	for _, stream := range streamsUnderTest {
		for _, fault := range persistentFaults {
			t.Run(stream.name+"/"+fault.name, func(t *testing.T) {
				env := newTestEnv(t, faultSimConfig,
					withStorage(), withLogger(logger), withConfig(func(cfg *Config) {
						cfg.Timeout = 300 * time.Millisecond
						cfg.Logins.PageSize = 20
						cfg.AccessLogins.PageSize = 20
						// Every stream backs off after two failures in a row: their waits double to two steps.
						cfg.Users.PollInterval = time.Minute
						cfg.AccessUsers.PollInterval = time.Minute
						// Only the stream under test runs, so that its recovery makes the status OK.
						cfg.Users.Enabled = stream.name == streamUsers
						cfg.Logins.Enabled = stream.source != ""
						cfg.Logins.Source = cmp.Or(stream.source, loginSourceV1)
						cfg.AccessLogins.Enabled = stream.name == streamAccessLogins
						cfg.AccessUsers.Enabled = stream.name == streamAccessUsers
					}))
				sim, host, sink, r := env.sim, env.host, env.sink, env.r
				account := sim.Accounts()[0].ID

				sim.InjectFault(cloudflaresim.Fault{Kind: fault.kind, Endpoint: stream.endpoint, Count: -1, Delay: fault.delay, Size: fault.size})
				// A stream that never worked reports its first failure at once.
				err := stream.poll(r)
				watch.add(err.Error())
				kind, ok := cloudflare.KindOf(err)
				require.True(t, ok, "classified error, got %v", err)
				assert.Equal(t, fault.wantError, kind)
				assert.Contains(t, err.Error(), account, "the error names the account")
				assert.Zero(t, sink.LogRecordCount(), "nothing emitted")
				assert.False(t, stream.checkpoint(t, r, account), "checkpoint unchanged")
				assert.Equal(t, componentstatus.StatusRecoverableError, host.last())
				reports := host.count()

				// The same failure again is not a new status event.
				require.Error(t, stream.poll(r))
				assert.Equal(t, reports, host.count(), "status reported only on change")

				// After two failures the account sits out one step (its wait doubled)...
				sim.ClearFaults()
				sim.ResetStats()
				require.NoError(t, stream.poll(r))
				assert.Zero(t, sim.Stats().Requests[stream.endpoint], "backing off: no request")
				assert.Equal(t, componentstatus.StatusRecoverableError, host.last(), "a skipped poll is no recovery")
				// ... and is polled again on the next.
				require.NoError(t, stream.poll(r))
				assert.Equal(t, componentstatus.StatusOK, host.last())
				assert.True(t, stream.checkpoint(t, r, account), "checkpoint written")
				recs := records(sink.AllLogs())
				assert.Len(t, recs, stream.records(sim))
				for uid, n := range uidCounts(recs) {
					assert.Equal(t, 1, n, uid)
				}
				for uid, n := range accessUIDCounts(recs) {
					assert.Equal(t, 1, n, uid)
				}
				watch.addLogs(sink.AllLogs())
			})
		}
	}
	watch.assertNoToken(t, simtest.Token)
	assert.NotEmpty(t, watch.logs.FilterLevelExact(zapcore.ErrorLevel).All(), "failures were logged")
}

// TestOneOffFaultsAreRetriedWithinThePoll: a single failure costs a retry, not the poll.
func TestOneOffFaultsAreRetriedWithinThePoll(t *testing.T) {
	faults := []cloudflaresim.Fault{
		{Kind: cloudflaresim.FaultServerError},
		{Kind: cloudflaresim.FaultBadGateway},
		{Kind: cloudflaresim.FaultConnectionReset},
		{Kind: cloudflaresim.FaultTruncatedBody},
		{Kind: cloudflaresim.FaultHTMLBody},
		{Kind: cloudflaresim.FaultRateLimited, RetryAfter: time.Second},
	}
	for _, stream := range streamsUnderTest {
		for _, fault := range faults {
			t.Run(stream.name+"/"+faultName(fault.Kind), func(t *testing.T) {
				env := newTestEnv(t, faultSimConfig,
					withConfig(func(cfg *Config) {
						cfg.Logins.PageSize = 20
						cfg.Logins.Source = cmp.Or(stream.source, loginSourceV1)
						cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
						cfg.AccessLogins.PageSize = 20
					}))
				fault.Endpoint = stream.endpoint
				env.sim.InjectFault(fault)
				require.NoError(t, stream.poll(env.r))
				assert.Equal(t, stream.records(env.sim), env.sink.LogRecordCount())
			})
		}
	}
}

func faultName(kind cloudflaresim.FaultKind) string {
	return map[cloudflaresim.FaultKind]string{
		cloudflaresim.FaultServerError: "server_error", cloudflaresim.FaultBadGateway: "bad_gateway",
		cloudflaresim.FaultConnectionReset: "connection_reset", cloudflaresim.FaultTruncatedBody: "truncated",
		cloudflaresim.FaultHTMLBody: "html", cloudflaresim.FaultRateLimited: "rate_limited",
	}[kind]
}

// TestRateLimitPausesEveryCallAndWarnsOnce: after a 429 no call is made
// before Retry-After, one WARN is logged, and the poll resumes where it was.
func TestRateLimitPausesEveryCallAndWarnsOnce(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 100, LoginSpan: time.Hour},
		withConfig(func(cfg *Config) { cfg.Logins.PageSize = 10 }), observeLogs(zapcore.WarnLevel))
	sim, sink, logs, r := env.sim, env.sink, env.logs, env.r

	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultRateLimited, Endpoint: cloudflaresim.EndpointAuditLogs, Count: 1, RetryAfter: 2 * time.Second})
	start := time.Now()
	require.NoError(t, r.pollLogins(context.Background()))
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second)
	assert.Equal(t, 100, sink.LogRecordCount())
	assert.Len(t, uidCounts(records(sink.AllLogs())), 100)
	warnings := logs.FilterMessageSnippet("rate limit").All()
	require.Len(t, warnings, 1)
	assert.Equal(t, 1, sim.Stats().RateLimited)
}

// TestRateLimiterStaysUnderTheServerLimit: alone against a server enforcing
// its limit, the receiver's own limiter, shared by the four streams polling
// at once, never lets it see a 429.
func TestRateLimiterStaysUnderTheServerLimit(t *testing.T) {
	// Rate limits are about real time: the simulator and receiver use the wall clock.
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 60, LoginsPerAccount: 600, LoginSpan: time.Hour,
		AccessUsersPerAccount: 60, AccessRequestsPerAccount: 300,
		RateLimit: 12, RateWindow: time.Second, Now: time.Now}, withConfig(func(cfg *Config) {
		cfg.Logins.PageSize = 50
		cfg.AccessLogins.Enabled, cfg.AccessUsers.Enabled = true, true
		cfg.AccessLogins.PageSize = 50
		// Four requests of headroom: under a loaded machine, requests the limiter
		// spread out over four streams can reach the server bunched together.
		cfg.RateLimit.RequestsPerWindow = 8
		cfg.RateLimit.Window = time.Second
	}))
	sim, sink, r := env.sim, env.sink, env.r

	var wg sync.WaitGroup
	for _, s := range r.streams { // all four at once, as their loops run
		wg.Go(func() { assert.NoError(t, r.pollStep(context.Background(), s)) })
	}
	wg.Wait()

	stats := sim.Stats()
	assert.Zero(t, stats.RateLimited)
	// The server counts arrivals, the limiter sends: jitter may shift a request or two across a window edge.
	assert.LessOrEqual(t, stats.MaxInWindow, 11)
	assert.Equal(t, 2*60+2*600+2*(60+1)+2*300, sink.LogRecordCount(), "members, logins, Access users with a seat summary, Access logins")
}

// TestFailedPollsNeverShowTheToken replaces two tests that checked the
// collector's configopaque and an error built without the token. It runs the
// receiver (Start, its loops, Shutdown) against the simulator with a revoked
// token and collects what our code writes about the failures: every status
// event's error, the ERROR line of the status reporter, the WARN of the token
// check (a failed call) and every DEBUG line of the failed polls. None may
// carry the token.
// Mutations caught: the token check's WARN given zap.String("token",
// string(r.cfg.APIToken)) (verifyToken, receiver.go); the client's
// statusError given `Endpoint: endpoint + " " + res.Request.Header.Get("Authorization")`
// (the status event and the ERROR line carry it); the middleware logging
// req.Header on a failed exchange.
func TestFailedPollsNeverShowTheToken(t *testing.T) {
	sim := simtest.Start(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 3, LoginSpan: time.Hour})
	sim.SetToken("rotated") // the receiver's token is refused from now on
	watch, logger := newLeakWatch()
	cfg := testConfig(sim)
	cfg.Users.PollInterval = 50 * time.Millisecond // below the validated minimums, to keep the test short
	cfg.Logins.PollInterval = 50 * time.Millisecond
	settings := receivertest.NewNopSettings(metadata.Type)
	settings.Logger = logger
	r, err := newIdentityReceiver(settings, cfg, consumertest.NewNop())
	require.NoError(t, err)
	r.retry = fastRetry
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, r.Start(context.Background(), host))
	assert.Eventually(t, func() bool {
		return host.last() == componentstatus.StatusRecoverableError &&
			watch.logs.FilterLevelExact(zapcore.ErrorLevel).Len() > 0 &&
			watch.logs.FilterMessageSnippet("Could not verify the Cloudflare API token").Len() > 0
	}, 10*time.Second, 10*time.Millisecond, "a failed poll reported, its ERROR and the token check's WARN logged")
	require.NoError(t, r.Shutdown(context.Background()))

	host.mu.Lock()
	for _, e := range host.events {
		if e.Err() != nil {
			watch.add(e.Err().Error(), fmt.Sprintf("%+v", e.Err()))
		}
	}
	host.mu.Unlock()
	errorLine := watch.logs.FilterLevelExact(zapcore.ErrorLevel).All()[0]
	assert.Contains(t, errorLine.ContextMap()["error"], "Invalid API Token", "the ERROR names Cloudflare's message")
	watch.assertNoToken(t, simtest.Token)
}
