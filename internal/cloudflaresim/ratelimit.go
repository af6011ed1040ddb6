package cloudflaresim

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter enforces Cloudflare's API limit: a sliding window of requests
// per token, and once a request exceeds it, a lockout during which every
// request is refused. The token owner's own use of the dashboard (a
// dashboardUser) counts in the same window, as on Cloudflare.
type rateLimiter struct {
	limit     int // 0 = unlimited
	window    time.Duration
	lockout   time.Duration
	dashboard dashboardUser

	mu     sync.Mutex
	tokens map[string]*tokenWindow
}

// dashboardUser is the person behind the token: perWindow requests per
// window, sent in bursts of burst requests at even intervals.
type dashboardUser struct {
	perWindow, burst int
}

// every is the time between two bursts.
func (d dashboardUser) every(window time.Duration) time.Duration {
	return window * time.Duration(d.burst) / time.Duration(d.perWindow)
}

type tokenWindow struct {
	hits        []time.Time // admitted requests inside the window, oldest first
	lockedUntil time.Time
	// The dashboard user's next burst; zero before the token's first request.
	nextBurst time.Time
	// The dashboard user's requests, and how many of them were refused.
	dashboardSent, dashboardRefused int
}

// verdict is the limiter's decision on one request.
type verdict struct {
	limited   bool // false: no limit configured, no headers
	allowed   bool
	remaining int
	reset     time.Duration // until a slot frees up, or the lockout ends
	limit     int
	window    time.Duration
}

func newRateLimiter(limit int, window, lockout time.Duration, dashboard dashboardUser) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, lockout: lockout, dashboard: dashboard, tokens: make(map[string]*tokenWindow)}
}

func (l *rateLimiter) admit(token string, now time.Time) verdict {
	if l.limit <= 0 {
		return verdict{allowed: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tw := l.tokens[token]
	if tw == nil {
		tw = &tokenWindow{}
		l.tokens[token] = tw
	}
	l.dashboardUntil(tw, now)
	return l.admitOne(tw, now)
}

// dashboardUntil sends the dashboard user's bursts due by now, at their own
// times, before a request arriving at now: the user's load does not depend
// on when the API is asked, and needs no goroutine or timer.
func (l *rateLimiter) dashboardUntil(tw *tokenWindow, now time.Time) {
	if l.dashboard.perWindow <= 0 || l.dashboard.burst <= 0 {
		return
	}
	if tw.nextBurst.IsZero() {
		tw.nextBurst = now
	}
	for !tw.nextBurst.After(now) {
		for range l.dashboard.burst {
			tw.dashboardSent++
			if !l.admitOne(tw, tw.nextBurst).allowed {
				tw.dashboardRefused++
			}
		}
		tw.nextBurst = tw.nextBurst.Add(l.dashboard.every(l.window))
	}
}

// dashboardStats sums the dashboard user's requests and refusals over the tokens.
func (l *rateLimiter) dashboardStats() (sent, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tw := range l.tokens {
		sent += tw.dashboardSent
		refused += tw.dashboardRefused
	}
	return sent, refused
}

func (l *rateLimiter) resetDashboardStats() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tw := range l.tokens {
		tw.dashboardSent, tw.dashboardRefused = 0, 0
	}
}

// admitOne decides on one request at now, the newest the window has seen.
func (l *rateLimiter) admitOne(tw *tokenWindow, now time.Time) verdict {
	v := verdict{limited: true, limit: l.limit, window: l.window}
	if now.Before(tw.lockedUntil) { // refused without extending the lockout
		v.reset = tw.lockedUntil.Sub(now)
		return v
	}
	start := now.Add(-l.window)
	expired := 0
	for expired < len(tw.hits) && !tw.hits[expired].After(start) {
		expired++
	}
	tw.hits = tw.hits[expired:]
	if len(tw.hits) >= l.limit {
		// Start the budget afresh after the lockout; this matters only
		// when the lockout is shorter than the window.
		tw.hits = nil
		tw.lockedUntil = now.Add(l.lockout)
		v.reset = l.lockout
		return v
	}
	tw.hits = append(tw.hits, now)
	v.allowed = true
	v.remaining = l.limit - len(tw.hits)
	v.reset = tw.hits[0].Add(l.window).Sub(now)
	return v
}

// writeHeaders sets Cloudflare's rate-limit headers, plus Retry-After on a
// refusal.
func (v verdict) writeHeaders(h http.Header) {
	if !v.limited {
		return
	}
	h.Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, v.remaining, ceilSeconds(v.reset)))
	h.Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, v.limit, ceilSeconds(v.window)))
	if !v.allowed {
		h.Set("Retry-After", strconv.Itoa(ceilSeconds(v.reset)))
	}
}

// ceilSeconds rounds d up to whole seconds, at least 1, as Retry-After needs.
func ceilSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
