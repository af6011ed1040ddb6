package cloudflaresim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/audit_logs"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditPage fetches one audit log page through cloudflare-go. query holds
// raw query parameters, because the SDK would send since/before as dates.
func auditPage(t *testing.T, s *Server, accountID string, query map[string]string) []shared.AuditLog {
	t.Helper()
	var p audit_logs.AuditLogListParams
	p.AccountID.Value, p.AccountID.Present = accountID, true
	opts := sdkOptions(t, s)
	for k, v := range query {
		opts = append(opts, option.WithQuery(k, v))
	}
	res, err := audit_logs.NewAuditLogService(opts...).List(context.Background(), p)
	require.NoError(t, err)
	return res.Result
}

func auditIDs(logs []shared.AuditLog) []string {
	ids := make([]string, len(logs))
	for i, l := range logs {
		ids[i] = l.ID
	}
	return ids
}

// boundaryFixture is an account whose logins straddle since and before by a
// nanosecond, with three entries sharing the since instant.
func boundaryFixture(t *testing.T) (s *Server, accountID string, since, before time.Time) {
	s = startServer(t, Config{Accounts: 1, Now: NewManualClock(testStart).Now})
	accountID = s.Accounts()[0].ID
	since = time.Date(2026, 11, 1, 10, 0, 0, 123456789, time.UTC)
	before = since.Add(time.Second)
	for _, e := range []struct {
		id   string
		when time.Time
	}{
		{"E", since.Add(1)}, // appended before the ties, still sorts after them
		{"A", since.Add(-1)},
		{"B", since},
		{"C", since},
		{"D", since},
		{"F", before},
		{"G", before.Add(-1)},
	} {
		s.AppendLogin(accountID, LoginEvent{ID: e.id, When: e.when, Success: true, ActorType: "user"})
	}
	return s, accountID, since, before
}

func TestAuditLogsBoundsAndPaging(t *testing.T) {
	s, acct, since, before := boundaryFixture(t)
	tests := []struct {
		name      string
		direction string
		perPage   int
		want      [][]string // pages
	}{
		{name: "asc, ties split across pages", direction: "asc", perPage: 2, want: [][]string{{"B", "C"}, {"D", "E"}, {"G"}, {}}},
		{name: "asc, one page", direction: "asc", perPage: 10, want: [][]string{{"B", "C", "D", "E", "G"}, {}}},
		{name: "desc", direction: "desc", perPage: 2, want: [][]string{{"G", "E"}, {"D", "C"}, {"B"}, {}}},
		{name: "desc by default", perPage: 3, want: [][]string{{"G", "E", "D"}, {"C", "B"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				q := map[string]string{
					"since":    since.Format(time.RFC3339Nano),
					"before":   before.Format(time.RFC3339Nano),
					"per_page": strconv.Itoa(tt.perPage),
					"page":     strconv.Itoa(i + 1),
				}
				if tt.direction != "" {
					q["direction"] = tt.direction
				}
				got := auditPage(t, s, acct, q)
				assert.Equal(t, want, auditIDs(got), "page %d", i+1)
			}
		})
	}
}

func TestAuditLogsWhenKeepsNanoseconds(t *testing.T) {
	s, acct, since, _ := boundaryFixture(t)
	got := auditPage(t, s, acct, map[string]string{"direction": "asc", "since": since.Format(time.RFC3339Nano), "per_page": "1"})
	require.Len(t, got, 1)
	assert.True(t, since.Equal(got[0].When), "got %s", got[0].When)
}

