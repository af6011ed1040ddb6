package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginActionType is the audit log action type of dashboard and API logins.
const loginActionType = "login"

// streamLogins names the stream in its config key, logs, status and metrics.
const streamLogins = "logins"

// loginsStream reads dashboard and API logins from every account's audit
// log, from one source (logins.source): Audit Logs v1 or v2, with the
// window engine (window.go). The source only decides how a range is listed
// and which entries are logins. Each login is flagged when its network is
// new for its user (newaddress.go), and teaches the users stream its user's
// last login (loginhistory.go).
var loginsStream = streamDescriptor{
	name:    streamLogins,
	enabled: func(cfg *Config) bool { return cfg.Logins.Enabled },
	intervals: func(cfg *Config) []streamInterval {
		return []streamInterval{{"poll_interval", cfg.Logins.PollInterval}, {"late_arrival_sweep", cfg.Logins.LateArrivalSweep}}
	},
	requestsPerMinute: func(cfg *Config, _ float64) float64 { return cfg.Logins.requestsPerMinute() },
	latencyKey:        "expected_login_latency",
	endpoints:         []string{cloudflare.EndpointAuditLogs, cloudflare.EndpointAuditLogsV2},
	validate:          func(cfg *Config) []error { return cfg.Logins.validate() },
	open:              openLoginsStream,
}

