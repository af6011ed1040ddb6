package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// Event names of the Zero Trust Access streams.
const (
	eventAccessLogin       = "cloudflare.access.login"
	eventAccessUser        = "cloudflare.access.user"
	eventAccessUserAdded   = "cloudflare.access.user.added"
	eventAccessUserRemoved = "cloudflare.access.user.removed"
	eventAccessUserChanged = "cloudflare.access.user.changed"
	eventAccessSeats       = "cloudflare.access.seats"
)

// Attribute names of the Zero Trust Access records.
const (
	attrAccessAppDomain        = "cloudflare.access.app.domain"
	attrAccessAppUID           = "cloudflare.access.app.uid"
	attrAccessIdentityProvider = "cloudflare.access.identity_provider"
	attrAccessAction           = "cloudflare.access.action"
	attrAccessAllowed          = "cloudflare.access.allowed"
	attrAccessSeat             = "cloudflare.access.seat"
	attrGatewaySeat            = "cloudflare.gateway.seat"
	attrAccessLastLogin        = "cloudflare.access.last_login"
	attrAccessDevices          = "cloudflare.access.devices"
	attrAccessUserChanged      = "cloudflare.access.user.changed_fields"
	attrAccessUserPrevious     = "cloudflare.access.user.previous"
	attrSeatsUsers             = "cloudflare.access.users"
	attrSeatsAccess            = "cloudflare.access.seats.access"
	attrSeatsGateway           = "cloudflare.access.seats.gateway"
	attrSeatsUnused30d         = "cloudflare.access.seats.unused_30d"
	attrSeatsUnused90d         = "cloudflare.access.seats.unused_90d"
)

// Access user fields whose change emits a changed event; also the keys of
// cloudflare.access.user.changed_fields and cloudflare.access.user.previous.
const (
	fieldAccessSeat  = "access_seat"
	fieldGatewaySeat = "gateway_seat"
	fieldDevices     = "active_device_count"
	fieldName        = "name"
)

// appendAccessLoginRecord maps one entry of the Access authentication log.
func appendAccessLoginRecord(records plog.LogRecordSlice, entry *cloudflare.AccessRequest, observed time.Time) {
	lr := records.AppendEmpty()
	lr.SetEventName(eventAccessLogin)
	if !entry.CreatedAt.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(entry.CreatedAt))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	if !entry.Allowed {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(9)
	attrs.PutStr(string(semconv.LogRecordUIDKey), entry.Key)
	putNonEmpty(attrs, string(semconv.UserEmailKey), entry.UserEmail)
	putNonEmpty(attrs, string(semconv.ClientAddressKey), entry.IPAddress)
	putNonEmpty(attrs, attrAccessAppDomain, entry.AppDomain)
	putNonEmpty(attrs, attrAccessAppUID, entry.AppUID)
	putNonEmpty(attrs, attrAccessIdentityProvider, entry.Connection)
	putNonEmpty(attrs, attrAccessAction, entry.Action)
	attrs.PutBool(attrAccessAllowed, entry.Allowed)
	putNonEmpty(attrs, attrRayID, entry.RayID)
	setBody(lr, entry.Raw)
}

