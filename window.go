package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// pagesPerTurn bounds the audit pages one poll of an account reads before
// the other accounts have their turn: a backfill of one account goes on in
// turns, between the other accounts' polls, instead of holding them back.
const pagesPerTurn = 10

// unfinishedPoll is a poll of an account that ended its turn with pages
// left to read; the account's next poll goes on from its checkpoint.
type unfinishedPoll struct {
	progress *backfillProgress
	reached  time.Time // the checkpoint's progress when the turn ended
	// stalled: the last turn did not move the checkpoint (a full page of
	// one instant, re-read from its start every turn), so the next reads
	// to the end of the range.
	stalled bool
}

// windowLog reads one kind of time-ordered log of every account (dashboard
// login audit entries, Access requests) with the same guarantees: a stored
// windowCursor per account, emission of what the pipeline has not taken
// before, page by page, and sweeps of the late-arrival window. What differs
// between logs are the functions it is given.
type windowLog[E any] struct {
	env      *streamEnv
	stream   string
	settings WindowConfig
	cursors  *checkpoints[windowCursor]
	// list lists one range of an account's log, oldest first.
	list func(ctx context.Context, q cloudflare.RangeQuery, fn func(page []E) error) error
	// keep says which entries of a listed page belong to the stream.
	keep func(*E) bool
	// stamp returns an entry's id and time (zero when it has no readable one).
	stamp func(*E) (string, time.Time)
	// appendRecords maps a page of new entries of an account.
	appendRecords func(records plog.LogRecordSlice, account cloudflare.Account, fresh []E, observed time.Time)
	// accepted, when set, is told of the cursor after each page the pipeline took.
	accepted func(accountID string, cursor *windowCursor)
	// lateFound, when set, is told of the times of entries a sweep found.
	lateFound func(times []time.Time, seen time.Time)
	// polling, when set, is told of the account's cursor at the start of each poll.
	polling func(accountID string, cursor *windowCursor)
	// annotate, when set, adds to a page's records (one per entry, in order)
	// what depends on state beyond the entry; commit is called once the
	// pipeline took the page, before the cursor moves.
	annotate func(ctx context.Context, accountID string, cursor *windowCursor, fresh []E, records plog.LogRecordSlice) (commit func(), err error)
	// unfinished holds the accounts whose last poll ended its turn early.
	unfinished map[string]*unfinishedPoll
}

// requestsPerMinute is what polling one account's log costs: one request
// per poll, more only when a poll finds more than a page. A due sweep is
// read with its poll, in the same request.
func (cfg *WindowConfig) requestsPerMinute() float64 {
	return perMinute(1, cfg.PollInterval)
}

