package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"encoding/json"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// accessUserKind describes Zero Trust Access users for inventories and
// diffs; every inventory ends with the account's seat summary.
var accessUserKind = listKind[cloudflare.AccessUser]{
	events: inventoryEvents{
		inventory: eventAccessUser, added: eventAccessUserAdded, removed: eventAccessUserRemoved, changed: eventAccessUserChanged,
	},
	endpoint:      cloudflare.EndpointAccessUsers,
	id:            func(u *cloudflare.AccessUser) string { return u.ID },
	body:          func(u *cloudflare.AccessUser) *json.RawMessage { return &u.Raw },
	changedFields: accessUserChangedFields,
	appendRecord:  appendAccessUserRecord,
	appendSummary: appendSeatSummaryRecord,
}

func accessUserSnapshotKey(accountID string) string { return "access_users." + accountID }

// newAccessUsersStream returns the access_users stream, or nil when it is
// disabled. It lists every account's Access users and diffs them like the
// users stream diffs members.
func newAccessUsersStream(r *identityReceiver) *stream {
	cfg := r.cfg.AccessUsers
	if !cfg.Enabled {
		return nil
	}
	users := &inventory[cloudflare.AccessUser]{r: r, stream: streamAccessUsers, kind: accessUserKind, snapshotInterval: cfg.SnapshotInterval,
		snapshots: newCheckpoints[listSnapshot[cloudflare.AccessUser]](r.store, r.settings.Logger, accessUserSnapshotKey,
			"Discarding an unreadable Access user checkpoint; the next poll emits an inventory"),
		list: func(ctx context.Context, accountID string) ([]cloudflare.AccessUser, error) {
			return r.client.ListAccessUsers(ctx, accountID)
		}}
	return newStream(streamAccessUsers, cfg.PollInterval, users.poll)
}
