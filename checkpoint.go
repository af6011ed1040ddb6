package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/jsonappend"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// checkpointStore keeps checkpoints through a storage extension client; with
// no storage configured it is given a no-op client and state lives only in the
// receiver's memory.
type checkpointStore struct {
	client storage.Client
	// memoryOnly says the client is that no-op one: checkpoints are then
	// neither encoded nor read.
	memoryOnly bool
	// beforeWrite, when set, is called before every write and stops it with
	// its error: a replica that lost its term of leadership writes nothing.
	beforeWrite func(context.Context) error
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

// storageError is a failed read or write of the storage extension: unlike
// a refusal of the pipeline, nothing else reports it.
type storageError struct{ err error }

func (e storageError) Error() string { return e.err.Error() }
func (e storageError) Unwrap() error { return e.err }

// The storage keys: every key the receiver writes through its storage
// extension client (which gives each receiver a namespace of its own).
// Stored checkpoints are found by these names; renaming one starts its
// accounts afresh.

// memberSnapshotKey holds the users stream's listSnapshot of an account.
func memberSnapshotKey(accountID string) string { return "members." + accountID }

// accessUserSnapshotKey holds the access_users stream's listSnapshot of an account.
func accessUserSnapshotKey(accountID string) string { return "access_users." + accountID }

// loginCursorKey holds the logins stream's windowCursor of an account, one per logins.source.
func loginCursorKey(source, accountID string) string {
	if source == loginSourceV2 {
		return "logins.v2." + accountID
	}
	return "logins." + accountID
}

// accessLoginCursorKey holds the access_logins stream's windowCursor of an account.
func accessLoginCursorKey(accountID string) string { return "access_logins." + accountID }

// loginHistoryKey holds the loginHistory of one user of an account.
func loginHistoryKey(accountID, user string) string {
	return "logins.history." + accountID + "." + user
}

// leaderTermKey holds the leader term counter (leader.go).
const leaderTermKey = "leader_term"

// load reads the checkpoint under key into into, and reports whether there was one.
func (s *checkpointStore) load(ctx context.Context, key string, into any) (bool, error) {
	if s.memoryOnly {
		return false, nil
	}
	data, err := s.client.Get(ctx, key)
	if err != nil {
		return false, storageError{fmt.Errorf("reading checkpoint %q: %w", key, err)}
	}
	if len(data) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(data, into); err != nil {
		return false, fmt.Errorf("%w %q: %w", errCorruptCheckpoint, key, err)
	}
	return true, nil
}

// loadBytes reads the value stored under key as it is; nil when there is none.
func (s *checkpointStore) loadBytes(ctx context.Context, key string) ([]byte, error) {
	if s.memoryOnly {
		return nil, nil
	}
	data, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, storageError{fmt.Errorf("reading checkpoint %q: %w", key, err)}
	}
	return data, nil
}

// save writes value as the checkpoint under key, in one batch with also.
func (s *checkpointStore) save(ctx context.Context, key string, value any, also ...*storage.Operation) error {
	if s.memoryOnly {
		return nil
	}
	data, err := encodeCheckpoint(value)
	if err != nil {
		return fmt.Errorf("encoding checkpoint %q: %w", key, err)
	}
	if err := s.allowWrite(ctx); err != nil {
		return err
	}
	if len(also) == 0 {
		err = s.client.Set(ctx, key, data)
	} else {
		err = s.client.Batch(ctx, append([]*storage.Operation{storage.SetOperation(key, data)}, also...)...)
	}
	if err != nil {
		return storageError{fmt.Errorf("writing checkpoint %q: %w", key, err)}
	}
	return nil
}

// allowWrite returns the error of beforeWrite, if set.
func (s *checkpointStore) allowWrite(ctx context.Context) error {
	if s.beforeWrite == nil {
		return nil
	}
	return s.beforeWrite(ctx)
}

// checkpointAppender is a checkpoint that appends its own JSON encoding.
type checkpointAppender interface {
	appendJSON(out []byte) ([]byte, error)
}

// encodeCheckpoint encodes a checkpoint as JSON.
func encodeCheckpoint(value any) ([]byte, error) {
	if appender, ok := value.(checkpointAppender); ok {
		return appender.appendJSON(nil)
	}
	return json.Marshal(value)
}

// appendTimeField appends "key":"time", the time as time.Time encodes it
// (RFC 3339 with nanoseconds; a year it cannot write is an error).
func appendTimeField(out []byte, key string, t time.Time) ([]byte, error) {
	out = append(jsonappend.String(out, key), ':', '"')
	out, err := t.AppendText(out)
	if err != nil {
		return nil, err
	}
	return append(out, '"'), nil
}

var (
	errNotStorageExtension = errors.New("is not a storage extension")
	errCorruptCheckpoint   = errors.New("undecodable checkpoint")
)

// storageClient opens this receiver's client of the storage extension named by id.
func storageClient(ctx context.Context, host component.Host, id, owner component.ID) (storage.Client, error) {
	ext, found := host.GetExtensions()[id]
	if !found {
		return nil, fmt.Errorf("storage: extension %q is not configured in the service's extensions", id)
	}
	storageExt, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q %w", id, errNotStorageExtension)
	}
	return storageExt.GetClient(ctx, component.KindReceiver, owner, "")
}
