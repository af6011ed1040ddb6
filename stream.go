package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// stream is one kind of record the receiver polls, account by account, on
// its own interval: users, logins. Its poll reads an account, emits what is
// new and moves the account's checkpoint with deliver.
//
// An account whose polls Cloudflare failed waits twice as long after each
// failure, up to maxFailureBackoff, so that a revoked token does not spend
// the budget shared with the token owner's dashboard, while the other
// accounts keep their interval.
type stream struct {
	name        string
	interval    time.Duration
	pollAccount func(context.Context, cloudflare.Account) error

	// Owned by the stream's loop. The key "" stands for the account listing.
	failures map[string]int // consecutive polls Cloudflare failed
	skips    map[string]int // loop steps to sit out before the next poll
}

func newStream(name string, interval time.Duration, pollAccount func(context.Context, cloudflare.Account) error) *stream {
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

// checkpoints holds one stream's checkpoint of every account: in memory, and
// in storage when it is configured. Only the stream's loop uses it.
type checkpoints[S any] struct {
	store  *checkpointStore
	logger *zap.Logger
	// key names an account's checkpoint in storage.
	key func(accountID string) string
	// discardWarning is the WARN logged when an unreadable checkpoint is discarded.
	discardWarning string
	// companions, when set, returns writes that must be stored in one batch
	// with an account's checkpoint, and what to call once they were.
	companions func(accountID string) (ops []*storage.Operation, stored func())
	byAccount  map[string]*S
}

func newCheckpoints[S any](store *checkpointStore, logger *zap.Logger, key func(string) string, discardWarning string) *checkpoints[S] {
	return &checkpoints[S]{store: store, logger: logger, key: key, discardWarning: discardWarning, byAccount: map[string]*S{}}
}

// load returns an account's checkpoint from memory, else from storage, else
// nil. An unreadable one is discarded with a WARN: the account then starts
// afresh, which costs duplicates, never a stuck receiver.
func (c *checkpoints[S]) load(ctx context.Context, accountID string) (*S, error) {
	if state, ok := c.byAccount[accountID]; ok {
		return state, nil
	}
	state := new(S)
	found, err := c.store.load(ctx, c.key(accountID), state)
	if errors.Is(err, errCorruptCheckpoint) {
		c.logger.Warn(c.discardWarning, zap.String("account_id", accountID), zap.Error(err))
		found, err = false, nil
	}
	if err != nil || !found {
		return nil, err
	}
	c.byAccount[accountID] = state
	return state, nil
}

// save makes state the account's checkpoint.
func (c *checkpoints[S]) save(ctx context.Context, accountID string, state *S) error {
	c.byAccount[accountID] = state
	if c.companions == nil {
		return c.store.save(ctx, c.key(accountID), state)
	}
	ops, stored := c.companions(accountID)
	if err := c.store.save(ctx, c.key(accountID), state, ops...); err != nil {
		return err
	}
	if stored != nil {
		stored()
	}
	return nil
}

// deliver is the delivery guarantee of every stream: it hands logs to the
// pipeline, and only once the pipeline took them (or refused them for good,
// see consume) advances the account's checkpoint past them and saves
// it. A crash in between repeats this batch, never loses one.
//
// Under k8s_leader_elector the batch, like every checkpoint write, is handed
// over only while this replica's term is the stored one (leader.go): a
// replaced leader neither emits nor stores more.
func deliver[S any](ctx context.Context, r *identityReceiver, c *checkpoints[S], streamName string, account cloudflare.Account, logs plog.Logs, advance func() *S) error {
	if logs.LogRecordCount() > 0 {
		if err := r.checkTerm(ctx); err != nil {
			return err
		}
		if err := r.consume(ctx, logs, streamName, account); err != nil {
			return err
		}
	}
	return c.save(ctx, account.ID, advance())
}
