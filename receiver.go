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

// identityReceiver runs one polling loop per enabled stream, each on its own
// interval. The streams share the API client (and so its rate limiter), the
// account directory, the member directory and storage.
type identityReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	next      consumer.Logs
	obsrecv   *receiverhelper.ObsReport
	telemetry *receiverTelemetry
	now       func() time.Time
	retry     cloudflare.RetryPolicy

	client        cloudflare.Client
	storageClient storage.Client
	store         *checkpointStore
	status        *statusReporter
	accounts      *accountDirectory
	members       *memberDirectory
	histories     *loginHistories
	streams       []*stream

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
		cfg:      cfg,
		settings: set,
		next:     next,
		obsrecv:  obsrecv,
		now:      time.Now,
		retry:    cloudflare.DefaultRetryPolicy,
		members:  newMemberDirectory(),
	}
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
	for _, s := range r.streams {
		r.wg.Add(1)
		go r.runLoop(runCtx, s)
	}
	return nil
}

// setUp builds the API client, opens storage and registers the streams:
// everything but the loops.
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
	r.histories = newLoginHistories(r.store)
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
	r.accounts = newAccountDirectory(r.client, r.cfg.Accounts, r.now)
	// A new stream is registered here; its constructor returns nil when it is disabled.
	r.streams = registered(newUsersStream(r), newLoginsStream(r))
	names := make([]string, len(r.streams))
	for i, s := range r.streams {
		names[i] = s.name
	}
	r.status = newStatusReporter(host, r.settings.Logger, names)
	return nil
}

// registered drops the streams that are disabled (nil).
func registered(streams ...*stream) []*stream {
	var enabled []*stream
	for _, s := range streams {
		if s != nil {
			enabled = append(enabled, s)
		}
	}
	return enabled
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

// runLoop runs a stream's steps: one at once, then one every interval. A
// step that outlasts the interval (a long backfill) is followed by the next
// without a pause.
func (r *identityReceiver) runLoop(ctx context.Context, s *stream) {
	defer r.wg.Done()
	for {
		start := time.Now()
		_ = r.pollStep(ctx, s)
		if ctx.Err() != nil {
			return
		}
		timer := time.NewTimer(max(s.interval-time.Since(start), 0))
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
func (r *identityReceiver) pollStep(ctx context.Context, s *stream) error {
	start := time.Now()
	outcomes := map[string]error{}
	var listed []string
	var errs []error // in polling order, for a stable message
	if s.due("") {
		accounts, err := r.accounts.list(ctx)
		s.done("", err)
		outcomes[""] = err
		if err != nil {
			errs = append(errs, err)
		} else {
			listed = make([]string, 0, len(accounts))
		}
		for _, account := range accounts {
			listed = append(listed, account.ID)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !s.due(account.ID) {
				continue
			}
			err := s.pollAccount(ctx, account)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.done(account.ID, err)
			if err != nil {
				err = fmt.Errorf("account %s: %w", account.ID, err)
				errs = append(errs, err)
			}
			outcomes[account.ID] = err
		}
	}
	err := errors.Join(errs...)
	elapsed := time.Since(start)
	r.telemetry.pollDone(s.name, elapsed, err)
	r.status.pollDone(s.name, outcomes, listed)
	if err != nil {
		r.settings.Logger.Debug("Poll failed; the next poll of a failed account retries from its last checkpoint",
			zap.String("stream", s.name), zap.Error(err))
	} else {
		r.settings.Logger.Debug("Poll done", zap.String("stream", s.name), zap.Duration("duration", elapsed))
	}
	return err
}

// verifyToken logs what Cloudflare says of the token. It is informational:
// the polls report failures themselves.
func (r *identityReceiver) verifyToken(ctx context.Context) {
	defer r.wg.Done()
	token, err := r.client.VerifyToken(ctx, "")
	if kind, ok := cloudflare.KindOf(err); ok && kind == cloudflare.KindAuth {
		// The user endpoint refuses account-owned tokens; ask an account's.
		if accounts, listErr := r.accounts.list(ctx); listErr == nil && len(accounts) > 0 {
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
