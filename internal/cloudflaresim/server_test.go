package cloudflaresim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBearerToken(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"wrong scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"no scheme", testToken, http.StatusUnauthorized},
		{"valid", "Bearer " + testToken, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + testToken, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL()+"/accounts", nil)
			require.NoError(t, err)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			res, err := testHTTPClient(t).Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			assert.Equal(t, tt.wantStatus, res.StatusCode)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		})
	}
	assert.Equal(t, 4, s.Stats().Unauthorized)

	_, body := get(t, s, "/accounts", "")
	assert.JSONEq(t, `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}`, string(body))
}

func TestSetTokenRevokesTheOldOne(t *testing.T) {
	s := startServer(t, Config{})
	s.SetToken("rotated")
	res, _ := get(t, s, "/accounts", testToken)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = get(t, s, "/accounts", "rotated")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestRouting(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	acct := s.Accounts()[0].ID
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     int
	}{
		{http.MethodGet, "/zones", http.StatusNotFound, 7003},
		{http.MethodGet, "/accounts/" + acct, http.StatusNotFound, 7003},
		{http.MethodGet, "/accounts//members", http.StatusNotFound, 7003},
		{http.MethodGet, "/accounts/" + acct + "/members/extra", http.StatusNotFound, 7003},
		{http.MethodPost, "/accounts", http.StatusMethodNotAllowed, 7001},
		{http.MethodDelete, "/accounts/" + acct + "/members", http.StatusMethodNotAllowed, 7001},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL()+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+testToken)
			res, err := testHTTPClient(t).Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, res.StatusCode)
			assert.Equal(t, tt.wantCode, apiErrorOf(t, body).Code)
		})
	}
	st := s.Stats()
	assert.Equal(t, len(tests), st.Total)
	assert.Equal(t, 1, st.Requests[EndpointAccounts])
	assert.Equal(t, 1, st.Requests[EndpointMembers])
}

func TestTokenVerify(t *testing.T) {
	for _, kind := range []TokenKind{UserToken, AccountToken} {
		s := startServer(t, Config{Accounts: 1, TokenKind: kind})
		acct := s.Accounts()[0].ID

		var p accounts.TokenVerifyParams
		p.AccountID.Value, p.AccountID.Present = acct, true
		var accountRes, userRes *http.Response
		accountTok, accountErr := accounts.NewTokenService(sdkOptions(t, s)...).Verify(context.Background(), p, option.WithResponseInto(&accountRes))
		userTok, userErr := user.NewTokenService(sdkOptions(t, s)...).Verify(context.Background(), option.WithResponseInto(&userRes))

		if kind == UserToken {
			require.NoError(t, userErr)
			assert.Len(t, userTok.ID, 32)
			assert.Equal(t, user.TokenVerifyResponseStatusActive, userTok.Status)
			assert.True(t, userTok.ExpiresOn.After(userTok.NotBefore))
			require.Error(t, accountErr)
			assert.Equal(t, http.StatusUnauthorized, accountRes.StatusCode)
			assert.Contains(t, accountErr.Error(), "1000")
		} else {
			require.NoError(t, accountErr)
			assert.Len(t, accountTok.ID, 32)
			assert.Equal(t, accounts.TokenVerifyResponseStatusActive, accountTok.Status)
			require.Error(t, userErr)
			assert.Equal(t, http.StatusUnauthorized, userRes.StatusCode)
			assert.Contains(t, userErr.Error(), "Invalid API Token")

			res, body := get(t, s, "/accounts/0000/tokens/verify", testToken)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assert.Equal(t, 9109, apiErrorOf(t, body).Code)
		}
	}
}

func TestTokenVerifyBody(t *testing.T) {
	s := startServer(t, Config{Now: NewManualClock(testStart).Now})
	_, body := get(t, s, "/user/tokens/verify", testToken)
	assert.JSONEq(t, `{
		"success": true, "errors": [],
		"messages": [{"code": 10000, "message": "This API Token is valid and active", "type": null}],
		"result": {"id": "`+newTokenState(testToken, time.Time{}).info.ID+`", "status": "active",
			"not_before": "2026-11-28T12:00:00Z", "expires_on": "2027-11-28T12:00:00Z"}
	}`, string(body))
}

func TestHandlerWithHTTPTest(t *testing.T) {
	s := New(Config{Token: testToken, Accounts: 3})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	res, err := accounts.NewAccountService(
		option.WithBaseURL(srv.URL+"/client/v4"), option.WithAPIToken(testToken),
		option.WithMaxRetries(0), option.WithHTTPClient(testHTTPClient(t)),
	).List(context.Background(), accountParams(1, 20))
	require.NoError(t, err)
	assert.Len(t, res.Result, 3)
	assert.Empty(t, s.URL(), "not started")
}

func TestLifecycle(t *testing.T) {
	s := New(Config{})
	require.NoError(t, s.Start("127.0.0.1:0"))
	assert.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"))
	assert.True(t, strings.HasSuffix(s.URL(), "/client/v4"))
	assert.Error(t, s.Start("127.0.0.1:0"), "already started")

	// A delayed request must not hold Close up.
	s.InjectFault(Fault{Kind: FaultSlow, Delay: time.Minute})
	client := testHTTPClient(t)
	errs := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/accounts", nil)
		req.Header.Set("Authorization", "Bearer sim-token")
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errs <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Total == 1 }, 5*time.Second, 5*time.Millisecond)

	start := time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Error(t, <-errs)
	require.NoError(t, s.Close(), "Close is idempotent")
	assert.Error(t, s.Start("127.0.0.1:0"), "closed")
}
