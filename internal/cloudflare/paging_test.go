package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoginPagingByTime steps loginPaging through responses and checks where
// each next request starts and what it hands out.
func TestLoginPagingByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	at := func(id string, minutes int) AuditEntry {
		return AuditEntry{ID: id, When: t0.Add(time.Duration(minutes) * time.Minute)}
	}
	ids := func(entries []AuditEntry) []string {
		out := []string{}
		for _, e := range entries {
			out = append(out, e.ID)
		}
		return out
	}
	type step struct {
		page      []AuditEntry
		total     int // the response's total_count; 0 in steps where it says nothing that matters
		wantFresh []string
		wantDone  bool
		wantNext  loginPageRequest
		wantErr   string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "each request starts at the newest time of the page before", steps: []step{
			{page: []AuditEntry{at("a", 1), at("b", 2), at("c", 2)}, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(2 * time.Minute), page: 1}},
			// b and c come back (in another order) with the next ones: skipped.
			{page: []AuditEntry{at("c", 2), at("b", 2), at("d", 3)}, wantFresh: []string{"d"},
				wantNext: loginPageRequest{since: t0.Add(3 * time.Minute), page: 1}},
			{page: []AuditEntry{at("d", 3)}, wantFresh: []string{}, wantDone: true},
		}},
		{name: "a full page of one instant falls back to page numbers and ends", steps: []step{
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 1}},
			// The same page again is expected here: every entry was at the new since.
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 2}},
			{page: []AuditEntry{at("d", 5), at("e", 5), at("f", 6)}, wantFresh: []string{"d", "e", "f"},
				wantNext: loginPageRequest{since: t0.Add(6 * time.Minute), page: 1}},
			{page: []AuditEntry{at("f", 6), at("g", 7)}, wantFresh: []string{"g"}, wantDone: true},
		}},
		{name: "an API ignoring since repeats the first page", steps: []step{
			{page: []AuditEntry{at("a", 1), at("b", 2), at("c", 3)}, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(3 * time.Minute), page: 1}},
			{page: []AuditEntry{at("a", 1), at("b", 2), at("c", 3)}, wantErr: "repeats the previous one"},
		}},
		{name: "an API ignoring page repeats the instant's page", steps: []step{
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 1}},
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 2}},
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantErr: "page 2, repeats"},
		}},
		{name: "an early empty page that total_count contradicts fails", steps: []step{
			{page: []AuditEntry{at("a", 1), at("b", 2), at("c", 3)}, total: 5, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(3 * time.Minute), page: 1}},
			{page: nil, total: 3, wantErr: "ends the range after 0 entries, but its result_info.total_count is 3"},
		}},
		{name: "a short page of an instant's page numbers counts the pages before it", steps: []step{
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 1}},
			{page: []AuditEntry{at("a", 5), at("b", 5), at("c", 5)}, wantFresh: []string{},
				wantNext: loginPageRequest{since: t0.Add(5 * time.Minute), page: 2}},
			{page: []AuditEntry{at("d", 5)}, total: 4, wantFresh: []string{"d"}, wantDone: true},
		}},
		{name: "a short page that total_count agrees with, or without total_count, ends the range", steps: []step{
			{page: []AuditEntry{at("a", 1), at("b", 2), at("c", 3)}, total: 4, wantFresh: []string{"a", "b", "c"},
				wantNext: loginPageRequest{since: t0.Add(3 * time.Minute), page: 1}},
			{page: []AuditEntry{at("c", 3)}, total: 1, wantFresh: []string{}, wantDone: true},
		}},
		{name: "without total_count an empty page ends the range", steps: []step{
			{page: nil, total: -1, wantFresh: []string{}, wantDone: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paging := newLoginPaging(t0, 3, AuditStamp)
			for i, s := range tt.steps {
				fresh, done, err := paging.advance(s.page, s.total)
				if s.wantErr != "" {
					require.Error(t, err, "step %d", i)
					assert.Contains(t, err.Error(), s.wantErr)
					return
				}
				require.NoError(t, err, "step %d", i)
				assert.Equal(t, s.wantFresh, ids(fresh), "step %d", i)
				assert.Equal(t, s.wantDone, done, "step %d", i)
				if !done {
					assert.Equal(t, s.wantNext, paging.next, "step %d", i)
				}
			}
		})
	}
}

// TestListLoginsStopsAtThePageCap: an API that hands out new full pages for
// ever costs at most maxPages requests, then a bad response naming the account.
func TestListLoginsStopsAtThePageCap(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := requests.Add(1)
		var entries []string
		for i := range 2 {
			when := time.Date(2026, 11, 28, 9, 0, int(n), i, time.UTC).Format(time.RFC3339Nano)
			entries = append(entries, strings.ReplaceAll(strings.ReplaceAll(usualEntry, `"e1"`, fmt.Sprintf(`"e%d-%d"`, n, i)),
				`"2026-11-27T13:34:03.123456789Z"`, `"`+when+`"`))
		}
		_, _ = w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":[` + strings.Join(entries, ",") + `]}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL).(*client)
	c.maxPages = 5
	pages := 0
	err := c.ListLogins(context.Background(), RangeQuery{AccountID: "acct-1", Since: time.Unix(0, 0), Before: time.Now(), PageSize: 2},
		func([]AuditEntry) error { pages++; return nil })
	require.Error(t, err)
	kind, _ := KindOf(err)
	assert.Equal(t, KindBadResponse, kind)
	assert.Contains(t, err.Error(), "acct-1")
	assert.Equal(t, 4, pages, "the fifth page is fetched but not handed out")
	assert.LessOrEqual(t, requests.Load(), int32(6), "at most the cap, plus one prefetch cancelled")
}

// TestListMembersStopsWhenPagingFails: a member list whose pages repeat (an
// API ignoring `page`) or never end fails the call with a bad response,
// after a bounded number of requests.
func TestListMembersStopsWhenPagingFails(t *testing.T) {
	member := func(id string) string {
		return `{"id":"` + id + `","email":"a@example.com","status":"accepted","user":{"id":"u","email":"a@example.com"},"roles":[],"policies":[]}`
	}
	fullPage := func(prefix string) string {
		items := make([]string, MembersPerPage)
		for i := range items {
			items[i] = member(fmt.Sprintf("%s-%d", prefix, i))
		}
		return `{"success":true,"errors":[],"messages":[],"result":[` + strings.Join(items, ",") + `]}`
	}
	tests := []struct {
		name    string
		page    func(n int32) string
		wantErr string
		maxReqs int32
	}{
		{name: "the same page again", page: func(int32) string { return fullPage("same") }, wantErr: "repeats page 1", maxReqs: 2},
		{name: "new pages for ever", page: func(n int32) string { return fullPage(fmt.Sprint(n)) }, wantErr: "more than 5 pages", maxReqs: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.page(requests.Add(1))))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL).(*client)
			c.maxPages = 5
			_, err := c.ListMembers(context.Background(), "acct-1")
			require.Error(t, err)
			kind, _ := KindOf(err)
			assert.Equal(t, KindBadResponse, kind)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Equal(t, tt.maxReqs, requests.Load())
		})
	}
}
