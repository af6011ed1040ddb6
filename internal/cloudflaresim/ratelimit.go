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
// request is refused.
type rateLimiter struct {
	limit   int // 0 = unlimited
	window  time.Duration
	lockout time.Duration

	mu     sync.Mutex
	tokens map[string]*tokenWindow
}

type tokenWindow struct {
	hits        []time.Time // admitted requests inside the window, oldest first
	lockedUntil time.Time
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

func newRateLimiter(limit int, window, lockout time.Duration) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, lockout: lockout, tokens: make(map[string]*tokenWindow)}
}

func (l *rateLimiter) admit(token string, now time.Time) verdict {
	if l.limit <= 0 {
		return verdict{allowed: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{limited: true, limit: l.limit, window: l.window}
	tw := l.tokens[token]
	if tw == nil {
		tw = &tokenWindow{}
		l.tokens[token] = tw
	}
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
