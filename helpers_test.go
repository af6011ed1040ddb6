package cloudflareidentityreceiver

import (
	"context"
	"flag"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
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

// testPollTime is when the tests' clocks start, and the observed time of the
// records of the mapping's golden files.
var testPollTime = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// newTestClock returns the clock of both the simulator and the receiver under
// test, standing at testPollTime.
func newTestClock() *cloudflaresim.ManualClock {
	return cloudflaresim.NewManualClock(testPollTime)
}

// testConfig points a default config at the simulator.
func testConfig(sim *cloudflaresim.Server) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = sim.URL()
	cfg.APIToken = simtest.Token
	cfg.Timeout = 5 * time.Second
	return cfg
}

// fastRetry keeps retry backoffs of tests in milliseconds.
var fastRetry = cloudflare.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// Run `go test -run TestUsersPollGolden -update .` (or the golden test whose
// files changed) to rewrite its golden files after an intended change of the
// data model; the run then fails on purpose.
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden")

// compareGolden compares logs with testdata/golden/name, or with -update
// rewrites that file and fails.
func compareGolden(t *testing.T, name string, logs plog.Logs, opts ...plogtest.CompareLogsOption) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, golden.WriteLogs(t, path, logs))
	}
	expected, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(expected, logs, opts...))
}

// concatLogs puts the batches a pipeline took into one plog.Logs, each
// batch's resources after the ones before: one resource per batch shows.
func concatLogs(batches []plog.Logs) plog.Logs {
	out := plog.NewLogs()
	for _, batch := range batches {
		for _, rl := range batch.ResourceLogs().All() {
			rl.CopyTo(out.ResourceLogs().AppendEmpty())
		}
	}
	return out
}

// testEnv is a receiver under test with what surrounds it: the simulator it
// polls, the clock both run on, its config, its host and the sink of every
// batch its pipeline accepted. The receiver is set up but runs no loops: the
// test drives r.pollUsers and r.pollLogins itself.
type testEnv struct {
	clock *cloudflaresim.ManualClock // nil on the wall clock
	sim   *cloudflaresim.Server
	cfg   *Config
	sink  *consumertest.LogsSink
	host  *statusHost // the receiver's host, which records its status events
	r     *identityReceiver

	logs *observer.ObservedLogs   // the receiver's log, with observeLogs
	tel  *componenttest.Telemetry // the receiver's own telemetry, with withTelemetry

	tb  testing.TB
	now func() time.Time
	// virtualWaits makes the rate limiter's waits move the clock.
	virtualWaits bool
	// sleep, when set, is the receiver's sleep (its rate limiter's and its pacing's waits).
	sleep  func(context.Context, time.Duration) error
	next   consumer.Logs // what the receiver consumes to: sink unless an option says otherwise
	logger *zap.Logger
}

// envOption adjusts an environment after its simulator and config exist,
// before its receiver is built.
type envOption func(e *testEnv)

// newTestEnv starts a simulator from simCfg on a manual clock standing at
// testPollTime, or on simCfg.Now when set (time.Now: both run on the wall
// clock); points a default config at it; applies opts; and builds the
// receiver, which is shut down when the test ends.
func newTestEnv(t testing.TB, simCfg cloudflaresim.Config, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{tb: t, sink: new(consumertest.LogsSink), host: &statusHost{Host: componenttest.NewNopHost()}, now: simCfg.Now}
	if e.now == nil {
		e.clock = newTestClock()
		e.now = e.clock.Now
		simCfg.Now = e.clock.Now
	}
	e.sim = simtest.Start(t, simCfg)
	e.cfg = testConfig(e.sim)
	e.next = e.sink
	for _, opt := range opts {
		opt(e)
	}
	e.r = e.newReceiver(t)
	return e
}

// withConfig changes the receiver's config.
func withConfig(change func(cfg *Config)) envOption {
	return func(e *testEnv) { change(e.cfg) }
}

// withStorage gives the receiver a file-backed storage extension, which a
// restart finds again.
func withStorage() envOption {
	return func(e *testEnv) {
		host, id := storageHost(e.tb)
		e.host.Host = host
		e.cfg.StorageID = id
	}
}

// observeLogs records the receiver's log from level up in e.logs.
func observeLogs(level zapcore.Level) envOption {
	return func(e *testEnv) {
		core, logs := observer.New(level)
		e.logger, e.logs = zap.New(core), logs
	}
}

// withLogger gives the receiver logger.
func withLogger(logger *zap.Logger) envOption {
	return func(e *testEnv) { e.logger = logger }
}

// beforeConsume runs f before each batch reaches the sink, with the number
// of the call (from 1); an error from f is the pipeline refusing the batch.
func beforeConsume(f func(ctx context.Context, call int) error) envOption {
	return func(e *testEnv) { e.next = consumerFunc(f, e.next) }
}

// withVirtualWaits makes the receiver's rate limiter run on the manual
// clock: a wait moves the clock instead of sleeping.
func withVirtualWaits() envOption {
	return func(e *testEnv) { e.virtualWaits = true }
}

// withConsumer sends the receiver's batches to next instead of the sink.
func withConsumer(next consumer.Logs) envOption {
	return func(e *testEnv) { e.next = next }
}

// withTelemetry gives the receiver the collector's test telemetry, whose
// metrics the test reads from e.tel.
func withTelemetry() envOption {
	return func(e *testEnv) {
		e.tel = componenttest.NewTelemetry()
		e.tb.Cleanup(func() { require.NoError(e.tb, e.tel.Shutdown(context.Background())) })
	}
}