func TestAuditLogsTimeParameters(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, Now: NewManualClock(testStart).Now})
	acct := s.Accounts()[0].ID
	midnight := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i, when := range []time.Time{midnight.Add(-time.Nanosecond), midnight, midnight.Add(36 * time.Hour)} {
		s.AppendLogin(acct, LoginEvent{ID: strconv.Itoa(i), When: when})
	}
	tests := []struct {
		name  string
		query map[string]string
		want  []string
	}{
		{"date since is midnight UTC", map[string]string{"since": "2026-11-02"}, []string{"1", "2"}},
		{"date before is exclusive", map[string]string{"before": "2026-11-02"}, []string{"0"}},
		{"RFC 3339 with offset", map[string]string{"since": "2026-11-02T01:00:00+01:00"}, []string{"1", "2"}},
		{"RFC 3339 without fraction", map[string]string{"since": "2026-11-02T00:00:01Z"}, []string{"2"}},
		{"other action types hold nothing", map[string]string{"action.type": "token_create"}, []string{}},
		{"login action type", map[string]string{"action.type": "login"}, []string{"0", "1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.query["direction"] = "asc"
			assert.Equal(t, tt.want, auditIDs(auditPage(t, s, acct, tt.query)))
		})
	}
}

func TestAuditLogsRejectBadParameters(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	acct := s.Accounts()[0].ID
	for _, query := range []string{"since=yesterday", "before=2026-13-01", "since=2026-11-02T10:00:00", "direction=up"} {
		res, body := get(t, s, "/accounts/"+acct+"/audit_logs?"+query, testToken)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, query)
		e := apiErrorOf(t, body)
		assert.Equal(t, 1001, e.Code, query)
		assert.NotEmpty(t, e.Message, query)
	}
}

func TestAuditLogsPerPageLimits(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, LoginsPerAccount: 150, MaxPerPageAuditLogs: 120})
	acct := s.Accounts()[0].ID
	for _, tt := range []struct{ query, wantPerPage string }{
		{"", "100"},
		{"per_page=1000", "120"},
		{"per_page=0", "1"},
	} {
		res, body := get(t, s, "/accounts/"+acct+"/audit_logs?"+tt.query, testToken)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var env struct {
			Result     []json.RawMessage `json:"result"`
			ResultInfo map[string]int    `json:"result_info"`
		}
		require.NoError(t, json.Unmarshal(body, &env))
		assert.Equal(t, tt.wantPerPage, strconv.Itoa(env.ResultInfo["per_page"]), tt.query)
		assert.Len(t, env.Result, env.ResultInfo["count"])
		assert.Equal(t, 150, env.ResultInfo["total_count"])
	}
}

func TestAuditLogsLateArrivals(t *testing.T) {
	clock := NewManualClock(testStart)
	s := startServer(t, Config{Accounts: 1, Now: clock.Now})
	acct := s.Accounts()[0].ID
	start := clock.Now().Add(-time.Hour)
	for i := range 5 {
		e := LoginEvent{ID: strconv.Itoa(i), When: start.Add(time.Duration(i) * time.Minute)}
		if i == 2 {
			e.VisibleAt = clock.Now().Add(5 * time.Minute)
		}
		s.AppendLogin(acct, e)
	}
	pages := func() [][]string {
		var out [][]string
		for page := 1; page <= 3; page++ {
			q := map[string]string{"direction": "asc", "per_page": "2", "page": strconv.Itoa(page)}
			out = append(out, auditIDs(auditPage(t, s, acct, q)))
		}
		return out
	}

	assert.Equal(t, [][]string{{"0", "1"}, {"3", "4"}, {}}, pages())
	assert.Len(t, s.Logins(acct), 5, "Logins includes entries not visible yet")
	clock.Advance(5 * time.Minute)
	assert.Equal(t, [][]string{{"0", "1"}, {"2", "3"}, {"4"}}, pages())
}

