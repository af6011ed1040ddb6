package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

const (
	defaultEndpoint = "https://api.cloudflare.com/client/v4"
	// maxRequests is the most requests one check sends; the rest of the token
	// owner's budget (1200 per 5 minutes, shared with the dashboard) is left alone.
	maxRequests = 60
	// maxAccounts is the most accounts examined; the others are only named.
	maxAccounts = 5
	// pageSize of the audit log listings: the most either source allows.
	pageSize = 1000
	// permission is what every call of the receiver needs of the token.
	permission = "Account Settings:Read"
)

type checkOptions struct {
	endpoint   string
	token      string
	since      time.Duration
	now        time.Time
	httpClient *http.Client
}

// report is what the check found. Its JSON form is the -json output.
type report struct {
	Window         window            `json:"window"`
	Token          tokenReport       `json:"token"`
	UserLog        userLogReport     `json:"user_audit_logs"`
	Accounts       []accountReport   `json:"accounts"`
	MoreAccounts   int               `json:"accounts_not_examined,omitempty"`
	RateLimit      map[string]string `json:"rate_limit_headers,omitempty"`
	Requests       int               `json:"requests"`
	Recommendation []string          `json:"recommendation"`
}

type window struct {
	Since  time.Time `json:"since"`
	Before time.Time `json:"before"`
}

type tokenReport struct {
	Status    string     `json:"status"` // active, disabled, expired, refused, unknown
	ExpiresOn *time.Time `json:"expires_on,omitempty"`
	Owner     string     `json:"owner,omitempty"` // user or account
	Error     string     `json:"error,omitempty"`
}

type accountReport struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Members countReport  `json:"members"`
	V1      sourceReport `json:"audit_logs"`
	V2      sourceReport `json:"audit_logs_v2"`
}

type countReport struct {
	Count             *int   `json:"count,omitempty"`
	MissingPermission string `json:"missing_permission,omitempty"`
	Error             string `json:"error,omitempty"`
}

type sourceReport struct {
	Read              bool       `json:"read"`
	Success           int        `json:"success"`
	Failure           int        `json:"failure"`
	First             *time.Time `json:"first,omitempty"`
	Last              *time.Time `json:"last,omitempty"`
	Actions           []string   `json:"action_type_description_pairs,omitempty"` // v2 only: "type / description"
	FilterRejected    bool       `json:"login_filter_rejected,omitempty"`
	MissingPermission string     `json:"missing_permission,omitempty"`
	Error             string     `json:"error,omitempty"`
	// Account sources only: the people whose logins the source shows, how
	// many of them are not the token owner, and so whether it shows logins
	// of others (othersYes, othersNo, othersUnknown).
	People      int    `json:"people,omitempty"`
	OtherPeople int    `json:"other_people,omitempty"`
	Others      string `json:"logins_of_others,omitempty"`

	people map[string]identity // by identity.key
}

func (s *sourceReport) total() int { return s.Success + s.Failure }

// observer keeps the rate-limit headers of the last response.
type observer struct {
	mu      sync.Mutex
	headers map[string]string
}

func (o *observer) RequestDone(string, int, time.Duration) {}
func (o *observer) RateLimitHeld()                         {}
func (o *observer) RateLimitWaiting(time.Duration)         {}
func (o *observer) ResponseHeaders(_ string, h http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.headers = nil
	for _, name := range []string{"Ratelimit", "Ratelimit-Policy", "Retry-After", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
		if v := h.Get(name); v != "" {
			if o.headers == nil {
				o.headers = map[string]string{}
			}
			o.headers[name] = v
		}
	}
}

// budget refuses requests past maxRequests, whatever the client retries.
type budget struct {
	next http.RoundTripper
	mu   sync.Mutex
	sent int
}

var errBudget = fmt.Errorf("the check's budget of %d requests is spent", maxRequests)

func (b *budget) spent() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent >= maxRequests
}

func (b *budget) RoundTrip(req *http.Request) (*http.Response, error) {
	b.mu.Lock()
	if b.sent >= maxRequests {
		b.mu.Unlock()
		return nil, errBudget
	}
	b.sent++
	b.mu.Unlock()
	return b.next.RoundTrip(req)
}

