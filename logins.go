package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginActionType is the audit log action type of dashboard and API logins.
const loginActionType = "login"

// pollLogins reads every account's login audit entries since its checkpoint.
func (r *identityReceiver) pollLogins(ctx context.Context) error {
	return r.forEachAccount(ctx, r.cfg.Users.PollInterval, r.pollAccountLogins)
}

// pollAccountLogins reads [checkpoint - late_arrival_window, now) page by
// page, emits the entries not emitted before, and moves the checkpoint after
// each page the pipeline accepted: a failure part-way loses nothing.
func (r *identityReceiver) pollAccountLogins(ctx context.Context, account cloudflare.Account) error {
	cursor, err := r.loginCursor(ctx, account.ID)
	if err != nil {
		return err
	}
	now := r.now()
	since := now.Add(-r.cfg.Logins.InitialLookback)
	if !cursor.HighWater.IsZero() {
		since = cursor.HighWater.Add(-r.cfg.Logins.LateArrivalWindow)
	}
	query := cloudflare.LoginQuery{AccountID: account.ID, Since: since, Before: now, PageSize: r.cfg.Logins.PageSize}
	return r.client.ListLogins(ctx, query, func(page []cloudflare.AuditEntry) error {
		fresh := unseenLogins(page, cursor)
		if len(fresh) == 0 {
			return nil
		}
		logs, records := newAccountLogs(account, r.settings.BuildInfo.Version)
		records.EnsureCapacity(len(fresh))
		for i := range fresh {
			known := r.members.lookup(account.ID, fresh[i].ActorID, fresh[i].ActorEmail)
			appendLoginRecord(records, &fresh[i], known, now)
		}
		if err := r.consumeOrDrop(ctx, logs, streamLogins, account); err != nil {
			return err
		}
		cursor.accept(fresh, r.cfg.Logins.LateArrivalWindow)
		r.settings.Logger.Debug("Login records emitted", zap.String("account_id", account.ID),
			zap.Int("records", len(fresh)), zap.Time("checkpoint", cursor.HighWater))
		return r.store.saveLoginCursor(ctx, account.ID, cursor)
	})
}

// unseenLogins keeps the login entries of a page that were not emitted
// before, nor earlier in the same page.
func unseenLogins(page []cloudflare.AuditEntry, cursor *loginCursor) []cloudflare.AuditEntry {
	fresh := make([]cloudflare.AuditEntry, 0, len(page))
	inPage := make(map[string]bool, len(page))
	for i := range page {
		entry := &page[i]
		if entry.ActionType != loginActionType || inPage[entry.ID] {
			continue
		}
		if _, emitted := cursor.Emitted[entry.ID]; emitted {
			continue
		}
		inPage[entry.ID] = true
		fresh = append(fresh, *entry)
	}
	return fresh
}

// loginCursor returns the checkpoint of an account, from memory or storage.
func (r *identityReceiver) loginCursor(ctx context.Context, accountID string) (*loginCursor, error) {
	if cursor, ok := r.loginCursors[accountID]; ok {
		return cursor, nil
	}
	cursor, err := r.store.loadLoginCursor(ctx, accountID)
	if errors.Is(err, errCorruptCheckpoint) {
		r.settings.Logger.Warn("Discarding an unreadable login checkpoint; this account is read again from initial_lookback",
			zap.String("account_id", accountID), zap.Error(err))
		cursor, err = loginCursor{}, nil
	}
	if err != nil {
		return nil, err
	}
	r.loginCursors[accountID] = &cursor
	return &cursor, nil
}
