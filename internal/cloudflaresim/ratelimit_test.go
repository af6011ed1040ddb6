package cloudflaresim

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateLimitLockout(t *testing.T) {
	clock := NewManualClock(testStart)
	s := startServer(t, Config{Accounts: 1, RateLimit: 3, RateWindow: time.Minute, Lockout: 30 * time.Second, Now: clock.Now})

	// t counts down to when the oldest request leaves the window.
	for i, want := range []string{`"default";r=2;t=60`, `"default";r=1;t=59`, `"default";r=0;t=58`} {
		res, _ := get(t, s, "/accounts", testToken)
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i+1)
		assert.Equal(t, want, res.Header.Get("Ratelimit"))
		assert.Equal(t, `"default";q=3;w=60`, res.Header.Get("Ratelimit-Policy"))
		assert.Empty(t, res.Header.Get("Retry-After"))
		clock.Advance(time.Second)
	}

	res, body := get(t, s, "/accounts", testToken)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, wireError{Code: 971, Message: "Please wait and consider throttling your request speed"}, apiErrorOf(t, body))
	assert.Equal(t, "30", res.Header.Get("Retry-After"))
	assert.Equal(t, `"default";r=0;t=30`, res.Header.Get("Ratelimit"))

	clock.Advance(10*time.Second + 500*time.Millisecond)
	res, _ = get(t, s, "/accounts/"+s.Accounts()[0].ID+"/members", testToken)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "every endpoint is locked out")
	assert.Equal(t, "20", res.Header.Get("Retry-After"), "rounded up; the refused call did not extend the lockout")

	clock.Advance(19*time.Second + 500*time.Millisecond)
	res, _ = get(t, s, "/accounts", testToken)
	assert.Equal(t, http.StatusOK, res.StatusCode, "lockout over")
	assert.Equal(t, `"default";r=2;t=60`, res.Header.Get("Ratelimit"))

	st := s.Stats()
	assert.Equal(t, 2, st.RateLimited)
	assert.Equal(t, 6, st.Total)
	assert.Equal(t, 5, st.Requests[EndpointAccounts])
	assert.Equal(t, 1, st.Requests[EndpointMembers])
}

func TestRateLimitWindowSlides(t *testing.T) {
	clock := NewManualClock(testStart)
	s := startServer(t, Config{RateLimit: 2, RateWindow: 10 * time.Second, Now: clock.Now})
	status := func() int {
		res, _ := get(t, s, "/accounts", testToken)
		return res.StatusCode
	}

	assert.Equal(t, http.StatusOK, status()) // t=0
	clock.Advance(6 * time.Second)
	assert.Equal(t, http.StatusOK, status()) // t=6
	clock.Advance(4 * time.Second)
	assert.Equal(t, http.StatusOK, status(), "t=10: the request at t=0 has left the window")
	clock.Advance(time.Second)
	assert.Equal(t, http.StatusTooManyRequests, status(), "t=11: requests at 6 and 10 are inside")
	assert.Equal(t, 3, s.Stats().MaxInWindow)
}

func TestUnlimitedSendsNoRateLimitHeaders(t *testing.T) {
	s := startServer(t, Config{})
	for range 20 {
		res, _ := get(t, s, "/accounts", testToken)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Empty(t, res.Header.Get("Ratelimit"))
		assert.Empty(t, res.Header.Get("Ratelimit-Policy"))
	}
	st := s.Stats()
	assert.Equal(t, 20, st.MaxInWindow)
	s.ResetStats()
	assert.Equal(t, Stats{Requests: map[Endpoint]int{}}, s.Stats())
}

func TestStatsMaxInWindow(t *testing.T) {
	clock := NewManualClock(testStart)
	s := startServer(t, Config{RateWindow: time.Minute, Now: clock.Now})
	for _, gap := range []time.Duration{0, 10 * time.Second, 10 * time.Second, time.Minute, time.Second} {
		clock.Advance(gap)
		get(t, s, "/accounts", testToken)
	}
	assert.Equal(t, 3, s.Stats().MaxInWindow)
}

func TestDashboardUserSharesTheTokensBudget(t *testing.T) {
	clock := NewManualClock(testStart)
	// 50 requests a minute in bursts of 10: one burst every 12 s, from the first request.
	s := startServer(t, Config{Accounts: 1, RateLimit: 100, RateWindow: time.Minute, DashboardRequestsPerWindow: 50,
		DashboardBurst: 10, Now: clock.Now})
	res, _ := get(t, s, "/accounts", testToken)
	assert.Equal(t, `"default";r=89;t=60`, res.Header.Get("Ratelimit"), "the first burst and this request")
	clock.Advance(30 * time.Second) // two more bursts, at 12 s and 24 s
	res, _ = get(t, s, "/accounts", testToken)
	assert.Equal(t, `"default";r=68;t=30`, res.Header.Get("Ratelimit"))
	st := s.Stats()
	assert.Equal(t, 30, st.DashboardRequests)
	assert.Zero(t, st.DashboardRefused)
	assert.Equal(t, 2, st.Total, "the dashboard's requests are not the API client's")
}

func TestDashboardUserOverTheLimitLocksEveryoneOut(t *testing.T) {
	clock := NewManualClock(testStart)
	s := startServer(t, Config{Accounts: 1, RateLimit: 100, RateWindow: time.Minute, DashboardRequestsPerWindow: 150,
		DashboardBurst: 50, Now: clock.Now})
	res, _ := get(t, s, "/accounts", testToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	clock.Advance(20 * time.Second) // the second burst: the 52nd to 101st requests of the window
	res, _ = get(t, s, "/accounts", testToken)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "locked out by the dashboard's 101st")
	st := s.Stats()
	assert.Equal(t, 1, st.DashboardRefused, "the 101st request starts the lockout")
	assert.Equal(t, 1, st.RateLimited)
}