func check(ctx context.Context, opts checkOptions) *report {
	obs := &observer{}
	transport := opts.httpClient.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	spend := &budget{next: transport}
	httpClient := *opts.httpClient
	httpClient.Transport = spend
	client := cloudflare.New(cloudflare.Options{
		BaseURL:    opts.endpoint,
		Token:      opts.token,
		HTTPClient: &httpClient,
		// The budget caps the requests; the limiter only spaces them, well
		// under Cloudflare's 1200 per 5 minutes.
		Limiter:  cloudflare.NewLimiter(10*maxRequests, 5*time.Minute),
		Retry:    cloudflare.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Second, MaxBackoff: 2 * time.Second},
		Logger:   zap.NewNop(),
		Observer: obs,
	})
	rep := &report{Window: window{Since: opts.now.Add(-opts.since).UTC(), Before: opts.now.UTC()}, Accounts: []accountReport{}}

	token, tokenErr := client.VerifyToken(ctx, "")
	accounts, listErr := client.ListAccounts(ctx)
	switch {
	case tokenErr == nil:
		rep.Token = tokenReportOf(token)
	case listErr == nil && len(accounts) > 0:
		// An account-owned token is not a user: only its account's verify knows it.
		if token, err := client.VerifyToken(ctx, accounts[0].ID); err == nil {
			rep.Token = tokenReportOf(token)
		} else {
			rep.Token = tokenReport{Status: "unknown", Error: err.Error()}
		}
	default:
		status := "refused"
		if kind, _ := cloudflare.KindOf(listErr); kind != cloudflare.KindAuth {
			status = "unknown" // Cloudflare was not reached, or answered badly
		}
		rep.Token = tokenReport{Status: status, Error: tokenErr.Error()}
	}
	if listErr != nil {
		if rep.Token.Status == "refused" || rep.Token.Status == "unknown" {
			rep.Token.Error = listErr.Error()
		} else {
			rep.Token.Error = "listing accounts: " + listErr.Error()
		}
	}

	// Every client New makes lists user logins.
	rep.UserLog = checkUserLog(ctx, client.(cloudflare.UserLoginLister), rep.Token, rep.Window)
	for i, account := range accounts {
		if i >= maxAccounts {
			rep.MoreAccounts = len(accounts) - maxAccounts
			break
		}
		a := checkAccount(ctx, client, spend, account, rep.Window)
		rep.UserLog.judgeOthers(&a.V1)
		rep.UserLog.judgeOthers(&a.V2)
		rep.Accounts = append(rep.Accounts, a)
	}
	rep.RateLimit = obs.headers
	rep.Requests = spend.sent
	rep.Recommendation = recommend(rep)
	return rep
}

func tokenReportOf(t cloudflare.Token) tokenReport {
	r := tokenReport{Status: t.Status, Owner: "user"}
	if t.AccountOwned {
		r.Owner = "account"
	}
	if !t.ExpiresOn.IsZero() {
		e := t.ExpiresOn.UTC()
		r.ExpiresOn = &e
	}
	return r
}

func checkAccount(ctx context.Context, client cloudflare.Client, spend *budget, account cloudflare.Account, w window) accountReport {
	rep := accountReport{ID: account.ID, Name: account.Name}
	if spend.spent() {
		rep.Members.Error, rep.V1.Error, rep.V2.Error = errBudget.Error(), errBudget.Error(), errBudget.Error()
		return rep
	}
	if members, err := client.ListMembers(ctx, account.ID); err != nil {
		rep.Members.MissingPermission, rep.Members.Error = failure(err)
	} else {
		n := len(members)
		rep.Members.Count = &n
	}
	q := cloudflare.RangeQuery{AccountID: account.ID, Since: w.Since, Before: w.Before, PageSize: pageSize}

	err := client.ListLogins(ctx, q, func(page []cloudflare.AuditEntry) error {
		for i := range page {
			if page[i].ActionType == "login" {
				rep.V1.add(&page[i])
			}
		}
		return nil
	})
	rep.V1.done(err)

	pairs := map[string]bool{}
	listV2 := func(q cloudflare.RangeQuery) error {
		return client.ListLoginsV2(ctx, q, func(page []cloudflare.AuditEntry) error {
			for i := range page {
				if cloudflare.IsV2Login(&page[i]) {
					rep.V2.add(&page[i])
					pairs[page[i].ActionType+" / "+page[i].Description] = true
				}
			}
			return nil
		})
	}
	err = listV2(q)
	if cloudflare.IsFilterRejected(err) {
		rep.V2.FilterRejected = true
		q.Unfiltered = true
		err = listV2(q)
	}
	rep.V2.done(err)
	for pair := range pairs {
		rep.V2.Actions = append(rep.V2.Actions, pair)
	}
	sort.Strings(rep.V2.Actions)
	return rep
}

