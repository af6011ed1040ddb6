package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// memberKind describes account members for inventories and diffs.
var memberKind = listKind[cloudflare.Member]{
	events: inventoryEvents{
		inventory: eventMember, added: eventMemberAdded, removed: eventMemberRemoved, changed: eventMemberChanged,
	},
	endpoint:      cloudflare.EndpointMembers,
	id:            func(m *cloudflare.Member) string { return m.ID },
	body:          func(m *cloudflare.Member) *json.RawMessage { return &m.Raw },
	changedFields: changedFields,
	appendRecord:  appendMemberRecord,
}

// newUsersStream returns the users stream, or nil when it is disabled. It
// lists every account's members, diffs them against the last accepted list
// and emits the inventory and the changes; logins learn the members from it.
func newUsersStream(r *identityReceiver) *stream {
	cfg := r.cfg.Users
	if !cfg.Enabled {
		return nil
	}
	members := &inventory[cloudflare.Member]{r: r, stream: streamUsers, kind: memberKind, snapshotInterval: cfg.SnapshotInterval,
		snapshots: newCheckpoints[memberSnapshot](r.store, r.settings.Logger, memberSnapshotKey,
			"Discarding an unreadable member checkpoint; the next poll emits an inventory"),
		usage: memberUsage{r: r, dormantAfter: cfg.DormantAfter},
		list: func(ctx context.Context, accountID string) ([]cloudflare.Member, error) {
			return r.client.ListMembers(ctx, accountID)
		},
		listed: r.members.update}
	return newStream(streamUsers, cfg.PollInterval, members.poll)
}

// appendMemberChanges emits added and changed members in the current list's
// order, then removed ones in the previous list's order.
func appendMemberChanges(records plog.LogRecordSlice, previous, current []cloudflare.Member, seen time.Time) {
	appendChanges(records, memberKind, previous, current, removedItems(memberKind, previous, current), seen)
}

// uniqueMembers drops repeats of a membership id (a member listed on two pages).
func uniqueMembers(members []cloudflare.Member) []cloudflare.Member {
	return uniqueByID(members, memberKind.id)
}