// loginsPoll is the logins stream's state.
type loginsPoll struct {
	env     *streamEnv
	cfg     LoginsConfig
	cursors *checkpoints[windowCursor]
	window  *windowLog[cloudflare.AuditEntry]
	// other reads the checkpoints of the source not configured, from which a
	// switch of source starts.
	other *checkpoints[windowCursor]
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

func openLoginsStream(env *streamEnv, cfg *Config) pollFunc {
	source := cfg.Logins.Source
	l := &loginsPoll{env: env, cfg: cfg.Logins, switchChecked: map[string]bool{},
		cursors: newCheckpoints[windowCursor](env.store, env.logger,
			func(id string) string { return loginCursorKey(source, id) },
			"Discarding an unreadable login checkpoint; this account is read again from initial_lookback"),
		other: newCheckpoints[windowCursor](env.store, env.logger,
			func(id string) string { return loginCursorKey(otherSource(source), id) },
			"Discarding an unreadable login checkpoint of the other logins.source; this account is read again from initial_lookback")}
	l.window = &windowLog[cloudflare.AuditEntry]{env: env, stream: streamLogins, cursors: l.cursors,
		settings: l.cfg.WindowConfig,
		list:     l.list, keep: l.isLogin, stamp: cloudflare.AuditStamp, appendRecords: l.appendRecords,
		accepted: func(accountID string, cursor *windowCursor) {
			env.telemetry.loginsAccepted(accountID, cursor.HighWater)
		},
		lateFound: env.telemetry.lateLoginsFound,
		polling: func(accountID string, cursor *windowCursor) {
			env.histories.watching(accountID, cursor.Start)
		},
		annotate: l.judgeAddresses}
	l.cursors.companions = env.histories.writes
	return l.pollAccount
}

// pollAccount polls an account's audit log as windowLog.poll describes,
// from the other source's checkpoint when logins.source was switched.
func (l *loginsPoll) pollAccount(ctx context.Context, account cloudflare.Account) error {
	l.filterRejected = false
	cursor, err := l.cursors.load(ctx, account.ID)
	if err != nil {
		return err
	}
	now := l.env.now()
	if switched, err := l.switchedFrom(ctx, account, cursor, now); err != nil {
		return err
	} else if switched != nil {
		cursor = switched
	}
	l.env.members.fillIfUnknown(account.ID, func() []cloudflare.Member { return l.storedMembers(ctx, account.ID) })
	return l.window.poll(ctx, account, cursor, now)
}

// storedMembers reads the members of the users stream's stored list of an
// account, without their records (only its removal events need them); none
// when there is none, or an unreadable one, which the users stream reports.
func (l *loginsPoll) storedMembers(ctx context.Context, accountID string) []cloudflare.Member {
	var snapshot listSnapshot[cloudflare.Member]
	if found, err := l.env.store.load(ctx, memberSnapshotKey(accountID), &snapshot); err != nil || !found {
		return nil
	}
	for i := range snapshot.Items {
		snapshot.Items[i].Raw = nil
	}
	return snapshot.Items
}

// switchedFrom starts the checkpoint of the configured source from the
// other source's checkpoint when that one got further (the source was
// switched, maybe back and forth; a source's checkpoint only moves forward
// while it is configured): from just after its high-water mark, or from its
// first poll's start when it never emitted anything. The sources number
// entries apart, so nothing at or before that mark could be told from what
// was emitted. It returns nil when the current checkpoint stands.
func (l *loginsPoll) switchedFrom(ctx context.Context, account cloudflare.Account, current *windowCursor, now time.Time) (*windowCursor, error) {
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
	cursor := &windowCursor{Start: start, LastSweep: now, SweepFrom: start}
	l.env.logger.Info("logins.source changed: reading the new source from where the old one stopped",
		zap.String("account_id", account.ID), zap.String("source", l.cfg.Source),
		zap.String("previous_source", otherSource(l.cfg.Source)), zap.Time("from", start))
	return cursor, l.cursors.save(ctx, account.ID, cursor)
}

// list lists [q.Since, q.Before) from the configured source. When v2 refuses
// the login filter with a 400, it lists without it, once per account poll,
// with one WARN; the stream keeps only logins either way.
func (l *loginsPoll) list(ctx context.Context, q cloudflare.RangeQuery, fn func(page []cloudflare.AuditEntry) error) error {
	if l.cfg.Source != loginSourceV2 {
		return l.env.client.ListLogins(ctx, q, fn)
	}
	q.Unfiltered = l.filterRejected
	err := l.env.client.ListLoginsV2(ctx, q, fn)
	if err == nil || q.Unfiltered || !cloudflare.IsFilterRejected(err) {
		return err
	}
	l.filterRejected = true
	l.env.logger.Warn("Audit Logs v2 refused the action_type=login filter; listing every entry of the range and keeping the logins",
		zap.String("account_id", q.AccountID), zap.Error(err))
	q.Unfiltered = true
	return l.env.client.ListLoginsV2(ctx, q, fn)
}

// isLogin reports whether an entry of the configured source is a login.
func (l *loginsPoll) isLogin(entry *cloudflare.AuditEntry) bool {
	if l.cfg.Source == loginSourceV2 {
		return cloudflare.IsV2Login(entry)
	}
	return entry.ActionType == loginActionType
}

// appendRecords maps a page of new login entries, with the name and roles
// of the actor when the users stream knows them.
func (l *loginsPoll) appendRecords(records plog.LogRecordSlice, account cloudflare.Account, fresh []cloudflare.AuditEntry, observed time.Time) {
	for i := range fresh {
		known := l.env.members.lookup(account.ID, fresh[i].ActorID, fresh[i].ActorEmail)
		appendLoginRecord(records, &fresh[i], known, observed)
	}
}

// judgeAddresses flags each login of a page mapped into records whose
// network is new for its user (cloudflare.login.new_address); the
// histories it read are committed once the pipeline took the page, and
// stored in one batch with the cursor (cursors.companions).
func (l *loginsPoll) judgeAddresses(ctx context.Context, accountID string, cursor *windowCursor, fresh []cloudflare.AuditEntry,
	records plog.LogRecordSlice,
) (commit func(), err error) {
	histories := newPageHistories(l.env.histories, l.cfg, accountID, cursor.Start)
	for i := range fresh {
		verdict, err := histories.observe(ctx, &fresh[i])
		if err != nil {
			return nil, err
		}
		putNewAddress(records.At(i).Attributes(), verdict)
	}
	return histories.commit, nil
}
