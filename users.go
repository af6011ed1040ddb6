package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// pollUsers lists every account's members, diffs them against the last
// accepted list and emits the inventory and the changes.
func (r *identityReceiver) pollUsers(ctx context.Context) error {
	return r.pollStep(ctx, r.usersLoop)
}

func (r *identityReceiver) pollAccountMembers(ctx context.Context, account cloudflare.Account) error {
	members, err := r.client.ListMembers(ctx, account.ID)
	if err != nil {
		return err
	}
	members = uniqueMembers(members)
	r.members.update(account.ID, members)
	previous, err := r.memberSnapshot(ctx, account.ID)
	if err != nil {
		return err
	}

	now := r.now()
	logs, records := newAccountLogs(account, r.settings.BuildInfo.Version)
	next := &memberSnapshot{Members: members}
	if previous != nil {
		appendMemberChanges(records, previous.Members, members, now)
		next.LastInventory = previous.LastInventory
	}
	// The first poll of a fresh state is an inventory, never "added" for everyone.
	snapshotEvery := r.cfg.Users.SnapshotInterval
	if previous == nil || (snapshotEvery > 0 && now.Sub(previous.LastInventory) >= snapshotEvery) {
		for i := range members {
			appendMemberRecord(records, eventMember, &members[i], nil, nil, now)
		}
		next.LastInventory = now
	}
	if records.Len() > 0 {
		if err := r.consumeOrDrop(ctx, logs, streamUsers, account); err != nil {
			return err
		}
		r.settings.Logger.Debug("Member records emitted", zap.String("account_id", account.ID), zap.Int("records", records.Len()))
		if r.beforeCheckpoint != nil {
			if err := r.beforeCheckpoint(); err != nil {
				return err
			}
		}
	}
	r.memberSnapshots[account.ID] = next
	return r.store.saveMemberSnapshot(ctx, account.ID, next)
}

// memberSnapshot returns the last accepted member list, from memory or storage, or nil.
func (r *identityReceiver) memberSnapshot(ctx context.Context, accountID string) (*memberSnapshot, error) {
	if snapshot, ok := r.memberSnapshots[accountID]; ok {
		return snapshot, nil
	}
	snapshot, err := r.store.loadMemberSnapshot(ctx, accountID)
	if errors.Is(err, errCorruptCheckpoint) {
		r.settings.Logger.Warn("Discarding an unreadable member checkpoint; the next poll emits an inventory",
			zap.String("account_id", accountID), zap.Error(err))
		snapshot, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if snapshot != nil {
		r.memberSnapshots[accountID] = snapshot
	}
	return snapshot, nil
}

// appendMemberChanges emits added and changed members in the current list's
// order, then removed ones in the previous list's order.
func appendMemberChanges(records plog.LogRecordSlice, previous, current []cloudflare.Member, seen time.Time) {
	previousByID := make(map[string]*cloudflare.Member, len(previous))
	for i := range previous {
		previousByID[previous[i].ID] = &previous[i]
	}
	currentIDs := make(map[string]bool, len(current))
	for i := range current {
		member := &current[i]
		currentIDs[member.ID] = true
		before, known := previousByID[member.ID]
		if !known {
			appendMemberRecord(records, eventMemberAdded, member, nil, nil, seen)
			continue
		}
		if changed := changedFields(before, member); len(changed) > 0 {
			appendMemberRecord(records, eventMemberChanged, member, before, changed, seen)
		}
	}
	for i := range previous {
		if !currentIDs[previous[i].ID] {
			appendMemberRecord(records, eventMemberRemoved, &previous[i], nil, nil, seen)
		}
	}
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
