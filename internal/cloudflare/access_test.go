package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accessRequest is an Access authentication log entry in the documented wire shape.
func accessRequest(ray, createdAt string) string {
	return fmt.Sprintf(`{"action":"login","allowed":true,"app_domain":"app.example.com/admin",`+
		`"app_uid":"df7e2b5f-02b7-4d9d-af26-8d1988fca630","connection":"saml","created_at":%q,`+
		`"ip_address":"198.41.129.166","ray_id":%q,"user_email":"user@example.com"}`, createdAt, ray)
}

// TestListAccessRequestsQueryAndPaging: each request asks for [since,
// until) oldest first, with nanoseconds and limit = the page size; a full
// page moves since to its newest created_at and skips the entries already
// handed out at that instant; a bare array without result_info is read.
// Mutations caught: `until` sent as `before` (the API would read to now);
// the since of the next page taken from the first entry rather than the newest.
func TestListAccessRequestsQueryAndPaging(t *testing.T) {
	pages := map[string]string{ // since -> body
		"2026-11-28T08:00:00.123456789Z": `[` + accessRequest("r1", "2026-11-28T08:00:01Z") + `,` + accessRequest("r2", "2026-11-28T08:00:02.5Z") + `]`,
		"2026-11-28T08:00:02.5Z":         `[` + accessRequest("r2", "2026-11-28T08:00:02.5Z") + `,` + accessRequest("r3", "2026-11-28T08:00:03Z") + `]`,
		"2026-11-28T08:00:03Z":           `[` + accessRequest("r3", "2026-11-28T08:00:03Z") + `]`,
	}
	var mu sync.Mutex
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Query())
		mu.Unlock()
		assert.True(t, strings.HasSuffix(r.URL.Path, "/accounts/acc/access/logs/access_requests"), r.URL.Path)
		body, ok := pages[r.URL.Query().Get("since")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":%s}`, body)
	}))
	defer srv.Close()

	since := time.Date(2026, 11, 28, 8, 0, 0, 123456789, time.UTC)
	q := RangeQuery{AccountID: "acc", Since: since, Before: since.Add(time.Hour), PageSize: 2}
	var rays []string
	err := newTestClient(t, srv.URL).ListAccessRequests(context.Background(), q, func(page []AccessRequest) error {
		for _, e := range page {
			rays = append(rays, e.RayID)
			assert.Len(t, e.Key, 32)
			assert.NotEmpty(t, e.Raw)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"r1", "r2", "r3"}, rays, "each entry once")
	require.Len(t, queries, 3)
	for _, query := range queries {
		assert.Equal(t, "2026-11-28T09:00:00.123456789Z", query.Get("until"))
		assert.Equal(t, "asc", query.Get("direction"))
		assert.Equal(t, "2", query.Get("limit"))
		assert.Empty(t, query.Get("before"))
	}
}
