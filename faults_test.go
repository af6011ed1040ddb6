package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
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
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// statusHost records the component status events a receiver reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// last returns the latest reported status, and StatusNone before any report.
func (h *statusHost) last() componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return componentstatus.StatusNone
	}
	return h.events[len(h.events)-1].Status()
}

// lastEvent returns the latest reported status event; there must be one.
func (h *statusHost) lastEvent() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[len(h.events)-1]
}

func (h *statusHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

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
	{name: "oversized body", kind: cloudflaresim.FaultOversizedBody, size: cloudflare.DefaultMaxResponseBytes + 1<<20, wantError: cloudflare.KindBadResponse},
	{name: "revoked token", kind: cloudflaresim.FaultInvalidToken, wantError: cloudflare.KindAuth},
	{name: "missing permission", kind: cloudflaresim.FaultForbidden, wantError: cloudflare.KindAuth},
}

// streamUnderTest names what a fault scenario needs of one stream.
type streamUnderTest struct {
	name       string
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
			snapshot, err := r.store.loadMemberSnapshot(context.Background(), account)
			require.NoError(t, err)
			return snapshot != nil
		},
	},
	{
		name: streamLogins, endpoint: cloudflaresim.EndpointAuditLogs,
		poll: func(r *identityReceiver) error { return r.pollLogins(context.Background()) },
		records: func(sim *cloudflaresim.Server) int {
			return len(sim.Logins(sim.Accounts()[0].ID))
		},
		checkpoint: func(t *testing.T, r *identityReceiver, account string) bool {
			cursor, err := r.store.loadLoginCursor(context.Background(), account)
			require.NoError(t, err)
			return !cursor.HighWater.IsZero()
		},
	},
}

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
				clock := newTestClock()
				sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 12, LoginsPerAccount: 45, LoginSpan: 6 * time.Hour})
				account := sim.Accounts()[0].ID
				storage, storageID := storageHost(t)
				host := &statusHost{Host: storage}
				cfg := testConfig(sim)
				cfg.StorageID = storageID
				cfg.Timeout = 300 * time.Millisecond
				cfg.Logins.PageSize = 20
				// Both streams back off after two failures in a row: their waits double to two steps.
				cfg.Users.PollInterval = time.Minute
				// Only the stream under test runs, so that its recovery makes the status OK.
				cfg.Users.Enabled = stream.name == streamUsers
				cfg.Logins.Enabled = stream.name == streamLogins
				sink := new(consumertest.LogsSink)
				r := newPollingReceiver(t, cfg, clock, sink, host, logger)

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
				if stream.name == streamLogins {
					for uid, n := range uidCounts(recs) {
						assert.Equal(t, 1, n, uid)
					}
				}
				watch.addLogs(sink.AllLogs())
			})
		}
	}
	watch.assertNoToken(t, simToken)
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
				clock := newTestClock()
				sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 12, LoginsPerAccount: 45, LoginSpan: 6 * time.Hour})
				cfg := testConfig(sim)
				cfg.Logins.PageSize = 20
				sink := new(consumertest.LogsSink)
				r := newPollingReceiver(t, cfg, clock, sink, nil)
				fault.Endpoint = stream.endpoint
				sim.InjectFault(fault)
				require.NoError(t, stream.poll(r))
				assert.Equal(t, stream.records(sim), sink.LogRecordCount())
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
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 100, LoginSpan: time.Hour})
	cfg := testConfig(sim)
	cfg.Logins.PageSize = 10
	core, logs := observer.New(zapcore.WarnLevel)
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, sink, nil, zap.New(core))

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
// its limit, the receiver's own limiter never lets it see a 429.
func TestRateLimiterStaysUnderTheServerLimit(t *testing.T) {
	// Rate limits are about real time: the simulator and receiver use the wall clock.
	var clock *testClock
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 60, LoginsPerAccount: 600, LoginSpan: time.Hour,
		RateLimit: 12, RateWindow: time.Second})
	cfg := testConfig(sim)
	cfg.Logins.PageSize = 50
	cfg.RateLimit.RequestsPerWindow = 10
	cfg.RateLimit.Window = time.Second
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, sink, nil)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); assert.NoError(t, r.pollUsers(context.Background())) }()
	go func() { defer wg.Done(); assert.NoError(t, r.pollLogins(context.Background())) }()
	wg.Wait()

	stats := sim.Stats()
	assert.Zero(t, stats.RateLimited)
	// The server counts arrivals, the limiter sends: network jitter may shift one request across a window edge.
	assert.LessOrEqual(t, stats.MaxInWindow, 11)
	assert.Equal(t, 2*60+2*600, sink.LogRecordCount())
}