// poll reads what is new, [checkpoint - windowOverlap, now), then, every
// late-arrival sweep, sweeps the window before that for entries the log
// showed late. Both emit only entries not emitted before, page by page, and
// move the checkpoint after each page the pipeline accepted: a failure
// part-way loses nothing. cursor is the account's checkpoint, nil before its
// first poll.
func (w *windowLog[E]) poll(ctx context.Context, account cloudflare.Account, cursor *windowCursor, now time.Time) error {
	if cursor == nil {
		// Saved before anything is consumed: see windowCursor.Start. The first
		// poll reads the whole lookback, so the first sweep is due one sweep later.
		cursor = &windowCursor{Start: now.Add(-w.settings.InitialLookback), LastSweep: now}
		// The first sweep covers what shows after this poll, up to a window late.
		cursor.SweepFrom = now.Add(-w.settings.LateArrivalWindow)
		if cursor.SweepFrom.Before(cursor.Start) {
			cursor.SweepFrom = cursor.Start
		}
		if err := w.cursors.save(ctx, account.ID, cursor); err != nil {
			return err
		}
	}
	if w.polling != nil {
		w.polling(account.ID, cursor)
	}
	sweepDue := w.settings.LateArrivalWindow > 0 && now.Sub(cursor.LastSweep) >= w.settings.LateArrivalSweep
	if sweepDue && cursor.SweepFrom.IsZero() {
		// A checkpoint from before sweeps existed: the window is fixed now,
		// before this poll moves the checkpoint.
		cursor.SweepFrom = cursor.before(w.settings.LateArrivalWindow)
		if err := w.cursors.save(ctx, account.ID, cursor); err != nil {
			return err
		}
	}

	pollFrom := cursor.before(windowOverlap)
	since, maxPages := pollFrom, pagesPerTurn
	// swept: the due sweep rides on this poll, as one read of [SweepFrom,
	// now): its range is usually a page with the poll's, so the sweep costs
	// no request of its own (a backfill's turns sweep once they are done).
	swept := false
	turn := w.unfinished[account.ID]
	if turn != nil {
		// Going on with a backfill: right where the last turn's page ended.
		since = cursor.progress()
		if turn.stalled {
			maxPages = 0
		}
	} else {
		if sweepDue && cursor.SweepFrom.Before(since) {
			since, swept = cursor.SweepFrom, true
		}
		turn = &unfinishedPoll{progress: newBackfillProgress(w.env.logger.With(zap.String("stream", w.stream)),
			account.ID, since, now, w.settings.PageSize)}
	}
	err := w.read(ctx, account, cursor, since, now, now, maxPages, func(fresh []E) {
		turn.progress.pageDone(len(fresh), cursor.HighWater)
		if swept {
			w.foundLate(fresh, pollFrom, now) // what the poll alone would not have read
		}
	})
	if errors.Is(err, cloudflare.ErrMorePages) {
		_, resumed := w.unfinished[account.ID]
		turn.stalled = resumed && !cursor.progress().After(turn.reached)
		turn.reached = cursor.progress()
		if w.unfinished == nil {
			w.unfinished = map[string]*unfinishedPoll{}
		}
		w.unfinished[account.ID] = turn
		return errTurnOver
	}
	delete(w.unfinished, account.ID)
	turn.progress.finish(err)
	switch {
	case err != nil || !sweepDue:
		return err
	case swept:
		return w.sweepDone(ctx, account, cursor, now)
	}
	return w.sweep(ctx, account, cursor, now)
}

// read emits the unseen entries of [since, before), page by page, up to
// maxPages pages (0: all); pageDone is told of each page's new entries once
// the pipeline took them.
func (w *windowLog[E]) read(ctx context.Context, account cloudflare.Account, cursor *windowCursor, since, before, now time.Time,
	maxPages int, pageDone func(fresh []E),
) error {
	query := cloudflare.RangeQuery{AccountID: account.ID, Since: since, Before: before, PageSize: w.settings.PageSize, MaxPages: maxPages}
	var timeless []string
	err := w.list(ctx, query, func(page []E) error {
		fresh := unseenEntries(page, cursor, query, w.keep, w.stamp)
		if len(fresh) > 0 {
			timeless = appendTimeless(timeless, fresh, w.stamp)
			if err := w.emit(ctx, account, fresh, cursor, now); err != nil {
				return err
			}
		}
		pageDone(fresh)
		return nil
	})
	if len(timeless) > 0 {
		w.env.logger.Warn("Login entries without a readable time were emitted with no Timestamp",
			zap.String("stream", w.stream), zap.String("account_id", account.ID), zap.Strings("ids", timeless))
	}
	return err
}

// emit sends one page of new entries and, once the pipeline took them,
// moves the cursor past them.
func (w *windowLog[E]) emit(ctx context.Context, account cloudflare.Account, fresh []E, cursor *windowCursor, now time.Time) error {
	logs, records := newAccountLogs(account, w.env.version)
	records.EnsureCapacity(len(fresh))
	w.appendRecords(records, account, fresh, now)
	var commit func()
	if w.annotate != nil {
		var err error
		if commit, err = w.annotate(ctx, account.ID, cursor, fresh, records); err != nil {
			return err
		}
	}
	return deliver(ctx, w.env.downstream, w.cursors, w.stream, account, logs, func() *windowCursor {
		if commit != nil {
			commit()
		}
		cursor.accept(stamps(fresh, w.stamp), w.settings.LateArrivalWindow, now)
		if w.accepted != nil {
			w.accepted(account.ID, cursor)
		}
		return cursor
	})
}

func stamps[E any](entries []E, stamp func(*E) (string, time.Time)) []entryStamp {
	out := make([]entryStamp, len(entries))
	for i := range entries {
		out[i].id, out[i].when = stamp(&entries[i])
	}
	return out
}

