package cloudflaresim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultResponses(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantType   string
		check      func(t *testing.T, res *http.Response, body []byte)
	}{
		{
			name:       "rate limited",
			fault:      Fault{Kind: FaultRateLimited, RetryAfter: 2500 * time.Millisecond},
			wantStatus: http.StatusTooManyRequests,
			wantType:   "application/json",
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Equal(t, "3", res.Header.Get("Retry-After"))
				assert.Equal(t, 971, apiErrorOf(t, body).Code)
			},
		},
		{
			name:       "rate limited with default Retry-After",
			fault:      Fault{Kind: FaultRateLimited},
			wantStatus: http.StatusTooManyRequests,
			wantType:   "application/json",
			check: func(t *testing.T, res *http.Response, _ []byte) {
				assert.Equal(t, "1", res.Header.Get("Retry-After"))
			},
		},
		{
			name:       "server error",
			fault:      Fault{Kind: FaultServerError},
			wantStatus: http.StatusInternalServerError,
			wantType:   "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.Equal(t, 10002, apiErrorOf(t, body).Code)
			},
		},
		{
			name:       "bad gateway",
			fault:      Fault{Kind: FaultBadGateway},
			wantStatus: http.StatusBadGateway,
			wantType:   "text/html",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.Contains(t, string(body), "502 Bad Gateway")
			},
		},
		{
			name:       "HTML body",
			fault:      Fault{Kind: FaultHTMLBody},
			wantStatus: http.StatusOK,
			wantType:   "text/html",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.True(t, strings.HasPrefix(string(body), "<!DOCTYPE html>"))
			},
		},
		{
			name:       "truncated body",
			fault:      Fault{Kind: FaultTruncatedBody},
			wantStatus: http.StatusOK,
			wantType:   "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.NotEmpty(t, body)
				assert.False(t, json.Valid(body))
			},
		},
		{
			name:       "invalid token",
			fault:      Fault{Kind: FaultInvalidToken},
			wantStatus: http.StatusUnauthorized,
			wantType:   "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.Equal(t, wireError{Code: 1000, Message: "Invalid API Token"}, apiErrorOf(t, body))
			},
		},
		{
			name:       "forbidden",
			fault:      Fault{Kind: FaultForbidden},
			wantStatus: http.StatusForbidden,
			wantType:   "application/json",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				assert.Equal(t, 9109, apiErrorOf(t, body).Code)
			},
		},
		{
			name:       "oversized body",
			fault:      Fault{Kind: FaultOversizedBody, Size: 1 << 20},
			wantStatus: http.StatusOK,
			wantType:   "application/json",
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Len(t, body, 1<<20)
				assert.EqualValues(t, 1<<20, res.ContentLength)
				var env struct {
					Success bool              `json:"success"`
					Result  []json.RawMessage `json:"result"`
				}
				require.NoError(t, json.Unmarshal(body, &env))
				assert.True(t, env.Success)
				assert.Len(t, env.Result, 2)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Accounts: 2})
			s.InjectFault(tt.fault)
			res, body := get(t, s, "/accounts", testToken)
			assert.Equal(t, tt.wantStatus, res.StatusCode)
			assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), tt.wantType), res.Header.Get("Content-Type"))
			tt.check(t, res, body)

			res, _ = get(t, s, "/accounts", testToken)
			assert.Equal(t, http.StatusOK, res.StatusCode, "a fault applies once by default")
		})
	}
}

// TestFaultsThroughSDK checks that cloudflare-go reports each fault as the
// failure it stands for.
func TestFaultsThroughSDK(t *testing.T) {
	tests := []struct {
		name       string
		kind       FaultKind
		wantStatus int
		wantErr    string
	}{
		{"rate limited", FaultRateLimited, http.StatusTooManyRequests, "971"},
		{"server error", FaultServerError, http.StatusInternalServerError, "10002"},
		{"invalid token", FaultInvalidToken, http.StatusUnauthorized, "1000"},
		{"forbidden", FaultForbidden, http.StatusForbidden, "9109"},
		{"truncated body", FaultTruncatedBody, http.StatusOK, "error parsing response json"},
		{"HTML body", FaultHTMLBody, http.StatusOK, "text/html"},
		{"bad gateway", FaultBadGateway, http.StatusBadGateway, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Accounts: 1})
			s.InjectFault(Fault{Kind: tt.kind})
			var res *http.Response
			_, err := accounts.NewAccountService(sdkOptions(t, s)...).
				List(context.Background(), accountParams(1, 20), option.WithResponseInto(&res))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			require.NotNil(t, res)
			assert.Equal(t, tt.wantStatus, res.StatusCode)
		})
	}
}

func TestFaultConnectionReset(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	s.InjectFault(Fault{Kind: FaultConnectionReset})
	_, err := accounts.NewAccountService(sdkOptions(t, s)...).List(context.Background(), accountParams(1, 20))
	require.Error(t, err)

	_, err = accounts.NewAccountService(sdkOptions(t, s)...).List(context.Background(), accountParams(1, 20))
	require.NoError(t, err)
}

