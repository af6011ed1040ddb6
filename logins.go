package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginActionType is the audit log action type of dashboard and API logins.
const loginActionType = "login"

// progressInterval is the shortest time between two progress lines of a backfill.
const progressInterval = 10 * time.Second

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
	progress := newLoginProgress(r.settings.Logger, account.ID, since, now, r.cfg.Logins.PageSize)
	err = r.client.ListLogins(ctx, query, func(page []cloudflare.AuditEntry) error {
		fresh := unseenLogins(page, cursor)
		if len(fresh) > 0 {
			if err := r.emitLogins(ctx, account, fresh, cursor, now); err != nil {
				return err
			}
		}
		progress.pageDone(len(fresh), cursor.HighWater)
		return nil
	})
	progress.finish(err)
	return err
}

// emitLogins sends one page of new entries and, once the pipeline took them,
// writes the checkpoint past them.
func (r *identityReceiver) emitLogins(ctx context.Context, account cloudflare.Account, fresh []cloudflare.AuditEntry, cursor *loginCursor, now time.Time) error {
	logs, records := newAccountLogs(account, r.settings.BuildInfo.Version)
	records.EnsureCapacity(len(fresh))
	for i := range fresh {
		known := r.members.lookup(account.ID, fresh[i].ActorID, fresh[i].ActorEmail)
		appendLoginRecord(records, &fresh[i], known, now)
	}
	if err := r.consumeOrDrop(ctx, logs, streamLogins, account); err != nil {
		return err
	}
	if r.beforeCheckpoint != nil {
		if err := r.beforeCheckpoint(); err != nil {
			return err
		}
	}
	cursor.accept(fresh, r.cfg.Logins.LateArrivalWindow)
	r.telemetry.loginsAccepted(account.ID, cursor.HighWater)
	return r.store.saveLoginCursor(ctx, account.ID, cursor)
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

// loginProgress reports a poll that emits more than a page (a backfill): a
// line at most every progressInterval, and a summary when it ends.
type loginProgress struct {
	logger        *zap.Logger
	accountID     string
	since, before time.Time
	pageSize      int
	started       time.Time
	lastReport    time.Time
	reported      bool
	pages         int
	records       int
}

func newLoginProgress(logger *zap.Logger, accountID string, since, before time.Time, pageSize int) *loginProgress {
	now := time.Now()
	return &loginProgress{logger: logger, accountID: accountID, since: since, before: before, pageSize: pageSize,
		started: now, lastReport: now}
}

func (p *loginProgress) pageDone(records int, checkpoint time.Time) {
	p.pages++
	p.records += records
	if time.Since(p.lastReport) < progressInterval {
		return
	}
	p.lastReport, p.reported = time.Now(), true
	p.logger.Info("Login backfill in progress",
		zap.String("account_id", p.accountID), zap.Int("records", p.records), zap.Int("pages", p.pages),
		zap.String("window_covered", p.covered(checkpoint)))
}

func (p *loginProgress) finish(err error) {
	if !p.reported && p.records < p.pageSize {
		return // an ordinary poll
	}
	fields := []zap.Field{
		zap.String("account_id", p.accountID), zap.Int("records", p.records), zap.Int("pages", p.pages),
		zap.Duration("duration", time.Since(p.started)),
	}
	if err != nil {
		p.logger.Info("Login backfill interrupted; the next poll resumes from the checkpoint", append(fields, zap.Error(err))...)
		return
	}
	p.logger.Info("Login backfill done", fields...)
}

// covered is the share of the poll's time window up to the checkpoint.
func (p *loginProgress) covered(checkpoint time.Time) string {
	window := p.before.Sub(p.since)
	if window <= 0 || checkpoint.Before(p.since) {
		return "0%"
	}
	share := min(float64(checkpoint.Sub(p.since))/float64(window), 1)
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}
