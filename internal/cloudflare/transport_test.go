package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestErrorClassification: the middleware gives every failed exchange its
// kind, which decides whether call retries it.
func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		kind       ErrorKind
		status     int
		code       int
		attempts   int32
		messageHas string
	}{
		{name: "invalid token", handler: respond(401, "application/json", `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}`),
			kind: KindAuth, status: 401, code: 1000, attempts: 1, messageHas: "Invalid API Token"},
		{name: "missing permission", handler: respond(403, "application/json", `{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}]}`),
			kind: KindAuth, status: 403, code: 9109, attempts: 1},
		{name: "errors as bare strings", handler: respond(403, "application/json", `{"success":false,"errors":["nope"]}`),
			kind: KindAuth, status: 403, attempts: 1, messageHas: "nope"},
		{name: "server error retried", handler: respond(500, "application/json", `{"success":false,"errors":[{"code":10001,"message":"Internal"}]}`),
			kind: KindTransient, status: 500, code: 10001, attempts: 3},
		{name: "html bad gateway retried", handler: respond(502, "text/html", `<html><body>Bad gateway</body></html>`),
			kind: KindTransient, status: 502, attempts: 3, messageHas: "Bad Gateway"},
		{name: "html with 200", handler: respond(200, "text/html", `<html>maintenance</html>`),
			kind: KindBadResponse, status: 200, attempts: 3, messageHas: "undecodable"},
		{name: "truncated json", handler: respond(200, "application/json", membersPage[:len(membersPage)/2]),
			kind: KindBadResponse, status: 200, attempts: 3},
		{name: "other 4xx", handler: respond(404, "application/json", `{"success":false,"errors":[{"code":7003,"message":"No route for that URI"}]}`),
			kind: KindRequest, status: 404, code: 7003, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			_, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.kind, apiErr.Kind)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.code, apiErr.Code)
			assert.Equal(t, EndpointMembers, apiErr.Endpoint)
			assert.Equal(t, tt.attempts, attempts.Load())
			assert.Contains(t, apiErr.Error(), tt.messageHas)
			assert.NotContains(t, apiErr.Error(), testToken)
		})
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	srv := httptest.NewServer(respond(200, "application/json", `{"result":[],"pad":"`+strings.Repeat("x", 4096)+`"}`))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Token: testToken, HTTPClient: &http.Client{}, Limiter: NewLimiter(100, time.Minute),
		Retry: fastRetry, MaxResponseBytes: 1024, Logger: zap.NewNop()})
	_, err := c.ListMembers(context.Background(), "acct")
	kind, ok := KindOf(err)
	require.True(t, ok, "got %v", err)
	assert.Equal(t, KindBadResponse, kind)
	assert.Contains(t, err.Error(), "larger than 1024 bytes")
}

func TestTransportErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connection refused
	_, err := newTestClient(t, url).ListAccounts(context.Background())
	kind, ok := KindOf(err)
	require.True(t, ok, "got %v", err)
	assert.Equal(t, KindTransient, kind)
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 30*time.Second, retryAfter("30", now))
	assert.Equal(t, time.Second, retryAfter("0", now))
	assert.Equal(t, 90*time.Second, retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	// Without a usable header, Cloudflare's lockout: 5 minutes.
	assert.Equal(t, 5*time.Minute, retryAfter("", now))
	assert.Equal(t, 5*time.Minute, retryAfter("soon", now))
}

// TestErrorsNeverCarryTheToken replaces a test that checked an error built
// without the token. Here a server echoes the request's Authorization header
// (token and all) into everything it answers: the error envelope's message,
// errors given as bare strings, an HTML error page, response headers, and a
// redirect's Location. The error of the real client must keep Cloudflare's
// message but never the token.
// Mutations caught: the redact call in the middleware's defer removed (the
// echoed message goes into APIError.Message: 401, 403 and 404 cases fail);
// the redirect's Message built from the *url.Error (err.Error(), which holds
// the Location) and redact removed (redirect case fails).
func TestErrorsNeverCarryTheToken(t *testing.T) {
	tests := []struct {
		name    string
		echo    func(w http.ResponseWriter, auth string)
		kind    ErrorKind
		message []string // what must survive of the server's message
	}{
		{name: "401 envelope", kind: KindAuth, message: []string{"Invalid API Token", "[REDACTED]"}, echo: func(w http.ResponseWriter, auth string) {
			w.Header().Set("Www-Authenticate", auth)
			respond(401, "application/json", `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token `+auth+`"}]}`)(w, nil)
		}},
		{name: "403 bare string errors", kind: KindAuth, message: []string{"no permission for", "[REDACTED]"}, echo: func(w http.ResponseWriter, auth string) {
			w.Header().Set("X-Echo-Authorization", auth)
			respond(403, "application/json", `{"success":false,"errors":["no permission for `+auth+`"]}`)(w, nil)
		}},
		{name: "404 envelope", kind: KindRequest, message: []string{"No route for", "[REDACTED]"}, echo: func(w http.ResponseWriter, auth string) {
			respond(404, "application/json", `{"success":false,"errors":[{"code":7003,"message":"No route for `+auth+`"}],"echo":{"authorization":"`+auth+`"}}`)(w, nil)
		}},
		{name: "502 html page", kind: KindTransient, message: []string{"Bad Gateway"}, echo: func(w http.ResponseWriter, auth string) {
			w.Header().Set("X-Echo-Authorization", auth)
			respond(502, "text/html", `<html><body>upstream refused `+auth+`</body></html>`)(w, nil)
		}},
		{name: "redirect", kind: KindRequest, message: []string{"does not redirect"}, echo: func(w http.ResponseWriter, auth string) {
			w.Header().Set("Location", "/elsewhere?authorization="+url.QueryEscape(auth)+"&raw="+auth)
			w.WriteHeader(http.StatusFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var echoed atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				echoed.Store(strings.Contains(auth, testToken))
				tt.echo(w, auth)
			}))
			defer srv.Close()
			_, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
			require.True(t, echoed.Load(), "the server saw the token and echoed it")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.kind, apiErr.Kind)
			for _, want := range tt.message {
				assert.Contains(t, apiErr.Message, want)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", apiErr.Message)} {
				assert.NotContains(t, text, testToken)
			}
		})
	}
}
