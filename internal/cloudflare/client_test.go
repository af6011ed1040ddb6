package cloudflare

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

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
