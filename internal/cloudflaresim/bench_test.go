package cloudflaresim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkAuditLogPage measures serving one 1,000-entry audit log page out
// of 100,000, walking the pages in ascending order as a collector does.
func BenchmarkAuditLogPage(b *testing.B) {
	const entries, perPage = 100_000, 1000
	s := New(Config{Token: testToken, Accounts: 1, MembersPerAccount: 50, LoginsPerAccount: entries})
	path := apiPrefix + "/accounts/" + s.Accounts()[0].ID + "/audit_logs?direction=asc&per_page=" + strconv.Itoa(perPage) + "&page="
	handler := s.Handler()

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodGet, path+strconv.Itoa(1+i%(entries/perPage)), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
