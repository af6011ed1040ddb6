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
	id:            func(m *cloudflare.Member) string { return m.ID },
	body:          func(m *cloudflare.Member) *json.RawMessage { return &m.Raw },
	changedFields: changedFields,
	appendRecord:  appendMemberRecord,
}

// usersStream lists every account's members, diffs them against the last
// accepted list and emits the inventory and the changes.
type usersStream struct {
	r         *identityReceiver
	cfg       UsersConfig
	inventory *inventory[cloudflare.Member]
}

// newUsersStream returns the users stream, or nil when it is disabled.
func newUsersStream(r *identityReceiver) *stream {
	if !r.cfg.Users.Enabled {
		return nil
	}
	u := &usersStream{r: r, cfg: r.cfg.Users,
		inventory: &inventory[cloudflare.Member]{r: r, stream: streamUsers, kind: memberKind, snapshotInterval: r.cfg.Users.SnapshotInterval,
			snapshots: newCheckpoints[memberSnapshot](r.store, r.settings.Logger, memberSnapshotKey,
				"Discarding an unreadable member checkpoint; the next poll emits an inventory"),
			usage: memberUsage{r: r, dormantAfter: r.cfg.Users.DormantAfter}}}
	return newStream(streamUsers, u.cfg.PollInterval, u.pollAccount)
}

func (u *usersStream) pollAccount(ctx context.Context, account cloudflare.Account) error {
	members, err := u.r.client.ListMembers(ctx, account.ID)
	if err != nil {
		return err
	}
	members = uniqueMembers(members)
	u.r.members.update(account.ID, members)
	return u.inventory.poll(ctx, account, members)
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
