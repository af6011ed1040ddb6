package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginActionType is the audit log action type of dashboard and API logins.
const loginActionType = "login"

// progressInterval is the shortest time between two progress lines of a backfill.
const progressInterval = 10 * time.Second

// loginsStream reads dashboard and API logins from every account's audit
// log, from one source (logins.source): Audit Logs v1 or v2. The source only
// decides how a range is listed and which entries are logins; dedupe,
// checkpoints, sweeps and mapping are the same for both.
type loginsStream struct {
	r       *identityReceiver
	cfg     LoginsConfig
	cursors *checkpoints[loginCursor]
	// other reads the checkpoints of the source not configured, from which a
	// switch of source starts.
	other *checkpoints[loginCursor]
	// filterRejected is set, for the rest of an account's poll, once v2
	// refused the action_type=login filter.
	filterRejected bool
	// switchChecked holds the accounts whose other-source checkpoint was
	// looked at: this receiver never writes it, so once is enough.
	switchChecked map[string]bool
}

// otherSource is the login source not named.
func otherSource(source string) string {
	if source == loginSourceV2 {
		return loginSourceV1
	}
	return loginSourceV2
}

// newLoginsStream returns the logins stream, or nil when it is disabled.
func newLoginsStream(r *identityReceiver) *stream {
	if !r.cfg.Logins.Enabled {
		return nil
	}
	source := r.cfg.Logins.Source
	l := &loginsStream{r: r, cfg: r.cfg.Logins, switchChecked: map[string]bool{},
		cursors: newCheckpoints[loginCursor](r.store, r.settings.Logger,
			func(id string) string { return loginCursorKey(source, id) },
			"Discarding an unreadable login checkpoint; this account is read again from initial_lookback"),
		other: newCheckpoints[loginCursor](r.store, r.settings.Logger,
			func(id string) string { return loginCursorKey(otherSource(source), id) },
			"Discarding an unreadable login checkpoint of the other logins.source; this account is read again from initial_lookback")}
	l.cursors.companions = r.histories.writes
	return newStream(streamLogins, l.cfg.PollInterval, l.pollAccount)
}

// loginPollOverlap is how far before the checkpoint every poll starts. It
// covers entries that share the checkpoint's instant and the audit log's
// immediate lag: an entry that shows up within this long of a newer one is
// emitted by the next poll; a later one waits for the next sweep.
const loginPollOverlap = 5 * time.Second

// pollAccount reads what is new, [checkpoint - loginPollOverlap, now), then,
// every late_arrival_sweep, sweeps the window before that for entries the
// audit log showed late (sweep.go). Both
// emit only entries not emitted before, page by page, and move the checkpoint
// after each page the pipeline accepted: a failure part-way loses nothing.
func (l *loginsStream) pollAccount(ctx context.Context, account cloudflare.Account) error {
	l.filterRejected = false
	cursor, err := l.cursors.load(ctx, account.ID)
	if err != nil {
		return err
	}
	now := l.r.now()
	if switched, err := l.switchedFrom(ctx, account, cursor, now); err != nil {
		return err
	} else if switched != nil {
		cursor = switched
	}
	if cursor == nil {
		// Saved before anything is consumed: see loginCursor.Start. The first
		// poll reads the whole lookback, so the first sweep is due one sweep later.
		cursor = &loginCursor{Start: now.Add(-l.cfg.InitialLookback), LastSweep: now}
		// The first sweep covers what shows after this poll, up to a window late.
		cursor.SweepFrom = now.Add(-l.cfg.LateArrivalWindow)
		if cursor.SweepFrom.Before(cursor.Start) {
			cursor.SweepFrom = cursor.Start
		}
		if err := l.cursors.save(ctx, account.ID, cursor); err != nil {
			return err
		}
	}
	l.r.members.fillFromStorage(ctx, l.r.store, account.ID)
	l.r.histories.watching(account.ID, cursor.Start)
	sweepDue := l.cfg.LateArrivalWindow > 0 && now.Sub(cursor.LastSweep) >= l.cfg.LateArrivalSweep
	if sweepDue && cursor.SweepFrom.IsZero() {
		// A checkpoint from before sweeps existed: the window is fixed now,
		// before this poll moves the checkpoint.
		cursor.SweepFrom = cursor.before(l.cfg.LateArrivalWindow)
		if err := l.cursors.save(ctx, account.ID, cursor); err != nil {
			return err
		}
	}

	since := cursor.before(loginPollOverlap)
	progress := newLoginProgress(l.r.settings.Logger, account.ID, since, now, l.cfg.PageSize)
	err = l.read(ctx, account, cursor, since, now, now, func(fresh []cloudflare.AuditEntry) {
		progress.pageDone(len(fresh), cursor.HighWater)
	})
	progress.finish(err)
	if err != nil || !sweepDue {
		return err
	}
	return l.sweep(ctx, account, cursor, now)
}

