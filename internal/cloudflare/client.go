// Package cloudflare reads accounts, members, login audit entries and Zero
// Trust Access logins and users from the Cloudflare API through cloudflare-go
// v7, with its own paging, rate limiting, retries and error classification.
package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/audit_logs"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"go.uber.org/zap"
)

// Client reads the parts of the Cloudflare API the receiver needs.
type Client interface {
	// VerifyToken checks the token: as a user token when accountID is empty,
	// else as a token owned by that account.
	VerifyToken(ctx context.Context, accountID string) (Token, error)
	// ListAccounts returns every account the token can read.
	ListAccounts(ctx context.Context) ([]Account, error)
	// ListMembers returns every member of an account.
	ListMembers(ctx context.Context, accountID string) ([]Member, error)
	// ListLogins pages through the login audit entries of q, oldest first,
	// handing each page to fn. An error from fn stops the paging and is returned.
	ListLogins(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error
	// ListLoginsV2 is ListLogins from Audit Logs v2 (GET
	// /accounts/{id}/logs/audit), paged by cursor; see its doc.
	ListLoginsV2(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error
	// ListAccessRequests pages through the Zero Trust Access authentication
	// log of q (GET /accounts/{id}/access/logs/access_requests), oldest first.
	ListAccessRequests(ctx context.Context, q RangeQuery, fn func(page []AccessRequest) error) error
	// ListAccessUsers returns every user of an account's Zero Trust organization.
	ListAccessUsers(ctx context.Context, accountID string) ([]AccessUser, error)
}

// Observer is told about every request; it feeds the receiver's own metrics.
type Observer interface {
	RequestDone(endpoint string, statusCode int, elapsed time.Duration)
	// RateLimitHeld counts a request held back by the limiter or a 429 pause.
	RateLimitHeld()
	// RateLimitWaiting adds a pause as it starts.
	RateLimitWaiting(wait time.Duration)
}

// HeaderObserver, when the Observer also implements it, is handed the
// headers of every response received, before the body is read.
type HeaderObserver interface {
	ResponseHeaders(endpoint string, header http.Header)
}

// defaultMaxResponseBytes refuses bodies larger than any real page (1,000 audit entries are about 600 kB).
const defaultMaxResponseBytes = 32 << 20

// Options configures New.
type Options struct {
	BaseURL          string // e.g. https://api.cloudflare.com/client/v4
	Token            string
	HTTPClient       *http.Client // built from confighttp; every redirect is refused
	Limiter          *Limiter
	Retry            RetryPolicy
	MaxResponseBytes int64
	Logger           *zap.Logger
	Observer         Observer // nil: no observer
}

type client struct {
	accounts         *accounts.AccountService
	members          *accounts.MemberService
	accountTokens    *accounts.TokenService
	auditLogs        *audit_logs.AuditLogService
	auditLogsV2      *accounts.LogAuditService
	userTokens       *user.TokenService
	accessRequests   *zero_trust.AccessLogAccessRequestService
	accessUsers      *zero_trust.AccessUserService
	limiter          *Limiter
	retry            RetryPolicy
	maxResponseBytes int64
	maxPages         int
	logger           *zap.Logger
	observer         Observer
	token            string // only to keep it out of error messages
}

// New builds a Client. Services are created from cloudflare-go's sub-packages
// rather than its root client, which would read CLOUDFLARE_* environment
// variables and link every API of Cloudflare.
func New(opts Options) Client {
	c := &client{
		limiter:          opts.Limiter,
		retry:            opts.Retry,
		maxResponseBytes: opts.MaxResponseBytes,
		maxPages:         defaultMaxPages,
		logger:           opts.Logger,
		observer:         opts.Observer,
		token:            opts.Token,
	}
	if c.observer == nil {
		c.observer = nopObserver{}
	}
	if c.maxResponseBytes <= 0 {
		c.maxResponseBytes = defaultMaxResponseBytes
	}
	if c.retry.MaxAttempts < 1 {
		c.retry = DefaultRetryPolicy
	}
	httpClient := *opts.HTTPClient
	httpClient.CheckRedirect = refuseRedirect
	sdkOpts := []option.RequestOption{
		option.WithBaseURL(opts.BaseURL),
		option.WithAPIToken(opts.Token),
		option.WithHTTPClient(&httpClient),
		option.WithMaxRetries(0), // retries and 429s are handled here, not by sleeping inside the SDK
		option.WithMiddleware(c.middleware),
	}
	c.accounts = accounts.NewAccountService(sdkOpts...)
	c.members = accounts.NewMemberService(sdkOpts...)
	c.accountTokens = accounts.NewTokenService(sdkOpts...)
	c.auditLogs = audit_logs.NewAuditLogService(sdkOpts...)
	c.auditLogsV2 = accounts.NewLogAuditService(sdkOpts...)
	c.userTokens = user.NewTokenService(sdkOpts...)
	c.accessRequests = zero_trust.NewAccessLogAccessRequestService(sdkOpts...)
	c.accessUsers = zero_trust.NewAccessUserService(sdkOpts...)
	return c
}

// refuseRedirect refuses every redirect. The Cloudflare API does not
// redirect, and Go would send the Authorization header to the new URL when it
// is on the same host, whatever its scheme: a redirect from https to http
// would carry the token in clear.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return &redirectError{status: status, scheme: req.URL.Scheme}
}

func (c *client) VerifyToken(ctx context.Context, accountID string) (Token, error) {
	if accountID == "" {
		var res *user.TokenVerifyResponse
		err := c.call(ctx, EndpointUserTokenVerify, func() (err error) {
			res, err = c.userTokens.Verify(ctx)
			return err
		})
		if err != nil {
			return Token{}, err
		}
		return Token{ID: res.ID, Status: string(res.Status), ExpiresOn: res.ExpiresOn}, nil
	}
	var params accounts.TokenVerifyParams
	params.AccountID.Value, params.AccountID.Present = accountID, true
	var res *accounts.TokenVerifyResponse
	err := c.call(ctx, EndpointAccountTokenVerify, func() (err error) {
		res, err = c.accountTokens.Verify(ctx, params)
		return err
	})
	if err != nil {
		return Token{}, err
	}
	return Token{ID: res.ID, Status: string(res.Status), ExpiresOn: res.ExpiresOn, AccountOwned: true}, nil
}

type nopObserver struct{}

func (nopObserver) RequestDone(string, int, time.Duration) {}
func (nopObserver) RateLimitHeld()                         {}
func (nopObserver) RateLimitWaiting(time.Duration)         {}
