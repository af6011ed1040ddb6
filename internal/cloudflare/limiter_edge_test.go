package cloudflare

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShorterRetryAfterDoesNotCutAPauseShort: two calls in flight get 429s;
// the one answered later carries a shorter Retry-After. The token stays
// locked out for the longer pause, and only the first lockout is reported.
// Mutation caught: limiter.go PauseFor without `if !t.After(l.pausedUntil) {
// return false }` (the later, shorter pause replaces the longer one).
func TestShorterRetryAfterDoesNotCutAPauseShort(t *testing.T) {
	clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(100, time.Minute).WithClock(clock.Now, clock.Sleep)
	assert.True(t, l.PauseFor(30*time.Second), "a new lockout")
	clock.now = clock.now.Add(time.Second)
	assert.False(t, l.PauseFor(5*time.Second), "a shorter pause within the lockout is no new one")
	_, waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, 29*time.Second, waited, "held until the longer pause ends")
}

// TestLimiterPacesAfterTheServersReset: once the time the server said it
// frees budget has passed, what it said is stale; requests go one at the
// server's average pace (its window over its quota) until a response says
// more, rather than all at once.
// Mutation caught: limiter.go readyAt, `paced = l.lastSend.Add(l.serverSpacing())`
// -> `paced = now` (requests burst after the reset).
func TestLimiterPacesAfterTheServersReset(t *testing.T) {
	clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(1000, time.Minute).WithReserve(0.2).WithClock(clock.Now, clock.Sleep)
	ticket, _, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	// 100 a minute: one every 600 ms on average; the server frees budget in 10 s.
	l.Observe(ticket, rateLimitHeaders(50, 10, 100, 60))
	clock.now = clock.now.Add(11 * time.Second)
	var waits []time.Duration
	for range 4 {
		_, waited, err := l.Wait(context.Background(), nil)
		require.NoError(t, err)
		waits = append(waits, waited)
	}
	assert.Equal(t, []time.Duration{0, 600 * time.Millisecond, 600 * time.Millisecond, 600 * time.Millisecond}, waits)
}