func TestFaultSlow(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	svc := accounts.NewAccountService(sdkOptions(t, s)...)

	s.InjectFault(Fault{Kind: FaultSlow, Delay: 150 * time.Millisecond})
	start := time.Now()
	res, err := svc.List(context.Background(), accountParams(1, 20))
	require.NoError(t, err)
	assert.Len(t, res.Result, 1)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	s.InjectFault(Fault{Kind: FaultSlow, Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = svc.List(ctx, accountParams(1, 20))
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFaultTargeting(t *testing.T) {
	s := startServer(t, Config{Accounts: 2})
	a, b := s.Accounts()[0].ID, s.Accounts()[1].ID
	status := func(path string) int {
		res, _ := get(t, s, path, testToken)
		return res.StatusCode
	}

	s.InjectFault(Fault{Kind: FaultServerError, Endpoint: EndpointMembers, AccountID: b, Count: 2})
	assert.Equal(t, http.StatusOK, status("/accounts"), "other endpoint")
	assert.Equal(t, http.StatusOK, status("/accounts/"+a+"/members"), "other account")
	assert.Equal(t, http.StatusInternalServerError, status("/accounts/"+b+"/members"))
	assert.Equal(t, http.StatusInternalServerError, status("/accounts/"+b+"/members"))
	assert.Equal(t, http.StatusOK, status("/accounts/"+b+"/members"), "used up after Count")

	s.InjectFault(Fault{Kind: FaultForbidden, Count: -1})
	for range 3 {
		assert.Equal(t, http.StatusForbidden, status("/accounts"))
	}
	s.ClearFaults()
	assert.Equal(t, http.StatusOK, status("/accounts"))
}

// fiveLoginsBase is the time of login "0" of serverWithFiveLogins.
var fiveLoginsBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// serverWithFiveLogins serves one account whose log holds logins "0" to "4",
// a second apart from fiveLoginsBase.
func serverWithFiveLogins(t *testing.T) (*Server, string) {
	s := startServer(t, Config{Accounts: 1, Now: NewManualClock(testStart).Now})
	acct := s.Accounts()[0].ID
	for i := range 5 {
		s.AppendLogin(acct, LoginEvent{ID: strconv.Itoa(i), When: fiveLoginsBase.Add(time.Duration(i) * time.Second)})
	}
	return s, acct
}

func TestAuditLogFaults(t *testing.T) {
	s, acct := serverWithFiveLogins(t)
	page := func(n int) []string {
		q := map[string]string{"direction": "asc", "per_page": "2", "page": strconv.Itoa(n)}
		return auditIDs(auditPage(t, s, acct, q))
	}

	s.InjectFault(Fault{Kind: FaultDuplicateEntry})
	assert.Equal(t, []string{"0", "1"}, page(1), "nothing before the first page of the whole log")
	s.InjectFault(Fault{Kind: FaultDuplicateEntry})
	assert.Equal(t, []string{"1", "2", "3"}, page(2))
	assert.Equal(t, []string{"2", "3"}, page(2), "applied once")
	s.InjectFault(Fault{Kind: FaultDuplicateEntry})
	since := map[string]string{"direction": "asc", "per_page": "2", "page": "1", "since": fiveLoginsBase.Add(2 * time.Second).Format(time.RFC3339)}
	assert.Equal(t, []string{"1", "2", "3"}, auditIDs(auditPage(t, s, acct, since)), "page 1: the newest entry before since")

	s.InjectFault(Fault{Kind: FaultEmptyPage, Endpoint: ""})
	res, _ := get(t, s, "/accounts", testToken)
	assert.Equal(t, http.StatusOK, res.StatusCode, "audit-only faults skip other endpoints")
	assert.Equal(t, []string{}, page(1))
	assert.Equal(t, []string{"0", "1"}, page(1))
}

// TestEmptyPageFaultTellsWhatTheRangeHolds: an early empty page hides the
// page's entries only; the rest of the response is what Cloudflare sends for
// the range: v1's result_info still counts the range's entries, and v2 still
// gives the cursor of the page after it. The Access log's bare array has
// nothing more to tell.
// Mutation caught: loginPage zeroing total along with the events
// (`events, total = nil, 0`): v1's total_count is 0 and v2 gives no cursor.
func TestEmptyPageFaultTellsWhatTheRangeHolds(t *testing.T) {
	s, acct := serverWithFiveLogins(t)
	tests := []struct {
		name, path     string
		endpoint       Endpoint
		wantTotalCount int
		wantCursor     bool
	}{
		{name: "v1", path: "/accounts/" + acct + "/audit_logs?direction=asc&per_page=2&page=1",
			endpoint: EndpointAuditLogs, wantTotalCount: 5},
		{name: "v2", path: "/accounts/" + acct + "/logs/audit?direction=asc&limit=2&since=2026-10-01&before=2026-12-01",
			endpoint: EndpointAuditLogsV2, wantCursor: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.InjectFault(Fault{Kind: FaultEmptyPage, Endpoint: tt.endpoint})
			res, body := get(t, s, tt.path, testToken)
			var page struct {
				Result     []json.RawMessage `json:"result"`
				ResultInfo struct {
					TotalCount int    `json:"total_count"`
					Cursor     string `json:"cursor"`
				} `json:"result_info"`
			}
			require.Equal(t, http.StatusOK, res.StatusCode, string(body))
			require.NoError(t, json.Unmarshal(body, &page))
			assert.Empty(t, page.Result)
			assert.Equal(t, tt.wantTotalCount, page.ResultInfo.TotalCount)
			assert.Equal(t, tt.wantCursor, page.ResultInfo.Cursor != "")
		})
	}
}