// switchedFrom starts the checkpoint of the configured source from the
// other source's checkpoint when that one got further (the source was
// switched, maybe back and forth; a source's checkpoint only moves forward
// while it is configured): from just after its high-water mark, or from its
// first poll's start when it never emitted anything. The sources number
// entries apart, so nothing at or before that mark could be told from what
// was emitted. It returns nil when the current checkpoint stands.
func (l *loginsStream) switchedFrom(ctx context.Context, account cloudflare.Account, current *loginCursor, now time.Time) (*loginCursor, error) {
	if l.switchChecked[account.ID] {
		return nil, nil
	}
	old, err := l.other.load(ctx, account.ID)
	if err != nil {
		return nil, err
	}
	l.switchChecked[account.ID] = true
	if old == nil {
		return nil, nil
	}
	start := old.progress()
	if !old.HighWater.IsZero() {
		start = start.Add(time.Nanosecond)
	}
	if current != nil && !start.After(current.progress()) {
		return nil, nil
	}
	cursor := &loginCursor{Start: start, LastSweep: now, SweepFrom: start}
	l.r.settings.Logger.Info("logins.source changed: reading the new source from where the old one stopped",
		zap.String("account_id", account.ID), zap.String("source", l.cfg.Source),
		zap.String("previous_source", otherSource(l.cfg.Source)), zap.Time("from", start))
	return cursor, l.cursors.save(ctx, account.ID, cursor)
}

// list lists [q.Since, q.Before) from the configured source. When v2 refuses
// the login filter with a 400, it lists without it, once per account poll,
// with one WARN; the stream keeps only logins either way.
func (l *loginsStream) list(ctx context.Context, q cloudflare.LoginQuery, fn func(page []cloudflare.AuditEntry) error) error {
	if l.cfg.Source != loginSourceV2 {
		return l.r.client.ListLogins(ctx, q, fn)
	}
	q.Unfiltered = l.filterRejected
	err := l.r.client.ListLoginsV2(ctx, q, fn)
	if err == nil || q.Unfiltered || !cloudflare.IsFilterRejected(err) {
		return err
	}
	l.filterRejected = true
	l.r.settings.Logger.Warn("Audit Logs v2 refused the action_type=login filter; listing every entry of the range and keeping the logins",
		zap.String("account_id", q.AccountID), zap.Error(err))
	q.Unfiltered = true
	return l.r.client.ListLoginsV2(ctx, q, fn)
}

// isLogin reports whether an entry of the configured source is a login.
func (l *loginsStream) isLogin(entry *cloudflare.AuditEntry) bool {
	if l.cfg.Source == loginSourceV2 {
		return cloudflare.IsV2Login(entry)
	}
	return entry.ActionType == loginActionType
}

// read emits the unseen logins of [since, before), page by page; pageDone is
// told of each page's new entries once the pipeline took them.
func (l *loginsStream) read(ctx context.Context, account cloudflare.Account, cursor *loginCursor, since, before, now time.Time,
	pageDone func(fresh []cloudflare.AuditEntry),
) error {
	query := cloudflare.LoginQuery{AccountID: account.ID, Since: since, Before: before, PageSize: l.cfg.PageSize}
	var timeless []string
	err := l.list(ctx, query, func(page []cloudflare.AuditEntry) error {
		fresh := unseenLogins(page, cursor, query, l.isLogin)
		if len(fresh) > 0 {
			timeless = appendTimeless(timeless, fresh)
			if err := l.emit(ctx, account, fresh, cursor, now); err != nil {
				return err
			}
		}
		pageDone(fresh)
		return nil
	})
	if len(timeless) > 0 {
		l.r.settings.Logger.Warn("Login audit entries without a readable time were emitted with no Timestamp",
			zap.String("account_id", account.ID), zap.Strings("ids", timeless))
	}
	return err
}

// emit sends one page of new entries and, once the pipeline took them,
// moves the cursor past them.
func (l *loginsStream) emit(ctx context.Context, account cloudflare.Account, fresh []cloudflare.AuditEntry, cursor *loginCursor, now time.Time) error {
	logs, records := newAccountLogs(account, l.r.settings.BuildInfo.Version)
	records.EnsureCapacity(len(fresh))
	histories := newPageHistories(l.r.histories, l.cfg, account.ID, cursor.Start)
	for i := range fresh {
		known := l.r.members.lookup(account.ID, fresh[i].ActorID, fresh[i].ActorEmail)
		appendLoginRecord(records, &fresh[i], known, now)
		verdict, err := histories.observe(ctx, &fresh[i])
		if err != nil {
			return err
		}
		putNewAddress(records.At(i).Attributes(), verdict)
	}
	return deliver(ctx, l.r, l.cursors, streamLogins, account, logs, func() *loginCursor {
		// Stored with the cursor, in one batch (cursors.companions).
		histories.commit()
		cursor.accept(fresh, l.cfg.LateArrivalWindow, now)
		l.r.telemetry.loginsAccepted(account.ID, cursor.HighWater)
		return cursor
	})
}

// unseenLogins keeps the login entries of a page that were not emitted
// before, nor earlier in the same page, and that fall in the poll's window
// (an entry without a readable time is kept: it cannot be placed).
func unseenLogins(page []cloudflare.AuditEntry, cursor *loginCursor, query cloudflare.LoginQuery, isLogin func(*cloudflare.AuditEntry) bool) []cloudflare.AuditEntry {
	fresh := make([]cloudflare.AuditEntry, 0, len(page))
	inPage := make(map[string]bool, len(page))
	for i := range page {
		entry := &page[i]
		if !isLogin(entry) || inPage[entry.ID] {
			continue
		}
		if !entry.When.IsZero() && (entry.When.Before(query.Since) || !entry.When.Before(query.Before)) {
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

// appendTimeless adds the ids of entries without a readable time.
func appendTimeless(ids []string, entries []cloudflare.AuditEntry) []string {
	for i := range entries {
		if entries[i].When.IsZero() {
			ids = append(ids, entries[i].ID)
		}
	}
	return ids
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
