package cloudflareidentityreceiver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// sumMetric adds up the data points (histograms: their counts) of a metric
// whose attributes include want.
func sumMetric(t testing.TB, tel *componenttest.Telemetry, name string, want ...attribute.KeyValue) float64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	var total float64
	match := func(set attribute.Set) bool {
		for _, kv := range want {
			if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
				return false
			}
		}
		return true
	}
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			if match(dp.Attributes) {
				total += float64(dp.Value)
			}
		}
	case metricdata.Sum[float64]:
		for _, dp := range data.DataPoints {
			if match(dp.Attributes) {
				total += dp.Value
			}
		}
	case metricdata.Gauge[float64]:
		for _, dp := range data.DataPoints {
			if match(dp.Attributes) {
				total += dp.Value
			}
		}
	case metricdata.Histogram[float64]:
		for _, dp := range data.DataPoints {
			if match(dp.Attributes) {
				total += float64(dp.Count)
			}
		}
	default:
		t.Fatalf("unexpected data type %T for %s", m.Data, name)
	}
	return total
}

func TestOwnTelemetryAfterPolls(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 70}, withTelemetry(),
		withConfig(func(cfg *Config) { cfg.Logins.PageSize = 20 }))
	sim, clock, r, tel := env.sim, env.clock, env.r, env.tel
	account := sim.Accounts()[0].ID
	newest := clock.Now().Add(-90 * time.Second)
	appendLogins(sim, account, 30, newest.Add(-30*time.Second), time.Second, func(int) bool { return false })

	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultServerError, Endpoint: cloudflaresim.EndpointAuditLogs})
	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.pollLogins(context.Background()))

	requests := func(endpoint, class string, code int) float64 {
		return sumMetric(t, tel, "otelcol_receiver_cloudflare_api_requests",
			attribute.String("endpoint", endpoint), attribute.String("status_class", class),
			attribute.Int("http.response.status_code", code))
	}
	assert.Equal(t, 4.0, requests("members", "2xx", 200), "70 members are two pages of 50, read twice for a first inventory")
	assert.Equal(t, 1.0, requests("accounts", "2xx", 200), "the logins poll reuses the account list")
	assert.Equal(t, 2.0, requests("audit_logs", "2xx", 200), "30 logins are pages of 20 and 10")
	assert.Equal(t, 1.0, requests("audit_logs", "5xx", 500))
	assert.Equal(t, 70.0, sumMetric(t, tel, "otelcol_receiver_cloudflare_records_emitted", attribute.String("event_name", eventMember)))
	assert.Equal(t, 30.0, sumMetric(t, tel, "otelcol_receiver_cloudflare_records_emitted", attribute.String("event_name", eventLogin)))
	assert.InDelta(t, clock.Now().Sub(newest).Seconds(),
		sumMetric(t, tel, "otelcol_receiver_cloudflare_login_ingestion_lag", attribute.String("cloud.account.id", account)), 0.001)
	assert.Equal(t, 100.0, sumMetric(t, tel, "otelcol_receiver_accepted_log_records"))

	// Each poll step records its duration, by stream and outcome: the step above,
	// then the loop's own first step.
	loginSteps := func() float64 {
		return sumMetric(t, tel, "otelcol_receiver_cloudflare_poll_duration",
			attribute.String("stream", streamLogins), attribute.String("outcome", "success"))
	}
	require.Equal(t, 1.0, loginSteps())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.runLoop(ctx, r.streamNamed(streamLogins)) })
	assert.Eventually(t, func() bool { return loginSteps() == 2 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	wg.Wait()
}

func TestRateLimitWaitsAreCounted(t *testing.T) {
	// The limiter waits on the test's clock, so the count does not depend on how fast requests go.
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 300}, withTelemetry(), withVirtualWaits(),
		withConfig(func(cfg *Config) {
			cfg.RateLimit.RequestsPerWindow = 3
			cfg.RateLimit.Window = 500 * time.Millisecond
		}))

	require.NoError(t, env.r.pollUsers(context.Background())) // 1 accounts + 6 member pages read twice (a first inventory) = 13 requests
	assert.Equal(t, 4.0, sumMetric(t, env.tel, "otelcol_receiver_cloudflare_rate_limit_waits"), "requests 4, 7, 10 and 13 waited")
	assert.Greater(t, sumMetric(t, env.tel, "otelcol_receiver_cloudflare_rate_limit_wait_time"), 0.5)
}

