package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// dormancyChange is a member's transition to dormant or back.
type dormancyChange struct {
	member    *cloudflare.Member
	eventName string // eventMemberDormant or eventMemberReactivated
}

// dormancyTransitions decides, at now, which accepted members turned
// dormant (no login for dormantAfter, counted from their last login, else
// from knownSince) and which of those reported dormant before (previous:
// member id -> the time dormancy was counted from) logged in since. It
// returns the dormant members to remember and the transitions to emit, in
// member order. With dormancy off, or before the logins stream watched the
// account, there is nothing to decide.
func dormancyTransitions(members []cloudflare.Member, lastLogins map[string]time.Time, knownSince time.Time,
	dormantAfter time.Duration, previous map[string]time.Time, now time.Time,
) (map[string]time.Time, []dormancyChange) {
	if dormantAfter == 0 || knownSince.IsZero() {
		return nil, nil
	}
	next := map[string]time.Time{}
	var changes []dormancyChange
	for i := range members {
		m := &members[i]
		if m.Status != memberAccepted {
			continue // not access in use; dropped silently
		}
		from := lastLogins[m.ID]
		if from.IsZero() {
			from = knownSince
		}
		idle := now.Sub(from) >= dormantAfter
		countedFrom, wasDormant := previous[m.ID]
		switch {
		case wasDormant && lastLogins[m.ID].After(countedFrom):
			changes = append(changes, dormancyChange{member: m, eventName: eventMemberReactivated})
		case wasDormant && idle:
			next[m.ID] = countedFrom
		case !wasDormant && idle:
			next[m.ID] = from
			changes = append(changes, dormancyChange{member: m, eventName: eventMemberDormant})
		}
		// Neither idle nor logged in again: dormant_after was raised; dropped silently.
	}
	return next, changes
}

// appendDormancyRecords maps the transitions: dormant at WARN, reactivated at INFO.
func appendDormancyRecords(records plog.LogRecordSlice, changes []dormancyChange, seen time.Time) {
	for _, c := range changes {
		appendMemberRecord(records, c.eventName, c.member, nil, nil, seen)
		if c.eventName == eventMemberDormant {
			records.At(records.Len() - 1).SetSeverityNumber(plog.SeverityNumberWarn)
		}
	}
}

// memberUsage adds what the logins taught about an account's members to
// its users polls (a listUsage of members).
type memberUsage struct {
	histories    *loginHistories
	dormantAfter time.Duration
}

// add puts last logins on a users poll's records and adds the dormancy
// transitions since the previous poll, which next remembers.
func (u memberUsage) add(ctx context.Context, accountID string, previous, next *listSnapshot[cloudflare.Member],
	removed []cloudflare.Member, records plog.LogRecordSlice, now time.Time,
) error {
	knownSince := u.histories.knownSince(accountID)
	var wasDormant map[string]time.Time
	if previous != nil {
		wasDormant = previous.Dormant
		if since := previous.LastLoginKnownSince; !since.IsZero() && (knownSince.IsZero() || since.Before(knownSince)) {
			knownSince = since
		}
	}
	lastLogins := make(map[string]time.Time, len(next.Items)+len(removed))
	for _, members := range [][]cloudflare.Member{next.Items, removed} {
		for i := range members {
			last, err := u.histories.lastLogin(ctx, accountID, &members[i])
			if err != nil {
				return err
			}
			lastLogins[members[i].ID] = last
		}
	}
	var changes []dormancyChange
	next.Dormant, changes = dormancyTransitions(next.Items, lastLogins, knownSince, u.dormantAfter, wasDormant, now)
	next.LastLoginKnownSince = knownSince
	appendDormancyRecords(records, changes, now)
	putMemberUsage(records, lastLogins, knownSince)
	return nil
}

// forget drops the login history of removed members.
func (u memberUsage) forget(ctx context.Context, accountID string, removed []cloudflare.Member) error {
	return u.histories.forget(ctx, accountID, removed)
}
