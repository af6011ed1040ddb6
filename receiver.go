package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// Stream names, used in logs and status.
const (
	streamUsers  = "users"
	streamLogins = "logins"
)

// identityReceiver runs two polling loops, one per stream, each on its own
// interval; they share the API client (and so its rate limiter) and the
// account list.
type identityReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	next      consumer.Logs
	obsrecv   *receiverhelper.ObsReport
	telemetry *receiverTelemetry
	now       func() time.Time
	retry     cloudflare.RetryPolicy
	// beforeCheckpoint, when set, runs after the pipeline accepted a batch and
	// before its checkpoint is written; tests use it to simulate a crash there.
	beforeCheckpoint func() error

	client        cloudflare.Client
	storageClient storage.Client
	store         *checkpointStore
	status        *statusReporter
	accounts      *accountDirectory
	members       *memberDirectory

	// Each map is owned by the loop of its stream.
	loginCursors    map[string]*loginCursor
	memberSnapshots map[string]*memberSnapshot

	usersLoop, loginsLoop *pollLoop

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newIdentityReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*identityReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &identityReceiver{
		cfg:             cfg,
		settings:        set,
		next:            next,
		obsrecv:         obsrecv,
		now:             time.Now,
		retry:           cloudflare.DefaultRetryPolicy,
		accounts:        &accountDirectory{configured: cfg.Accounts},
		members:         newMemberDirectory(),
		loginCursors:    map[string]*loginCursor{},
		memberSnapshots: map[string]*memberSnapshot{},
	}
	r.usersLoop = newPollLoop(streamUsers, cfg.Users.PollInterval, cfg.Users.PollInterval/2, r.pollAccountMembers)
	r.loginsLoop = newPollLoop(streamLogins, cfg.Logins.PollInterval, cfg.Users.PollInterval, r.pollAccountLogins)
	r.telemetry, err = newReceiverTelemetry(set.TelemetrySettings, func() time.Time { return r.now() })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Start opens storage and starts the loops. It never waits for Cloudflare:
// an unreachable API or a refused token shows up as component status.
func (r *identityReceiver) Start(ctx context.Context, host component.Host) error {
	if err := r.setUp(ctx, host); err != nil {
		return err
	}
	// The loops outlive Start's context, so they get their own.
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go r.verifyToken(runCtx)
	for _, loop := range r.enabledLoops() {
		r.wg.Add(1)
		go r.runLoop(runCtx, loop)
	}
	return nil
}

// setUp builds the API client and opens storage: everything but the loops.
func (r *identityReceiver) setUp(ctx context.Context, host component.Host) error {
	httpClient, err := r.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), r.settings.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("building the HTTP client: %w", err)
	}
	r.storageClient = storage.NewNopClient()
	if r.cfg.StorageID != nil {
		if r.storageClient, err = storageClient(ctx, host, *r.cfg.StorageID, r.settings.ID); err != nil {
			return err
		}
	}
	r.store = &checkpointStore{client: r.storageClient}
	if r.client == nil {
		r.client = cloudflare.New(cloudflare.Options{
			BaseURL:    r.cfg.Endpoint,
			Token:      string(r.cfg.APIToken),
			HTTPClient: httpClient,
			Limiter:    cloudflare.NewLimiter(r.cfg.RateLimit.RequestsPerWindow, r.cfg.RateLimit.Window),
			Retry:      r.retry,
			Logger:     r.settings.Logger,
			Observer:   r.telemetry,
		})
	}
	var streams []string
	for _, loop := range r.enabledLoops() {
		streams = append(streams, loop.stream)
	}
	r.status = newStatusReporter(host, r.settings.Logger, streams)
	return nil
}

// enabledLoops are the polling loops of the enabled streams.
func (r *identityReceiver) enabledLoops() []*pollLoop {
	var loops []*pollLoop
	if r.cfg.Users.Enabled {
		loops = append(loops, r.usersLoop)
	}
	if r.cfg.Logins.Enabled {
		loops = append(loops, r.loginsLoop)
	}
	return loops
}

// Shutdown stops the loops, waits for them within ctx's deadline, and closes
// storage. It is safe to call without Start and more than once.
func (r *identityReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	stopped := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		// Storage stays open: a loop still running may write a checkpoint.
		return fmt.Errorf("stopping the polling loops: %w", ctx.Err())
	}
	r.telemetry.shutdown()
	if r.storageClient == nil {
		return nil
	}
	err := r.storageClient.Close(ctx)
	r.storageClient = nil
	return err
}

// pollLoop is the schedule of one stream: every interval, each account that
// is not backing off is polled. An account whose polls Cloudflare failed
// waits twice as long after each failure, up to maxFailureBackoff, so that a
// revoked token does not spend the budget shared with the token owner's
// dashboard, while the other accounts keep their interval.
type pollLoop struct {
	stream   string
	interval time.Duration
	// accountsMaxAge is how old the account listing may be for this stream.
	accountsMaxAge time.Duration
	pollAccount    func(context.Context, cloudflare.Account) error

	// Owned by the loop's goroutine. The key "" stands for the account listing.
	failures map[string]int // consecutive polls Cloudflare failed
	skips    map[string]int // loop steps to sit out before the next poll
}

func newPollLoop(stream string, interval, accountsMaxAge time.Duration, pollAccount func(context.Context, cloudflare.Account) error) *pollLoop {
	return &pollLoop{stream: stream, interval: interval, accountsMaxAge: accountsMaxAge, pollAccount: pollAccount,
		failures: map[string]int{}, skips: map[string]int{}}
}