// unseenEntries keeps the entries of a page that the stream takes, that were
// not emitted before, nor earlier in the same page, and that fall in the
// poll's window (an entry without a readable time is kept: it cannot be placed).
func unseenEntries[E any](page []E, cursor *windowCursor, query cloudflare.RangeQuery, keep func(*E) bool, stamp func(*E) (string, time.Time)) []E {
	fresh := make([]E, 0, len(page))
	inPage := make(map[string]bool, len(page))
	for i := range page {
		entry := &page[i]
		id, when := stamp(entry)
		if !keep(entry) || inPage[id] {
			continue
		}
		if !when.IsZero() && (when.Before(query.Since) || !when.Before(query.Before)) {
			continue
		}
		if _, emitted := cursor.Emitted[id]; emitted {
			continue
		}
		inPage[id] = true
		fresh = append(fresh, *entry)
	}
	return fresh
}

// appendTimeless adds the ids of entries without a readable time.
func appendTimeless[E any](ids []string, entries []E, stamp func(*E) (string, time.Time)) []string {
	for i := range entries {
		if id, when := stamp(&entries[i]); when.IsZero() {
			ids = append(ids, id)
		}
	}
	return ids
}

// Late arrivals: a log shows some entries minutes after newer ones.
// A poll reads only [checkpoint - windowOverlap, now); every
// late_arrival_sweep a sweep re-reads from a window before the checkpoint of
// the previous sweep (windowCursor.SweepFrom) up to the poll's range, so that
// every entry shown up to late_arrival_window late is caught by the sweep
// after it shows. The sweep is read with the poll it is due at, as one range:
// it costs no request of its own unless the range fills more than a page. The lower bound and the time of the last complete sweep
// are stored: a restart or a failing sweep can delay a sweep, never skip one.

// sweep re-reads [SweepFrom, checkpoint - windowOverlap) once; every
// entry it finds was shown late, and its lateness is recorded.
func (w *windowLog[E]) sweep(ctx context.Context, account cloudflare.Account, cursor *windowCursor, now time.Time) error {
	if before := cursor.before(windowOverlap); cursor.SweepFrom.Before(before) {
		err := w.read(ctx, account, cursor, cursor.SweepFrom, before, now, 0, func(fresh []E) {
			w.foundLate(fresh, before, now)
		})
		if err != nil {
			return err
		}
	}
	return w.sweepDone(ctx, account, cursor, now)
}

// sweepDone records a complete sweep. The next sweep starts a window before
// this one's checkpoint: an entry shown after this sweep, up to a window
// late, is in its range. It never starts before this one did: the ids
// emitted before that are not kept (a window turned on or widened since
// only reaches back from here).
func (w *windowLog[E]) sweepDone(ctx context.Context, account cloudflare.Account, cursor *windowCursor, now time.Time) error {
	next := cursor.before(w.settings.LateArrivalWindow)
	cursor.LastSweep, cursor.SweepFrom = now, latest(next, cursor.SweepFrom)
	return w.cursors.save(ctx, account.ID, cursor)
}

// foundLate records the lateness of the entries a sweep found (of fresh,
// those before pollFrom, which a poll does not read), if lateFound is set.
func (w *windowLog[E]) foundLate(fresh []E, pollFrom, now time.Time) {
	if w.lateFound == nil {
		return
	}
	times := make([]time.Time, 0, len(fresh))
	for i := range fresh {
		if _, when := w.stamp(&fresh[i]); !when.IsZero() && when.Before(pollFrom) {
			times = append(times, when)
		}
	}
	if len(times) > 0 {
		w.lateFound(times, now)
	}
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// progressInterval is the shortest time between two progress lines of a backfill.
const progressInterval = 10 * time.Second

// backfillProgress reports a poll that emits more than a page (a backfill): a
// line at most every progressInterval, and a summary when it ends.
type backfillProgress struct {
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

func newBackfillProgress(logger *zap.Logger, accountID string, since, before time.Time, pageSize int) *backfillProgress {
	now := time.Now()
	return &backfillProgress{logger: logger, accountID: accountID, since: since, before: before, pageSize: pageSize,
		started: now, lastReport: now}
}

func (p *backfillProgress) pageDone(records int, checkpoint time.Time) {
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

func (p *backfillProgress) finish(err error) {
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
func (p *backfillProgress) covered(checkpoint time.Time) string {
	window := p.before.Sub(p.since)
	if window <= 0 || checkpoint.Before(p.since) {
		return "0%"
	}
	share := min(float64(checkpoint.Sub(p.since))/float64(window), 1)
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}
