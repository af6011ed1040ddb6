// Code written by hand from metadata.yaml (telemetry.metrics), in the shape
// mdatagen generates.

package metadata

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Meter returns the meter of this component's own telemetry.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments of the receiver's own metrics.
type TelemetryBuilder struct {
	meter                        metric.Meter
	CloudflareAPIRequests        metric.Int64Counter
	CloudflareAPIRequestDuration metric.Float64Histogram
	CloudflareRateLimitWaits     metric.Int64Counter
	CloudflareRateLimitWaitTime  metric.Float64Counter
	CloudflarePollDuration       metric.Float64Histogram
	CloudflareRecordsEmitted     metric.Int64Counter
	CloudflareLoginIngestionLag  metric.Float64ObservableGauge
	CloudflareLoginLateness      metric.Float64Histogram
	registrations                []metric.Registration
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := &TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.CloudflareAPIRequests, err = builder.meter.Int64Counter(
		"otelcol_receiver_cloudflare_api_requests",
		metric.WithDescription("Requests made to the Cloudflare API, by endpoint, HTTP status class and HTTP status code. [alpha]"),
		metric.WithUnit("{request}"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareAPIRequestDuration, err = builder.meter.Float64Histogram(
		"otelcol_receiver_cloudflare_api_request_duration",
		metric.WithDescription("Duration of Cloudflare API requests, by endpoint. [alpha]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareRateLimitWaits, err = builder.meter.Int64Counter(
		"otelcol_receiver_cloudflare_rate_limit_waits",
		metric.WithDescription("Requests held back by the client-side rate limiter or a 429 pause. [alpha]"),
		metric.WithUnit("{wait}"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareRateLimitWaitTime, err = builder.meter.Float64Counter(
		"otelcol_receiver_cloudflare_rate_limit_wait_time",
		metric.WithDescription("Time requests are held back by the rate limiter or a 429 pause, added when each pause starts (so a 5-minute lockout shows while it lasts). [alpha]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareLoginLateness, err = builder.meter.Float64Histogram(
		"otelcol_receiver_cloudflare_login_lateness",
		metric.WithDescription("How late sweeps of the late-arrival window found login entries - the time an entry was first seen minus its event time. [alpha]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries([]float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}...),
	)
	errs = errors.Join(errs, err)
	builder.CloudflarePollDuration, err = builder.meter.Float64Histogram(
		"otelcol_receiver_cloudflare_poll_duration",
		metric.WithDescription("Duration of one poll of a stream over every account, by stream and outcome. [alpha]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareRecordsEmitted, err = builder.meter.Int64Counter(
		"otelcol_receiver_cloudflare_records_emitted",
		metric.WithDescription("Log records accepted by the pipeline, by event name. [alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.CloudflareLoginIngestionLag, err = builder.meter.Float64ObservableGauge(
		"otelcol_receiver_cloudflare_login_ingestion_lag",
		metric.WithDescription("Now minus the time of the newest login event emitted, per account. [alpha]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	return builder, errs
}

// RegisterCallback registers a callback that observes asynchronous instruments.
func (builder *TelemetryBuilder) RegisterCallback(callback metric.Callback, instruments ...metric.Observable) error {
	reg, err := builder.meter.RegisterCallback(callback, instruments...)
	if err != nil {
		return err
	}
	builder.registrations = append(builder.registrations, reg)
	return nil
}

// Shutdown unregisters the callbacks of asynchronous instruments.
func (builder *TelemetryBuilder) Shutdown() {
	for _, reg := range builder.registrations {
		_ = reg.Unregister()
	}
	builder.registrations = nil
}
