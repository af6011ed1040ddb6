package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"strings"
	"time"
)

// windowOverlap is how far before the checkpoint every poll of a
// time-ordered log starts. It covers entries that share the checkpoint's
// instant and the log's immediate lag: an entry that shows up within this
// long of a newer one is emitted by the next poll; a later one waits for
// the next sweep.
const windowOverlap = 5 * time.Second

// windowCursor is the checkpoint of one account's time-ordered log (logins,
// access_logins). Its JSON field names are those of every stored checkpoint.
type windowCursor struct {
	// Start is the lower bound of the account's first poll (now minus
	// initial_lookback then). It is saved before anything is consumed, so
	// that while the pipeline refuses the backlog, or the collector restarts
	// before it was taken, the lookback does not slide forward with the clock.
	Start time.Time `json:"start,omitzero"`
	// HighWater is the newest event time the pipeline has accepted; the next
	// poll reads from HighWater minus windowOverlap (sweeps: SweepFrom).
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

// entryStamp is the id and time of an emitted entry.
type entryStamp struct {
	id   string
	when time.Time
}

// before returns HighWater minus d, never before the first poll's lower
// bound; Start while nothing was accepted.
func (c *windowCursor) before(d time.Duration) time.Time {
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
func (c *windowCursor) progress() time.Time {
	if c.HighWater.IsZero() {
		return c.Start
	}
	return c.HighWater
}

// accept moves the cursor past entries the pipeline has taken, then forgets
// ids that have fallen out of the window re-read by the next poll.
func (c *windowCursor) accept(entries []entryStamp, lateArrivalWindow time.Duration, polled time.Time) {
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
	// Polls re-read windowOverlap before the high-water mark, sweeps the window.
	horizon := c.HighWater.Add(-max(lateArrivalWindow, windowOverlap))
	switch {
	case lateArrivalWindow == 0 && !c.HighWater.IsZero():
		// No sweeps read back: SweepFrom follows what the polls re-read, so
		// that the ids stay bounded and a window turned on later starts its
		// first sweep where the kept ids do.
		c.SweepFrom = c.before(windowOverlap)
	case !c.SweepFrom.IsZero() && c.SweepFrom.Before(horizon):
		horizon = c.SweepFrom // the next sweep still reads from there
	}
	for id, when := range c.Emitted {
		if when.Before(horizon) {
			delete(c.Emitted, id)
		}
	}
}

// appendJSON writes the cursor as encoding/json would from its field tags
// (the ids in any order): it holds the ids of a whole late-arrival window
// and is written with every page, and encoding/json would reflect over
// each, sort them, and scan its own output once more.
func (c *windowCursor) appendJSON(out []byte) ([]byte, error) {
	var err error
	out = append(out, '{')
	if !c.Start.IsZero() {
		if out, err = appendTimeField(out, "start", c.Start); err != nil {
			return nil, err
		}
		out = append(out, ',')
	}
	if out, err = appendTimeField(out, "high_water", c.HighWater); err != nil {
		return nil, err
	}
	if !c.LastSweep.IsZero() {
		if out, err = appendTimeField(append(out, ','), "last_sweep", c.LastSweep); err != nil {
			return nil, err
		}
	}
	if !c.SweepFrom.IsZero() {
		if out, err = appendTimeField(append(out, ','), "sweep_from", c.SweepFrom); err != nil {
			return nil, err
		}
	}
	out = append(out, `,"emitted":`...)
	if c.Emitted == nil {
		return append(out, "null}"...), nil
	}
	out = append(out, '{')
	first := true
	for id, when := range c.Emitted {
		if !first {
			out = append(out, ',')
		}
		first = false
		if out, err = appendTimeField(out, id, when); err != nil {
			return nil, err
		}
	}
	return append(out, "}}"...), nil
}