func (s *sourceReport) add(e *cloudflare.AuditEntry) {
	if e.Success {
		s.Success++
	} else {
		s.Failure++
	}
	if who := (identity{ID: e.ActorID, Email: e.ActorEmail}); who.key() != "" {
		if s.people == nil {
			s.people = map[string]identity{}
		}
		s.people[who.key()] = who
	}
	if e.When.IsZero() {
		return
	}
	when := e.When.UTC()
	if s.First == nil || when.Before(*s.First) {
		s.First = &when
	}
	if s.Last == nil || when.After(*s.Last) {
		s.Last = &when
	}
}

func (s *sourceReport) done(err error) {
	if err == nil {
		s.Read = true
		return
	}
	s.MissingPermission, s.Error = failure(err)
}

// failure describes a failed call: the permission it lacks when Cloudflare
// refused the token's access (403), and the error.
func failure(err error) (missingPermission, message string) {
	var apiErr *cloudflare.APIError
	if errors.As(err, &apiErr) && apiErr.Kind == cloudflare.KindAuth && apiErr.StatusCode == http.StatusForbidden && apiErr.Code != 1000 {
		return permission, err.Error()
	}
	return "", err.Error()
}

func recommend(rep *report) []string {
	switch rep.Token.Status {
	case "refused":
		return []string{"The token was refused: check that it is active and copied whole (My Profile > API Tokens, or the account's API Tokens), then run again."}
	case "disabled", "expired":
		return []string{"The token is " + rep.Token.Status + ": roll or re-enable it, then run again."}
	case "unknown":
		if len(rep.Accounts) == 0 {
			return []string{"Cloudflare could not be reached or answered badly: check -endpoint and the network, then run again."}
		}
	}
	if len(rep.Accounts) == 0 {
		return []string{"The token reads no account: grant it " + permission + " on the accounts to watch."}
	}
	var out []string
	missing, v1, v2, unread := false, 0, 0, false
	for _, a := range rep.Accounts {
		if a.Members.MissingPermission != "" || a.V1.MissingPermission != "" || a.V2.MissingPermission != "" {
			missing = true
		}
		if !a.V1.Read || !a.V2.Read {
			unread = true
		}
		v1 += a.V1.total()
		v2 += a.V2.total()
	}
	if missing {
		out = append(out, "Add "+permission+" to the token (for every account listed with a missing permission).")
	}
	switch {
	case v1 == 0 && v2 == 0 && unread:
		out = append(out, "Not every login source could be read: fix the errors above and run again.")
	case v1 == 0 && v2 == 0:
		out = append(out, "No logins in either source in this window: log in to the dashboard once and run again.")
	case v2 > 0 && v1 == 0:
		out = append(out, "Use logins.source: audit_logs_v2 (only Audit Logs v2 carries your logins).")
	case v1 > 0 && v2 == 0:
		out = append(out, "Use logins.source: audit_logs, the default (only Audit Logs v1 carries your logins).")
	case v2 > v1:
		out = append(out, fmt.Sprintf("Use logins.source: audit_logs_v2 (it shows more logins: %d against %d in v1).", v2, v1))
	default:
		out = append(out, "Both sources carry your logins: keep logins.source: audit_logs (the default), or choose audit_logs_v2.")
	}
	return out
}
