package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// Event names (the LogRecord EventName field).
// memberAccepted is the status of a member who joined the account; only
// they can be dormant (an invitation is not access in use).
const memberAccepted = "accepted"

const (
	eventLogin         = "cloudflare.user.login"
	eventMember        = "cloudflare.account.member"
	eventMemberAdded   = "cloudflare.account.member.added"
	eventMemberRemoved = "cloudflare.account.member.removed"
	eventMemberChanged = "cloudflare.account.member.changed"
	// A member with no login for users.dormant_after, and the same member's
	// next login (dormancy.go).
	eventMemberDormant     = "cloudflare.account.member.dormant"
	eventMemberReactivated = "cloudflare.account.member.reactivated"
)

// Attribute names without a semantic convention.
const (
	attrAccountName      = "cloudflare.account.name"
	attrActionType       = "cloudflare.audit.action.type"
	attrActionResult     = "cloudflare.audit.action.result"
	attrActorType        = "cloudflare.actor.type"
	attrInterface        = "cloudflare.audit.interface"
	attrRayID            = "cloudflare.ray_id"
	attrMemberID         = "cloudflare.member.id"
	attrMemberStatus     = "cloudflare.member.status"
	attrTwoFactor        = "cloudflare.user.two_factor_authentication_enabled"
	attrMemberChanged    = "cloudflare.member.changed_fields"
	attrMemberPrevious   = "cloudflare.member.previous"
	attrLastLogin        = "cloudflare.member.last_login"
	attrLastLoginSince   = "cloudflare.member.last_login_known_since"
	attrNewAddress       = "cloudflare.login.new_address"
	cloudProviderValue   = "cloudflare"
	loginFailedErrorType = "login_failed"
	actionResultSuccess  = "success"
	actionResultFailure  = "failure"
)

// Member fields whose change emits a changed event; also the keys of
// cloudflare.member.changed_fields and cloudflare.member.previous.
const (
	fieldStatus    = "status"
	fieldRoles     = "roles"
	fieldTwoFactor = "two_factor_authentication_enabled"
	fieldFullName  = "full_name"
	fieldEmail     = "email"
)

// newAccountLogs starts a batch for one account: one ResourceLogs describing
// the account and one ScopeLogs naming this receiver.
func newAccountLogs(account cloudflare.Account, version string) (plog.Logs, plog.LogRecordSlice) {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl(semconv.SchemaURL)
	res := rl.Resource().Attributes()
	res.PutStr(string(semconv.CloudProviderKey), cloudProviderValue)
	res.PutStr(string(semconv.CloudAccountIDKey), account.ID)
	if account.Name != "" {
		res.PutStr(attrAccountName, account.Name)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl(semconv.SchemaURL)
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(version)
	return logs, sl.LogRecords()
}

// appendLoginRecord maps one login audit entry, of either source: v2's
// field names are already mapped onto AuditEntry (actor.context is the
// Interface, raw.user_agent the UserAgent, raw.cf_ray_id the RayID) and its
// Body is the entry as sent. known is the member record of
// the actor when the users stream has seen it, else nil.
func appendLoginRecord(records plog.LogRecordSlice, entry *cloudflare.AuditEntry, known *cloudflare.Member, observed time.Time) {
	lr := records.AppendEmpty()
	lr.SetEventName(eventLogin)
	// An entry without a readable `when` keeps Timestamp unset: "unknown",
	// which the data model allows, rather than a made-up time.
	if !entry.When.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(entry.When))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	attrs := lr.Attributes()
	attrs.EnsureCapacity(14) // every attribute below, and the new-address verdict annotate adds
	attrs.PutStr(string(semconv.LogRecordUIDKey), entry.ID)
	putNonEmpty(attrs, string(semconv.UserIDKey), entry.ActorID)
	putNonEmpty(attrs, string(semconv.UserEmailKey), entry.ActorEmail)
	putNonEmpty(attrs, string(semconv.ClientAddressKey), entry.ActorIP)
	putNonEmpty(attrs, string(semconv.UserAgentOriginalKey), entry.UserAgent)
	attrs.PutStr(attrActionType, entry.ActionType)
	if entry.Success {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		attrs.PutStr(attrActionResult, actionResultSuccess)
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		attrs.PutStr(attrActionResult, actionResultFailure)
	}
	putNonEmpty(attrs, attrActorType, entry.ActorType)
	putNonEmpty(attrs, attrInterface, entry.Interface)
	putNonEmpty(attrs, attrRayID, entry.RayID)
	if !entry.Success {
		attrs.PutStr(string(semconv.ErrorTypeKey), loginFailedErrorType)
	}
	if known != nil {
		putNonEmpty(attrs, string(semconv.UserFullNameKey), fullName(known))
		putStrings(attrs, string(semconv.UserRolesKey), known.Roles)
	}
	if entry.Record != nil {
		putAuditRecord(lr.Body().SetEmptyMap(), entry)
	} else {
		setBody(lr, entry.Raw)
	}
}

