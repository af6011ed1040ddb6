package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"
)

// Limiter keeps requests within a budget per sliding window, holds every
// request back while the server has asked for a pause (a 429's Retry-After),
// and, once responses carry Cloudflare's rate-limit headers, paces requests by
// them: the token's budget is shared with its owner's dashboard and other API
// use, so a reserve of the server's quota is left to them and, while the
// server counts requests that are not ours, the rest is spread over the time
// until the server frees budget again. One Limiter is shared by every call
// made with one token.
type Limiter struct {
	mu          sync.Mutex
	window      time.Duration
	sent        []time.Time // the last len(sent) send times, oldest at next
	next        int
	pausedUntil time.Time
	reserve     float64 // share of the server's quota left to people
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error

	booked   Ticket // requests let through so far; a request's ticket is its number
	lastSend time.Time
	// What the newest response with rate-limit headers said, when it arrived,
	// and the ticket of its request: the requests booked after it are not in it.
	server       serverBudget
	serverKnown  bool
	serverAt     time.Time
	serverTicket Ticket
	// Whether the server's count held requests other than ours: someone
	// else uses the token, and the budget is spread to leave them room.
	othersUse bool
	// spread: the requests go evenly over the window, not as fast as it
	// allows (Spread).
	spread bool
}

// Ticket numbers a request let through by Wait; Observe takes it back with
// the response's headers.
type Ticket uint64

// NewLimiter allows at most limit requests within any window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{window: window, sent: make([]time.Time, limit), now: time.Now, sleep: sleep}
}

// WithReserve leaves share (0 to 1) of the server's quota to the token
// owner's other use, once responses tell the quota.
func (l *Limiter) WithReserve(share float64) *Limiter {
	l.reserve = share
	return l
}

// WithClock replaces the clock and the wait: a benchmark on an injected
// clock moves its clock in sleep.
func (l *Limiter) WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) *Limiter {
	l.now, l.sleep = now, sleep
	return l
}

// Spread sets whether requests go evenly over the window, one every window
// / limit, rather than as fast as the window allows. A client behind its
// polls (more polls than budget) spreads them: each account then waits the
// same time for its turn, instead of those that miss a burst waiting for
// the window to slide.
func (l *Limiter) Spread(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spread = on
}

// Wait blocks until a request may be sent and books it. Before each pause it
// calls onWait (when not nil) with the pause's length, so that a wait shows in
// metrics while it lasts, not only once it has ended. It returns the
// request's ticket and how long it waited, or the context's error if the
// context ended first.
func (l *Limiter) Wait(ctx context.Context, onWait func(time.Duration)) (Ticket, time.Duration, error) {
	var waited time.Duration
	for {
		l.mu.Lock()
		now := l.now()
		readyAt := l.readyAt(now)
		if !readyAt.After(now) {
			l.sent[l.next] = now
			l.next = (l.next + 1) % len(l.sent)
			l.booked++
			l.lastSend = now
			ticket := l.booked
			l.mu.Unlock()
			return ticket, waited, nil
		}
		l.mu.Unlock()

		delay := readyAt.Sub(now)
		if onWait != nil {
			onWait(delay)
		}
		if err := l.sleep(ctx, delay); err != nil {
			return 0, waited, err
		}
		waited += delay
	}
}

// readyAt is when the next request may go: after any pause, within the
// client's own window, and paced by what the server said.
func (l *Limiter) readyAt(now time.Time) time.Time {
	readyAt := l.pausedUntil
	if oldest := l.sent[l.next]; !oldest.IsZero() && oldest.Add(l.window).After(readyAt) {
		readyAt = oldest.Add(l.window)
	}
	if even := l.lastSend.Add(l.window / time.Duration(len(l.sent))); l.spread && even.After(readyAt) {
		readyAt = even
	}
	if !l.serverKnown {
		return readyAt
	}
	resetAt := l.serverAt.Add(l.server.reset)
	// The requests booked since the response are not in its count.
	usable := l.server.remaining - l.reserveCount() - int(l.booked-l.serverTicket)
	var paced time.Time
	switch {
	case !now.Before(resetAt):
		// The server has freed budget since it last said anything: one request
		// at the server's average pace brings news.
		paced = l.lastSend.Add(l.serverSpacing())
	case usable <= 0:
		paced = resetAt
	case l.othersUse:
		paced = l.lastSend.Add(resetAt.Sub(now) / time.Duration(usable))
	}
	// Alone on the token, the usable budget goes as fast as the client's own
	// window allows: spreading it would only delay the last request.
	if paced.After(readyAt) {
		readyAt = paced
	}
	return readyAt
}

// reserveCount is the part of the server's quota left to people. Without a
// quota in the headers, the most remaining ever seen stands in for it.
func (l *Limiter) reserveCount() int {
	return int(math.Ceil(float64(l.server.quota) * l.reserve))
}

// serverSpacing is the server's window over its quota, or the client's own
// when the server did not say.
func (l *Limiter) serverSpacing() time.Duration {
	if l.server.quota > 0 && l.server.window > 0 {
		return l.server.window / time.Duration(l.server.quota)
	}
	return l.window / time.Duration(len(l.sent))
}

// Observe takes the rate-limit headers of the response to the request of
// ticket, received now. Headers older than what is known already (the
// response of an earlier request arriving later) are ignored.
func (l *Limiter) Observe(ticket Ticket, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	budget, ok := parseBudget(h, now)
	if !ok {
		return
	}
	if l.serverKnown && ticket < l.serverTicket {
		return
	}
	if budget.quota == 0 { // the older headers may leave the quota out
		budget.quota = max(l.server.quota, budget.remaining)
	}
	if budget.window == 0 {
		budget.window = l.server.window
	}
	l.server, l.serverKnown, l.serverAt, l.serverTicket = budget, true, now, ticket
	// Ours in the server's count: sent within its window, up to the ticket's
	// request. Sends the ring no longer holds count as someone else's, which
	// errs towards spreading.
	ours := l.sentSince(now.Add(-budget.window)) - int(l.booked-ticket)
	l.othersUse = budget.quota-budget.remaining > ours
}

// sentSince counts the requests the ring holds sent after t.
func (l *Limiter) sentSince(t time.Time) int {
	n := 0
	for _, at := range l.sent {
		if !at.IsZero() && at.After(t) {
			n++
		}
	}
	return n
}

// PauseFor holds every request back for d from now. It reports whether this
// started a new pause (none was in force), so that a lockout is logged once.
func (l *Limiter) PauseFor(d time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	t := now.Add(d)
	if !t.After(l.pausedUntil) {
		return false
	}
	started := !l.pausedUntil.After(now)
	l.pausedUntil = t
	return started
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
