package cloudflaresim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChangeListAfterPage: a change queued after a page of a list runs once,
// after that page was read (the page shows the list before it) and before
// the next request; the same page read again, or another account's, or the
// other list, runs nothing.
func TestChangeListAfterPage(t *testing.T) {
	lists := []struct {
		endpoint Endpoint
		path     string
		ids      func(s *Server, account string) []string
		remove   func(s *Server, account, id string)
	}{
		{EndpointMembers, "members", func(s *Server, account string) (ids []string) {
			for _, m := range s.Members(account) {
				ids = append(ids, m.ID)
			}
			return ids
		}, (*Server).RemoveMember},
		{EndpointAccessUsers, "access/users", func(s *Server, account string) (ids []string) {
			for _, u := range s.AccessUsers(account) {
				ids = append(ids, u.ID)
			}
			return ids
		}, (*Server).RemoveAccessUser},
	}
	for _, l := range lists {
		t.Run(string(l.endpoint), func(t *testing.T) {
			s := startServer(t, Config{Accounts: 2, MembersPerAccount: 12, AccessUsersPerAccount: 12})
			account, other := s.Accounts()[0].ID, s.Accounts()[1].ID
			before := l.ids(s, account)
			var runs atomic.Int32 // counted on the server's goroutine
			s.ChangeListAfterPage(l.endpoint, account, 1, func() {
				runs.Add(1)
				l.remove(s, account, before[0]) // calls back into the server: outside its lock
			})
			page := func(account string, n int) (ids []string, total int) {
				res, body := get(t, s, "/accounts/"+account+"/"+l.path+"?per_page=5&page="+strconv.Itoa(n), testToken)
				require.Equal(t, http.StatusOK, res.StatusCode, string(body))
				var env struct {
					Result     []struct{ ID string }
					ResultInfo pageInfo `json:"result_info"`
				}
				require.NoError(t, json.Unmarshal(body, &env))
				for _, item := range env.Result {
					ids = append(ids, item.ID)
				}
				return ids, env.ResultInfo.TotalCount
			}

			page(other, 1)
			assert.Zero(t, runs.Load(), "another account's page")
			ids, total := page(account, 1)
			assert.Equal(t, before[:5], ids, "the page as it was read")
			assert.Equal(t, 12, total)
			assert.Equal(t, int32(1), runs.Load())
			ids, total = page(account, 2)
			assert.Equal(t, before[6:11], ids, "the next page shifted by the removal")
			assert.Equal(t, 11, total)
			page(account, 1)
			assert.Equal(t, int32(1), runs.Load(), "once")
		})
	}
}