// putAuditRecord writes an audit log entry of the usual shape as the body
// map, field by field, exactly as decoding its JSON into a map would.
func putAuditRecord(body pcommon.Map, entry *cloudflare.AuditEntry) {
	r := entry.Record
	body.EnsureCapacity(10)
	body.PutStr("id", r.ID)
	action := body.PutEmptyMap("action")
	action.EnsureCapacity(2)
	action.PutBool("result", r.Action.Result)
	action.PutStr("type", r.Action.Type)
	actor := body.PutEmptyMap("actor")
	actor.EnsureCapacity(4)
	actor.PutStr("email", r.Actor.Email)
	actor.PutStr("id", r.Actor.ID)
	actor.PutStr("ip", r.Actor.IP)
	actor.PutStr("type", r.Actor.Type)
	body.PutStr("interface", r.Interface)
	if entry.Metadata != nil {
		metadata := body.PutEmptyMap("metadata")
		metadata.EnsureCapacity(len(entry.Metadata))
		for _, field := range entry.Metadata {
			metadata.PutStr(field.Key, field.Value) // a repeated key keeps its last value, as in a map
		}
	} else {
		putRawJSON(body, "metadata", r.Metadata)
	}
	putRawJSON(body, "newValue", r.NewValue)
	putRawJSON(body, "oldValue", r.OldValue)
	body.PutEmptyMap("owner").PutStr("id", r.Owner.ID)
	resource := body.PutEmptyMap("resource")
	resource.EnsureCapacity(2)
	resource.PutStr("id", r.Resource.ID)
	resource.PutStr("type", r.Resource.Type)
	body.PutStr("when", r.When)
}

// putRawJSON puts a JSON value; the common empty string and empty object
// need no decoding.
func putRawJSON(m pcommon.Map, key string, raw json.RawMessage) {
	switch string(raw) {
	case `""`:
		m.PutStr(key, "")
		return
	case `{}`:
		m.PutEmptyMap(key)
		return
	}
	var value any
	if json.Unmarshal(raw, &value) != nil {
		m.PutStr(key, string(raw))
		return
	}
	// FromRaw only fails on value types JSON cannot produce.
	_ = m.PutEmpty(key).FromRaw(value)
}

// appendMemberRecord maps one member event. For eventMemberChanged, previous
// is the member as last seen and changed lists the fields that differ.
func appendMemberRecord(records plog.LogRecordSlice, eventName string, member, previous *cloudflare.Member, changed []string, seen time.Time) {
	lr := appendPolledRecord(records, eventName, seen)
	attrs := lr.Attributes()
	putNonEmpty(attrs, string(semconv.UserIDKey), member.UserID)
	putNonEmpty(attrs, string(semconv.UserEmailKey), memberEmail(member))
	putNonEmpty(attrs, string(semconv.UserFullNameKey), fullName(member))
	putStrings(attrs, string(semconv.UserRolesKey), member.Roles)
	attrs.PutStr(attrMemberID, member.ID)
	attrs.PutStr(attrMemberStatus, member.Status)
	attrs.PutBool(attrTwoFactor, member.TwoFactor)
	if eventName == eventMemberChanged {
		putPrevious(attrs, attrMemberChanged, attrMemberPrevious, changed, func(prev pcommon.Map, field string) {
			switch field {
			case fieldStatus:
				prev.PutStr(field, previous.Status)
			case fieldRoles:
				putStrings(prev, field, previous.Roles)
			case fieldTwoFactor:
				prev.PutBool(field, previous.TwoFactor)
			case fieldFullName:
				prev.PutStr(field, fullName(previous))
			case fieldEmail:
				prev.PutStr(field, memberEmail(previous))
			}
		})
	}
	setBody(lr, member.Raw)
}

