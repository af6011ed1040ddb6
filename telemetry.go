package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// receiverTelemetry records the receiver's own metrics. It is also the API
// client's Observer.
type receiverTelemetry struct {
	builder *metadata.TelemetryBuilder
	now     func() time.Time
	// requestRates returns the request rate the polls need and the one the
	// budget allows, per minute; false before they were first planned.
	requestRates func() (planned, available float64, known bool)

	mu          sync.Mutex
	newestLogin map[string]time.Time // per account: time of the newest login emitted
}

func newReceiverTelemetry(settings component.TelemetrySettings, now func() time.Time,
	requestRates func() (planned, available float64, known bool),
) (*receiverTelemetry, error) {
	builder, err := metadata.NewTelemetryBuilder(settings)
	if err != nil {
		return nil, err
	}
	t := &receiverTelemetry{builder: builder, now: now, requestRates: requestRates, newestLogin: map[string]time.Time{}}
	if err := builder.RegisterReceiverCloudflareLoginIngestionLagCallback(t.observeIngestionLag); err != nil {
		return nil, err
	}
	return t, builder.RegisterReceiverCloudflareRequestRateCallback(t.observeRequestRate)
}

func (t *receiverTelemetry) shutdown() { t.builder.Shutdown() }

// RequestDone counts a request by endpoint, status class and status code.
// When no response came back (statusCode 0) the class is "error" and the
// http.response.status_code attribute is left out.
func (t *receiverTelemetry) RequestDone(endpoint string, statusCode int, elapsed time.Duration) {
	attrs := []attribute.KeyValue{attribute.String("endpoint", endpoint)}
	if statusCode > 0 {
		attrs = append(attrs, attribute.String("status_class", strconv.Itoa(statusCode/100)+"xx"),
			semconv.HTTPResponseStatusCode(statusCode))
	} else {
		attrs = append(attrs, attribute.String("status_class", "error"))
	}
	ctx := context.Background()
	t.builder.ReceiverCloudflareAPIRequests.Add(ctx, 1, metric.WithAttributes(attrs...))
	t.builder.ReceiverCloudflareAPIRequestDuration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(
		attribute.String("endpoint", endpoint)))
}

// RateLimitHeld counts a request held back by the limiter or a 429 pause.
func (t *receiverTelemetry) RateLimitHeld() {
	t.builder.ReceiverCloudflareRateLimitWaits.Add(context.Background(), 1)
}

// RateLimitWaiting adds a pause when it starts: during a 5-minute lockout the
// wait already shows.
func (t *receiverTelemetry) RateLimitWaiting(wait time.Duration) {
	t.builder.ReceiverCloudflareRateLimitWaitTime.Add(context.Background(), wait.Seconds())
}

func (t *receiverTelemetry) pollDone(stream string, elapsed time.Duration, err error) {
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	t.builder.ReceiverCloudflarePollDuration.Record(context.Background(), elapsed.Seconds(), metric.WithAttributes(
		attribute.String("stream", stream), attribute.String("outcome", outcome)))
}

// recordsByEvent counts a batch's records by event name.
func recordsByEvent(logs plog.Logs) map[string]int64 {
	counts := map[string]int64{}
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				counts[lr.EventName()]++
			}
		}
	}
	return counts
}

// recordsAccepted counts the records of a batch the pipeline accepted, by
// event name (recordsByEvent, read before the hand-off).
func (t *receiverTelemetry) recordsAccepted(byEvent map[string]int64) {
	for name, n := range byEvent {
		t.builder.ReceiverCloudflareRecordsEmitted.Add(context.Background(), n, metric.WithAttributes(attribute.String("event_name", name)))
	}
}

// loginsAccepted moves the account's newest emitted login time forward.
func (t *receiverTelemetry) loginsAccepted(accountID string, newest time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if newest.After(t.newestLogin[accountID]) {
		t.newestLogin[accountID] = newest
	}
}

// observeIngestionLag observes, per account, now minus the newest login
// emitted (the generated builder registers it on the async gauge).
func (t *receiverTelemetry) observeIngestionLag(_ context.Context, observer metric.Float64Observer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for accountID, newest := range t.newestLogin {
		observer.Observe(now.Sub(newest).Seconds(),
			metric.WithAttributes(attribute.String("cloud.account.id", accountID)))
	}
	return nil
}

// observeRequestRate observes the latest request plan: the rate the
// configured polls need and the rate rate_limit allows, per minute.
func (t *receiverTelemetry) observeRequestRate(_ context.Context, observer metric.Float64Observer) error {
	planned, available, known := t.requestRates()
	if !known {
		return nil
	}
	observer.Observe(planned, metric.WithAttributes(attribute.String("rate", "planned")))
	observer.Observe(available, metric.WithAttributes(attribute.String("rate", "available")))
	return nil
}

// lateLoginsFound records how late a sweep found entries: the time they were
// first seen minus their event time.
func (t *receiverTelemetry) lateLoginsFound(times []time.Time, seen time.Time) {
	for _, when := range times {
		t.builder.ReceiverCloudflareLoginLateness.Record(context.Background(), seen.Sub(when).Seconds())
	}
}
