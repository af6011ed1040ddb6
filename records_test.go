package cloudflareidentityreceiver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

var testAccount = cloudflare.Account{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "Acme Corp"}

func readAuditEntry(t testing.TB, name string) cloudflare.AuditEntry {
	t.Helper()
	entry, err := cloudflare.DecodeAuditEntry(readFixture(t, name))
	require.NoError(t, err)
	return entry
}

func readMember(t testing.TB, name string) cloudflare.Member {
	t.Helper()
	var decoded shared.Member
	require.NoError(t, json.Unmarshal(readFixture(t, name), &decoded))
	return cloudflare.NewMember(&decoded)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "api", name))
	require.NoError(t, err)
	return data
}

func TestMappingGolden(t *testing.T) {
	member := readMember(t, "member.json")
	changed := readMember(t, "member_changed.json")
	pending := readMember(t, "member_pending.json")

	checkMappingGolden(t, []mappingCase{
		{golden: "login_success.yaml", build: func(records plog.LogRecordSlice) {
			entry := readAuditEntry(t, "login_success.json")
			appendLoginRecord(records, &entry, &member, testPollTime)
		}},
		{golden: "login_failure.yaml", build: func(records plog.LogRecordSlice) {
			entry := readAuditEntry(t, "login_failure.json")
			appendLoginRecord(records, &entry, nil, testPollTime)
		}},
		{golden: "login_v2_success.yaml", build: func(records plog.LogRecordSlice) {
			entry, err := cloudflare.DecodeV2Entry(readFixture(t, "login_v2_success.json"))
			require.NoError(t, err)
			appendLoginRecord(records, &entry, &member, testPollTime)
		}},
		{golden: "login_new_address.yaml", build: func(records plog.LogRecordSlice) {
			entry := readAuditEntry(t, "login_success.json")
			appendLoginRecord(records, &entry, &member, testPollTime)
			putNewAddress(records.At(0).Attributes(), addressNew)
			appendLoginRecord(records, &entry, &member, testPollTime)
			putNewAddress(records.At(1).Attributes(), addressKnown)
			appendLoginRecord(records, &entry, &member, testPollTime)
			putNewAddress(records.At(2).Attributes(), addressUnjudged)
		}},
		{golden: "member_usage.yaml", build: func(records plog.LogRecordSlice) {
			appendMemberRecord(records, eventMember, &member, nil, nil, testPollTime)
			appendMemberRecord(records, eventMember, &pending, nil, nil, testPollTime)
			appendDormancyRecords(records, []dormancyChange{
				{member: &member, eventName: eventMemberDormant},
				{member: &member, eventName: eventMemberReactivated},
			}, testPollTime)
			putMemberUsage(records, map[string]time.Time{member.ID: testPollTime.Add(-100 * 24 * time.Hour)}, testPollTime.Add(-400*24*time.Hour))
		}},
		{golden: "member_inventory.yaml", build: func(records plog.LogRecordSlice) {
			appendMemberRecord(records, eventMember, &member, nil, nil, testPollTime)
			appendMemberRecord(records, eventMember, &pending, nil, nil, testPollTime)
		}},
		{golden: "member_added.yaml", build: func(records plog.LogRecordSlice) {
			appendMemberChangesForTest(records, []cloudflare.Member{member}, []cloudflare.Member{member, pending}, testPollTime)
		}},
		{golden: "member_removed.yaml", build: func(records plog.LogRecordSlice) {
			appendMemberChangesForTest(records, []cloudflare.Member{member, pending}, []cloudflare.Member{pending}, testPollTime)
		}},
		{golden: "member_changed.yaml", build: func(records plog.LogRecordSlice) {
			appendMemberChangesForTest(records, []cloudflare.Member{member, pending}, []cloudflare.Member{changed, pending}, testPollTime)
		}},
	})
}

// mappingCase is one golden file of the mapping: the records build appends
// to a batch of testAccount.
type mappingCase struct {
	golden string
	build  func(records plog.LogRecordSlice)
}

func checkMappingGolden(t *testing.T, cases []mappingCase) {
	for _, tt := range cases {
		t.Run(tt.golden, func(t *testing.T) {
			logs, records := newAccountLogs(testAccount, "1.2.3")
			tt.build(records)
			compareGolden(t, tt.golden, logs)
		})
	}
}

func TestChangedFields(t *testing.T) {
	base := cloudflare.Member{ID: "m", Status: "accepted", Roles: []string{"A", "B"}, FirstName: "Ada", LastName: "King", UserEmail: "a@example.com"}
	tests := []struct {
		name   string
		modify func(*cloudflare.Member)
		want   []string
	}{
		{name: "nothing", modify: func(*cloudflare.Member) {}},
		{name: "roles reordered is no change", modify: func(m *cloudflare.Member) { m.Roles = []string{"B", "A"} }},
		{name: "policies only is no change", modify: func(m *cloudflare.Member) { m.Raw = json.RawMessage(`{"policies":[1]}`) }},
		{name: "status", modify: func(m *cloudflare.Member) { m.Status = "pending" }, want: []string{fieldStatus}},
		{name: "role added", modify: func(m *cloudflare.Member) { m.Roles = []string{"A", "B", "C"} }, want: []string{fieldRoles}},
		{name: "2FA", modify: func(m *cloudflare.Member) { m.TwoFactor = true }, want: []string{fieldTwoFactor}},
		{name: "name", modify: func(m *cloudflare.Member) { m.LastName = "Lovelace" }, want: []string{fieldFullName}},
		{name: "email", modify: func(m *cloudflare.Member) { m.UserEmail = "b@example.com" }, want: []string{fieldEmail}},
		{name: "several", modify: func(m *cloudflare.Member) { m.Status, m.TwoFactor = "pending", true }, want: []string{fieldStatus, fieldTwoFactor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := base
			current.Roles = append([]string(nil), base.Roles...)
			tt.modify(&current)
			assert.Equal(t, tt.want, changedFields(&base, &current))
		})
	}
}
