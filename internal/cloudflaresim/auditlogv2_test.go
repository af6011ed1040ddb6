package cloudflaresim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type v2Response struct {
	Success    bool              `json:"success"`
	Result     []json.RawMessage `json:"result"`
	ResultInfo struct {
		Count  string `json:"count"`
		Cursor string `json:"cursor"`
	} `json:"result_info"`
}

// TestAuditLogsV2ServesTheLoginLogByCursor: v2 lists the same logins as v1,
// under v2's ids and field names, in [since, before), ascending, a limit at a
// time, following result_info.cursor to the end.
func TestAuditLogsV2ServesTheLoginLogByCursor(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, LoginsPerAccount: 25, Now: NewManualClock(testStart).Now})
	account := s.Accounts()[0].ID
	logins := s.Logins(account)
	since, before := logins[3].When, logins[21].When
	var want []string
	for _, e := range logins {
		if !e.When.Before(since) && e.When.Before(before) {
			want = append(want, V2ID(e.ID))
		}
	}
	var got []string
	cursor, pages := "", 0
	for {
		q := url.Values{"since": {since.Format(time.RFC3339Nano)}, "before": {before.Format(time.RFC3339Nano)},
			"direction": {"asc"}, "limit": {"5"}, "action_type": {"login"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res, body := get(t, s, "/accounts/"+account+"/logs/audit?"+q.Encode(), testToken)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		var page v2Response
		require.NoError(t, json.Unmarshal(body, &page))
		pages++
		assert.Equal(t, len(page.Result), mustAtoi(t, page.ResultInfo.Count))
		for _, raw := range page.Result {
			var e struct {
				ID     string `json:"id"`
				Action struct {
					Type, Result, Time string
				} `json:"action"`
				Actor struct {
					IPAddress string `json:"ip_address"`
					Context   string `json:"context"`
				} `json:"actor"`
				Raw struct {
					CFRayID string `json:"cf_ray_id"`
				} `json:"raw"`
			}
			require.NoError(t, json.Unmarshal(raw, &e))
			assert.Equal(t, "login", e.Action.Type)
			assert.NotEmpty(t, e.Actor.IPAddress)
			assert.NotEmpty(t, e.Actor.Context)
			assert.NotEmpty(t, e.Raw.CFRayID)
			got = append(got, e.ID)
		}
		if cursor = page.ResultInfo.Cursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, (len(want)+4)/5, pages)
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	require.NoError(t, json.Unmarshal([]byte(s), &n))
	return n
}

// TestAuditLogsV2Refusals: since and before are required; RejectLoginActionType
// answers 400 to action_type=login only; another action type lists nothing.
func TestAuditLogsV2Refusals(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, LoginsPerAccount: 5, RejectLoginActionType: true, Now: NewManualClock(testStart).Now})
	account := s.Accounts()[0].ID
	path := "/accounts/" + account + "/logs/audit?"
	window := url.Values{"since": {testStart.Add(-48 * time.Hour).Format(time.RFC3339)}, "before": {testStart.Format(time.RFC3339)}}

	res, body := get(t, s, path+"since=2026-11-01", testToken)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, apiErrorOf(t, body).Message, "before is required")

	q := url.Values{"action_type": {"login"}}
	for k, v := range window {
		q[k] = v
	}
	res, body = get(t, s, path+q.Encode(), testToken)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, apiErrorOf(t, body).Message, "action_type")

	res, body = get(t, s, path+window.Encode(), testToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var page v2Response
	require.NoError(t, json.Unmarshal(body, &page))
	assert.Len(t, page.Result, 5)

	q.Set("action_type", "create")
	res, body = get(t, s, path+q.Encode(), testToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, json.Unmarshal(body, &page))
	assert.Empty(t, page.Result)
}

// TestAuditLogsV2Faults: the audit-log fault kinds apply to v2: ignoring
// paging gives the same cursor again; a fault on v1 leaves v2 alone.
func TestAuditLogsV2Faults(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, LoginsPerAccount: 12, Now: NewManualClock(testStart).Now})
	account := s.Accounts()[0].ID
	q := url.Values{"since": {testStart.Add(-48 * time.Hour).Format(time.RFC3339)}, "before": {testStart.Format(time.RFC3339)},
		"limit": {"5"}, "direction": {"asc"}}
	path := "/accounts/" + account + "/logs/audit?"
	s.InjectFault(Fault{Kind: FaultServerError, Endpoint: EndpointAuditLogs})
	res, _ := get(t, s, path+q.Encode(), testToken)
	assert.Equal(t, http.StatusOK, res.StatusCode, "a v1 fault does not touch v2")
	s.ClearFaults()

	s.InjectFault(Fault{Kind: FaultIgnorePaging, Endpoint: EndpointAuditLogsV2, Count: -1})
	var first, second v2Response
	_, body := get(t, s, path+q.Encode(), testToken)
	require.NoError(t, json.Unmarshal(body, &first))
	q.Set("cursor", first.ResultInfo.Cursor)
	_, body = get(t, s, path+q.Encode(), testToken)
	require.NoError(t, json.Unmarshal(body, &second))
	assert.NotEmpty(t, first.ResultInfo.Cursor)
	assert.Equal(t, first.ResultInfo.Cursor, second.ResultInfo.Cursor)
	s.ClearFaults()

	s.InjectFault(Fault{Kind: FaultServerError, Endpoint: EndpointAuditLogsV2})
	res, _ = get(t, s, path+q.Encode(), testToken)
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
}
