package cloudflaresim

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userAuditPage fetches one page of GET /user/audit_logs through cloudflare-go.
func userAuditPage(t *testing.T, s *Server, query map[string]string) ([]shared.AuditLog, error) {
	t.Helper()
	opts := sdkOptions(t, s)
	for k, v := range query {
		opts = append(opts, option.WithQuery(k, v))
	}
	res, err := user.NewAuditLogService(opts...).List(context.Background(), user.AuditLogListParams{})
	if err != nil {
		return nil, err
	}
	return res.Result, nil
}

// ownLogins is what the user audit log should list: the owner's logins in
// every account, in time order, each id once.
func ownLogins(s *Server, ownerID string) (ids []string) {
	seen := map[string]bool{}
	var own []LoginEvent
	for _, a := range s.Accounts() {
		for _, e := range s.Logins(a.ID) {
			if e.ActorID == ownerID && !seen[e.ID] {
				seen[e.ID] = true
				own = append(own, e)
			}
		}
	}
	slices.SortStableFunc(own, func(a, b LoginEvent) int { return a.When.Compare(b.When) })
	for _, e := range own {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestUserAuditLogListsTheTokenOwnersLogins: the token owner's logins of
// every account, none of another member's, a login held by two accounts
// once, in the account log's wire format (cloudflare-go parses it), paged by
// the same parameters.
func TestUserAuditLogListsTheTokenOwnersLogins(t *testing.T) {
	s := startServer(t, Config{Accounts: 2, MembersPerAccount: 4, LoginsPerAccount: 60, Now: NewManualClock(testStart).Now})
	owner, ok := s.TokenOwner()
	require.True(t, ok)
	first, second := s.Accounts()[0].ID, s.Accounts()[1].ID
	both := LoginEvent{ID: "shared-login", When: testStart.Add(-time.Hour), Success: true, ActorID: owner.UserID, ActorEmail: owner.Email, ActorType: "user"}
	s.AppendLogin(first, both)
	s.AppendLogin(second, both)
	s.AppendLogin(second, LoginEvent{ID: "own-in-second", When: testStart.Add(-2 * time.Hour), Success: true, ActorID: owner.UserID, ActorEmail: owner.Email, ActorType: "user"})

	want := ownLogins(s, owner.UserID)
	require.Greater(t, len(want), 3)
	require.Less(t, len(want), len(s.Logins(first)), "other members log in too")

	got, err := userAuditPage(t, s, map[string]string{"direction": "asc", "per_page": "1000"})
	require.NoError(t, err)
	assert.Equal(t, want, auditIDs(got))
	for _, e := range got {
		assert.Equal(t, "login", e.Action.Type)
		assert.Equal(t, owner.UserID, e.Actor.ID)
		assert.Equal(t, owner.Email, e.Actor.Email)
		assert.Equal(t, owner.UserID, e.Owner.ID)
	}

	var paged []string
	for page := 1; ; page++ {
		got, err := userAuditPage(t, s, map[string]string{"direction": "asc", "per_page": "2", "page": strconv.Itoa(page), "action.type": "login"})
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		paged = append(paged, auditIDs(got)...)
	}
	assert.Equal(t, want, paged)

	since := testStart.Add(-2 * time.Hour)
	got, err = userAuditPage(t, s, map[string]string{"direction": "asc", "since": since.Format(time.RFC3339Nano), "before": testStart.Add(-time.Hour + 1).Format(time.RFC3339Nano)})
	require.NoError(t, err)
	assert.Contains(t, auditIDs(got), "own-in-second")
	assert.Contains(t, auditIDs(got), "shared-login")
	for _, e := range got {
		assert.False(t, e.When.Before(since), e.ID)
	}
}

// TestUserAuditLogRefusesAccountTokens: an account-owned token belongs to no
// user; /user endpoints answer it 401 code 1000, as /user/tokens/verify does.
func TestUserAuditLogRefusesAccountTokens(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 5, TokenKind: AccountToken})
	_, ok := s.TokenOwner()
	assert.False(t, ok)
	res, body := get(t, s, "/user/audit_logs", testToken)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, 1000, apiErrorOf(t, body).Code)
	assert.Equal(t, 1, s.Stats().Requests[EndpointUserAuditLogs])
}

// TestTokenOwnerIsTheFirstAcceptedMember: a pending member has not joined and
// owns no token.
func TestTokenOwnerIsTheFirstAcceptedMember(t *testing.T) {
	s := startServer(t, Config{Accounts: 1})
	acct := s.Accounts()[0].ID
	_, ok := s.TokenOwner()
	assert.False(t, ok, "no member")
	s.AddMember(acct, Member{ID: "m1", UserID: "u1", Status: "pending"})
	s.AddMember(acct, Member{ID: "m2", UserID: "u2", Status: "accepted"})
	owner, ok := s.TokenOwner()
	require.True(t, ok)
	assert.Equal(t, "u2", owner.UserID)
	got, err := userAuditPage(t, s, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestUserAuditLogFilters: the account log's filters hold for the user log:
// another action type lists nothing (only logins are recorded), and entries
// past Retention have expired.
func TestUserAuditLogFilters(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, Retention: 48 * time.Hour, Now: NewManualClock(testStart).Now})
	acct := s.Accounts()[0].ID
	s.AddMember(acct, Member{ID: "m1", UserID: "u1", Email: "owner@example.com", Status: "accepted"})
	for id, age := range map[string]time.Duration{"recent": time.Hour, "expired": 72 * time.Hour} {
		s.AppendLogin(acct, LoginEvent{ID: id, When: testStart.Add(-age), Success: true, ActorID: "u1", ActorEmail: "owner@example.com", ActorType: "user"})
	}
	tests := []struct {
		name  string
		query map[string]string
		want  []string
	}{
		{name: "logins", query: map[string]string{"action.type": "login"}, want: []string{"recent"}},
		{name: "another action type", query: map[string]string{"action.type": "token_create"}, want: []string{}},
		{name: "since before the retention", query: map[string]string{"since": testStart.Add(-96 * time.Hour).Format(time.RFC3339)}, want: []string{"recent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := userAuditPage(t, s, tt.query)
			require.NoError(t, err)
			assert.Equal(t, tt.want, auditIDs(got))
		})
	}
}