// due reports whether key is polled in this step, counting down its backoff.
func (l *pollLoop) due(key string) bool {
	if l.skips[key] > 0 {
		l.skips[key]--
		return false
	}
	return true
}

// done records the outcome of a poll of key. Only failures of Cloudflare
// back off: a pipeline refusal is retried on the normal schedule, as the
// receiver contract expects.
func (l *pollLoop) done(key string, err error) {
	if _, fromAPI := cloudflare.KindOf(err); !fromAPI {
		delete(l.failures, key)
		delete(l.skips, key)
		return
	}
	l.failures[key]++
	wait := failureBackoff(l.interval, l.failures[key])
	l.skips[key] = int((wait+l.interval-1)/l.interval) - 1
}

// runLoop runs a stream's steps: one at once, then one every interval. A
// step that outlasts the interval (a long backfill) is followed by the next
// without a pause.
func (r *identityReceiver) runLoop(ctx context.Context, loop *pollLoop) {
	defer r.wg.Done()
	for {
		start := time.Now()
		_ = r.pollStep(ctx, loop)
		if ctx.Err() != nil {
			return
		}
		timer := time.NewTimer(max(loop.interval-time.Since(start), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// pollStep polls every account of a stream that is due, then records the
// outcome in telemetry, status and logs. It returns the accounts' errors,
// joined, each naming its account.
func (r *identityReceiver) pollStep(ctx context.Context, loop *pollLoop) error {
	start := time.Now()
	outcomes := map[string]error{}
	var listed []string
	if loop.due("") {
		accounts, err := r.accountsToPoll(ctx, loop.accountsMaxAge)
		loop.done("", err)
		outcomes[""] = err
		if err == nil {
			listed = make([]string, 0, len(accounts))
		}
		for _, account := range accounts {
			listed = append(listed, account.ID)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !loop.due(account.ID) {
				continue
			}
			err := loop.pollAccount(ctx, account)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			loop.done(account.ID, err)
			if err != nil {
				err = fmt.Errorf("account %s: %w", account.ID, err)
			}
			outcomes[account.ID] = err
		}
	}
	var errs []error
	for _, err := range outcomes {
		if err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	elapsed := time.Since(start)
	r.telemetry.pollDone(loop.stream, elapsed, err)
	r.status.pollDone(loop.stream, outcomes, listed)
	if err != nil {
		r.settings.Logger.Debug("Poll failed; the next poll of a failed account retries from its last checkpoint",
			zap.String("stream", loop.stream), zap.Error(err))
	} else {
		r.settings.Logger.Debug("Poll done", zap.String("stream", loop.stream), zap.Duration("duration", elapsed))
	}
	return err
}

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

// verifyToken logs what Cloudflare says of the token. It is informational:
// the polls report failures themselves.
func (r *identityReceiver) verifyToken(ctx context.Context) {
	defer r.wg.Done()
	token, err := r.client.VerifyToken(ctx, "")
	if kind, ok := cloudflare.KindOf(err); ok && kind == cloudflare.KindAuth {
		// The user endpoint refuses account-owned tokens; ask an account's.
		if accounts, listErr := r.accountsToPoll(ctx, r.cfg.Users.PollInterval); listErr == nil && len(accounts) > 0 {
			token, err = r.client.VerifyToken(ctx, accounts[0].ID)
		}
	}
	switch {
	case ctx.Err() != nil:
	case err != nil:
		r.settings.Logger.Warn("Could not verify the Cloudflare API token; polls go on and report their own errors",
			zap.Error(err))
	case token.Status != "active":
		r.settings.Logger.Warn("The Cloudflare API token is not active; create a new one and update api_token",
			zap.String("token_id", token.ID), zap.String("token_status", token.Status), zap.Time("expires_on", token.ExpiresOn))
	default:
		r.settings.Logger.Info("Cloudflare API token verified",
			zap.String("token_id", token.ID), zap.String("token_status", token.Status),
			zap.Bool("account_owned", token.AccountOwned), zap.Time("expires_on", token.ExpiresOn))
	}
}

// consume hands a batch to the pipeline, recorded by the receiver's standard telemetry.
func (r *identityReceiver) consume(ctx context.Context, logs plog.Logs) error {
	count := logs.LogRecordCount()
	obsCtx := r.obsrecv.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(obsCtx, logs)
	r.obsrecv.EndLogsOp(obsCtx, metadata.Type.String(), count, err)
	if err == nil {
		r.telemetry.recordsAccepted(logs)
	}
	return err
}

// consumeOrDrop consumes a batch. It returns nil when the pipeline accepted
// it or refused it permanently (then the batch is dropped and logged, as the
// receiver contract asks); any other error means "retry from the checkpoint".
func (r *identityReceiver) consumeOrDrop(ctx context.Context, logs plog.Logs, stream string, account cloudflare.Account) error {
	err := r.consume(ctx, logs)
	if err == nil || !consumererror.IsPermanent(err) {
		return err
	}
	r.settings.Logger.Error("The pipeline refused records permanently; they are dropped and the checkpoint moves past them. "+
		"Check the errors of the exporters and processors of this pipeline",
		zap.String("stream", stream), zap.String("account_id", account.ID),
		zap.Int("records", logs.LogRecordCount()), zap.Error(err))
	return nil
}
