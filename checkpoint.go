package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginCursor is the checkpoint of one account's time-ordered log (logins,
// access_logins).
type loginCursor struct {
	// Start is the lower bound of the account's first poll (now minus
	// initial_lookback then). It is saved before anything is consumed, so
	// that while the pipeline refuses the backlog, or the collector restarts
	// before it was taken, the lookback does not slide forward with the clock.
	Start time.Time `json:"start,omitzero"`
	// HighWater is the newest event time the pipeline has accepted; the next
	// poll reads from HighWater minus loginPollOverlap (sweeps: SweepFrom).
	HighWater time.Time `json:"high_water"`
	// LastSweep is when the last complete sweep of the late-arrival window
	// ended (the receiver's clock). It is stored so that a restart keeps the
	// schedule: a crash can delay a sweep, never skip one.
	LastSweep time.Time `json:"last_sweep,omitzero"`
	// SweepFrom is the lower bound of the next sweep: the late-arrival window
	// before the checkpoint the previous sweep ended at. It moves only when a
	// sweep completes, so entries do not age out of reach while sweeps fail.
	SweepFrom time.Time `json:"sweep_from,omitzero"`
	// Emitted maps the ids of accepted entries that a poll or a sweep will
	// read again (those at or after HighWater minus the window) to their time;
	// an entry without a readable time is kept by the time of the poll that
	// emitted it.
	Emitted emittedIDs `json:"emitted"`
}

// emittedIDs maps entry ids to their times.
type emittedIDs map[string]time.Time

// before returns HighWater minus d, never before the first poll's lower
// bound; Start while nothing was accepted.
func (c *loginCursor) before(d time.Duration) time.Time {
	if c.HighWater.IsZero() {
		return c.Start
	}
	since := c.HighWater.Add(-d)
	if since.Before(c.Start) {
		return c.Start
	}
	return since
}

// progress is how far the cursor got: its high-water mark, or its start
// while nothing was accepted.
func (c *loginCursor) progress() time.Time {
	if c.HighWater.IsZero() {
		return c.Start
	}
	return c.HighWater
}

// accept moves the cursor past entries the pipeline has taken, then forgets
// ids that have fallen out of the window re-read by the next poll.
func (c *loginCursor) accept(entries []entryStamp, lateArrivalWindow time.Duration, polled time.Time) {
	if c.Emitted == nil {
		c.Emitted = make(emittedIDs, len(entries))
	}
	for _, entry := range entries {
		// A copy: the id shares its memory with the whole page it came in
		// (cloudflare.DecodeAuditPage), which it would otherwise keep alive.
		id, when := strings.Clone(entry.id), entry.when
		if when.IsZero() {
			c.Emitted[id] = polled
			continue
		}
		c.Emitted[id] = when
		if when.After(c.HighWater) {
			c.HighWater = when
		}
	}
	// Polls re-read loginPollOverlap before the high-water mark, sweeps the window.
	horizon := c.HighWater.Add(-max(lateArrivalWindow, loginPollOverlap))
	switch {
	case lateArrivalWindow == 0 && !c.HighWater.IsZero():
		// No sweeps read back: SweepFrom follows what the polls re-read, so
		// that the ids stay bounded and a window turned on later starts its
		// first sweep where the kept ids do.
		c.SweepFrom = c.before(loginPollOverlap)
	case !c.SweepFrom.IsZero() && c.SweepFrom.Before(horizon):
		horizon = c.SweepFrom // the next sweep still reads from there
	}
	for id, when := range c.Emitted {
		if when.Before(horizon) {
			delete(c.Emitted, id)
		}
	}
}

// memberSnapshot is the last member list of one account the pipeline accepted.
type memberSnapshot = listSnapshot[cloudflare.Member]

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

// storageError is a failed read or write of the storage extension: unlike
// a refusal of the pipeline, nothing else reports it.
type storageError struct{ err error }

func (e storageError) Error() string { return e.err.Error() }
func (e storageError) Unwrap() error { return e.err }

// loginCursorKey names the login checkpoint of one source: v1's keeps the
// key it had before there were two sources.
func loginCursorKey(source, accountID string) string {
	if source == loginSourceV2 {
		return "logins.v2." + accountID
	}
	return "logins." + accountID
}

func memberSnapshotKey(accountID string) string { return "members." + accountID }

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
