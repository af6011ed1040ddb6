package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// identityReceiver runs one polling loop per enabled stream, each on its own
// interval. The streams share the API client (and so its rate limiter), the
// account directory, the member directory and storage.
type identityReceiver struct {
	cfg        *Config
	settings   receiver.Settings
	downstream *downstream
	telemetry  *receiverTelemetry
	now        func() time.Time
	// sleep, when set, replaces the rate limiter's waits (and the limiter
	// then reads now): tests and benchmarks on an injected clock move it.
	sleep func(context.Context, time.Duration) error
	retry cloudflare.RetryPolicy

	client        cloudflare.Client
	limiter       *cloudflare.Limiter // the client's; nil with a client given by a test
	storageClient storage.Client
	store         *checkpointStore
	status        *statusReporter
	accounts      *accountDirectory
	members       *memberDirectory
	histories     *loginHistories
	streams       []*stream
	plan          planWatch // the request rate the polls need against the budget
	// term, with k8s_leader_elector and storage, is this replica's term of
	// leadership, which each batch and checkpoint write checks (leader.go).
	term *leaderTerm

	mu       sync.Mutex
	loops    *pollRun // the loops started last; nil before any
	shutDown bool     // Shutdown began: no loops start any more
}

// pollRun is one run of the polling loops: from Start to Shutdown, or one
// term of leadership.
type pollRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once every loop returned
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
		now:      time.Now,
		retry:    cloudflare.DefaultRetryPolicy,
	}
	r.telemetry, err = newReceiverTelemetry(set.TelemetrySettings, func() time.Time { return r.now() }, r.plan.rates)
	if err != nil {
		return nil, err
	}
	r.downstream = &downstream{next: next, obsrecv: obsrecv, telemetry: r.telemetry, logger: set.Logger, format: cfg.Format,
		fence: r.checkTerm}
	return r, nil
}

// Start opens storage and starts the loops, or with k8s_leader_elector
// leaves starting them to the election. It never waits for Cloudflare: an
// unreachable API or a refused token shows up as component status.
func (r *identityReceiver) Start(ctx context.Context, host component.Host) error {
	if err := r.setUp(ctx, host); err != nil {
		return err
	}
	if r.cfg.LeaderElectorID != nil {
		return r.pollWhileLeading(host, *r.cfg.LeaderElectorID)
	}
	// The loops outlive Start's context, so they get their own.
	r.startLoops(context.Background(), nil)
	return nil
}

// startLoops stops the loops of the previous run, if any, and waits for them;
// runs reset when not nil; then starts token verification and one loop per
// stream, until parent is done or stopLoops. Nothing starts once Shutdown began.
func (r *identityReceiver) startLoops(parent context.Context, reset func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shutDown {
		return
	}
	if r.loops != nil {
		r.loops.cancel()
		<-r.loops.done
	}
	if reset != nil {
		reset()
	}
	ctx, cancel := context.WithCancel(parent)
	run := &pollRun{cancel: cancel, done: make(chan struct{})}
	term := r.term
	go func() {
		defer close(run.done)
		if term != nil {
			term.end = cancel
			if term.begin(ctx) != nil {
				return // the term ended before it could begin
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() { r.verifyToken(ctx) })
		for _, s := range r.streams {
			wg.Go(func() { r.runLoop(ctx, s) })
		}
		wg.Wait()
	}()
	r.loops = run
}

// stopLoops cancels the loops, if any run, and returns a channel closed once
// they all returned.
func (r *identityReceiver) stopLoops() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loops == nil {
		stopped := make(chan struct{})
		close(stopped)
		return stopped
	}
	r.loops.cancel()
	return r.loops.done
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
	r.store = &checkpointStore{client: r.storageClient, memoryOnly: r.cfg.StorageID == nil, beforeWrite: r.checkTerm}
	if r.client == nil {
		limiter := cloudflare.NewLimiter(r.cfg.RateLimit.RequestsPerWindow, r.cfg.RateLimit.Window).WithReserve(r.cfg.RateLimit.Reserve)
		if r.sleep != nil {
			limiter.WithClock(r.now, r.sleep)
		}
		r.limiter = limiter
		r.client = cloudflare.New(cloudflare.Options{
			BaseURL:    r.cfg.Endpoint,
			Token:      string(r.cfg.APIToken),
			HTTPClient: httpClient,
			Limiter:    limiter,
			Retry:      r.retry,
			Logger:     r.settings.Logger,
			Observer:   r.telemetry,
		})
	}
	r.newPollState(host)
	return nil
}

