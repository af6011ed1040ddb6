package cloudflare

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// FuzzListLoginsResponse serves arbitrary status codes and bodies to the
// real client: it never panics, never leaks the token into an error, and
// every failure is classified. Seeds: testdata/fuzz/FuzzListLoginsResponse.
func FuzzListLoginsResponse(f *testing.F) {
	fuzzListing(f, Client.ListLogins)
}

// FuzzListLoginsV2Response is FuzzListLoginsResponse for Audit Logs v2: any
// status and body, served to every request (so a cursor comes back the same
// and must be refused), never panics, never leaks the token, and every
// failure is classified.
func FuzzListLoginsV2Response(f *testing.F) {
	f.Add(uint16(0), []byte(v2Body(`{"count":"1","cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z"))))
	f.Add(uint16(0), []byte(v2Body(`{"count":1,"cursors":{"after":""}}`, v2Entry("a", "bad time"))))
	f.Add(uint16(0), []byte(`{"result":[null],"result_info":{"cursor":null}}`))
	f.Add(uint16(200), []byte(`{"success":false,"errors":[{"code":1001,"message":"invalid action_type"}]}`))
	fuzzListing(f, Client.ListLoginsV2)
}

// fuzzListing serves each fuzzed status and body to every request of list.
func fuzzListing(f *testing.F, list func(Client, context.Context, LoginQuery, func([]AuditEntry) error) error) {
	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, code uint16, payload []byte) {
		mu.Lock()
		status = 200 + int(code)%400 // 200..599
		body = payload
		mu.Unlock()
		// A fresh client each time: a 429 pauses a client for its Retry-After.
		c := New(Options{BaseURL: srv.URL, Token: testToken, HTTPClient: &http.Client{Timeout: time.Second},
			Limiter: NewLimiter(1<<20, time.Second), Retry: RetryPolicy{MaxAttempts: 1}, Logger: zap.NewNop()})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		q := LoginQuery{AccountID: "acct", Since: time.Unix(0, 0), Before: time.Unix(1, 0), PageSize: 1000}
		err := list(c, ctx, q, func([]AuditEntry) error { return nil })
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			return // a 429 made the client wait past the deadline
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("unclassified error %T: %v", err, err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Fatalf("token in error: %v", err)
		}
	})
}
