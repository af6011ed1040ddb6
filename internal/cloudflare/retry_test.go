package cloudflare

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestRateLimitedCallWaitsAndResumes(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			respond(429, "application/json", `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`)(w, r)
			return
		}
		respond(200, "application/json", membersPage)(w, r)
	}))
	defer srv.Close()
	start := time.Now()
	members, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
	require.NoError(t, err)
	assert.Len(t, members, 1)
	assert.Equal(t, int32(2), attempts.Load())
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "the second call waited for Retry-After")
}

// TestThreeRateLimitsInARowEndTheCall pins maxRateLimitedAttempts: a call
// refused with 429 three times in a row gives up with the 429 (the poll ends
// and the next resumes from its checkpoint) instead of waiting for ever, and
// each attempt waited for the Retry-After of the one before. Retry-After: 0
// is waited as the 1 s minimum, so the test takes about 2 s.
// Mutations caught: maxRateLimitedAttempts 3 -> 4 (a fourth request is sent);
// `rateLimited >= maxRateLimitedAttempts` -> `>` (same); the limiter pause
// dropped from the middleware (the attempts do not wait).
func TestThreeRateLimitsInARowEndTheCall(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.Header().Set("Retry-After", "0")
		respond(429, "application/json", `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`)(w, r)
	}))
	defer srv.Close()
	// One attempt per call for other failures: 429s are counted on their own.
	c := New(Options{BaseURL: srv.URL, Token: testToken, HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter: NewLimiter(1000, time.Minute), Retry: RetryPolicy{MaxAttempts: 1}, Logger: zap.NewNop()})
	start := time.Now()
	_, err := c.ListMembers(context.Background(), "acct")
	elapsed := time.Since(start)

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, KindRateLimited, apiErr.Kind)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	assert.Equal(t, 971, apiErr.Code)
	assert.Equal(t, time.Second, apiErr.RetryAfter, "Retry-After: 0 is waited as 1 s")
	assert.Equal(t, int32(3), attempts.Load(), "three 429s, then the call gives up")
	assert.GreaterOrEqual(t, elapsed, 2*time.Second, "each attempt after a 429 waited for its Retry-After")
}

// TestDefaultRetryBackoff: with the default policy the wait before attempt
// n+1 is drawn from [d/2, d], d = 2 s doubling per attempt and capped at
// 30 s, as docs/monitoring.md and RELIABILITY.md state; four attempts in all.
func TestDefaultRetryBackoff(t *testing.T) {
	c := New(Options{BaseURL: "http://127.0.0.1:9", Token: testToken, HTTPClient: &http.Client{}, Limiter: NewLimiter(1, time.Second)}).(*client)
	assert.Equal(t, 4, c.retry.MaxAttempts)
	for attempt, d := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 16 * time.Second, 5: 30 * time.Second, 9: 30 * time.Second} {
		for range 200 {
			wait := c.backoff(attempt)
			require.GreaterOrEqual(t, wait, d/2, "attempt %d", attempt)
			require.LessOrEqual(t, wait, d, "attempt %d", attempt)
		}
	}
}