// TestAPIRequestsCarryStatusCode pins item 11 of issue 9: the request counter
// carries the status code, so that 429s can be told from other 4xx, and a
// request without a response has status_class error and no status code.
func TestAPIRequestsCarryStatusCode(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	rt, err := newReceiverTelemetry(tel.NewTelemetrySettings(), time.Now, (&planWatch{}).rates)
	require.NoError(t, err)
	t.Cleanup(rt.shutdown)

	rt.RequestDone("audit_logs", http.StatusTooManyRequests, time.Millisecond)
	rt.RequestDone("audit_logs", http.StatusTooManyRequests, time.Millisecond)
	rt.RequestDone("audit_logs", http.StatusForbidden, time.Millisecond)
	rt.RequestDone("audit_logs", 0, time.Millisecond)

	m, err := tel.GetMetric("otelcol_receiver_cloudflare_api_requests")
	require.NoError(t, err)
	enc := attribute.DefaultEncoder()
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		got[dp.Attributes.Encoded(enc)] += dp.Value
	}
	set := func(kvs ...attribute.KeyValue) string {
		s := attribute.NewSet(kvs...)
		return s.Encoded(enc)
	}
	endpoint := attribute.String("endpoint", "audit_logs")
	assert.Equal(t, map[string]int64{
		set(endpoint, attribute.String("status_class", "4xx"), attribute.Int("http.response.status_code", 429)): 2,
		set(endpoint, attribute.String("status_class", "4xx"), attribute.Int("http.response.status_code", 403)): 1,
		set(endpoint, attribute.String("status_class", "error")):                                                1,
	}, got)
}

// TestRateLimitPauseShowsWhileItLasts pins issue 17.8: the wait time of a
// 429's pause is recorded when the pause starts, so it shows during it.
func TestRateLimitPauseShowsWhileItLasts(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 3}, withTelemetry())
	tel := env.tel
	env.sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultRateLimited, Endpoint: cloudflaresim.EndpointAuditLogs, RetryAfter: 3 * time.Second})
	done := make(chan error, 1)
	go func() { done <- env.r.pollLogins(context.Background()) }()
	assert.Eventually(t, func() bool {
		_, err := tel.GetMetric("otelcol_receiver_cloudflare_rate_limit_wait_time")
		return err == nil && sumMetric(t, tel, "otelcol_receiver_cloudflare_rate_limit_wait_time") >= 2
	}, 2*time.Second, 20*time.Millisecond, "the pause is recorded before it ends")
	require.NoError(t, <-done)
}

// TestRecordsAreCountedBeforeTheHandOff: once ConsumeLogs was called the
// pipeline owns the batch. A consumer that changes it (a processor that
// mutates data) or keeps it and changes it later, from another goroutine,
// must not change what the receiver counted; the second case is a data race
// that -race reports if the receiver reads the batch after the hand-off.
func TestRecordsAreCountedBeforeTheHandOff(t *testing.T) {
	clearRecords := func(logs plog.Logs) {
		logs.ResourceLogs().RemoveIf(func(plog.ResourceLogs) bool { return true })
	}
	renameRecords := func(logs plog.Logs) {
		for _, rl := range logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					lr.SetEventName("renamed.downstream")
				}
			}
		}
	}
	tests := []struct {
		name   string
		change func(logs plog.Logs, later *sync.WaitGroup)
		// refuse: the consumer then refuses the batch permanently; the
		// receiver's ERROR counts what it dropped.
		refuse bool
	}{
		{name: "cleared before returning", change: func(logs plog.Logs, _ *sync.WaitGroup) { clearRecords(logs) }},
		{name: "renamed before returning", change: func(logs plog.Logs, _ *sync.WaitGroup) { renameRecords(logs) }},
		{name: "kept and cleared after returning", change: func(logs plog.Logs, later *sync.WaitGroup) {
			later.Go(func() { clearRecords(logs) })
		}},
		{name: "kept and renamed after returning", change: func(logs plog.Logs, later *sync.WaitGroup) {
			later.Go(func() { renameRecords(logs) })
		}},
		{name: "cleared, then refused for good", change: func(logs plog.Logs, _ *sync.WaitGroup) { clearRecords(logs) }, refuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var later sync.WaitGroup
			var mu sync.Mutex
			handed := map[string]int{} // records by event name as the consumer received them
			owner, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
				mu.Lock()
				for name, n := range countByEvent(records([]plog.Logs{logs})) {
					handed[name] += n
				}
				mu.Unlock()
				tt.change(logs, &later)
				if tt.refuse {
					return consumererror.NewPermanent(errors.New("refused downstream"))
				}
				return nil
			}, consumer.WithCapabilities(consumer.Capabilities{MutatesData: true}))
			require.NoError(t, err)
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 60}, withTelemetry(), withConsumer(owner),
				observeLogs(zapcore.ErrorLevel),
				withConfig(func(cfg *Config) { cfg.Logins.PageSize = 20 }))
			account := env.sim.Accounts()[0].ID
			appendLogins(env.sim, account, 45, env.clock.Now().Add(-time.Hour), time.Second, func(int) bool { return false })
			require.NoError(t, env.r.pollUsers(context.Background()))
			require.NoError(t, env.r.pollLogins(context.Background()))
			later.Wait()

			require.Equal(t, map[string]int{eventMember: 60, eventLogin: 45}, handed)
			if tt.refuse {
				dropped := 0
				for _, entry := range env.logs.FilterMessageSnippet("refused records permanently").All() {
					dropped += int(entry.ContextMap()["records"].(int64))
				}
				assert.Equal(t, 105, dropped, "the ERROR counts the records handed over")
				return
			}
			for name, n := range handed {
				assert.Equal(t, float64(n), sumMetric(t, env.tel, "otelcol_receiver_cloudflare_records_emitted",
					attribute.String("event_name", name)), name)
			}
			assert.Equal(t, 105.0, sumMetric(t, env.tel, "otelcol_receiver_accepted_log_records"))
		})
	}
}
