package cloudflareidentityreceiver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
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

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

const simToken = "sim-token-for-tests"

// testPollTime is when the tests' clocks start, and the observed time of the
// records of the mapping's golden files.
var testPollTime = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// newTestClock returns the clock of both the simulator and the receiver under
// test, standing at testPollTime.
func newTestClock() *cloudflaresim.ManualClock {
	return cloudflaresim.NewManualClock(testPollTime)
}

// startSim runs a simulator on loopback for the test, on clock, or on the
// wall clock when clock is nil.
func startSim(t testing.TB, clock *cloudflaresim.ManualClock, cfg cloudflaresim.Config) *cloudflaresim.Server {
	t.Helper()
	cfg.Token = simToken
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	if clock != nil {
		cfg.Now = clock.Now
	}
	sim := cloudflaresim.New(cfg)
	require.NoError(t, sim.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// testConfig points a default config at the simulator.
func testConfig(sim *cloudflaresim.Server) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = sim.URL()
	cfg.APIToken = simToken
	cfg.Timeout = 5 * time.Second
	return cfg
}

// fastRetry keeps retry backoffs of tests in milliseconds.
var fastRetry = cloudflare.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// newPollingReceiver builds a receiver that is set up but runs no loops: the
// test drives pollUsers and pollLogins itself.
func newPollingReceiver(t testing.TB, cfg *Config, clock *cloudflaresim.ManualClock, next consumer.Logs, host component.Host, logger ...*zap.Logger) *identityReceiver {
	t.Helper()
	settings := receivertest.NewNopSettings(metadata.Type)
	settings.ID = component.NewID(metadata.Type) // stable, so that a restart finds its storage
	if len(logger) > 0 {
		settings.Logger = logger[0]
	}
	r, err := newIdentityReceiver(settings, cfg, next)
	require.NoError(t, err)
	if clock != nil {
		r.now = clock.Now
	}
	r.retry = fastRetry
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, r.setUp(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
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

// failingConsumer fails the first `failures` calls with err, then forwards.
type failingConsumer struct {
	consumertest.LogsSink
	mu       sync.Mutex
	failures int
	err      error
}

func (c *failingConsumer) ConsumeLogs(ctx context.Context, logs plog.Logs) error {
	c.mu.Lock()
	if c.failures > 0 {
		c.failures--
		c.mu.Unlock()
		return c.err
	}
	c.mu.Unlock()
	return c.LogsSink.ConsumeLogs(ctx, logs)
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
