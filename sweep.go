package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// Late arrivals: a log shows some entries minutes after newer ones.
// A poll reads only [checkpoint - loginPollOverlap, now); every
// late_arrival_sweep a sweep re-reads from a window before the checkpoint of
// the previous sweep (loginCursor.SweepFrom) up to the poll's range, so that
// every entry shown up to late_arrival_window late is caught by the sweep
// after it shows, and the window costs its requests once per sweep rather
// than once per poll. The lower bound and the time of the last complete sweep
// are stored: a restart or a failing sweep can delay a sweep, never skip one.

// sweep re-reads [SweepFrom, checkpoint - loginPollOverlap) once; every
// entry it finds was shown late, and its lateness is recorded.
func (w *windowLog[E]) sweep(ctx context.Context, account cloudflare.Account, cursor *loginCursor, now time.Time) error {
	if before := cursor.before(loginPollOverlap); cursor.SweepFrom.Before(before) {
		err := w.read(ctx, account, cursor, cursor.SweepFrom, before, now, 0, func(fresh []E) {
			if w.lateFound == nil {
				return
			}
			times := make([]time.Time, 0, len(fresh))
			for i := range fresh {
				if _, when := w.stamp(&fresh[i]); !when.IsZero() {
					times = append(times, when)
				}
			}
			w.lateFound(times, now)
		})
		if err != nil {
			return err
		}
	}
	// The next sweep starts a window before this one's checkpoint: an entry
	// shown after this sweep, up to a window late, is in its range. It never
	// starts before this one did: the ids emitted before that are not kept
	// (a window turned on or widened since only reaches back from here).
	next := cursor.before(w.settings.LateArrivalWindow)
	cursor.LastSweep, cursor.SweepFrom = now, latest(next, cursor.SweepFrom)
	return w.cursors.save(ctx, account.ID, cursor)
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