// newReceiver builds a receiver of the environment's config, clock, host,
// consumer and logger, set up with fast retries, and shuts it down when the
// test ends.
func (e *testEnv) newReceiver(t testing.TB) *identityReceiver {
	t.Helper()
	settings := receivertest.NewNopSettings(metadata.Type)
	settings.ID = component.NewID(metadata.Type) // stable, so that a restart finds its storage
	if e.tel != nil {
		settings.TelemetrySettings = e.tel.NewTelemetrySettings()
	}
	if e.logger != nil {
		settings.Logger = e.logger
	}
	r, err := newIdentityReceiver(settings, e.cfg, e.next)
	require.NoError(t, err)
	r.now = e.now
	r.retry = fastRetry
	r.sleep = e.sleep
	if e.virtualWaits {
		r.sleep = func(_ context.Context, d time.Duration) error {
			e.clock.Advance(d)
			return nil
		}
	}
	require.NoError(t, r.setUp(context.Background(), e.host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
}

// restart shuts the receiver down and builds another in its place, as a
// collector restart does: same config, storage, clock and pipeline.
func (e *testEnv) restart(t testing.TB) {
	t.Helper()
	require.NoError(t, e.r.Shutdown(context.Background()))
	e.r = e.newReceiver(t)
}

// storageHost is a host with a file-backed storage extension named file_storage,
// whose state outlives a receiver like the real file_storage's does.
func storageHost(t testing.TB) (component.Host, *component.ID) {
	id := storagetest.NewStorageID("file_storage")
	return storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", t.TempDir()), &id
}

// record is one emitted log record, flattened for assertions.
type record struct {
	account   string
	eventName string
	uid       string
	memberID  string
	attrs     map[string]any
}

func records(all []plog.Logs) []record {
	var out []record
	for _, logs := range all {
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			rl := logs.ResourceLogs().At(i)
			account, _ := rl.Resource().Attributes().Get("cloud.account.id")
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					rec := record{account: account.Str(), eventName: lr.EventName(), attrs: lr.Attributes().AsRaw()}
					rec.uid, _ = rec.attrs["log.record.uid"].(string)
					rec.memberID, _ = rec.attrs["cloudflare.member.id"].(string)
					out = append(out, rec)
				}
			}
		}
	}
	return out
}

func countByEvent(recs []record) map[string]int {
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.eventName]++
	}
	return counts
}

// uidCounts counts how often each login id was emitted.
func uidCounts(recs []record) map[string]int {
	counts := map[string]int{}
	for _, r := range recs {
		if r.eventName == eventLogin {
			counts[r.uid]++
		}
	}
	return counts
}

// consumerFunc calls fail with the number of the ConsumeLogs call (from 1)
// and forwards to next when it returns nil.
func consumerFunc(fail func(ctx context.Context, call int) error, next consumer.Logs) consumer.Logs {
	var mu sync.Mutex
	calls := 0
	logsFunc, _ := consumer.NewLogs(func(ctx context.Context, logs plog.Logs) error {
		mu.Lock()
		calls++
		call := calls
		mu.Unlock()
		if err := fail(ctx, call); err != nil {
			return err
		}
		return next.ConsumeLogs(ctx, logs)
	})
	return logsFunc
}

// pollUsers runs one step of the users stream, as its loop does.
func (r *identityReceiver) pollUsers(ctx context.Context) error {
	return r.pollStep(ctx, r.streamNamed(streamUsers))
}

// pollLogins runs one step of the logins stream, as its loop does.
func (r *identityReceiver) pollLogins(ctx context.Context) error {
	return r.pollStep(ctx, r.streamNamed(streamLogins))
}

func (r *identityReceiver) streamNamed(name string) *stream {
	for _, s := range r.streams {
		if s.name == name {
			return s
		}
	}
	panic("stream " + name + " is not enabled")
}

// failingStorage is a storage client that fails its Set call number failOn
// (from 1) and passes every other call through: a crash between the pipeline
// accepting a batch and its checkpoint being written.
type failingStorage struct {
	storage.Client
	mu     sync.Mutex
	sets   int
	failOn int
}

func (s *failingStorage) Set(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	s.sets++
	fail := s.sets == s.failOn
	s.mu.Unlock()
	if fail {
		return assert.AnError
	}
	return s.Client.Set(ctx, key, value)
}

// failingCursorWrite is a storage client whose second write of the key
// cursor fails, with whatever is written in the same batch: the first stores
// the new cursor's lower bound, the second the page the pipeline took. A
// crash after the pipeline took a page, before its checkpoint was stored.
type failingCursorWrite struct {
	storage.Client
	cursor string
	writes int
}

func (s *failingCursorWrite) fails(keys ...string) bool {
	if slices.Contains(keys, s.cursor) {
		s.writes++
		return s.writes == 2
	}
	return false
}

func (s *failingCursorWrite) Set(ctx context.Context, key string, value []byte) error {
	if s.fails(key) {
		return assert.AnError
	}
	return s.Client.Set(ctx, key, value)
}

func (s *failingCursorWrite) Batch(ctx context.Context, ops ...*storage.Operation) error {
	keys := make([]string, len(ops))
	for i, op := range ops {
		keys[i] = op.Key
	}
	if s.fails(keys...) {
		return assert.AnError
	}
	return s.Client.Batch(ctx, ops...)
}

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

// appendMemberChangesForTest emits the changes between two member lists, as a
// users poll does.
func appendMemberChangesForTest(records plog.LogRecordSlice, previous, current []cloudflare.Member, seen time.Time) {
	appendChanges(records, memberKind, previous, current, removedItems(memberKind, previous, current), seen)
}
