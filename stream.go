package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// streamDescriptor is all that the receiver, the request planner, the
// status messages and Validate know of one stream. A stream is a file that
// defines its descriptor and its poll, one line in allStreams, and its
// config section and storage key (docs/development.md, "Adding a stream").
type streamDescriptor struct {
	// name is the stream's config key, and its name in logs, status and metrics.
	name    string
	enabled func(*Config) bool
	// intervals are the stream's interval keys and values, poll_interval
	// first: a plan over budget says how long each must be to fit.
	intervals func(*Config) []streamInterval
	// requestsPerMinute is what polling one account costs, on average;
	// memberPages is the number of member list pages of an account.
	requestsPerMinute func(cfg *Config, memberPages float64) float64
	// latencyKey, when set, is the over-budget WARN's key for how late the
	// stream's records then arrive: its poll_interval stretched to fit.
	latencyKey string
	// permission is the token permission the stream needs beyond
	// requiredPermissions, in the dashboard's words; "" when none.
	permission string
	// endpoints are the Cloudflare endpoints the stream reads for an account.
	endpoints []string
	// validate checks the stream's config keys, each error naming its key.
	validate func(*Config) []error
	// open builds the stream's poll of an account, with empty state.
	open func(env *streamEnv, cfg *Config) pollFunc
}

// pollInterval is the stream's poll_interval.
func (s *streamDescriptor) pollInterval(cfg *Config) time.Duration { return s.intervals(cfg)[0].value }

// streamInterval is one interval key of a stream and its value.
type streamInterval struct {
	key   string
	value time.Duration
}

// pollFunc polls one account of a stream.
type pollFunc func(context.Context, cloudflare.Account) error

// streamEnv is what the streams use of the receiver, shared by all of them
// during one run of the polling loops.
type streamEnv struct {
	client     cloudflare.Client
	store      *checkpointStore
	logger     *zap.Logger
	now        func() time.Time
	version    string      // the distribution's version, on every batch's resource
	downstream *downstream // where deliver hands batches on
	// What streams learn of each other: the members the users stream listed,
	// the login histories the logins stream keeps, the receiver's metrics.
	members   *memberDirectory
	histories *loginHistories
	telemetry *receiverTelemetry
}

// stream is one stream's polling loop state: its poll of an account (which
// reads the account, emits what is new and moves the account's checkpoint
// with deliver) and the backoff of each account.
//
// An account whose polls Cloudflare failed waits twice as long after each
// failure, up to maxFailureBackoff, so that a revoked token does not spend
// the budget shared with the token owner's dashboard, while the other
// accounts keep their interval.
type stream struct {
	name        string
	interval    time.Duration
	pollAccount pollFunc

	// Owned by the stream's loop. The key "" stands for the account listing.
	failures map[string]int // consecutive polls Cloudflare failed
	skips    map[string]int // loop steps to sit out before the next poll
}

func newStream(name string, interval time.Duration, pollAccount pollFunc) *stream {
	return &stream{name: name, interval: interval, pollAccount: pollAccount, failures: map[string]int{}, skips: map[string]int{}}
}

// due reports whether key is polled in this step, counting down its backoff.
func (s *stream) due(key string) bool {
	if s.skips[key] > 0 {
		s.skips[key]--
		return false
	}
	return true
}

// done records the outcome of a poll of key. Only failures of Cloudflare
// back off: a pipeline refusal is retried on the normal schedule, as the
// receiver contract expects.
func (s *stream) done(key string, err error) {
	if _, fromAPI := cloudflare.KindOf(err); !fromAPI {
		delete(s.failures, key)
		delete(s.skips, key)
		return
	}
	s.failures[key]++
	wait := failureBackoff(s.interval, s.failures[key])
	s.skips[key] = int((wait+s.interval-1)/s.interval) - 1
}

// errTurnOver is what a poll of an account returns when it ended its turn
// with more to read (a backfill): the step polls the account again after
// every other account due has had its turn.
var errTurnOver = errors.New("turn over, more to read")

// maxFailureBackoff caps the wait after failed polls of a short-interval stream.
const maxFailureBackoff = 5 * time.Minute

// failureBackoff is interval doubled per consecutive failure, capped at
// maxFailureBackoff, and never shorter than interval.
func failureBackoff(interval time.Duration, failures int) time.Duration {
	wait := interval
	for i := 1; i < failures && wait < maxFailureBackoff; i++ {
		wait *= 2
	}
	return max(interval, min(wait, maxFailureBackoff))
}

// deliver is the delivery guarantee of every stream: it hands logs to the
// pipeline, and only once the pipeline took them (or refused them for good,
// see consume) advances the account's checkpoint past them and saves
// it. A crash in between repeats this batch, never loses one.
//
// Under k8s_leader_elector the batch, like every checkpoint write, is handed
// over only while this replica's term is the stored one (leader.go): a
// replaced leader neither emits nor stores more.
func deliver[S any](ctx context.Context, p *downstream, c *checkpoints[S], streamName string, account cloudflare.Account, logs plog.Logs, advance func() *S) error {
	if logs.LogRecordCount() > 0 {
		if p.fence != nil {
			if err := p.fence(ctx); err != nil {
				return err
			}
		}
		if err := p.consume(ctx, logs, streamName, account); err != nil {
			return err
		}
	}
	return c.save(ctx, account.ID, advance())
}

// downstream is where streams hand their batches: the next consumer, with the
// receiver's standard and own telemetry.
type downstream struct {
	next      consumer.Logs
	obsrecv   *receiverhelper.ObsReport
	telemetry *receiverTelemetry
	logger    *zap.Logger
	// format is the format of the records' Bodies (format: otel or ocsf).
	format string
	// fence, when set, is checked before every hand-off: a replica that no
	// longer leads hands nothing on (leader.go).
	fence func(context.Context) error
}

// consume hands a batch to the pipeline, recorded by the receiver's standard
// telemetry. It returns nil when the pipeline accepted the batch or refused
// it permanently (then the batch is dropped and logged, as the receiver
// contract asks); any other error means "retry from the checkpoint".
//
// Whatever is counted is counted before the hand-off: once ConsumeLogs was
// called the pipeline owns the batch, which a consumer may change or keep.
func (p *downstream) consume(ctx context.Context, logs plog.Logs, stream string, account cloudflare.Account) error {
	formatLogs(p.format, logs) // format: ocsf puts OCSF events in the Bodies (ocsf.go)
	count := logs.LogRecordCount()
	byEvent := recordsByEvent(logs)
	obsCtx := p.obsrecv.StartLogsOp(ctx)
	err := p.next.ConsumeLogs(obsCtx, logs)
	p.obsrecv.EndLogsOp(obsCtx, metadata.Type.String(), count, err)
	if err == nil {
		p.telemetry.recordsAccepted(byEvent)
		return nil
	}
	if !consumererror.IsPermanent(err) {
		return err
	}
	p.logger.Error("The pipeline refused records permanently; they are dropped and the checkpoint moves past them. "+
		"Check the errors of the exporters and processors of this pipeline",
		zap.String("stream", stream), zap.String("account_id", account.ID),
		zap.Int("records", count), zap.Error(err))
	return nil
}

// perMinute is requests made every interval, as a rate per minute.
func perMinute(requests float64, every time.Duration) float64 {
	return requests * float64(time.Minute) / float64(every)
}
