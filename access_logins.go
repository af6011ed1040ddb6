package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// accessLoginsStream reads every account's Zero Trust Access authentication
// log (end users signing in to Access applications) with the checkpoint,
// late-arrival sweeps and crash guarantees of the logins stream (windowLog).
type accessLoginsStream struct {
	r       *identityReceiver
	cursors *checkpoints[loginCursor]
	window  *windowLog[cloudflare.AccessRequest]
}

func accessLoginCursorKey(accountID string) string { return "access_logins." + accountID }

// newAccessLoginsStream returns the access_logins stream, or nil when it is disabled.
func newAccessLoginsStream(r *identityReceiver) *stream {
	cfg := r.cfg.AccessLogins
	if !cfg.Enabled {
		return nil
	}
	a := &accessLoginsStream{r: r,
		cursors: newCheckpoints[loginCursor](r.store, r.settings.Logger, accessLoginCursorKey,
			"Discarding an unreadable Access login checkpoint; this account is read again from access_logins.initial_lookback")}
	a.window = &windowLog[cloudflare.AccessRequest]{r: r, stream: streamAccessLogins, cursors: a.cursors,
		settings:      cfg.WindowConfig,
		list:          r.client.ListAccessRequests,
		keep:          func(*cloudflare.AccessRequest) bool { return true },
		stamp:         cloudflare.AccessRequestStamp,
		appendRecords: appendAccessLoginRecords,
	}
	return newStream(streamAccessLogins, cfg.PollInterval, a.pollAccount)
}

func (a *accessLoginsStream) pollAccount(ctx context.Context, account cloudflare.Account) error {
	cursor, err := a.cursors.load(ctx, account.ID)
	if err != nil {
		return err
	}
	return a.window.poll(ctx, account, cursor, a.r.now())
}

func appendAccessLoginRecords(records plog.LogRecordSlice, _ cloudflare.Account, fresh []cloudflare.AccessRequest, observed time.Time) {
	for i := range fresh {
		appendAccessLoginRecord(records, &fresh[i], observed)
	}
}
