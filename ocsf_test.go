package cloudflareidentityreceiver

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// mappingGoldenFiles are the golden files of the records the receiver
// builds (testdata/golden/*.yaml): the OCSF mapping's input.
func mappingGoldenFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// readOCSFGolden reads a golden file of records and maps it with format ocsf.
func readOCSFGolden(t *testing.T, file string) plog.Logs {
	t.Helper()
	logs, err := golden.ReadLogs(file)
	require.NoError(t, err)
	formatLogs(formatOCSF, logs)
	return logs
}

// TestOCSFGolden maps every golden file of records and compares the result
// with testdata/golden/ocsf/ (go test -run TestOCSFGolden -update . rewrites
// them): attributes, EventName and times as in the input, Body the OCSF event.
func TestOCSFGolden(t *testing.T) {
	for _, file := range mappingGoldenFiles(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			compareGolden(t, filepath.Join("ocsf", name), readOCSFGolden(t, file))
		})
	}
}

// TestFormatOTelLeavesRecords: format otel (the default) changes nothing.
func TestFormatOTelLeavesRecords(t *testing.T) {
	for _, file := range mappingGoldenFiles(t) {
		logs, err := golden.ReadLogs(file)
		require.NoError(t, err)
		want, err := golden.ReadLogs(file)
		require.NoError(t, err)
		formatLogs(formatOTel, logs)
		require.NoError(t, plogtest.CompareLogs(want, logs), file)
	}
}

// ocsfBodies are the OCSF events of a golden file, each with its EventName.
func ocsfBodies(t *testing.T, file string) (events []map[string]any, names []string) {
	t.Helper()
	logs := readOCSFGolden(t, file)
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				require.Equal(t, pcommon.ValueTypeMap, lr.Body().Type())
				events = append(events, lr.Body().Map().AsRaw())
				names = append(names, lr.EventName())
			}
		}
	}
	return events, names
}

func goldenPath(name string) string { return filepath.Join("testdata", "golden", name) }

// TestOCSFMappingDecisions pins the class, activity and key fields docs/ocsf.md promises.
func TestOCSFMappingDecisions(t *testing.T) {
	tests := []struct {
		golden string
		index  int
		want   map[string]any // dotted path -> value
		absent []string
	}{
		{golden: "login_success.yaml", want: map[string]any{
			"class_uid": int64(3002), "activity_id": int64(1), "type_uid": int64(300201), "status_id": int64(1),
			"severity_id": int64(1), "time": int64(1795786443123), "metadata.uid": "1034b2fe-abcc-523e-ab47-3d3ea14516fa",
			"metadata.version": "1.8.0", "metadata.product.name": "Cloudflare", "metadata.product.vendor_name": "Cloudflare",
			"metadata.original_time": "2026-11-27T13:34:03.123456789Z",
			"user.uid":               "7c5dae5552338874e5053f2534d2767a", "user.email_addr": "ada.lovelace@example.com",
			"user.full_name": "Ada Lovelace", "src_endpoint.ip": "89.160.20.156", "service.name": "Cloudflare dashboard",
			"http_request.user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			"cloud.provider":          "Cloudflare", "cloud.account.uid": "023e105f4ecef8ad9ca31a8372d0c353", "cloud.account.name": "Acme Corp",
		}, absent: []string{"status_detail", "is_new_logon"}},
		{golden: "login_failure.yaml", want: map[string]any{
			"class_uid": int64(3002), "activity_id": int64(1), "status_id": int64(2), "status_detail": "login_failed",
			"severity_id": int64(2), "user.name": "mallory@example.net", "src_endpoint.ip": "2001:db8::7", "service.name": "Cloudflare API",
		}},
		{golden: "login_v2_success.yaml", want: map[string]any{
			"class_uid": int64(3002), "status_id": int64(1), "status_code": "200", "http_request.uid": "8e9b1c60ef9e1c9a",
			"metadata.original_time": "2026-11-28T08:41:07.250Z", "service.name": "Cloudflare dashboard",
		}},
		{golden: "login_new_address.yaml", index: 0, want: map[string]any{"is_new_logon": true}},
		{golden: "login_new_address.yaml", index: 1, want: map[string]any{"is_new_logon": false}},
		{golden: "login_new_address.yaml", index: 2, absent: []string{"is_new_logon"}},
		{golden: "access_login_allowed.yaml", want: map[string]any{
			"class_uid": int64(3002), "activity_id": int64(1), "status_id": int64(1), "metadata.product.name": "Cloudflare Zero Trust Access",
			"user.name": "ada.lovelace@example.com", "service.name": "wiki.acme.example.com",
			"service.uid": "df7e2b5f-02b7-4d9d-af26-8d1988fca630", "unmapped.cloudflare\\.access\\.identity_provider": "okta",
		}},
		{golden: "access_login_denied.yaml", want: map[string]any{
			"class_uid": int64(3002), "status_id": int64(2), "status_detail": "access_denied", "severity_id": int64(2),
		}},
		{golden: "member_inventory.yaml", want: map[string]any{
			"class_uid": int64(5003), "activity_id": int64(2), "type_uid": int64(500302), "user.has_mfa": true,
			"user.uid_alt": "4536bcfad5faccb111b47003c79917fa", "user.groups.0.name": "Administrator",
		}},
		{golden: "access_user_inventory.yaml", want: map[string]any{"class_uid": int64(5003), "user.full_name": "Ada Lovelace"}},
		{golden: "member_added.yaml", want: map[string]any{"class_uid": int64(3001), "activity_id": int64(1), "type_uid": int64(300101)}},
		{golden: "member_removed.yaml", want: map[string]any{"class_uid": int64(3001), "activity_id": int64(6)}},
		{golden: "access_user_added.yaml", want: map[string]any{"class_uid": int64(3001), "activity_id": int64(1)}},
		{golden: "access_user_removed.yaml", want: map[string]any{"class_uid": int64(3001), "activity_id": int64(6)}},
		{golden: "member_usage.yaml", index: 2, want: map[string]any{
			"class_uid": int64(2008), "activity_id": int64(1), "status_id": int64(1), "severity_id": int64(2),
			"finding_info.uid": "cloudflare.account.member.dormant/023e105f4ecef8ad9ca31a8372d0c353/4536bcfad5faccb111b47003c79917fa",
			"identity_activity_metrics.last_authentication_time": int64(1787216400000),
		}},
		{golden: "member_usage.yaml", index: 3, want: map[string]any{"class_uid": int64(2008), "activity_id": int64(3), "status_id": int64(4)}},
		{golden: "access_seats.yaml", want: map[string]any{"class_uid": int64(0), "activity_id": int64(99), "type_uid": int64(99)}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			events, _ := ocsfBodies(t, goldenPath(tt.golden))
			require.Greater(t, len(events), tt.index)
			event := events[tt.index]
			for path, want := range tt.want {
				got, ok := lookup(event, path)
				if assert.True(t, ok, "%s absent", path) {
					assert.Equal(t, want, got, path)
				}
			}
			for _, path := range tt.absent {
				_, ok := lookup(event, path)
				assert.False(t, ok, "%s present", path)
			}
			// raw_data is the Cloudflare record, whole.
			if raw, ok := event["raw_data"].(string); ok {
				assert.True(t, json.Valid([]byte(raw)))
			}
		})
	}
}