func TestAuditLogWireShape(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	acct := s.Accounts()[0].ID
	when := time.Date(2026, 11, 2, 3, 4, 5, 600, time.UTC)
	s.AppendLogin(acct, LoginEvent{
		ID: "3d3c3e52-5a8f-4a43-9c6e-2b4f1d0c9a11", When: when, Success: false,
		ActorID: "", ActorEmail: "mallory@example.net", ActorIP: "2001:db8::1", ActorType: "user", Interface: "API",
	})
	s.AppendLogin(acct, LoginEvent{ID: "b", When: when.Add(time.Second), Success: true, Interface: "UI", UserAgent: "Mozilla/5.0"})

	_, body := get(t, s, "/accounts/"+acct+"/audit_logs?direction=asc", testToken)
	var env map[string]any
	require.NoError(t, json.Unmarshal(body, &env))
	assert.Equal(t, true, env["success"])
	assert.Equal(t, []any{}, env["errors"])
	assert.Equal(t, []any{}, env["messages"])
	assert.Equal(t, map[string]any{"page": 1.0, "per_page": 100.0, "count": 2.0, "total_count": 2.0}, env["result_info"])
	result := env["result"].([]any)
	assert.Equal(t, map[string]any{
		"id":        "3d3c3e52-5a8f-4a43-9c6e-2b4f1d0c9a11",
		"action":    map[string]any{"type": "login", "result": false},
		"actor":     map[string]any{"id": "", "email": "mallory@example.net", "ip": "2001:db8::1", "type": "user"},
		"interface": "API",
		"metadata":  map[string]any{},
		"newValue":  "",
		"oldValue":  "",
		"owner":     map[string]any{"id": acct},
		"resource":  map[string]any{"id": acct, "type": "account"},
		"when":      "2026-11-02T03:04:05.0000006Z",
	}, result[0])
	assert.Equal(t, map[string]any{"user_agent": "Mozilla/5.0"}, result[1].(map[string]any)["metadata"])
}

func TestAuditLogsPageThroughSeededLog(t *testing.T) {
	s := startServer(t, Config{Seed: 9, Accounts: 1, MembersPerAccount: 10, LoginsPerAccount: 1050})
	acct := s.Accounts()[0].ID
	want := s.Logins(acct)

	var got []shared.AuditLog
	for page := 1; ; page++ {
		logs := auditPage(t, s, acct, map[string]string{"direction": "asc", "per_page": "250", "page": strconv.Itoa(page)})
		if len(logs) == 0 {
			break
		}
		got = append(got, logs...)
	}
	require.Len(t, got, len(want))
	for i, e := range want {
		assert.Equal(t, e.ID, got[i].ID)
		assert.True(t, e.When.Equal(got[i].When))
		assert.Equal(t, e.Success, got[i].Action.Result)
		assert.Equal(t, e.ActorEmail, got[i].Actor.Email)
		assert.Equal(t, e.ActorIP, got[i].Actor.IP)
		assert.Equal(t, e.Interface, got[i].Interface)
	}
}

// TestAuditLogPageEncodesAsEncodingJSON: the page's own encoding is what
// encoding/json writes from the wire structs' tags, for the entries faults
// shape too.
// Mutations caught: writing "id" or "when" when empty, or "user_agent" when
// there is none; a missing comma between entries; an envelope member left
// out of successEncoded.
func TestAuditLogPageEncodesAsEncodingJSON(t *testing.T) {
	when := time.Date(2026, 11, 27, 13, 34, 3, 123456789, time.UTC)
	usual := toWireAuditLog("acct", LoginEvent{ID: "e1", When: when, Success: true, ActorID: "u1", ActorEmail: "a@example.com",
		ActorIP: "192.0.2.1", ActorType: "user", Interface: "UI", UserAgent: "Mozilla/5.0"})
	missingID, missingWhen, noAgent := usual, usual, usual
	missingID.ID, missingWhen.When, noAgent.Metadata.UserAgent = "", "", ""
	odd := usual
	odd.Actor.Email, odd.Metadata.UserAgent = `"quoted"@example.com`, "agent <&> \u00e9"
	for _, page := range []auditLogPage{{}, {usual}, {usual, missingID, missingWhen, noAgent, odd}} {
		want, err := json.Marshal([]wireAuditLog(page))
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(page.appendJSON(nil)))
		// And the envelope around it, as success writes it.
		info := auditPageInfo{Page: 1, PerPage: 50, Count: len(page), TotalCount: len(page)}
		assert.JSONEq(t, string(success(page, info).body), string(successEncoded(page.appendJSON(nil), info).body))
	}
}
