package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// v2Entry is a v2 login entry in the documented wire shape.
func v2Entry(id, when string) string {
	return fmt.Sprintf(`{"id":%q,"account":{"id":"acc","name":"Acc"},`+
		`"action":{"description":"SSO_LOGIN","result":"success","time":%q,"type":"login"},`+
		`"actor":{"id":"u1","context":"dash","email":"a@example.com","ip_address":"198.51.100.7","token_id":"","token_name":"","type":"user"},`+
		`"raw":{"cf_ray_id":"8e9b1c60ef9e1c9a","method":"POST","status_code":200,"uri":"/login","user_agent":"Mozilla/5.0"},`+
		`"resource":{"id":"u1","product":"login","request":{},"response":{},"scope":{},"type":"user"},"zone":{"id":"","name":""}}`, id, when)
}

// v2Server answers v2 list requests with the pages of a script, keyed by
// the request's cursor, and records every query it got.
type v2Server struct {
	mu      sync.Mutex
	pages   map[string]string // cursor -> body
	queries []url.Values
}

func (s *v2Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, r.URL.Query())
	body, ok := s.pages[r.URL.Query().Get("cursor")]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func v2Body(info string, entries ...string) string {
	result := "["
	for i, e := range entries {
		if i > 0 {
			result += ","
		}
		result += e
	}
	return `{"success":true,"errors":[],"messages":[],"result":` + result + `],"result_info":` + info + `}`
}

func listV2(t *testing.T, pages map[string]string, q RangeQuery) ([]string, *v2Server, error) {
	t.Helper()
	srv := &v2Server{pages: pages}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c := newTestClient(t, ts.URL).(*client)
	c.maxPages = 20 // a broken repeat check fails fast
	var ids []string
	err := c.ListLoginsV2(context.Background(), q, func(page []AuditEntry) error {
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		return nil
	})
	return ids, srv, err
}

var v2Query = RangeQuery{AccountID: "acc", Since: time.Date(2026, 11, 28, 8, 0, 0, 123456789, time.UTC),
	Before: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), PageSize: 2}

