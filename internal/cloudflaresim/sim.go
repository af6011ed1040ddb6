// Package cloudflaresim is a Cloudflare API v4 simulator for tests, demos and
// benchmarks. It serves accounts, members, login audit logs (v1 and v2), Zero
// Trust Access logins and users, and token verification in Cloudflare's wire format on a real HTTP listener, enforces
// Cloudflare's rate-limit behaviour and can inject faults on demand.
package cloudflaresim

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// apiPrefix is where Cloudflare mounts the v4 API.
const apiPrefix = "/client/v4"

// TokenKind says who owns the accepted API token, which decides which
// token-verification endpoint accepts it.
type TokenKind int

const (
	// UserToken is owned by a user and verifies at /user/tokens/verify.
	UserToken TokenKind = iota
	// AccountToken is owned by an account and verifies at
	// /accounts/{id}/tokens/verify.
	AccountToken
)

// Config describes the simulated tenant and the server's behaviour. The zero
// value is usable: it accepts "sim-token" and holds no accounts.
type Config struct {
	// Token is the accepted bearer token; default "sim-token".
	Token string
	// TokenKind decides which /tokens/verify endpoint answers success.
	TokenKind TokenKind
	// Seed makes the generated data deterministic.
	Seed int64

	// Accounts is the number of seeded accounts.
	Accounts int
	// MembersPerAccount is the number of seeded members in each account.
	MembersPerAccount int
	// LoginsPerAccount is the number of seeded login audit entries per
	// account, spread over LoginSpan ending at Now().
	LoginsPerAccount int
	// LoginSpan defaults to 24h.
	LoginSpan time.Duration
	// FailureRatio is the share of seeded logins that failed. Zero means the
	// default 0.1; a negative value means no failures.
	FailureRatio float64

	// RateLimit is the number of requests allowed per RateWindow per token;
	// 0 means unlimited.
	RateLimit int
	// RateWindow defaults to 5m.
	RateWindow time.Duration
	// Lockout is how long every call gets 429 once the limit was exceeded;
	// default 5m, as on Cloudflare.
	Lockout time.Duration
	// DashboardRequestsPerWindow is the token owner's own use of the
	// dashboard: requests per RateWindow counted against the token's limit,
	// sent in bursts of DashboardBurst (default 60) at even intervals from
	// the token's first request. 0: nobody else uses the token.
	DashboardRequestsPerWindow int
	DashboardBurst             int

	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxPerPageAuditLogs caps audit log per_page; default 1000.
	MaxPerPageAuditLogs int
	// ShuffleTies orders audit entries of equal `when` at random on every
	// request, as an API without a tie-breaker may.
	ShuffleTies bool
	// RejectLoginActionType makes Audit Logs v2 answer 400 to
	// action_type=login, as Cloudflare does for an action type its enum does
	// not hold.
	RejectLoginActionType bool
	// Retention, when set, hides audit entries older than Now() minus it, as
	// entries expire out of Cloudflare's retention.
	Retention time.Duration

	// AccessUsersPerAccount is the number of seeded Zero Trust Access users
	// in each account.
	AccessUsersPerAccount int
	// AccessRequestsPerAccount is the number of seeded Access authentication
	// log entries per account, spread over LoginSpan ending at Now().
	AccessRequestsPerAccount int
	// WithoutAccessPermissions makes both Access endpoints answer 403 code
	// 10000, as for a token without the Access permissions.
	WithoutAccessPermissions bool

	// LiveLateDelay, when positive, makes RunLive hold back one of the logins
	// it adds every LiveLateEvery intervals: that entry shows up in the audit
	// log LiveLateDelay after its time, after newer entries were served, as
	// Cloudflare's audit log sometimes shows entries minutes late. It is late
	// only when LiveLateDelay is longer than RunLive's interval.
	LiveLateDelay time.Duration
	// LiveLateEvery is how many live intervals pass between held-back logins;
	// default 3.
	LiveLateEvery int
}