// TestAccountsComeAndGo: an account out of the token's reach stops being
// polled without failing the others; a new one is picked up by the next users poll.
func TestAccountsComeAndGo(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 5, LoginsPerAccount: 5, LoginSpan: time.Hour})
	sink := new(consumertest.LogsSink)
	cfg := testConfig(sim)
	r := newPollingReceiver(t, cfg, clock, sink, nil)
	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.pollLogins(context.Background()))
	gone := sim.Accounts()[0]
	sim.RemoveAccount(gone.ID)
	added := cloudflaresim.Account{ID: "aaaaaaaabbbbbbbbccccccccdddddddd", Name: "New Corp"}
	sim.AddAccount(added)
	sim.AddMember(added.ID, sim.NewMember())
	sink.Reset()
	sim.ResetStats()
	clock.Advance(cfg.Users.PollInterval)

	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, sim.Stats().Unauthorized, "the vanished account is not called")
	recs := records(sink.AllLogs())
	require.Len(t, recs, 1)
	assert.Equal(t, added.ID, recs[0].account)
	assert.Equal(t, eventMember, recs[0].eventName, "a new account starts with an inventory")
}

// TestCrashBetweenConsumeAndCheckpoint: a crash after the pipeline took a
// batch but before its checkpoint was written costs that batch twice, nothing else.
func TestCrashBetweenConsumeAndCheckpoint(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 250, LoginSpan: 5 * time.Hour})
	host, storageID := storageHost(t)
	cfg := testConfig(sim)
	cfg.StorageID = storageID
	cfg.Logins.PageSize = 50
	sink := new(consumertest.LogsSink)

	crashed := newPollingReceiver(t, cfg, clock, sink, host)
	batches := 0
	crashed.beforeCheckpoint = func() error {
		if batches++; batches == 3 {
			return assert.AnError
		}
		return nil
	}
	require.ErrorIs(t, crashed.pollLogins(context.Background()), assert.AnError)
	require.NoError(t, crashed.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 3)
	inFlight := sink.AllLogs()[2].LogRecordCount()
	emittedBeforeCrash := sink.LogRecordCount()

	restarted := newPollingReceiver(t, cfg, clock, sink, host)
	require.NoError(t, restarted.pollLogins(context.Background()))
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
		"%d unique after the restart, %d emitted twice", len(sim.Logins(sim.Accounts()[0].ID)), cfg.Logins.PageSize,
		emittedBeforeCrash, inFlight, len(counts), twice)
}

// TestStatusAndMessagesOfAuthFailure: one ERROR that names the call,
// Cloudflare's code and message and the permissions, then OK by itself.
func TestStatusAndMessagesOfAuthFailure(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3})
	core, logs := observer.New(zapcore.InfoLevel)
	host := &statusHost{Host: componenttest.NewNopHost()}
	cfg := testConfig(sim)
	cfg.Logins.Enabled = false // OK needs every enabled stream to have polled
	r := newPollingReceiver(t, cfg, clock, new(consumertest.LogsSink), host, zap.New(core))

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

	sim.SetToken(simToken)
	for range 3 { // the listing backs off after failing: a step or two pass before it is read again
		_ = r.pollUsers(context.Background())
	}
	assert.Equal(t, componentstatus.StatusOK, host.last())
	assert.Len(t, logs.FilterMessageSnippet("healthy").All(), 1)
}

