package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimiterKeepsWithinBudget(t *testing.T) {
	l := NewLimiter(3, 200*time.Millisecond)
	start := time.Now()
	var sent []time.Time
	for range 7 {
		_, _, err := l.Wait(context.Background(), nil)
		require.NoError(t, err)
		sent = append(sent, time.Now())
	}
	// Any 4 consecutive sends span at least one window.
	for i := 3; i < len(sent); i++ {
		assert.GreaterOrEqual(t, sent[i].Sub(sent[i-3]), 200*time.Millisecond)
	}
	assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
}

func TestLimiterPause(t *testing.T) {
	l := NewLimiter(100, time.Minute)
	assert.True(t, l.PauseFor(150*time.Millisecond), "a new pause is reported")
	assert.False(t, l.PauseFor(100*time.Millisecond), "a shorter pause changes nothing")
	assert.False(t, l.PauseFor(160*time.Millisecond), "extending a pause in force is not a new lockout")
	_, waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.Greater(t, waited, 100*time.Millisecond)
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	_, _, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err = l.Wait(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// virtualClock is a limiter clock whose waits move it instead of sleeping.
type virtualClock struct{ now time.Time }

func (c *virtualClock) Now() time.Time { return c.now }

func (c *virtualClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

func rateLimitHeaders(remaining, reset, quota, window int) http.Header {
	h := http.Header{}
	h.Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, remaining, reset))
	h.Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, quota, window))
	return h
}

func TestLimiterPacesByServerHeaders(t *testing.T) {
	// Quota 100 with a reserve of 0.2: 20 requests are left to people.
	// inFlight requests go out after the first, before its answer: the
	// server's count holds only the first of ours.
	tests := []struct {
		name      string
		inFlight  int
		remaining int
		reset     int
		wantWait  time.Duration
	}{
		{name: "30 left, 10 usable over 10 s: one a second", remaining: 30, reset: 10, wantWait: time.Second},
		{name: "60 left, 40 usable over 10 s", remaining: 60, reset: 10, wantWait: 250 * time.Millisecond},
		{name: "only the reserve left: wait for the reset", remaining: 20, reset: 10, wantWait: 10 * time.Second},
		{name: "locked out", remaining: 0, reset: 30, wantWait: 30 * time.Second},
		{name: "only our requests counted: alone on the token, no spreading", inFlight: 2, remaining: 99, reset: 10, wantWait: 0},
		{name: "one request of someone else's: 76 usable over 10 s", inFlight: 2, remaining: 98, reset: 10, wantWait: 10 * time.Second / 76},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
			l := NewLimiter(1000, time.Minute).WithReserve(0.2).WithClock(clock.Now, clock.Sleep)
			ticket, waited, err := l.Wait(context.Background(), nil)
			require.NoError(t, err)
			require.Zero(t, waited, "nothing known of the server yet")
			for range tt.inFlight {
				_, _, err = l.Wait(context.Background(), nil)
				require.NoError(t, err)
			}
			l.Observe(ticket, rateLimitHeaders(tt.remaining, tt.reset, 100, 60))
			_, waited, err = l.Wait(context.Background(), nil)
			require.NoError(t, err)
			assert.Equal(t, tt.wantWait, waited)
		})
	}
}

func TestLimiterCountsRequestsSentAfterTheHeaders(t *testing.T) {
	clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(1000, time.Minute).WithReserve(0.2).WithClock(clock.Now, clock.Sleep)
	first, _, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	// Two more requests go out before the first one's answer arrives ...
	for range 2 {
		_, waited, err := l.Wait(context.Background(), nil)
		require.NoError(t, err)
		require.Zero(t, waited)
	}
	// ... which says 22 left of 100: with 20 reserved, the two in flight used the rest.
	l.Observe(first, rateLimitHeaders(22, 10, 100, 60))
	_, waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, waited)
}

func TestLimiterIgnoresOlderHeaders(t *testing.T) {
	clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(1000, time.Minute).WithReserve(0.2).WithClock(clock.Now, clock.Sleep)
	first, _, _ := l.Wait(context.Background(), nil)
	second, _, _ := l.Wait(context.Background(), nil)
	l.Observe(second, rateLimitHeaders(90, 10, 100, 60))
	l.Observe(first, rateLimitHeaders(20, 10, 100, 60)) // older news, arriving late
	_, waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.Less(t, waited, time.Second)
}

func TestLimiterKeepsItsOwnBudgetUnderGenerousHeaders(t *testing.T) {
	clock := &virtualClock{now: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(2, time.Minute).WithReserve(0.2).WithClock(clock.Now, clock.Sleep)
	ticket, _, _ := l.Wait(context.Background(), nil)
	l.Observe(ticket, rateLimitHeaders(1000, 1, 1200, 60))
	_, _, _ = l.Wait(context.Background(), nil)
	_, waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, waited, 59*time.Second, "requests_per_window 2 holds the third request a window")
}

func TestParseBudget(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	header := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		want   serverBudget
		ok     bool
	}{
		{name: "Cloudflare's headers", header: header("Ratelimit", `"default";r=50;t=30`, "Ratelimit-Policy", `"burst";q=100;w=60`),
			want: serverBudget{remaining: 50, reset: 30 * time.Second, quota: 100, window: time.Minute}, ok: true},
		{name: "spaces and a second list item", header: header("Ratelimit", `"default"; r=7; t=2, "other";r=1;t=1`),
			want: serverBudget{remaining: 7, reset: 2 * time.Second}, ok: true},
		{name: "legacy headers, reset in seconds", header: header("X-RateLimit-Limit", "1200", "X-RateLimit-Remaining", "13", "X-RateLimit-Reset", "42"),
			want: serverBudget{remaining: 13, reset: 42 * time.Second, quota: 1200}, ok: true},
		{name: "legacy headers, reset as a Unix time", header: header("X-RateLimit-Remaining", "5", "X-RateLimit-Reset", "1700000090"),
			want: serverBudget{remaining: 5, reset: 90 * time.Second}, ok: true},
		{name: "Ratelimit without t falls back to legacy", header: header("Ratelimit", `"default";r=5`, "X-RateLimit-Remaining", "4"),
			want: serverBudget{remaining: 4}, ok: true},
		{name: "legacy reset at a Unix time already past", header: header("X-RateLimit-Remaining", "5", "X-RateLimit-Reset", "1699999990"),
			want: serverBudget{remaining: 5}, ok: true},
		{name: "legacy negative limit and negative reset are left out", header: header("X-RateLimit-Limit", "-1", "X-RateLimit-Remaining", "6", "X-RateLimit-Reset", "-5"),
			want: serverBudget{remaining: 6}, ok: true},
		{name: "no headers", header: header()},
		{name: "garbage", header: header("Ratelimit", "soon", "X-RateLimit-Remaining", "many")},
		{name: "negative remaining", header: header("Ratelimit", `"default";r=-1;t=5`, "X-RateLimit-Remaining", "-3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseBudget(tt.header, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
