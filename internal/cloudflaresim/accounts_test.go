package cloudflaresim

import (
	"context"
	"net/http"
	"testing"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func accountParams(page, perPage int) accounts.AccountListParams {
	var p accounts.AccountListParams
	p.Page.Value, p.Page.Present = float64(page), true
	p.PerPage.Value, p.PerPage.Present = float64(perPage), true
	return p
}

func memberParams(accountID string, page, perPage int) accounts.MemberListParams {
	var p accounts.MemberListParams
	p.AccountID.Value, p.AccountID.Present = accountID, true
	p.Page.Value, p.Page.Present = float64(page), true
	p.PerPage.Value, p.PerPage.Present = float64(perPage), true
	return p
}

func TestAccountsPaging(t *testing.T) {
	s := startServer(t, Config{Seed: 3, Accounts: 7})
	svc := accounts.NewAccountService(sdkOptions(t, s)...)
	want := s.Accounts()
	require.Len(t, want, 7)

	tests := []struct {
		name                 string
		page, perPage        int
		wantPerPage          int
		wantFirst, wantCount int
	}{
		{name: "first page", page: 1, perPage: 5, wantPerPage: 5, wantFirst: 0, wantCount: 5},
		{name: "last page", page: 2, perPage: 5, wantPerPage: 5, wantFirst: 5, wantCount: 2},
		{name: "past the end", page: 3, perPage: 5, wantPerPage: 5, wantCount: 0},
		{name: "per_page raised to 5", page: 1, perPage: 1, wantPerPage: 5, wantCount: 5},
		{name: "per_page capped at 50", page: 1, perPage: 500, wantPerPage: 50, wantCount: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := svc.List(context.Background(), accountParams(tt.page, tt.perPage))
			require.NoError(t, err)
			assert.EqualValues(t, tt.wantPerPage, res.ResultInfo.PerPage)
			assert.EqualValues(t, tt.page, res.ResultInfo.Page)
			require.Len(t, res.Result, tt.wantCount)
			for i, got := range res.Result {
				assert.Equal(t, want[tt.wantFirst+i].ID, got.ID)
				assert.Equal(t, want[tt.wantFirst+i].Name, got.Name)
				assert.Equal(t, accounts.AccountTypeStandard, got.Type)
				assert.False(t, got.CreatedOn.IsZero())
			}
			assert.Equal(t, "7", res.ResultInfo.JSON.ExtraFields["total_count"].Raw())
		})
	}
}

func TestRemovedAccountIsUnreachable(t *testing.T) {
	s := startServer(t, Config{Accounts: 2, MembersPerAccount: 3})
	gone := s.Accounts()[0]
	s.RemoveAccount(gone.ID)

	res, err := accounts.NewAccountService(sdkOptions(t, s)...).List(context.Background(), accountParams(1, 20))
	require.NoError(t, err)
	require.Len(t, res.Result, 1)
	assert.NotEqual(t, gone.ID, res.Result[0].ID)

	for _, path := range []string{"/accounts/" + gone.ID + "/members", "/accounts/" + gone.ID + "/audit_logs", "/accounts/unknown/members"} {
		resp, body := get(t, s, path, testToken)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
		assert.Equal(t, 9109, apiErrorOf(t, body).Code, path)
	}
	assert.Equal(t, 3, s.Stats().Unauthorized)
}

func TestMembersPagingAndShape(t *testing.T) {
	s := startServer(t, Config{Seed: 5, Accounts: 1, MembersPerAccount: 12})
	acct := s.Accounts()[0].ID
	svc := accounts.NewMemberService(sdkOptions(t, s)...)

	var got []string
	for page := 1; ; page++ {
		res, err := svc.List(context.Background(), memberParams(acct, page, 5))
		require.NoError(t, err)
		assert.Equal(t, "3", res.ResultInfo.JSON.ExtraFields["total_pages"].Raw())
		if len(res.Result) == 0 {
			break
		}
		for _, m := range res.Result {
			got = append(got, m.ID)
		}
	}
	want := s.Members(acct)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].ID, got[i], "insertion order")
	}

	res, err := svc.List(context.Background(), memberParams(acct, 1, 50))
	require.NoError(t, err)
	for i, m := range res.Result {
		w := want[i]
		assert.Equal(t, w.Email, m.Email)
		assert.EqualValues(t, w.Status, m.Status)
		assert.Equal(t, w.UserID, m.User.ID)
		assert.Equal(t, w.Email, m.User.Email)
		assert.Equal(t, w.FirstName, m.User.FirstName)
		assert.Equal(t, w.LastName, m.User.LastName)
		assert.Equal(t, w.TwoFactor, m.User.TwoFactorAuthenticationEnabled)
		assert.Empty(t, m.Policies)
		require.Len(t, m.Roles, len(w.Roles))
		for j, r := range m.Roles {
			assert.Equal(t, w.Roles[j].ID, r.ID)
			assert.Equal(t, w.Roles[j].Name, r.Name)
			assert.Equal(t, w.Roles[j].Description, r.Description)
		}
	}
}

func TestMemberChangesShowInListing(t *testing.T) {
	s := startServer(t, Config{Accounts: 1, MembersPerAccount: 3})
	acct := s.Accounts()[0].ID
	before := s.Members(acct)

	added := s.NewMember()
	added.Roles = []Role{{ID: "0123456789abcdef0123456789abcdef", Name: "Custom", Description: "Not in the catalog"}}
	s.AddMember(acct, added)
	s.RemoveMember(acct, before[0].ID)
	s.UpdateMember(acct, before[1].ID, func(m *Member) { m.Status = "pending"; m.TwoFactor = !m.TwoFactor })

	res, err := accounts.NewMemberService(sdkOptions(t, s)...).List(context.Background(), memberParams(acct, 1, 20))
	require.NoError(t, err)
	require.Len(t, res.Result, 3)
	assert.Equal(t, before[1].ID, res.Result[0].ID)
	assert.EqualValues(t, "pending", res.Result[0].Status)
	assert.Equal(t, !before[1].TwoFactor, res.Result[0].User.TwoFactorAuthenticationEnabled)
	assert.Equal(t, before[2].ID, res.Result[1].ID)
	assert.Equal(t, added.ID, res.Result[2].ID)
	assert.Equal(t, "Custom", res.Result[2].Roles[0].Name)
}
