package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"sync"
	"time"
)

// Limiter keeps requests within a budget per sliding window and holds every
// request back while the server has asked for a pause (a 429's Retry-After).
// One Limiter is shared by every call made with one token.
type Limiter struct {
	mu          sync.Mutex
	window      time.Duration
	sent        []time.Time // the last len(sent) send times, oldest at next
	next        int
	pausedUntil time.Time
}

// NewLimiter allows at most limit requests within any window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{window: window, sent: make([]time.Time, limit)}
}

// Wait blocks until a request may be sent and books it. Before each pause it
// calls onWait (when not nil) with the pause's length, so that a wait shows in
// metrics while it lasts, not only once it has ended. It returns how long it
// waited, or the context's error if the context ended first.
func (l *Limiter) Wait(ctx context.Context, onWait func(time.Duration)) (time.Duration, error) {
	var waited time.Duration
	for {
		l.mu.Lock()
		now := time.Now()
		readyAt := l.pausedUntil
		if oldest := l.sent[l.next]; !oldest.IsZero() && oldest.Add(l.window).After(readyAt) {
			readyAt = oldest.Add(l.window)
		}
		if !readyAt.After(now) {
			l.sent[l.next] = now
			l.next = (l.next + 1) % len(l.sent)
			l.mu.Unlock()
			return waited, nil
		}
		l.mu.Unlock()

		delay := readyAt.Sub(now)
		if onWait != nil {
			onWait(delay)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return waited, ctx.Err()
		case <-timer.C:
			waited += delay
		}
	}
}

// PauseUntil holds every request back until t. It reports whether this
// started a new pause (none was in force), so that a lockout is logged once.
func (l *Limiter) PauseUntil(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.After(l.pausedUntil) {
		return false
	}
	started := !l.pausedUntil.After(time.Now())
	l.pausedUntil = t
	return started
}