// appendPolledRecord starts the record of something a poll saw (an
// inventory entry, a change, a summary): its Timestamp is the poll, as
// Cloudflare reports no time for it; severity INFO.
func appendPolledRecord(records plog.LogRecordSlice, eventName string, seen time.Time) plog.LogRecord {
	lr := records.AppendEmpty()
	lr.SetEventName(eventName)
	ts := pcommon.NewTimestampFromTime(seen)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	return lr
}

// putPrevious puts on a changed event the fields that changed, under
// changedKey, and their previous values, which put writes, under previousKey.
func putPrevious(attrs pcommon.Map, changedKey, previousKey string, changed []string, put func(prev pcommon.Map, field string)) {
	putStrings(attrs, changedKey, changed)
	prev := attrs.PutEmptyMap(previousKey)
	for _, field := range changed {
		put(prev, field)
	}
}

// changedFields lists what differs between two records of one member, in a fixed order.
func changedFields(previous, current *cloudflare.Member) []string {
	var changed []string
	if previous.Status != current.Status {
		changed = append(changed, fieldStatus)
	}
	if !sameRoles(previous.Roles, current.Roles) {
		changed = append(changed, fieldRoles)
	}
	if previous.TwoFactor != current.TwoFactor {
		changed = append(changed, fieldTwoFactor)
	}
	if fullName(previous) != fullName(current) {
		changed = append(changed, fieldFullName)
	}
	if memberEmail(previous) != memberEmail(current) {
		changed = append(changed, fieldEmail)
	}
	return changed
}

// sameRoles compares role names as sets: the API does not promise an order.
func sameRoles(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func fullName(m *cloudflare.Member) string {
	return strings.TrimSpace(m.FirstName + " " + m.LastName)
}

// memberEmail prefers the user's address; a pending invite only has the membership's.
func memberEmail(m *cloudflare.Member) string {
	if m.UserEmail != "" {
		return m.UserEmail
	}
	return m.Email
}

// setBody keeps the record exactly as Cloudflare sent it, as a map.
func setBody(lr plog.LogRecord, raw json.RawMessage) {
	var record map[string]any
	if err := json.Unmarshal(raw, &record); err != nil || record == nil {
		lr.Body().SetStr(string(raw))
		return
	}
	// FromRaw only fails on value types JSON cannot produce.
	_ = lr.Body().SetEmptyMap().FromRaw(record)
}

func putNonEmpty(attrs pcommon.Map, key, value string) {
	if value != "" {
		attrs.PutStr(key, value)
	}
}

func putStrings(attrs pcommon.Map, key string, values []string) {
	slice := attrs.PutEmptySlice(key)
	slice.EnsureCapacity(len(values))
	for _, v := range values {
		slice.AppendEmpty().SetStr(v)
	}
}

// putNewAddress sets cloudflare.login.new_address on a login record, unless
// the address was not judged.
func putNewAddress(attrs pcommon.Map, verdict addressVerdict) {
	if verdict != addressUnjudged {
		attrs.PutBool(attrNewAddress, verdict == addressNew)
	}
}

// putMemberUsage adds to member records the member's last login, when one
// is known, and since when the receiver watches the account's logins, when
// it does; lastLogins is keyed by membership id.
func putMemberUsage(records plog.LogRecordSlice, lastLogins map[string]time.Time, knownSince time.Time) {
	if knownSince.IsZero() {
		return
	}
	since := knownSince.UTC().Format(time.RFC3339Nano)
	for _, lr := range records.All() {
		attrs := lr.Attributes()
		id, _ := attrs.Get(attrMemberID)
		if last := lastLogins[id.Str()]; !last.IsZero() {
			attrs.PutStr(attrLastLogin, last.UTC().Format(time.RFC3339Nano))
		}
		attrs.PutStr(attrLastLoginSince, since)
	}
}
