package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// `format: ocsf` (docs/ocsf.md): every record's Body becomes an event of the
// OCSF schema ocsfVersion, mapped from the record as the receiver built it
// (EventName, attributes, Body, resource); EventName and attributes stay.

// The values of format.
const (
	formatOTel = "otel"
	formatOCSF = "ocsf"
)

// ocsfVersion is the OCSF schema release the events follow (metadata.version).
const ocsfVersion = "1.8.0"

var errFormat = fmt.Errorf("format: must be %s (Body: the Cloudflare record) or %s (Body: an OCSF %s event)",
	formatOTel, formatOCSF, ocsfVersion)

// validateFormat checks the format key.
func validateFormat(format string) []error {
	if format == formatOTel || format == formatOCSF {
		return nil
	}
	return []error{fmt.Errorf("%w: got %q", errFormat, format)}
}

// formatLogs puts, with format ocsf, each record's OCSF event in its Body;
// with format otel it leaves logs alone.
func formatLogs(format string, logs plog.Logs) {
	if format != formatOCSF {
		return
	}
	for _, rl := range logs.ResourceLogs().All() {
		resource := rl.Resource().Attributes()
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				event := ocsfEvent(resource, lr)
				// FromRaw only fails on value types the mapping never produces.
				_ = lr.Body().SetEmptyMap().FromRaw(event)
			}
		}
	}
}

// An OCSF class: its uid, name and category.
type ocsfClass struct {
	uid          int64
	name         string
	categoryUID  int64
	categoryName string
}

var (
	ocsfAuthentication     = ocsfClass{3002, "Authentication", 3, "Identity & Access Management"}
	ocsfAccountChange      = ocsfClass{3001, "Account Change", 3, "Identity & Access Management"}
	ocsfUserInventory      = ocsfClass{5003, "User Inventory Info", 5, "Discovery"}
	ocsfIAMAnalysisFinding = ocsfClass{2008, "IAM Analysis Finding", 2, "Findings"}
	ocsfBaseEvent          = ocsfClass{0, "Base Event", 0, "Uncategorized"}
)

// Activities, as id and caption, of the classes above.
type ocsfActivity struct {
	id   int64
	name string
}

var (
	activityLogon           = ocsfActivity{1, "Logon"}
	activityLogoff          = ocsfActivity{2, "Logoff"}
	activityCreate          = ocsfActivity{1, "Create"}
	activityEnable          = ocsfActivity{2, "Enable"}
	activityDisable         = ocsfActivity{5, "Disable"}
	activityDelete          = ocsfActivity{6, "Delete"}
	activityAttachPolicy    = ocsfActivity{7, "Attach Policy"}
	activityDetachPolicy    = ocsfActivity{8, "Detach Policy"}
	activityMFAEnable       = ocsfActivity{10, "MFA Factor Enable"}
	activityMFADisable      = ocsfActivity{11, "MFA Factor Disable"}
	activityUpdate          = ocsfActivity{99, "Update"} // Account Change has no update: Other, named
	activityCollect         = ocsfActivity{2, "Collect"}
	activityFindingCreate   = ocsfActivity{1, "Create"}
	activityFindingClose    = ocsfActivity{3, "Close"}
	activitySeatSummary     = ocsfActivity{99, "Seat Summary"}
	activityOtherCloudflare = ocsfActivity{99, "Other"}
)

// OCSF ids of status_id, severity_id and account type_id.
const (
	ocsfStatusSuccess        = 1
	ocsfStatusFailure        = 2
	ocsfFindingNew           = 1
	ocsfFindingResolved      = 4
	ocsfSeverityInformation  = 1
	ocsfSeverityLow          = 2
	ocsfAccountTypeOther     = 99
	ocsfProfileCloud         = "cloud"
	ocsfVendor               = "Cloudflare"
	ocsfProductDashboard     = "Cloudflare"
	ocsfProductAccess        = "Cloudflare Zero Trust Access"
	ocsfAccountType          = "Cloudflare Account"
	ocsfRoleGroupType        = "Cloudflare role"
	ocsfServiceDashboard     = "Cloudflare dashboard"
	ocsfServiceAPI           = "Cloudflare API"
	accessActionLogout       = "logout"
	accessDeniedStatusDetail = "access_denied"
)

