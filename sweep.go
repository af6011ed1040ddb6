package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// Late arrivals: the audit log shows some entries minutes after newer ones.
// A poll reads only [checkpoint - loginPollOverlap, now); every
// late_arrival_sweep a sweep re-reads the window before that, so the window
// costs its requests once per sweep rather than once per poll. The sweep's
// lower bound is fixed, and stored, when the sweep falls due (see
// loginCursor.SweepFrom), and the time of the last complete sweep is stored
// too: a restart or a failing sweep can delay a sweep, never skip one.

// sweep re-reads the late-arrival window, [SweepFrom, checkpoint -
// loginPollOverlap), once; every entry it finds was shown late, and its
// lateness is recorded.
func (l *loginsStream) sweep(ctx context.Context, account cloudflare.Account, cursor *loginCursor, now time.Time) error {
	if before := cursor.before(loginPollOverlap); cursor.SweepFrom.Before(before) {
		err := l.read(ctx, account, cursor, cursor.SweepFrom, before, now, func(fresh []cloudflare.AuditEntry) {
			l.r.telemetry.lateLoginsFound(fresh, now)
		})
		if err != nil {
			return err
		}
	}
	cursor.LastSweep, cursor.SweepFrom = now, time.Time{}
	return l.cursors.save(ctx, account.ID, cursor)
}
