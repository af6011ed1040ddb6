package cloudflare

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// FuzzListLoginsResponse serves arbitrary status codes and bodies to the
// real client (see fuzzListing): it never panics; a 2xx page that the
// decoder reads as the whole range (short, and no total_count beyond it) is
// handed out entry for entry, and any other answer fails the call with the
// kind its status implies; the token a server echoes never reaches an error.
// Seeds: testdata/fuzz/FuzzListLoginsResponse, and those of fuzzListing.
func FuzzListLoginsResponse(f *testing.F) {
	f.Add(uint16(0), []byte(`{"success":true,"result":[`+usualEntry+`],"result_info":{"total_count":1}}`))
	// A short page whose total_count counts one more entry: not the end.
	f.Add(uint16(0), []byte(`{"success":true,"result":[`+usualEntry+`],"result_info":{"total_count":2}}`))
	// Page size 2 (code / 400 picks it): a full page, then the same page again.
	f.Add(uint16(800), []byte(`{"success":true,"result":[`+usualEntry+`,`+strings.Replace(usualEntry, `"e1"`, `"e2"`, 1)+`]}`))
	fuzzListing(f, Client.ListLogins, func(body []byte, pageSize int) ([]AuditEntry, bool) {
		entries, err := DecodeAuditPage(body)
		return entries, err == nil && len(entries) < pageSize && auditTotalCount(body) <= len(entries)
	})
}

