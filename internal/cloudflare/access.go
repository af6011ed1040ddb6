package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
)

// accessUsersPerPage is the page size of the Access user listing. Cloudflare
// documents no maximum for it; 50 is the maximum of its other page-numbered
// account listings, and a result_info with total_pages ends the listing
// whatever page size the API applies.
const accessUsersPerPage = 50

// AccessRequest is one entry of an account's Zero Trust Access
// authentication log: an end user signing in to an Access application.
type AccessRequest struct {
	// Key identifies the entry: ray ids repeat across retries, so it is a hash
	// of ray_id, created_at, user_email, app_uid and action.
	Key        string
	CreatedAt  time.Time
	Action     string // login, logout, ...
	Allowed    bool
	AppDomain  string
	AppUID     string
	Connection string // the identity provider
	IPAddress  string
	RayID      string
	UserEmail  string
	Raw        json.RawMessage
}

// AccessUser is one user of an account's Zero Trust organization.
type AccessUser struct {
	ID                  string
	Email               string
	Name                string
	AccessSeat          bool
	GatewaySeat         bool
	ActiveDeviceCount   int64
	LastSuccessfulLogin time.Time // zero when the user never signed in
	Raw                 json.RawMessage
}

// AccessRequestStamp is the dedupe key and time of an Access request.
func AccessRequestStamp(e *AccessRequest) (string, time.Time) { return e.Key, e.CreatedAt }

// ListAccessRequests pages through the Access authentication log of
// [q.Since, q.Before) oldest first, as loginPaging describes: the endpoint
// answers a bare array without result_info, so each request starts at the
// newest created_at of the page before it, and a page that comes back empty
// too early cannot be told from the end of the range. since and until are
// sent with nanoseconds; limit is the page size.
func (c *client) ListAccessRequests(ctx context.Context, q RangeQuery, fn func(page []AccessRequest) error) error {
	var params zero_trust.AccessLogAccessRequestListParams
	params.AccountID.Value, params.AccountID.Present = q.AccountID, true
	fetch := func(ctx context.Context, at loginPageRequest) (entries []AccessRequest, total int, err error) {
		err = c.call(ctx, EndpointAccessRequests, func() error {
			res, err := c.accessRequests.List(ctx, params, timePageOptions(at, "until", q.Before, "limit", q.PageSize)...)
			if err != nil {
				return err
			}
			entries = make([]AccessRequest, len(*res))
			for i := range *res {
				entries[i] = NewAccessRequest(&(*res)[i])
			}
			return nil
		})
		return entries, -1, err // no result_info: the range's size is unknown
	}
	return listByTime(ctx, c, EndpointAccessRequests, q, newLoginPaging(q.Since, q.PageSize, AccessRequestStamp), fetch, fn)
}

// NewAccessRequest converts a decoded Access request, keeping its raw JSON.
func NewAccessRequest(r *zero_trust.AccessRequest) AccessRequest {
	e := AccessRequest{
		CreatedAt:  r.CreatedAt.UTC(),
		Action:     strings.Clone(r.Action),
		Allowed:    r.Allowed,
		AppDomain:  strings.Clone(r.AppDomain),
		AppUID:     strings.Clone(r.AppUID),
		Connection: strings.Clone(r.Connection),
		IPAddress:  strings.Clone(r.IPAddress),
		RayID:      strings.Clone(r.RayID),
		UserEmail:  strings.Clone(r.UserEmail),
		Raw:        json.RawMessage(r.JSON.RawJSON()),
	}
	// created_at as sent, without the JSON quotes: a time the SDK cannot
	// parse still tells entries apart.
	e.Key = AccessRequestKey(e.RayID, strings.Trim(r.JSON.CreatedAt.Raw(), `"`), e.UserEmail, e.AppUID, e.Action)
	return e
}

// AccessRequestKey hashes the fields that together tell Access requests
// apart; created_at is taken as sent.
func AccessRequestKey(rayID, createdAt, userEmail, appUID, action string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{rayID, createdAt, userEmail, appUID, action}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

func (c *client) ListAccessUsers(ctx context.Context, accountID string) ([]AccessUser, error) {
	return listAllPages(ctx, c, EndpointAccessUsers, accessUsersPerPage,
		func(page int) (*pagination.V4PagePaginationArray[zero_trust.AccessUserListResponse], error) {
			var params zero_trust.AccessUserListParams
			params.AccountID.Value, params.AccountID.Present = accountID, true
			params.Page.Value, params.Page.Present = int64(page), true
			params.PerPage.Value, params.PerPage.Present = accessUsersPerPage, true
			return c.accessUsers.List(ctx, params)
		},
		func(u *zero_trust.AccessUserListResponse) (AccessUser, string) { return NewAccessUser(u), u.ID })
}

// NewAccessUser converts a decoded Access user, keeping its raw JSON.
func NewAccessUser(u *zero_trust.AccessUserListResponse) AccessUser {
	return AccessUser{
		ID:                  strings.Clone(u.ID),
		Email:               strings.Clone(u.Email),
		Name:                strings.Clone(u.Name),
		AccessSeat:          u.AccessSeat,
		GatewaySeat:         u.GatewaySeat,
		ActiveDeviceCount:   int64(u.ActiveDeviceCount),
		LastSuccessfulLogin: u.LastSuccessfulLogin.UTC(),
		Raw:                 json.RawMessage(u.JSON.RawJSON()),
	}
}
