package cloudflare

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

const testToken = "test-token-value-3f9a"

var fastRetry = RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func newTestClient(t *testing.T, baseURL string) Client {
	t.Helper()
	return New(Options{
		BaseURL:    baseURL,
		Token:      testToken,
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter:    NewLimiter(1000, time.Minute),
		Retry:      fastRetry,
		Logger:     zap.NewNop(),
	})
}

// respond answers with status, content type and body.
func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

const membersPage = `{"success":true,"errors":[],"messages":[],"result":[{"id":"m1","email":"a@example.com","status":"accepted","user":{"id":"u1","email":"a@example.com","first_name":"A","last_name":"B","two_factor_authentication_enabled":true},"roles":[{"id":"r","name":"Administrator","description":"","permissions":{}}],"policies":[]}],"result_info":{"page":1,"per_page":50,"count":1,"total_count":1,"total_pages":1}}`

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

func TestRateLimitedCallWaitsAndResumes(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			respond(429, "application/json", `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`)(w, r)
			return
		}
		respond(200, "application/json", membersPage)(w, r)
	}))
	defer srv.Close()
	start := time.Now()
	members, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
	require.NoError(t, err)
	assert.Len(t, members, 1)
	assert.Equal(t, int32(2), attempts.Load())
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "the second call waited for Retry-After")
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

// TestRedirectsAreRefused pins item 10 of issue 9: on the code before it, a
// redirect from https to http on the same host passed the host-only check, and
// Go sent the Authorization header, token and all, in clear to the http URL.
// The https and http servers share one host:port (a host serving 443 and 80 has
// one Host for both), so only the scheme changes. Every redirect is refused now:
// nothing reaches the redirect target, and the error says why.
// Mutations caught: CheckRedirect left nil (Go follows, the http side records
// the token); the previous same-host check restored (same).
func TestRedirectsAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		target func(https, http string) string // the redirect target for the request path
	}{
		{name: "https to http on the same host", target: func(_, http string) string { return http }},
		{name: "same scheme and host, another path", target: func(https, _ string) string { return https + "/elsewhere" }},
		{name: "another host", target: func(https, _ string) string { return strings.Replace(https, "127.0.0.1", "localhost", 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plainHits, tlsTargetHits := atomic.Int32{}, atomic.Int32{}
			var leaked atomic.Bool
			var httpsURL, httpURL string
			tlsHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/client/v4/accounts/acct/members" {
					tlsTargetHits.Add(1)
					if strings.Contains(r.Header.Get("Authorization"), testToken) {
						leaked.Store(true)
					}
					respond(200, "application/json", membersPage)(w, r)
					return
				}
				http.Redirect(w, r, tt.target(httpsURL, httpURL)+r.URL.RequestURI(), http.StatusFound)
			})
			plainHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				plainHits.Add(1)
				if strings.Contains(r.Header.Get("Authorization"), testToken) {
					leaked.Store(true)
				}
				respond(200, "application/json", membersPage)(w, r)
			})
			tlsSrv, plainSrv := startDualServer(t, tlsHandler, plainHandler)
			httpsURL, httpURL = tlsSrv.URL, plainSrv.URL
			require.Equal(t, strings.TrimPrefix(httpsURL, "https://"), strings.TrimPrefix(httpURL, "http://"), "one host:port")

			c := New(Options{BaseURL: httpsURL + "/client/v4", Token: testToken, HTTPClient: tlsSrv.Client(),
				Limiter: NewLimiter(100, time.Minute), Retry: fastRetry, Logger: zap.NewNop()})
			_, err := c.ListMembers(context.Background(), "acct")

			assert.False(t, leaked.Load(), "the token reached the redirect target")
			assert.Zero(t, plainHits.Load(), "nothing is sent to the http URL")
			assert.Zero(t, tlsTargetHits.Load(), "nothing is sent to the redirect target")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, KindRequest, apiErr.Kind, "not retried: the same request would be redirected again")
			assert.Equal(t, http.StatusFound, apiErr.StatusCode)
			assert.Contains(t, err.Error(), "the Cloudflare API does not redirect, and the API token would follow it")
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

// startDualServer serves TLS and plain HTTP on one loopback port: a
// connection opening with a TLS handshake record goes to the TLS server, any
// other to the plain one.
func startDualServer(t *testing.T, tlsHandler, plainHandler http.Handler) (tlsSrv, plainSrv *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tlsLn, plainLn := newChanListener(ln.Addr()), newChanListener(ln.Addr())
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				tlsLn.Close()
				plainLn.Close()
				return
			}
			go func() {
				br := bufio.NewReader(conn)
				first, err := br.Peek(1)
				if err != nil {
					_ = conn.Close()
					return
				}
				c := &peekedConn{Conn: conn, r: br}
				if first[0] == 0x16 { // TLS handshake record
					tlsLn.deliver(c)
				} else {
					plainLn.deliver(c)
				}
			}()
		}
	}()
	tlsSrv = httptest.NewUnstartedServer(tlsHandler)
	tlsSrv.Listener = tlsLn
	tlsSrv.StartTLS()
	plainSrv = httptest.NewUnstartedServer(plainHandler)
	plainSrv.Listener = plainLn
	plainSrv.Start()
	t.Cleanup(func() {
		_ = ln.Close()
		tlsSrv.Close()
		plainSrv.Close()
	})
	return tlsSrv, plainSrv
}

// chanListener is a net.Listener fed with connections accepted elsewhere.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

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
	assert.Equal(t, defaultRetryAfter, retryAfter("", now))
	assert.Equal(t, defaultRetryAfter, retryAfter("soon", now))
}

// TestThreeRateLimitsInARowEndTheCall pins maxRateLimitedAttempts: a call
// refused with 429 three times in a row gives up with the 429 (the poll ends
// and the next resumes from its checkpoint) instead of waiting for ever, and
// each attempt waited for the Retry-After of the one before. Retry-After: 0
// is waited as the 1 s minimum, so the test takes about 2 s.
// Mutations caught: maxRateLimitedAttempts 3 -> 4 (a fourth request is sent);
// `rateLimited >= maxRateLimitedAttempts` -> `>` (same); the limiter pause
// dropped from the middleware (the attempts do not wait).
func TestThreeRateLimitsInARowEndTheCall(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.Header().Set("Retry-After", "0")
		respond(429, "application/json", `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`)(w, r)
	}))
	defer srv.Close()
	// One attempt per call for other failures: 429s are counted on their own.
	c := New(Options{BaseURL: srv.URL, Token: testToken, HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter: NewLimiter(1000, time.Minute), Retry: RetryPolicy{MaxAttempts: 1}, Logger: zap.NewNop()})
	start := time.Now()
	_, err := c.ListMembers(context.Background(), "acct")
	elapsed := time.Since(start)

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, KindRateLimited, apiErr.Kind)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	assert.Equal(t, 971, apiErr.Code)
	assert.Equal(t, time.Second, apiErr.RetryAfter, "Retry-After: 0 is waited as 1 s")
	assert.Equal(t, int32(3), attempts.Load(), "three 429s, then the call gives up")
	assert.GreaterOrEqual(t, elapsed, 2*time.Second, "each attempt after a 429 waited for its Retry-After")
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