// TestStartWithUnreachableAPIDoesNotFail: Start returns at once; the loops
// report the failure as a recoverable status and stop cleanly on Shutdown.
func TestStartWithUnreachableAPIDoesNotFail(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIToken = "token"
	cfg.Endpoint = "http://127.0.0.1:9/client/v4"   // nothing listens there
	cfg.Logins.PollInterval = 50 * time.Millisecond // below the validated minimum, to keep the test short
	r, err := newIdentityReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	r.retry = fastRetry
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, r.Start(context.Background(), host))
	assert.Eventually(t, func() bool { return host.last() == componentstatus.StatusRecoverableError },
		10*time.Second, 20*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
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
	sim := startSim(t, nil, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 3, LoginSpan: time.Hour})
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
	watch.assertNoToken(t, simToken)
}

// TestPaginationAnomalies: an entry repeated on two pages, a page that comes
// back empty too early, and entries inserted while paging neither lose nor
// double a login. It compares the ids emitted, repeats included, with the
// simulator's events: every event appended before the polls and every event
// inserted ahead of the reading position exactly once; none of the events
// inserted behind it, which are older than the checkpoint by more than the
// late-arrival window and so, like any entry the API shows that late, not due.
// Mutations caught: unseenLogins without its `cursor.Emitted` check (the
// repeated entry and the second poll's re-read window come twice); ListLogins
// ending after the second page (`last := len(entries) < q.PageSize || page >= 2`:
// later events and those inserted ahead are lost); the second poll reading
// 4 hours back instead of late_arrival_window (ids pruned from the cursor come
// again). Unlike the previous assertion (count of ids = events + inserted
// seen), it also fails if an inserted-behind entry is emitted, or one
// inserted ahead is not.
func TestPaginationAnomalies(t *testing.T) {
	tests := []struct {
		name  string
		fault *cloudflaresim.Fault
		// insertWhilePaging adds entries behind and ahead of the reading
		// position while the first page is consumed.
		insertWhilePaging bool
	}{
		{name: "entry repeated on the next page", fault: &cloudflaresim.Fault{Kind: cloudflaresim.FaultDuplicateEntry, Count: 3}},
		{name: "empty page too early", fault: &cloudflaresim.Fault{Kind: cloudflaresim.FaultEmptyPage}},
		{name: "entries inserted while paging", insertWhilePaging: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1})
			account := sim.Accounts()[0].ID
			events := appendLogins(sim, account, 95, clock.Now().Add(-3*time.Hour), time.Minute, func(int) bool { return false })
			cfg := testConfig(sim)
			cfg.Logins.PageSize = 20
			sink := new(consumertest.LogsSink)
			var behind, ahead []cloudflaresim.LoginEvent
			insert := func(prefix string, after cloudflaresim.LoginEvent) (out []cloudflaresim.LoginEvent) {
				for i := range 5 {
					e := cloudflaresim.LoginEvent{ID: fmt.Sprintf("%s-%d", prefix, i), When: after.When.Add(time.Second),
						Success: true, ActorEmail: "late@example.com", ActorType: "user"}
					sim.AppendLogin(account, e)
					out = append(out, e)
				}
				return out
			}
			next := consumerFunc(func(_ context.Context, call int) error {
				if tt.insertWhilePaging && call == 1 { // the first page (entries 0-19) is being consumed
					behind = insert("behind", events[2])
					ahead = insert("ahead", events[50])
				}
				return nil
			}, sink)
			r := newPollingReceiver(t, cfg, clock, next, nil)
			if tt.fault != nil {
				tt.fault.Endpoint = cloudflaresim.EndpointAuditLogs
				sim.InjectFault(*tt.fault)
			}

			require.NoError(t, r.pollLogins(context.Background()))
			clock.Advance(time.Minute)
			require.NoError(t, r.pollLogins(context.Background()))

			want := append(eventIDs(events), eventIDs(ahead)...)
			assert.ElementsMatch(t, want, emittedLoginIDs(sink))
			// What was not emitted is exactly what was inserted behind the reader.
			require.Len(t, sim.Logins(account), len(want)+len(behind))
		})
	}
}

// eventIDs lists the ids of simulator events.
func eventIDs(events []cloudflaresim.LoginEvent) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// emittedLoginIDs lists the log.record.uid of every login record emitted, repeats included.
func emittedLoginIDs(sink *consumertest.LogsSink) []string {
	var ids []string
	for _, rec := range records(sink.AllLogs()) {
		if rec.eventName == eventLogin {
			ids = append(ids, rec.uid)
		}
	}
	return ids
}
