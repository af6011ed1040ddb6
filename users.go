package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// usersStream lists every account's members, diffs them against the last
// accepted list and emits the inventory and the changes.
type usersStream struct {
	r         *identityReceiver
	cfg       UsersConfig
	snapshots *checkpoints[memberSnapshot]
}

// newUsersStream returns the users stream, or nil when it is disabled.
func newUsersStream(r *identityReceiver) *stream {
	if !r.cfg.Users.Enabled {
		return nil
	}
	u := &usersStream{r: r, cfg: r.cfg.Users,
		snapshots: newCheckpoints[memberSnapshot](r.store, r.settings.Logger, memberSnapshotKey,
			"Discarding an unreadable member checkpoint; the next poll emits an inventory")}
	return newStream(streamUsers, u.cfg.PollInterval, u.pollAccount)
}

func (u *usersStream) pollAccount(ctx context.Context, account cloudflare.Account) error {
	members, err := u.r.client.ListMembers(ctx, account.ID)
	if err != nil {
		return err
	}
	members = uniqueMembers(members)
	u.r.members.update(account.ID, members)
	previous, err := u.snapshots.load(ctx, account.ID)
	if err != nil {
		return err
	}

	now := u.r.now()
	logs, records := newAccountLogs(account, u.r.settings.BuildInfo.Version)
	next := &memberSnapshot{Members: members}
	var removed []cloudflare.Member
	if previous != nil {
		appendMemberChanges(records, previous.Members, members, now)
		removed = removedMembers(previous.Members, members)
		next.LastInventory = previous.LastInventory
	}
	// The first poll of a fresh state is an inventory, never "added" for everyone.
	snapshotEvery := u.cfg.SnapshotInterval
	if previous == nil || (snapshotEvery > 0 && now.Sub(previous.LastInventory) >= snapshotEvery) {
		for i := range members {
			appendMemberRecord(records, eventMember, &members[i], nil, nil, now)
		}
		next.LastInventory = now
	}
	if err := u.addUsage(ctx, account.ID, previous, next, removed, records, now); err != nil {
		return err
	}
	if records.Len() > 0 {
		u.r.settings.Logger.Debug("Member records to emit", zap.String("account_id", account.ID), zap.Int("records", records.Len()))
	}
	if err := deliver(ctx, u.r, u.snapshots, streamUsers, account, logs, func() *memberSnapshot { return next }); err != nil {
		return err
	}
	return u.r.histories.forget(ctx, account.ID, removed)
}

// appendMemberChanges emits added and changed members in the current list's
// order, then removed ones in the previous list's order.
func appendMemberChanges(records plog.LogRecordSlice, previous, current []cloudflare.Member, seen time.Time) {
	previousByID := make(map[string]*cloudflare.Member, len(previous))
	for i := range previous {
		previousByID[previous[i].ID] = &previous[i]
	}
	for i := range current {
		member := &current[i]
		before, known := previousByID[member.ID]
		if !known {
			appendMemberRecord(records, eventMemberAdded, member, nil, nil, seen)
			continue
		}
		if changed := changedFields(before, member); len(changed) > 0 {
			appendMemberRecord(records, eventMemberChanged, member, before, changed, seen)
		}
	}
	removed := removedMembers(previous, current)
	for i := range removed {
		appendMemberRecord(records, eventMemberRemoved, &removed[i], nil, nil, seen)
	}
}

// removedMembers are the members of previous gone from current, in previous's order.
func removedMembers(previous, current []cloudflare.Member) []cloudflare.Member {
	currentIDs := make(map[string]bool, len(current))
	for i := range current {
		currentIDs[current[i].ID] = true
	}
	var removed []cloudflare.Member
	for i := range previous {
		if !currentIDs[previous[i].ID] {
			removed = append(removed, previous[i])
		}
	}
	return removed
}

// uniqueMembers drops repeats of a membership id (a member listed on two pages).
func uniqueMembers(members []cloudflare.Member) []cloudflare.Member {
	seen := make(map[string]bool, len(members))
	unique := members[:0:0]
	for _, m := range members {
		if !seen[m.ID] {
			seen[m.ID] = true
			unique = append(unique, m)
		}
	}
	return unique
}