// TestListLoginsV2PagesByCursor: the cursor of result_info.cursor, or of
// result_info.cursors.after, is sent back until it is empty or absent; the
// request carries since/before with nanoseconds, asc, limit and the login
// filter.
func TestListLoginsV2PagesByCursor(t *testing.T) {
	pages := map[string]string{
		"":   v2Body(`{"count":"2","cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z"), v2Entry("b", "2026-11-28T08:20:00Z")),
		"c1": v2Body(`{"count":2,"cursors":{"after":"c2"}}`, v2Entry("c", "2026-11-28T08:30:00Z"), v2Entry("d", "2026-11-28T08:40:00Z")),
		"c2": v2Body(`{"count":"1","cursor":""}`, v2Entry("e", "2026-11-28T08:50:00Z")),
	}
	ids, srv, err := listV2(t, pages, v2Query)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, ids)
	require.Len(t, srv.queries, 3)
	q := srv.queries[0]
	assert.Equal(t, "2026-11-28T08:00:00.123456789Z", q.Get("since"))
	assert.Equal(t, "2026-11-28T09:00:00Z", q.Get("before"))
	assert.Equal(t, "asc", q.Get("direction"))
	assert.Equal(t, "2", q.Get("limit"))
	assert.Equal(t, "login", q.Get("action_type"))
	assert.Equal(t, "c1", srv.queries[1].Get("cursor"))
	assert.Equal(t, "c2", srv.queries[2].Get("cursor"))

	// An absent result_info ends the listing too.
	ids, _, err = listV2(t, map[string]string{"": v2Body(`null`, v2Entry("a", "2026-11-28T08:10:00Z"))}, v2Query)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, ids)

	// Unfiltered sends no action_type.
	q2 := v2Query
	q2.Unfiltered = true
	_, srv, err = listV2(t, map[string]string{"": v2Body(`{"count":"0"}`)}, q2)
	require.NoError(t, err)
	assert.False(t, srv.queries[0].Has("action_type"))
}

// TestListLoginsV2RefusesARepeatedCursor: a cursor given twice is a bad
// response, whether right after itself or later in the chain; an endless
// chain stops at the page cap.
func TestListLoginsV2RefusesARepeatedCursor(t *testing.T) {
	for name, pages := range map[string]map[string]string{
		"same cursor again": {
			"":   v2Body(`{"cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z")),
			"c1": v2Body(`{"cursor":"c1"}`, v2Entry("b", "2026-11-28T08:20:00Z")),
		},
		"a cycle": {
			"":   v2Body(`{"cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z")),
			"c1": v2Body(`{"cursor":"c2"}`, v2Entry("b", "2026-11-28T08:20:00Z")),
			"c2": v2Body(`{"cursor":"c1"}`, v2Entry("c", "2026-11-28T08:30:00Z")),
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, srv, err := listV2(t, pages, v2Query)
			require.Error(t, err)
			kind, ok := KindOf(err)
			require.True(t, ok)
			assert.Equal(t, KindBadResponse, kind)
			assert.Contains(t, err.Error(), "same cursor twice")
			assert.LessOrEqual(t, len(srv.queries), 3)
		})
	}

	t.Run("page cap", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next := r.URL.Query().Get("cursor") + "x"
			_, _ = w.Write([]byte(v2Body(fmt.Sprintf(`{"cursor":%q}`, next), v2Entry(next, "2026-11-28T08:10:00Z"))))
		}))
		defer ts.Close()
		c := newTestClient(t, ts.URL).(*client)
		c.maxPages = 5
		pages := 0
		err := c.ListLoginsV2(context.Background(), v2Query, func([]AuditEntry) error { pages++; return nil })
		require.Error(t, err)
		kind, _ := KindOf(err)
		assert.Equal(t, KindBadResponse, kind)
		assert.Contains(t, err.Error(), "more than 5 pages")
		assert.Equal(t, 5, pages)
	})
}

// TestListLoginsV2RefusesAnEmptyPageWithACursor: a page without entries
// that still points to a next page hid what lay between; following its
// cursor would pass over them, so the listing fails as a bad response
// naming the account, before the next page is asked for.
func TestListLoginsV2RefusesAnEmptyPageWithACursor(t *testing.T) {
	pages := map[string]string{
		"":   v2Body(`{"count":"2","cursor":"c1"}`, v2Entry("a", "2026-11-28T08:10:00Z"), v2Entry("b", "2026-11-28T08:20:00Z")),
		"c1": v2Body(`{"count":"0","cursor":"c2"}`),
		"c2": v2Body(`{"count":"1"}`, v2Entry("e", "2026-11-28T08:50:00Z")),
	}
	ids, srv, err := listV2(t, pages, v2Query)
	require.Error(t, err)
	kind, _ := KindOf(err)
	assert.Equal(t, KindBadResponse, kind)
	assert.Contains(t, err.Error(), "account acc: an empty page gave a cursor")
	assert.Equal(t, []string{"a", "b"}, ids)
	assert.Len(t, srv.queries, 2)
}

// TestListLoginsV2FilterRejected: a 400 to the login filter is told apart,
// counted under audit_logs_v2, so that the caller can fall back.
func TestListLoginsV2FilterRejected(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action_type") != "" {
			respond(http.StatusBadRequest, "application/json", `{"success":false,"errors":[{"code":1001,"message":"invalid action_type"}],"messages":[],"result":null}`)(w, r)
			return
		}
		_, _ = w.Write([]byte(v2Body(`{"count":"1"}`, v2Entry("a", "2026-11-28T08:10:00Z"))))
	}))
	defer ts.Close()
	obs := &recordingObserver{}
	c := New(Options{BaseURL: ts.URL, Token: testToken, HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter: NewLimiter(1000, time.Minute), Retry: fastRetry, Observer: obs})
	err := c.ListLoginsV2(context.Background(), v2Query, func([]AuditEntry) error { return nil })
	require.Error(t, err)
	assert.True(t, IsFilterRejected(err), "%v", err)
	assert.Equal(t, []string{"audit_logs_v2 400"}, obs.requests)
	q := v2Query
	q.Unfiltered = true
	require.NoError(t, c.ListLoginsV2(context.Background(), q, func([]AuditEntry) error { return nil }))
	assert.False(t, IsFilterRejected(&APIError{Kind: KindRequest, Endpoint: EndpointAuditLogs, StatusCode: 400}))
}

type recordingObserver struct {
	mu       sync.Mutex
	requests []string
	headers  http.Header
}

func (o *recordingObserver) RequestDone(endpoint string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, fmt.Sprintf("%s %d", endpoint, status))
}
func (o *recordingObserver) RateLimitHeld()                 {}
func (o *recordingObserver) RateLimitWaiting(time.Duration) {}
func (o *recordingObserver) ResponseHeaders(_ string, h http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.headers = h.Clone()
}

// TestDecodeV2Entry maps v2's field names onto AuditEntry and keeps the
// entry as sent; IsV2Login takes type login or a login description.
func TestDecodeV2Entry(t *testing.T) {
	raw := v2Entry("id1", "2026-11-28T08:10:00.5Z")
	e, err := DecodeV2Entry([]byte(raw))
	require.NoError(t, err)
	assert.Equal(t, AuditEntry{ID: "id1", When: time.Date(2026, 11, 28, 8, 10, 0, 500_000_000, time.UTC),
		ActionType: "login", Description: "SSO_LOGIN", Success: true, ActorID: "u1", ActorEmail: "a@example.com",
		ActorIP: "198.51.100.7", ActorType: "user", Interface: "dash", UserAgent: "Mozilla/5.0",
		RayID: "8e9b1c60ef9e1c9a", Raw: []byte(raw)}, e)
	failed, err := DecodeV2Entry([]byte(`{"id":"x","action":{"result":"failure","type":"LOGIN"}}`))
	require.NoError(t, err)
	assert.False(t, failed.Success)
	for _, tc := range []struct {
		typ, description string
		want             bool
	}{
		{"login", "", true}, {"LOGIN", "", true}, {"view", "sign_in", true}, {"create", "SSO_LOGIN", true},
		{"view", "sso_login", true}, {"create", "Add Member", false}, {"", "", false},
	} {
		assert.Equal(t, tc.want, IsV2Login(&AuditEntry{ActionType: tc.typ, Description: tc.description}), "%+v", tc)
	}
}

// TestResponseHeadersObserved: an Observer that also is a HeaderObserver is
// handed each response's headers.
func TestResponseHeadersObserved(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Ratelimit", `"default";r=49;t=30`)
		respond(http.StatusOK, "application/json", membersPage)(w, r)
	}))
	defer ts.Close()
	obs := &recordingObserver{}
	c := New(Options{BaseURL: ts.URL, Token: testToken, HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter: NewLimiter(1000, time.Minute), Retry: fastRetry, Observer: obs})
	_, err := c.ListMembers(context.Background(), "acc")
	require.NoError(t, err)
	assert.Equal(t, `"default";r=49;t=30`, obs.headers.Get("Ratelimit"))
}
