package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// requestPlan is the request rate the configured polls need over a number
// of accounts, by stream, against the rate rate_limit allows, all per minute.
type requestPlan struct {
	accounts  int
	listing   float64            // the account listing
	byStream  map[string]float64 // the polls of every account, by stream name
	available float64
}

// planned is the whole rate the polls need.
func (p requestPlan) planned() float64 {
	total := p.listing
	for _, rate := range p.byStream {
		total += rate
	}
	return total
}

// planRequests adds up, per minute, what every enabled stream's polls of
// every account cost (streamDescriptor.requestsPerMinute), and the account
// listing every accountRefreshInterval. memberPages is the member list's
// pages per account.
func planRequests(cfg *Config, accounts int, memberPages float64) requestPlan {
	listingPages := math.Ceil(float64(max(accounts, 1)) / cloudflare.AccountsPerPage)
	plan := requestPlan{accounts: accounts, listing: perMinute(listingPages, accountRefreshInterval),
		byStream: map[string]float64{}, available: perMinute(float64(cfg.RateLimit.RequestsPerWindow), cfg.RateLimit.Window)}
	for _, s := range allStreams {
		if s.enabled(cfg) {
			plan.byStream[s.name] = float64(accounts) * s.requestsPerMinute(cfg, memberPages)
		}
	}
	return plan
}

// shares divides the available rate among the account listing (key "")
// and the streams, as they share the rate limiter when the plan exceeds it:
// each stream's step then spreads its polls over its interval (pollStep), so
// a stream that needs less than an equal part of what is left gets what it
// needs, and the others divide the rest equally (max-min fairness). Under
// budget each gets what it needs.
func (p requestPlan) shares() map[string]float64 {
	needs := map[string]float64{"": p.listing}
	for name, rate := range p.byStream {
		needs[name] = rate
	}
	keys := slices.SortedFunc(maps.Keys(needs), func(a, b string) int { return cmp.Compare(needs[a], needs[b]) })
	shares := make(map[string]float64, len(needs))
	left := p.available
	for i, key := range keys {
		shares[key] = min(needs[key], left/float64(len(keys)-i))
		left -= shares[key]
	}
	return shares
}

// latency is how often the plan lets a stream poll each account, at least
// its poll interval: the interval stretched by what the stream needs over
// its share.
func (p requestPlan) latency(stream string, pollInterval time.Duration) time.Duration {
	need, share := p.byStream[stream], p.shares()[stream]
	if need <= share || share <= 0 {
		return pollInterval
	}
	return time.Duration(float64(pollInterval) * need / share)
}

// stretch is how much longer every interval must be for the plan to fit
// the budget; 1 when it fits.
func (p requestPlan) stretch() float64 {
	return max(1, p.planned()/p.available)
}

// planWatch checks the plan whenever the number of accounts changes, logs
// one WARN when it does not fit, and keeps the latest for the metric.
type planWatch struct {
	mu     sync.Mutex
	latest requestPlan
	known  bool
}

// check plans for accounts unless that count was planned for already.
// memberPages is asked only then: it walks the member directory of every account.
func (w *planWatch) check(cfg *Config, logger *zap.Logger, accounts int, memberPages func() float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.known && w.latest.accounts == accounts {
		return
	}
	plan := planRequests(cfg, accounts, memberPages())
	w.latest, w.known = plan, true
	if plan.planned() <= plan.available {
		return
	}
	stretch := plan.stretch()
	stretched := func(d time.Duration) time.Duration {
		return time.Duration(math.Ceil(float64(d)*stretch/float64(time.Second))) * time.Second
	}
	fields := []zap.Field{
		zap.Int("accounts", accounts),
		zap.Float64("planned_requests_per_minute", math.Round(plan.planned()*10)/10),
		zap.Float64("available_requests_per_minute", math.Round(plan.available*10)/10),
	}
	for _, s := range allStreams {
		if !s.enabled(cfg) {
			continue
		}
		intervals := s.intervals(cfg)
		for _, interval := range intervals {
			fields = append(fields, zap.Duration("fitting_"+s.name+"_"+interval.key, stretched(interval.value)))
		}
		if s.latencyKey != "" {
			fields = append(fields, zap.Duration(s.latencyKey, plan.latency(s.name, intervals[0].value).Round(time.Second)))
		}
	}
	logger.Warn("The configured polls need more requests than rate_limit allows; every account is still polled in turn, "+
		"each less often: logins arrive up to expected_login_latency late. Set the fitting intervals, raise the budget "+
		"if nothing else uses the token, or split the accounts over several tokens", fields...)
}

// overBudget reports whether the latest plan needs more than the budget.
func (w *planWatch) overBudget() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.known && w.latest.planned() > w.latest.available
}

// rates returns the latest plan's planned and available rates, and false
// before the first.
func (w *planWatch) rates() (planned, available float64, known bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest.planned(), w.latest.available, w.known
}