// ocsfRecord is what the mapping reads of one record.
type ocsfRecord struct {
	resource, attrs pcommon.Map
	lr              plog.LogRecord
	body            map[string]any // the Body when it is a map, else nil
	mapped          map[string]bool
}

// ocsfEvent maps one record to its OCSF event. resource holds the
// account's attributes (cloud.account.id, cloudflare.account.name).
func ocsfEvent(resource pcommon.Map, lr plog.LogRecord) map[string]any {
	r := &ocsfRecord{resource: resource, attrs: lr.Attributes(), lr: lr, mapped: map[string]bool{}}
	if lr.Body().Type() == pcommon.ValueTypeMap {
		r.body = lr.Body().Map().AsRaw()
	}
	var event map[string]any
	switch name := lr.EventName(); name {
	case eventLogin, eventAccessLogin:
		event = r.authentication()
	case eventMember, eventAccessUser:
		event = r.event(ocsfUserInventory, activityCollect)
		event["user"] = r.user()
	case eventMemberAdded, eventAccessUserAdded:
		event = r.event(ocsfAccountChange, activityCreate)
		event["user"] = r.user()
		event["status_id"], event["status"] = int64(ocsfStatusSuccess), "Success"
	case eventMemberRemoved, eventAccessUserRemoved:
		event = r.event(ocsfAccountChange, activityDelete)
		event["user"] = r.user()
		event["status_id"], event["status"] = int64(ocsfStatusSuccess), "Success"
	case eventMemberChanged, eventAccessUserChanged:
		event = r.accountChanged()
	case eventMemberDormant, eventMemberReactivated:
		event = r.dormancy(name == eventMemberDormant)
	case eventAccessSeats:
		event = r.event(ocsfBaseEvent, activitySeatSummary)
	default: // a record this mapping does not know yet: a Base Event, nothing lost
		event = r.event(ocsfBaseEvent, activityOtherCloudflare)
	}
	r.finish(event)
	return event
}

// event starts an event of class and activity with what every event has.
func (r *ocsfRecord) event(class ocsfClass, activity ocsfActivity) map[string]any {
	r.mapped[string(semconv.LogRecordUIDKey)] = true
	metadata := map[string]any{
		"version":    ocsfVersion,
		"product":    map[string]any{"name": r.product(), "vendor_name": ocsfVendor},
		"profiles":   []any{ocsfProfileCloud},
		"event_code": r.lr.EventName(),
	}
	if uid := r.str(string(semconv.LogRecordUIDKey)); uid != "" {
		metadata["uid"] = uid
	}
	severityID, severity := int64(ocsfSeverityInformation), "Informational"
	if r.lr.SeverityNumber() >= plog.SeverityNumberWarn {
		severityID, severity = ocsfSeverityLow, "Low"
	}
	return map[string]any{
		"class_uid":     class.uid,
		"class_name":    class.name,
		"category_uid":  class.categoryUID,
		"category_name": class.categoryName,
		"activity_id":   activity.id,
		"activity_name": activity.name,
		"type_uid":      class.uid*100 + activity.id,
		"type_name":     class.name + ": " + activity.name,
		"time":          r.timeMillis(),
		"severity_id":   severityID,
		"severity":      severity,
		"metadata":      metadata,
		"cloud":         r.cloud(),
	}
}

// finish adds what is common to every event and left over: the Cloudflare
// record (raw_data, or message for a text Body) and the attributes no OCSF
// field took (unmapped).
func (r *ocsfRecord) finish(event map[string]any) {
	switch body := r.lr.Body(); body.Type() {
	case pcommon.ValueTypeMap:
		if raw, err := json.Marshal(r.body); err == nil {
			event["raw_data"] = string(raw)
		}
	case pcommon.ValueTypeStr:
		event["message"] = body.Str()
	case pcommon.ValueTypeEmpty:
	default:
		event["raw_data"] = body.AsString()
	}
	unmapped := map[string]any{}
	for key, value := range r.attrs.All() {
		if !r.mapped[key] {
			unmapped[key] = value.AsRaw()
		}
	}
	if len(unmapped) > 0 {
		event["unmapped"] = unmapped
	}
}

