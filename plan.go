package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// requestPlan is the request rate the configured polls need over a number
// of accounts, by what it is for, against the rate rate_limit allows, all
// per minute.
type requestPlan struct {
	accounts                       int
	listing, logins, sweeps, users float64
	// accessLogins holds the Access log's polls and sweeps, accessUsers its user list polls.
	accessLogins, accessUsers float64
	available                 float64
}

// planned is the whole rate the polls need.
func (p requestPlan) planned() float64 {
	return p.listing + p.logins + p.sweeps + p.users + p.accessLogins + p.accessUsers
}

// planRequests adds up, per minute: one audit request per account per logins
// poll and per sweep (more only when a poll finds more than a page), the
// member pages of every account per users poll (read twice only by a poll
// that finds a member gone, or an account's first: inventory.readUntorn),
// and the account listing every accountRefreshInterval; the Access streams
// like logins and users, an Access user list counting one page (its size is
// not known ahead).
func planRequests(cfg *Config, accounts int, memberPages float64) requestPlan {
	perMinute := func(requests float64, every time.Duration) float64 {
		return requests * float64(time.Minute) / float64(every)
	}
	n := float64(accounts)
	listingPages := math.Ceil(float64(max(accounts, 1)) / cloudflare.AccountsPerPage)
	plan := requestPlan{accounts: accounts, listing: perMinute(listingPages, accountRefreshInterval),
		available: perMinute(float64(cfg.RateLimit.RequestsPerWindow), cfg.RateLimit.Window)}
	if cfg.Logins.Enabled {
		plan.logins = perMinute(n, cfg.Logins.PollInterval)
		if cfg.Logins.LateArrivalWindow > 0 {
			plan.sweeps = perMinute(n, cfg.Logins.LateArrivalSweep)
		}
	}
	if cfg.Users.Enabled {
		plan.users = perMinute(n*memberPages, cfg.Users.PollInterval)
	}
	if cfg.AccessLogins.Enabled {
		plan.accessLogins = perMinute(n, cfg.AccessLogins.PollInterval)
		if cfg.AccessLogins.LateArrivalWindow > 0 {
			plan.accessLogins += perMinute(n, cfg.AccessLogins.LateArrivalSweep)
		}
	}
	if cfg.AccessUsers.Enabled {
		plan.accessUsers = perMinute(n, cfg.AccessUsers.PollInterval)
	}
	return plan
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
	if cfg.Logins.Enabled {
		fields = append(fields, zap.Duration("fitting_logins_poll_interval", stretched(cfg.Logins.PollInterval)),
			zap.Duration("fitting_logins_late_arrival_sweep", stretched(cfg.Logins.LateArrivalSweep)),
			zap.Duration("expected_login_latency", stretched(cfg.Logins.PollInterval)))
	}
	if cfg.Users.Enabled {
		fields = append(fields, zap.Duration("fitting_users_poll_interval", stretched(cfg.Users.PollInterval)))
	}
	if cfg.AccessLogins.Enabled {
		fields = append(fields, zap.Duration("fitting_access_logins_poll_interval", stretched(cfg.AccessLogins.PollInterval)))
	}
	if cfg.AccessUsers.Enabled {
		fields = append(fields, zap.Duration("fitting_access_users_poll_interval", stretched(cfg.AccessUsers.PollInterval)))
	}
	logger.Warn("The configured polls need more requests than rate_limit allows; every account is still polled in turn, "+
		"each less often: logins arrive up to expected_login_latency late. Set the fitting intervals, raise the budget "+
		"if nothing else uses the token, or split the accounts over several tokens", fields...)
}

// rates returns the latest plan, and false before the first.
func (w *planWatch) rates() (requestPlan, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest, w.known
}
