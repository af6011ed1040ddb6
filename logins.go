package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
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
	window  *windowLog[cloudflare.AuditEntry]
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
	l.window = &windowLog[cloudflare.AuditEntry]{r: r, stream: streamLogins, cursors: l.cursors,
		settings: l.cfg.WindowConfig,
		list:     l.list, keep: l.isLogin, stamp: cloudflare.AuditStamp, appendRecords: l.appendRecords,
		accepted: func(accountID string, cursor *loginCursor) {
			r.telemetry.loginsAccepted(accountID, cursor.HighWater)
		},
		lateFound: r.telemetry.lateLoginsFound,
		polling: func(accountID string, cursor *loginCursor) {
			r.histories.watching(accountID, cursor.Start)
		},
		annotate: l.judgeAddresses}
	l.cursors.companions = r.histories.writes
	return newStream(streamLogins, l.cfg.PollInterval, l.pollAccount)
}

// loginPollOverlap is how far before the checkpoint every poll starts. It
// covers entries that share the checkpoint's instant and the audit log's
// immediate lag: an entry that shows up within this long of a newer one is
// emitted by the next poll; a later one waits for the next sweep.
const loginPollOverlap = 5 * time.Second

// pollAccount polls an account's audit log as windowLog.poll describes,
// from the other source's checkpoint when logins.source was switched.
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
	l.r.members.fillFromStorage(ctx, l.r.store, account.ID)
	return l.window.poll(ctx, account, cursor, now)
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

// appendRecords maps a page of new login entries, with the name and roles
// of the actor when the users stream knows them.
func (l *loginsStream) appendRecords(records plog.LogRecordSlice, account cloudflare.Account, fresh []cloudflare.AuditEntry, observed time.Time) {
	for i := range fresh {
		known := l.r.members.lookup(account.ID, fresh[i].ActorID, fresh[i].ActorEmail)
		appendLoginRecord(records, &fresh[i], known, observed)
	}
}

// judgeAddresses flags each login of a page mapped into records whose
// network is new for its user (cloudflare.login.new_address); the
// histories it read are committed once the pipeline took the page, and
// stored in one batch with the cursor (cursors.companions).
func (l *loginsStream) judgeAddresses(ctx context.Context, accountID string, cursor *loginCursor, fresh []cloudflare.AuditEntry,
	records plog.LogRecordSlice,
) (commit func(), err error) {
	histories := newPageHistories(l.r.histories, l.cfg, accountID, cursor.Start)
	for i := range fresh {
		verdict, err := histories.observe(ctx, &fresh[i])
		if err != nil {
			return nil, err
		}
		putNewAddress(records.At(i).Attributes(), verdict)
	}
	return histories.commit, nil
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
