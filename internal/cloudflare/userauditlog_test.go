package cloudflare

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListUserLoginsQuery: the token owner's log is read at /user/audit_logs
// with the query of the account log: logins only, oldest first, since and
// before with nanoseconds.
func TestListUserLoginsQuery(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths, queries = append(paths, r.URL.Path), append(queries, r.URL.Query())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":[` + usualEntry + `],"result_info":{"page":1,"per_page":10,"count":1,"total_count":1}}`))
	}))
	defer srv.Close()

	since := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)
	lister, ok := newTestClient(t, srv.URL+"/client/v4").(UserLoginLister)
	require.True(t, ok, "New's client lists user logins")
	var ids []string
	err := lister.ListUserLogins(context.Background(), RangeQuery{Since: since, Before: since.Add(24 * time.Hour), PageSize: 10},
		func(page []AuditEntry) error {
			for _, e := range page {
				ids = append(ids, e.ID+" "+e.ActorEmail)
			}
			return nil
		})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"e1 a@example.com"}, ids)
	assert.Equal(t, []string{"/client/v4/user/audit_logs"}, paths)
	assert.Equal(t, url.Values{
		"action.type": {"login"}, "direction": {"asc"}, "page": {"1"}, "per_page": {"10"},
		"since": {"2026-11-27T09:00:00.123456789Z"}, "before": {"2026-11-28T09:00:00.123456789Z"},
	}, queries[0])
}

// TestUserLogErrorsNameTheirEndpoint: a refusal of the user audit log is
// not reported as one of the account audit log.
func TestUserLogErrorsNameTheirEndpoint(t *testing.T) {
	assert.Equal(t, EndpointUserAuditLogs, endpointOf("/client/v4/user/audit_logs"))
	assert.Equal(t, EndpointAuditLogs, endpointOf("/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/audit_logs"))
}