// appendAccessUserRecord maps one Access user event. For
// eventAccessUserChanged, previous is the user as last seen and changed
// lists the fields that differ.
func appendAccessUserRecord(records plog.LogRecordSlice, eventName string, user, previous *cloudflare.AccessUser, changed []string, seen time.Time) {
	lr := appendPolledRecord(records, eventName, seen)
	attrs := lr.Attributes()
	attrs.PutStr(string(semconv.UserIDKey), user.ID)
	putNonEmpty(attrs, string(semconv.UserEmailKey), user.Email)
	putNonEmpty(attrs, string(semconv.UserNameKey), user.Name)
	attrs.PutBool(attrAccessSeat, user.AccessSeat)
	attrs.PutBool(attrGatewaySeat, user.GatewaySeat)
	if !user.LastSuccessfulLogin.IsZero() {
		attrs.PutStr(attrAccessLastLogin, user.LastSuccessfulLogin.Format(time.RFC3339))
	}
	attrs.PutInt(attrAccessDevices, user.ActiveDeviceCount)
	if eventName == eventAccessUserChanged {
		putPrevious(attrs, attrAccessUserChanged, attrAccessUserPrevious, changed, func(prev pcommon.Map, field string) {
			switch field {
			case fieldAccessSeat:
				prev.PutBool(field, previous.AccessSeat)
			case fieldGatewaySeat:
				prev.PutBool(field, previous.GatewaySeat)
			case fieldDevices:
				prev.PutInt(field, previous.ActiveDeviceCount)
			case fieldName:
				prev.PutStr(field, previous.Name)
			case fieldEmail:
				prev.PutStr(field, previous.Email)
			}
		})
	}
	setBody(lr, user.Raw)
}

// accessUserChangedFields lists what differs between two records of one
// Access user, in a fixed order. A new last login alone is no change: it is
// in the next inventory.
func accessUserChangedFields(previous, current *cloudflare.AccessUser) []string {
	var changed []string
	if previous.AccessSeat != current.AccessSeat {
		changed = append(changed, fieldAccessSeat)
	}
	if previous.GatewaySeat != current.GatewaySeat {
		changed = append(changed, fieldGatewaySeat)
	}
	if previous.ActiveDeviceCount != current.ActiveDeviceCount {
		changed = append(changed, fieldDevices)
	}
	if previous.Name != current.Name {
		changed = append(changed, fieldName)
	}
	if previous.Email != current.Email {
		changed = append(changed, fieldEmail)
	}
	return changed
}

// seatSummary counts an account's Zero Trust seats.
type seatSummary struct {
	users, accessSeats, gatewaySeats int
	// unused30d and unused90d count users with a seat and no successful
	// login for 30 and 90 days (or none ever): paid seats nobody uses.
	unused30d, unused90d int
}

// unusedSeatAges are the ages of the last login that make a seat unused.
var unusedSeatAges = [2]time.Duration{30 * 24 * time.Hour, 90 * 24 * time.Hour}

func summarizeSeats(users []cloudflare.AccessUser, now time.Time) seatSummary {
	s := seatSummary{users: len(users)}
	for i := range users {
		u := &users[i]
		if u.AccessSeat {
			s.accessSeats++
		}
		if u.GatewaySeat {
			s.gatewaySeats++
		}
		if !u.AccessSeat && !u.GatewaySeat {
			continue
		}
		if u.LastSuccessfulLogin.IsZero() || now.Sub(u.LastSuccessfulLogin) >= unusedSeatAges[0] {
			s.unused30d++
		}
		if u.LastSuccessfulLogin.IsZero() || now.Sub(u.LastSuccessfulLogin) >= unusedSeatAges[1] {
			s.unused90d++
		}
	}
	return s
}

// appendSeatSummaryRecord maps the seat summary of an account's inventory.
func appendSeatSummaryRecord(records plog.LogRecordSlice, users []cloudflare.AccessUser, seen time.Time) {
	s := summarizeSeats(users, seen)
	lr := appendPolledRecord(records, eventAccessSeats, seen)
	attrs := lr.Attributes()
	attrs.PutInt(attrSeatsUsers, int64(s.users))
	attrs.PutInt(attrSeatsAccess, int64(s.accessSeats))
	attrs.PutInt(attrSeatsGateway, int64(s.gatewaySeats))
	attrs.PutInt(attrSeatsUnused30d, int64(s.unused30d))
	attrs.PutInt(attrSeatsUnused90d, int64(s.unused90d))
	lr.Body().SetStr(fmt.Sprintf("%d Access users: %d Access seats, %d Gateway seats; %d users with a seat and no successful login for 30 days, %d for 90 days",
		s.users, s.accessSeats, s.gatewaySeats, s.unused30d, s.unused90d))
}
