package cloudflare

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShortPageHidingOneEntryIsNotTheEnd: a short page whose response counts
// exactly one entry more in the range than the pages shown (the smallest
// gap: an early empty page of a range of one, or the last entry of a page
// left out) fails the listing as a bad response, as a larger gap does. Taken
// for the end of the range, it would let a sweep complete without the
// entry, and the next sweep starts past it.
// Mutation caught: paging.go advance, `total > shown {` -> `total > shown+1 {`.
func TestShortPageHidingOneEntryIsNotTheEnd(t *testing.T) {
	entry := func(id string, second int) string {
		when := time.Date(2026, 11, 28, 9, 0, second, 0, time.UTC).Format(time.RFC3339Nano)
		return strings.ReplaceAll(strings.ReplaceAll(usualEntry, `"e1"`, `"`+id+`"`), `"2026-11-27T13:34:03.123456789Z"`, `"`+when+`"`)
	}
	page := func(total int, entries ...string) string {
		return `{"success":true,"errors":[],"messages":[],"result":[` + strings.Join(entries, ",") +
			fmt.Sprintf(`],"result_info":{"page":1,"per_page":3,"count":%d,"total_count":%d}}`, len(entries), total)
	}
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "an empty page of a range of one", body: page(1), want: "ends the range after 0 entries, but its result_info.total_count is 1"},
		{name: "a short page leaving out its last entry", body: page(3, entry("a", 1), entry("b", 2)),
			want: "ends the range after 2 entries, but its result_info.total_count is 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(respond(200, "application/json", tt.body))
			defer srv.Close()
			var handed []AuditEntry
			err := newTestClient(t, srv.URL).ListLogins(context.Background(),
				RangeQuery{AccountID: "acct-1", Since: time.Unix(0, 0), Before: time.Now(), PageSize: 3},
				func(page []AuditEntry) error { handed = append(handed, page...); return nil })
			require.Error(t, err, "a range that holds more than it showed is not read to its end")
			kind, _ := KindOf(err)
			assert.Equal(t, KindBadResponse, kind)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, handed, "nothing of the page is handed out as if the range were complete")
		})
	}
}