// authentication maps a dashboard/API login or an Access login.
func (r *ocsfRecord) authentication() map[string]any {
	access := r.lr.EventName() == eventAccessLogin
	activity := activityLogon
	if access && r.str(attrAccessAction) == accessActionLogout {
		activity = activityLogoff
	}
	event := r.event(ocsfAuthentication, activity)
	r.mapped[attrAccessAction] = true
	event["user"] = r.user()

	success := r.str(attrActionResult) == actionResultSuccess
	r.mapped[attrActionResult] = true
	if access {
		success = r.boolean(attrAccessAllowed)
		r.mapped[attrAccessAllowed] = true
	}
	if success {
		event["status_id"], event["status"] = int64(ocsfStatusSuccess), "Success"
	} else {
		event["status_id"], event["status"] = int64(ocsfStatusFailure), "Failure"
		event["status_detail"] = r.failureReason(access)
	}
	if code, ok := bodyPath(r.body, "raw", "status_code").(float64); ok { // Audit Logs v2: the HTTP status of the login
		event["status_code"] = fmt.Sprint(int64(code))
	}

	if ip := r.str(string(semconv.ClientAddressKey)); ip != "" {
		endpoint := map[string]any{"ip": ip}
		r.mapped[string(semconv.ClientAddressKey)] = true
		// Cloudflare Access sends the country of the address (ISO 3166-1 alpha-2) with some entries.
		if country, ok := r.body["country"].(string); ok && country != "" {
			endpoint["location"] = map[string]any{"country": country}
		}
		event["src_endpoint"] = endpoint
	}
	request := map[string]any{}
	if ua := r.str(string(semconv.UserAgentOriginalKey)); ua != "" {
		request["user_agent"] = ua
		r.mapped[string(semconv.UserAgentOriginalKey)] = true
	}
	if ray := r.str(attrRayID); ray != "" {
		request["uid"] = ray
		r.mapped[attrRayID] = true
	}
	if len(request) > 0 {
		event["http_request"] = request
	}
	event["service"] = r.service(access)
	if r.has(attrNewAddress) {
		event["is_new_logon"] = r.boolean(attrNewAddress)
		r.mapped[attrNewAddress] = true
	}
	for _, key := range []string{attrActionType, string(semconv.ErrorTypeKey)} {
		r.mapped[key] = true // the activity and status_detail say it
	}
	if when := r.originalTime(); when != "" {
		event["metadata"].(map[string]any)["original_time"] = when
	}
	return event
}

// failureReason is the status_detail of a failed login: the v2 audit log's
// description of the action when it has one, else the error type.
func (r *ocsfRecord) failureReason(access bool) string {
	if access {
		return accessDeniedStatusDetail
	}
	if description, ok := bodyPath(r.body, "action", "description").(string); ok && description != "" {
		return description
	}
	if errorType := r.str(string(semconv.ErrorTypeKey)); errorType != "" {
		return errorType
	}
	return loginFailedErrorType
}

// service is what the user signed in to: the Access application, or the
// Cloudflare dashboard or API by the audit log's interface.
func (r *ocsfRecord) service(access bool) map[string]any {
	if access {
		service := map[string]any{"name": r.str(attrAccessAppDomain)}
		if uid := r.str(attrAccessAppUID); uid != "" {
			service["uid"] = uid
		}
		r.mapped[attrAccessAppDomain], r.mapped[attrAccessAppUID] = true, true
		return service
	}
	name := ocsfVendor
	switch r.str(attrInterface) {
	case "UI", "dash":
		name = ocsfServiceDashboard
	case "API", "api", "api_token", "api_key", "oauth":
		name = ocsfServiceAPI
	}
	return map[string]any{"name": name}
}

