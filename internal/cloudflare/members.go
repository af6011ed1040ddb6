package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v7/shared"
)

// Page sizes of the page-numbered list endpoints (their maximum).
const (
	AccountsPerPage = 50
	MembersPerPage  = 50
)

func (c *client) ListAccounts(ctx context.Context) ([]Account, error) {
	return listAllPages(ctx, c, EndpointAccounts, AccountsPerPage,
		func(page int) (*pagination.V4PagePaginationArray[accounts.Account], error) {
			var params accounts.AccountListParams
			params.Page.Value, params.Page.Present = float64(page), true
			params.PerPage.Value, params.PerPage.Present = AccountsPerPage, true
			return c.accounts.List(ctx, params)
		},
		func(a *accounts.Account) (Account, string) { return Account{ID: a.ID, Name: a.Name}, a.ID })
}

func (c *client) ListMembers(ctx context.Context, accountID string) ([]Member, error) {
	return listAllPages(ctx, c, EndpointMembers, MembersPerPage,
		func(page int) (*pagination.V4PagePaginationArray[shared.Member], error) {
			var params accounts.MemberListParams
			params.AccountID.Value, params.AccountID.Present = accountID, true
			params.Page.Value, params.Page.Present = float64(page), true
			params.PerPage.Value, params.PerPage.Present = MembersPerPage, true
			return c.members.List(ctx, params)
		},
		func(m *shared.Member) (Member, string) { return NewMember(m), m.ID })
}

// NewMember converts a decoded member, keeping its raw JSON.
func NewMember(m *shared.Member) Member {
	// The SDK's strings are slices of a copy of the whole page body: clone
	// them, or every member kept would keep its page alive.
	roles := make([]string, len(m.Roles))
	for i, r := range m.Roles {
		roles[i] = strings.Clone(r.Name)
	}
	return Member{
		ID:        strings.Clone(m.ID),
		Email:     strings.Clone(m.Email),
		Status:    strings.Clone(string(m.Status)),
		UserID:    strings.Clone(m.User.ID),
		UserEmail: strings.Clone(m.User.Email),
		FirstName: strings.Clone(m.User.FirstName),
		LastName:  strings.Clone(m.User.LastName),
		TwoFactor: m.User.TwoFactorAuthenticationEnabled,
		Roles:     roles,
		Raw:       json.RawMessage(m.JSON.RawJSON()),
	}
}