// FuzzListLoginsV2Response is FuzzListLoginsResponse for Audit Logs v2: any
// status and body, served to every request (so a cursor comes back the same
// and must be refused); a 2xx page without a cursor is handed out entry for
// entry, any other answer fails the call with the kind its status implies.
func FuzzListLoginsV2Response(f *testing.F) {
	f.Add(uint16(0), []byte(v2Body(`{"count":"1","cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z"))))
	f.Add(uint16(0), []byte(v2Body(`{"count":1,"cursors":{"after":""}}`, v2Entry("a", "bad time"))))
	f.Add(uint16(0), []byte(`{"result":[null],"result_info":{"cursor":null}}`))
	f.Add(uint16(200), []byte(`{"success":false,"errors":[{"code":1001,"message":"invalid action_type"}]}`))
	fuzzListing(f, Client.ListLoginsV2, func(body []byte, _ int) ([]AuditEntry, bool) {
		entries, next, err := DecodeV2Page(body)
		return entries, err == nil && next == ""
	})
}

// fuzzAuthMarker, wherever it is in a fuzzed body, is replaced by the
// request's Authorization header: the server echoes the token, as a proxy
// or a misbehaving API may, so that a token left in an error shows.
const fuzzAuthMarker = "{{auth}}"

// fuzzListing serves the fuzzed status (200 + code % 400) and body to every
// request of list, with page size fuzzPageSizes[code / 400 % 4], echoing the
// token in a header and wherever the body holds fuzzAuthMarker. The
// client's limiter runs on a virtual clock, so a 429 (no Retry-After: the
// 5-minute default) is waited for at once. complete decodes a served body as
// the source's decoder does (checked against encoding/json by
// FuzzMapAuditPage) and says whether it is the whole range.
//
// Checked: a 2xx complete page is handed out exactly, once, in order;
// anything else fails with a classified error of the status's kind (2xx and
// 3xx: bad response; 401 and 403: auth; 408 and 5xx: transient; 429: rate
// limited, after three 429s each sent a pause after the one before; other
// 4xx: request), having handed out only entries of the page; no error
// carries the token.
func fuzzListing(f *testing.F, list func(Client, context.Context, RangeQuery, func([]AuditEntry) error) error,
	complete func(body []byte, pageSize int) ([]AuditEntry, bool),
) {
	f.Add(uint16(201), []byte(`{"success":false,"errors":[{"code":1000,"message":"Invalid API Token `+fuzzAuthMarker+
		` (sent: Authorization: `+fuzzAuthMarker+`)"}]}`))
	f.Add(uint16(203), []byte(`{"success":false,"errors":["no permission for `+fuzzAuthMarker+`"]}`))
	f.Add(uint16(204), []byte(`{"success":false,"errors":[{"code":7003,"message":"No route for `+fuzzAuthMarker+`"}]}`))
	f.Add(uint16(229), []byte(`{"success":false,"errors":[{"code":971,"message":"Please wait, `+fuzzAuthMarker+`"}]}`))
	f.Add(uint16(302), []byte(`<html><body>upstream refused `+fuzzAuthMarker+`</body></html>`))

	clock := &lockedClock{now: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	var status int
	var payload, served []byte
	var sent []time.Time // when each request arrived, on the virtual clock
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, clock.Now())
		auth := r.Header.Get("Authorization")
		served = []byte(strings.ReplaceAll(string(payload), fuzzAuthMarker, auth))
		w.Header().Set("X-Echo-Authorization", auth)
		w.WriteHeader(status)
		if status == http.StatusNoContent || status == http.StatusNotModified {
			served = nil // Go's server sends no body with these
		}
		_, _ = w.Write(served)
	}))
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, code uint16, body []byte) {
		pageSize := fuzzPageSizes[int(code)/400%len(fuzzPageSizes)]
		mu.Lock()
		status, payload, served, sent = 200+int(code)%400, body, nil, nil // 200..599
		mu.Unlock()
		// A fresh client each time: a 429 pauses a client for its Retry-After.
		c := New(Options{BaseURL: srv.URL, Token: testToken, HTTPClient: &http.Client{Timeout: 10 * time.Second},
			Limiter: NewLimiter(1000, time.Second).WithClock(clock.Now, clock.Sleep),
			Retry:   RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond}, Logger: zap.NewNop()})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q := RangeQuery{AccountID: "acct", Since: time.Unix(0, 0), Before: time.Unix(1, 0), PageSize: pageSize}
		var handed []AuditEntry
		err := list(c, ctx, q, func(page []AuditEntry) error {
			handed = append(handed, page...)
			return nil
		})
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the listing waited on the wall clock: %v", err)
		}
		mu.Lock()
		gotStatus, gotBody, arrivals := status, served, slices.Clone(sent)
		mu.Unlock()
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Kind == KindTransient && apiErr.StatusCode == 0 {
			return // no answer within the HTTP timeout: the machine, not the client
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Fatalf("token in error: %v", err)
		}

		if gotStatus < 300 {
			want, whole := complete(gotBody, pageSize)
			if whole {
				if err != nil {
					t.Fatalf("HTTP %d with the whole range in one page failed: %v\n%s", gotStatus, err, gotBody)
				}
				if got, wantStamps := stampsOf(handed), stampsOf(want); !slices.Equal(got, wantStamps) {
					t.Fatalf("handed out %v, the page held %v", got, wantStamps)
				}
				return
			}
			if kind, ok := KindOf(err); !ok || kind != KindBadResponse {
				t.Fatalf("HTTP %d with a page that is not the whole range: want a bad response, got %v", gotStatus, err)
			}
			held := stampsOf(want)
			for _, s := range stampsOf(handed) {
				if !slices.Contains(held, s) {
					t.Fatalf("handed out %s, which the page does not hold (%v)", s, held)
				}
			}
			return
		}
		if len(handed) > 0 {
			t.Fatalf("HTTP %d, yet %d entries handed out", gotStatus, len(handed))
		}
		kind, ok := KindOf(err)
		if want := kindOfStatus(gotStatus); !ok || kind != want {
			t.Fatalf("HTTP %d: want a %s error, got %v", gotStatus, want, err)
		}
		if gotStatus == http.StatusTooManyRequests {
			if len(arrivals) != maxRateLimitedAttempts {
				t.Fatalf("%d requests for a call refused with 429 every time, want %d", len(arrivals), maxRateLimitedAttempts)
			}
			for i := 1; i < len(arrivals); i++ {
				if gap := arrivals[i].Sub(arrivals[i-1]); gap < defaultRetryAfter {
					t.Fatalf("request %d sent %s after a 429 without Retry-After, before the %s pause", i+1, gap, defaultRetryAfter)
				}
			}
		}
	})
}

// fuzzPageSizes are the page sizes a fuzzed listing asks for: the default,
// and sizes a fuzzed body fills, so that paging on goes through its checks.
var fuzzPageSizes = []int{1000, 1, 2, 3}

// kindOfStatus is the kind of error a non-2xx answer is classified as.
func kindOfStatus(status int) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status == http.StatusRequestTimeout || status >= 500:
		return KindTransient
	case status >= 400:
		return KindRequest
	}
	return KindBadResponse
}

// stampsOf is each entry's id and time, in order.
func stampsOf(entries []AuditEntry) []string {
	out := make([]string, len(entries))
	for i := range entries {
		out[i] = entries[i].ID + "@" + entries[i].When.Format(time.RFC3339Nano)
	}
	return out
}

// lockedClock is a limiter clock whose waits move it instead of sleeping,
// safe to read from the test server's goroutines.
type lockedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lockedClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}