// originalTime is the login's time as Cloudflare wrote it.
func (r *ocsfRecord) originalTime() string {
	for _, path := range [][]string{{"when"}, {"action", "time"}, {"created_at"}} {
		if s, ok := bodyPath(r.body, path...).(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// accountChanged maps a changed member or Access user: user is the account
// before the change, user_result after it; the activity is the change that
// matters most to access, in this order: roles (attach/detach policy), 2FA
// (MFA factor enable/disable), status or seats (enable/disable), anything
// else (Other: Update).
func (r *ocsfRecord) accountChanged() map[string]any {
	changed := r.strings(attrMemberChanged)
	previous := r.mapAttr(attrMemberPrevious)
	if r.lr.EventName() == eventAccessUserChanged {
		changed = r.strings(attrAccessUserChanged)
		previous = r.mapAttr(attrAccessUserPrevious)
	}
	// user holds the previous values; the list of changed fields stays in unmapped.
	r.mapped[attrMemberPrevious], r.mapped[attrAccessUserPrevious] = true, true
	current := r.user()
	before := r.userWith(previous)

	activity := activityUpdate
	var policies []any
	switch {
	case slices.Contains(changed, fieldRoles):
		now, was := r.strings(string(semconv.UserRolesKey)), toStrings(previous[fieldRoles])
		added, removed := difference(now, was), difference(was, now)
		activity, policies = activityAttachPolicy, rolePolicies(added)
		if len(added) == 0 {
			activity, policies = activityDetachPolicy, rolePolicies(removed)
		}
	case slices.Contains(changed, fieldTwoFactor):
		activity = activityMFADisable
		if r.boolean(attrTwoFactor) {
			activity = activityMFAEnable
		}
	case slices.Contains(changed, fieldStatus):
		activity = activityDisable
		if r.str(attrMemberStatus) == memberAccepted {
			activity = activityEnable
		}
	case slices.Contains(changed, fieldAccessSeat) || slices.Contains(changed, fieldGatewaySeat):
		activity = activityDisable
		if r.boolean(attrAccessSeat) || r.boolean(attrGatewaySeat) {
			activity = activityEnable
		}
	}
	event := r.event(ocsfAccountChange, activity)
	event["user"], event["user_result"] = before, current
	event["status_id"], event["status"] = int64(ocsfStatusSuccess), "Success"
	if len(policies) > 0 {
		event["policies"] = policies
	}
	return event
}

// dormancy maps a member's dormancy (a finding created) or reactivation
// (the finding closed): one finding uid per account and member.
func (r *ocsfRecord) dormancy(dormant bool) map[string]any {
	activity, status, title := activityFindingCreate, int64(ocsfFindingNew), "Dormant Cloudflare account member"
	if !dormant {
		activity, status, title = activityFindingClose, int64(ocsfFindingResolved), "Dormant Cloudflare account member signed in again"
	}
	event := r.event(ocsfIAMAnalysisFinding, activity)
	event["status_id"], event["status"] = status, "New"
	if !dormant {
		event["status"] = "Resolved"
	}
	account, _ := r.resource.Get(string(semconv.CloudAccountIDKey))
	event["finding_info"] = map[string]any{
		"uid":   "cloudflare.account.member.dormant/" + account.Str() + "/" + r.str(attrMemberID),
		"title": title,
	}
	event["user"] = r.user()
	metrics := map[string]any{}
	if ms, ok := r.timeAttrMillis(attrLastLogin); ok {
		metrics["last_authentication_time"] = ms
	}
	event["identity_activity_metrics"] = metrics
	return event
}

// user is the OCSF user of the record's user.* and member attributes.
func (r *ocsfRecord) user() map[string]any { return r.userWith(nil) }

// userWith is user with the values of override (a changed event's previous
// values, keyed by field) in place of the current ones.
func (r *ocsfRecord) userWith(override map[string]any) map[string]any {
	user := map[string]any{}
	put := func(field, attr, key string) {
		r.mapped[attr] = true
		if v, ok := override[field]; ok {
			if s, _ := v.(string); s != "" {
				user[key] = s
			}
			return
		}
		if s := r.str(attr); s != "" {
			user[key] = s
		}
	}
	put("", string(semconv.UserIDKey), "uid")
	put(fieldEmail, string(semconv.UserEmailKey), "email_addr")
	// Cloudflare users sign in with their email address: it is the name they log in with.
	put(fieldEmail, string(semconv.UserEmailKey), "name")
	put(fieldFullName, string(semconv.UserFullNameKey), "full_name")
	put(fieldName, string(semconv.UserNameKey), "full_name") // an Access user's name is the full name
	put("", attrMemberID, "uid_alt")

	r.mapped[string(semconv.UserRolesKey)] = true
	roles := r.strings(string(semconv.UserRolesKey))
	if v, ok := override[fieldRoles]; ok {
		roles = toStrings(v)
	}
	if r.has(string(semconv.UserRolesKey)) || override[fieldRoles] != nil {
		groups := make([]any, 0, len(roles))
		for _, role := range roles {
			groups = append(groups, map[string]any{"name": role, "type": ocsfRoleGroupType})
		}
		user["groups"] = groups
	}
	if r.has(attrTwoFactor) {
		r.mapped[attrTwoFactor] = true
		user["has_mfa"] = r.boolean(attrTwoFactor)
		if v, ok := override[fieldTwoFactor].(bool); ok {
			user["has_mfa"] = v
		}
	}
	for _, attr := range []string{attrLastLogin, attrAccessLastLogin} {
		if ms, ok := r.timeAttrMillis(attr); ok {
			user["ldap_person"] = map[string]any{"last_login_time": ms}
			r.mapped[attr] = true
		}
	}
	return user
}

// cloud is the cloud profile's object: Cloudflare and the account.
func (r *ocsfRecord) cloud() map[string]any {
	account := map[string]any{"type_id": int64(ocsfAccountTypeOther), "type": ocsfAccountType}
	if id, ok := r.resource.Get(string(semconv.CloudAccountIDKey)); ok && id.Str() != "" {
		account["uid"] = id.Str()
	}
	if name, ok := r.resource.Get(attrAccountName); ok && name.Str() != "" {
		account["name"] = name.Str()
	}
	return map[string]any{"provider": ocsfVendor, "account": account}
}

// product is the Cloudflare product the record comes from.
func (r *ocsfRecord) product() string {
	switch r.lr.EventName() {
	case eventAccessLogin, eventAccessUser, eventAccessUserAdded, eventAccessUserRemoved, eventAccessUserChanged, eventAccessSeats:
		return ocsfProductAccess
	}
	return ocsfProductDashboard
}

// timeMillis is the record's Timestamp in milliseconds, or, when it has
// none (Cloudflare sent no readable time), the poll's.
func (r *ocsfRecord) timeMillis() int64 {
	ts := r.lr.Timestamp()
	if ts == 0 {
		ts = r.lr.ObservedTimestamp()
	}
	return int64(ts) / 1e6
}

func (r *ocsfRecord) has(key string) bool {
	_, ok := r.attrs.Get(key)
	return ok
}

func (r *ocsfRecord) str(key string) string {
	if v, ok := r.attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func (r *ocsfRecord) boolean(key string) bool {
	v, ok := r.attrs.Get(key)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func (r *ocsfRecord) strings(key string) []string {
	v, ok := r.attrs.Get(key)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		return nil
	}
	return toStrings(v.Slice().AsRaw())
}

func (r *ocsfRecord) mapAttr(key string) map[string]any {
	if v, ok := r.attrs.Get(key); ok && v.Type() == pcommon.ValueTypeMap {
		return v.Map().AsRaw()
	}
	return nil
}

// timeAttrMillis reads an RFC 3339 time attribute as milliseconds.
func (r *ocsfRecord) timeAttrMillis(key string) (int64, bool) {
	v, ok := r.attrs.Get(key)
	if !ok {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, v.Str())
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// bodyPath is the value at path in a map Body, or nil.
func bodyPath(body map[string]any, path ...string) any {
	var v any = body
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

func toStrings(v any) []string {
	values, _ := v.([]any)
	out := make([]string, 0, len(values))
	for _, value := range values {
		if s, ok := value.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// difference is what a holds and b does not, in a's order.
func difference(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// rolePolicies are Cloudflare roles as OCSF policies.
func rolePolicies(roles []string) []any {
	policies := make([]any, 0, len(roles))
	for _, role := range roles {
		policies = append(policies, map[string]any{"name": role, "type": ocsfRoleGroupType})
	}
	return policies
}