func (c Config) withDefaults() Config {
	if c.Token == "" {
		c.Token = "sim-token"
	}
	if c.LoginSpan <= 0 {
		c.LoginSpan = 24 * time.Hour
	}
	switch {
	case c.FailureRatio == 0:
		c.FailureRatio = 0.1
	case c.FailureRatio < 0:
		c.FailureRatio = 0
	}
	if c.RateWindow <= 0 {
		c.RateWindow = 5 * time.Minute
	}
	if c.Lockout <= 0 {
		c.Lockout = 5 * time.Minute
	}
	if c.DashboardBurst <= 0 {
		c.DashboardBurst = 60
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxPerPageAuditLogs <= 0 {
		c.MaxPerPageAuditLogs = 1000
	}
	if c.LiveLateEvery <= 0 {
		c.LiveLateEvery = 3
	}
	return c
}

// Server is the simulator. All methods are safe for concurrent use, also
// while it serves requests.
type Server struct {
	cfg Config // read-only after New

	// These guard themselves.
	faults      faultQueue
	limiter     *rateLimiter
	stats       statsRecorder
	life        lifecycle
	listChanges listChanges

	mu       sync.Mutex // guards everything below
	token    tokenState
	gen      *generator
	accounts []*accountState // in insertion order
	byID     map[string]*accountState
	liveLate int // how many logins RunLive held back: the next one is of account liveLate mod len(accounts)
}

// New builds a server and seeds its data from cfg. It does not listen; call
// Start, or mount Handler on a server of your own.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg,
		limiter: newRateLimiter(cfg.RateLimit, cfg.RateWindow, cfg.Lockout,
			dashboardUser{perWindow: cfg.DashboardRequestsPerWindow, burst: cfg.DashboardBurst}),
		stats: newStatsRecorder(cfg.RateWindow),
		gen:   newGenerator(cfg.Seed, cfg.FailureRatio),
		byID:  make(map[string]*accountState),
	}
	s.life.done = make(chan struct{})
	now := cfg.Now()
	s.token = newTokenState(cfg.Token, now)
	s.seed(now)
	return s
}

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if s.life.listener != nil || s.life.closed {
		_ = ln.Close()
		return errors.New("cloudflaresim: server already started or closed")
	}
	s.life.listener = ln
	s.life.server = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.life.served = make(chan struct{})
	go func() {
		defer close(s.life.served)
		_ = s.life.server.Serve(ln)
	}()
	return nil
}

// URL is the API base URL including "/client/v4", or "" before Start.
func (s *Server) URL() string {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if s.life.listener == nil {
		return ""
	}
	return "http://" + s.life.listener.Addr().String() + apiPrefix
}

// Handler serves the API; with httptest.NewServer the base URL is
// srv.URL+"/client/v4".
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// Close stops the listener, drops open connections and waits for running
// handlers (including delayed ones) to return.
func (s *Server) Close() error {
	s.life.mu.Lock()
	if s.life.closed {
		s.life.mu.Unlock()
		return nil
	}
	s.life.closed = true
	srv, served := s.life.server, s.life.served
	s.life.mu.Unlock()

	var err error
	if srv != nil {
		err = srv.Close()
		<-served
	}
	close(s.life.done) // after the connections are gone, so no half answer goes out
	s.life.inflight.Wait()
	return err
}

// SetToken replaces the accepted token, which simulates revoking the old one.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = newTokenState(token, s.cfg.Now())
}

// lifecycle tracks the listener and the handlers in flight so Close can wait
// for them; it has its own lock to keep request bookkeeping off the data lock.
type lifecycle struct {
	mu       sync.Mutex
	listener net.Listener
	server   *http.Server
	served   chan struct{} // closed when Serve returns
	closed   bool
	done     chan struct{} // closed by Close; wakes delayed handlers
	inflight sync.WaitGroup
}

// enter registers a handler; it reports false once the server is closed.
// Registering under the lock keeps Add from racing with Close's Wait.
func (l *lifecycle) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.inflight.Add(1)
	return true
}

func (l *lifecycle) leave() { l.inflight.Done() }