// lookup reads a dotted path ("a.b.0.c"; "\." is a dot in a key) of an event.
func lookup(event map[string]any, path string) (any, bool) {
	var v any = event
	for _, key := range splitPath(path) {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return nil, false
			}
		case []any:
			i := 0
			for _, c := range key {
				i = i*10 + int(c-'0')
			}
			if i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func splitPath(path string) []string {
	parts := strings.Split(strings.ReplaceAll(path, `\.`, "\x00"), ".")
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], "\x00", ".")
	}
	return parts
}

// ocsfTestRecord builds one record of testAccount for the mapping.
func ocsfTestRecord(eventName string, attrs map[string]any, body map[string]any) (pcommon.Map, plog.LogRecord) {
	logs, records := newAccountLogs(testAccount, "1.2.3")
	lr := appendPolledRecord(records, eventName, testPollTime)
	_ = lr.Attributes().FromRaw(attrs)
	if body != nil {
		_ = lr.Body().SetEmptyMap().FromRaw(body)
	}
	return logs.ResourceLogs().At(0).Resource().Attributes(), lr
}

// TestOCSFAccountChangeActivities: a changed member or Access user gets the
// activity of the change that matters most to access.
func TestOCSFAccountChangeActivities(t *testing.T) {
	member := func(changed []any, previous map[string]any, current map[string]any) map[string]any {
		attrs := map[string]any{
			"user.id": "u1", "user.email": "a@example.com", "user.roles": []any{"Administrator"},
			attrMemberID: "m1", attrMemberStatus: "accepted", attrTwoFactor: true,
			attrMemberChanged: changed, attrMemberPrevious: previous,
		}
		for k, v := range current {
			attrs[k] = v
		}
		return attrs
	}
	tests := []struct {
		name      string
		eventName string
		attrs     map[string]any
		activity  int64
		policies  []any
	}{
		{"role added", eventMemberChanged, member([]any{"roles"}, map[string]any{"roles": []any{}}, nil), 7,
			[]any{map[string]any{"name": "Administrator", "type": ocsfRoleGroupType}}},
		{"role removed", eventMemberChanged, member([]any{"roles"}, map[string]any{"roles": []any{"Administrator", "Billing"}}, nil), 8,
			[]any{map[string]any{"name": "Billing", "type": ocsfRoleGroupType}}},
		{"2FA on", eventMemberChanged, member([]any{"two_factor_authentication_enabled"}, map[string]any{"two_factor_authentication_enabled": false}, nil), 10, nil},
		{"2FA off", eventMemberChanged, member([]any{"two_factor_authentication_enabled"}, map[string]any{"two_factor_authentication_enabled": true},
			map[string]any{attrTwoFactor: false}), 11, nil},
		{"invitation accepted", eventMemberChanged, member([]any{"status"}, map[string]any{"status": "pending"}, nil), 2, nil},
		{"roles before 2FA", eventMemberChanged, member([]any{"roles", "two_factor_authentication_enabled"},
			map[string]any{"roles": []any{}, "two_factor_authentication_enabled": false}, nil), 7,
			[]any{map[string]any{"name": "Administrator", "type": ocsfRoleGroupType}}},
		{"name only", eventMemberChanged, member([]any{"full_name"}, map[string]any{"full_name": "Ada King"}, nil), 99, nil},
		{"Access seat lost", eventAccessUserChanged, map[string]any{"user.id": "a1", "user.email": "a@example.com",
			attrAccessSeat: false, attrGatewaySeat: false, attrAccessUserChanged: []any{"access_seat"},
			attrAccessUserPrevious: map[string]any{"access_seat": true}}, 5, nil},
		{"Access seat given", eventAccessUserChanged, map[string]any{"user.id": "a1", "user.email": "a@example.com",
			attrAccessSeat: true, attrGatewaySeat: false, attrAccessUserChanged: []any{"access_seat"},
			attrAccessUserPrevious: map[string]any{"access_seat": false}}, 2, nil},
		{"Access devices", eventAccessUserChanged, map[string]any{"user.id": "a1", "user.email": "a@example.com",
			attrAccessDevices: int64(3), attrAccessUserChanged: []any{"active_device_count"},
			attrAccessUserPrevious: map[string]any{"active_device_count": int64(2)}}, 99, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event := ocsfEvent(ocsfTestRecord(tt.eventName, tt.attrs, nil))
			assert.Equal(t, int64(3001), event["class_uid"])
			assert.Equal(t, tt.activity, event["activity_id"])
			assert.Equal(t, 3001*100+tt.activity, event["type_uid"])
			if tt.policies == nil {
				assert.NotContains(t, event, "policies")
			} else {
				assert.Equal(t, tt.policies, event["policies"])
			}
			assert.NotNil(t, event["user_result"])
		})
	}
	// user is the account before the change, user_result after it.
	event := ocsfEvent(ocsfTestRecord(eventMemberChanged, member([]any{"two_factor_authentication_enabled", "email"},
		map[string]any{"two_factor_authentication_enabled": false, "email": "old@example.com"}, nil), nil))
	assert.Equal(t, false, event["user"].(map[string]any)["has_mfa"])
	assert.Equal(t, "old@example.com", event["user"].(map[string]any)["email_addr"])
	assert.Equal(t, true, event["user_result"].(map[string]any)["has_mfa"])
	assert.Equal(t, "a@example.com", event["user_result"].(map[string]any)["email_addr"])
}