// newPollState builds what the loops keep in memory, empty: the account and
// member directories, the enabled streams with their checkpoint caches and
// backoff, and the status. Polls then start from the checkpoints in storage.
func (r *identityReceiver) newPollState(host component.Host) {
	r.accounts = newAccountDirectory(r.client, r.cfg.Accounts, r.now)
	r.members = newMemberDirectory()
	r.histories = newLoginHistories(r.store)
	env := &streamEnv{client: r.client, store: r.store, logger: r.settings.Logger, now: r.now,
		version: r.settings.BuildInfo.Version, downstream: r.downstream,
		members: r.members, histories: r.histories, telemetry: r.telemetry}
	r.streams = nil
	var names []string
	for _, s := range allStreams {
		if s.enabled(r.cfg) {
			r.streams = append(r.streams, newStream(s.name, s.pollInterval(r.cfg), s.open(env, r.cfg)))
			names = append(names, s.name)
		}
	}
	r.status = newStatusReporter(host, r.settings.Logger, names)
}

// Shutdown stops the loops, waits for them within ctx's deadline, and closes
// storage. It is safe to call without Start and more than once.
func (r *identityReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.shutDown = true
	r.mu.Unlock()
	select {
	case <-r.stopLoops():
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
//
// Polls take turns: a poll that ends its turn with more to read (a
// backfill) goes on after every other account due has been polled, turn by
// turn among the unfinished ones, until they are done or the step has lasted
// the stream's interval. The next step then polls every account again
// before the backfills go on: one account's backlog delays the others' polls
// by at most a turn.
func (r *identityReceiver) pollStep(ctx context.Context, s *stream) error {
	start := time.Now()
	stepStart := r.now()
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
			r.plan.check(r.cfg, r.settings.Logger, len(accounts), r.members.pagesPerAccount)
			if r.limiter != nil {
				r.limiter.Spread(r.plan.overBudget())
			}
		}
		due := make([]cloudflare.Account, 0, len(accounts))
		for _, account := range accounts {
			listed = append(listed, account.ID)
			if s.due(account.ID) {
				due = append(due, account)
			}
		}
		// Over budget, the step spreads its polls over the interval: a stream
		// that needs less than its share of the budget then takes it evenly,
		// and leaves the rest to the others all along (requestPlan.shares).
		pace := r.plan.overBudget() && len(due) > 1
		for first := true; len(due) > 0; first = false {
			var unfinished []cloudflare.Account
			for i, account := range due {
				if first && pace {
					if err := r.waitUntil(ctx, stepStart.Add(s.interval*time.Duration(i)/time.Duration(len(due)))); err != nil {
						return err
					}
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				err := s.pollAccount(ctx, account)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, errTurnOver) {
					unfinished = append(unfinished, account)
					err = nil
				}
				s.done(account.ID, err)
				if err != nil {
					err = fmt.Errorf("account %s: %w", account.ID, err)
					errs = append(errs, err)
				}
				outcomes[account.ID] = err
			}
			if r.now().Sub(stepStart) >= s.interval {
				break // the next step polls every account first
			}
			due = unfinished
		}
	}
	if ctx.Err() != nil || len(outcomes) == 0 {
		// Cut short by shutdown or a lost lease, or nothing due (every key
		// sitting out its backoff): no poll ran, so there is no outcome.
		return ctx.Err()
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

// waitUntil waits until the receiver's clock reads t, or ctx ends.
func (r *identityReceiver) waitUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(r.now())
	if d <= 0 {
		return nil
	}
	if r.sleep != nil {
		return r.sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// verifyToken logs what Cloudflare says of the token. It is informational:
// the polls report failures themselves.
func (r *identityReceiver) verifyToken(ctx context.Context) {
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
