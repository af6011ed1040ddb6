package cloudflaresim

import (
	"maps"
	"net/http"
	"sync"
	"time"
)

// Stats counts what the server received and refused.
type Stats struct {
	Requests     map[Endpoint]int // per endpoint, including refused requests
	Total        int              // every request, including unknown paths
	RateLimited  int              // 429s sent, enforced or injected
	Unauthorized int              // 401s and 403s sent
	// MaxInWindow is the peak number of requests seen within any sliding
	// RateWindow, to check that a client stayed under the limit.
	MaxInWindow int
	// DashboardRequests are the simulated dashboard user's requests
	// (Config.DashboardRequestsPerWindow), not counted above, and
	// DashboardRefused those of them refused by the rate limit.
	DashboardRequests, DashboardRefused int
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := s.stats.counts
	out.Requests = maps.Clone(out.Requests)
	out.DashboardRequests, out.DashboardRefused = s.limiter.dashboardStats()
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.counts = Stats{Requests: make(map[Endpoint]int)}
	s.stats.recent = nil
	s.limiter.resetDashboardStats()
}

type statsRecorder struct {
	window time.Duration

	mu     sync.Mutex
	counts Stats
	recent []time.Time // arrival times inside the last window, oldest first
}

func newStatsRecorder(window time.Duration) statsRecorder {
	return statsRecorder{window: window, counts: Stats{Requests: make(map[Endpoint]int)}}
}

// received counts an arriving request; endpoint is "" for unknown paths.
func (r *statsRecorder) received(endpoint Endpoint, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts.Total++
	if endpoint != "" {
		r.counts.Requests[endpoint]++
	}
	start := now.Add(-r.window)
	expired := 0
	for expired < len(r.recent) && !r.recent[expired].After(start) {
		expired++
	}
	r.recent = append(r.recent[expired:], now)
	r.counts.MaxInWindow = max(r.counts.MaxInWindow, len(r.recent))
}

// answered counts the refusals among the statuses sent.
func (r *statsRecorder) answered(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch status {
	case http.StatusTooManyRequests:
		r.counts.RateLimited++
	case http.StatusUnauthorized, http.StatusForbidden:
		r.counts.Unauthorized++
	}
}