// TestOCSFAccessLoginDetails: the country Cloudflare sends with some Access
// entries, and a logout.
func TestOCSFAccessLoginDetails(t *testing.T) {
	attrs := map[string]any{"log.record.uid": "k1", "user.email": "a@example.com", "client.address": "198.41.129.166",
		attrAccessAppDomain: "wiki.example.com", attrAccessAction: "logout", attrAccessAllowed: true}
	event := ocsfEvent(ocsfTestRecord(eventAccessLogin, attrs, map[string]any{"country": "PT", "action": "logout"}))
	country, ok := lookup(event, "src_endpoint.location.country")
	require.True(t, ok)
	assert.Equal(t, "PT", country)
	assert.Equal(t, int64(2), event["activity_id"])
	assert.Equal(t, "Authentication: Logoff", event["type_name"])
}

func TestFormatConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIToken = "t"
	assert.Equal(t, formatOTel, cfg.Format)
	require.NoError(t, cfg.Validate())
	cfg.Format = formatOCSF
	require.NoError(t, cfg.Validate())
	for _, bad := range []string{"", "OCSF", "json"} {
		cfg.Format = bad
		err := cfg.Validate()
		require.ErrorIs(t, err, errFormat)
		assert.Contains(t, err.Error(), "format: must be otel")
	}
}

// TestConsumeAppliesFormat: the records the pipeline takes carry OCSF Bodies
// with format ocsf, and attributes and EventName as with otel.
func TestConsumeAppliesFormat(t *testing.T) {
	for _, format := range []string{formatOTel, formatOCSF} {
		t.Run(format, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Format = format
			sink := new(consumertest.LogsSink)
			r, err := newIdentityReceiver(receivertest.NewNopSettings(metadata.Type), cfg, sink)
			require.NoError(t, err)
			logs, err := golden.ReadLogs(goldenPath("login_success.yaml"))
			require.NoError(t, err)
			require.NoError(t, r.downstream.consume(context.Background(), logs, streamLogins, testAccount))
			require.Len(t, sink.AllLogs(), 1)
			lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, eventLogin, lr.EventName())
			uid, _ := lr.Attributes().Get("log.record.uid")
			assert.Equal(t, "1034b2fe-abcc-523e-ab47-3d3ea14516fa", uid.Str())
			_, isOCSF := lr.Body().Map().Get("class_uid")
			assert.Equal(t, format == formatOCSF, isOCSF)
		})
	}
}
