package cloudflareidentityreceiver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

func readAccessRequest(t testing.TB, name string) cloudflare.AccessRequest {
	t.Helper()
	var decoded zero_trust.AccessRequest
	require.NoError(t, json.Unmarshal(readFixture(t, name), &decoded))
	return cloudflare.NewAccessRequest(&decoded)
}

func readAccessUser(t testing.TB, name string) cloudflare.AccessUser {
	t.Helper()
	var decoded zero_trust.AccessUserListResponse
	require.NoError(t, json.Unmarshal(readFixture(t, name), &decoded))
	return cloudflare.NewAccessUser(&decoded)
}

// TestAccessMappingGolden pins every record kind of the Access streams,
// mapped from fixtures in the wire format decoded by cloudflare-go.
// Mutations caught: severity WARN for allowed entries (access_login_*),
// cloudflare.access.allowed left out (access_login_*), accessUserChangedFields
// without its gateway_seat comparison (access_user_changed), the 30-day
// threshold used for the 90-day count (access_seats).
func TestAccessMappingGolden(t *testing.T) {
	user := readAccessUser(t, "access_user.json")
	changed := readAccessUser(t, "access_user_changed.json")
	idle := readAccessUser(t, "access_user_idle.json")
	never := readAccessUser(t, "access_user_never.json")

	checkMappingGolden(t, []mappingCase{
		{golden: "access_login_allowed.yaml", build: func(records plog.LogRecordSlice) {
			entry := readAccessRequest(t, "access_login_allowed.json")
			appendAccessLoginRecord(records, &entry, testPollTime)
		}},
		{golden: "access_login_denied.yaml", build: func(records plog.LogRecordSlice) {
			entry := readAccessRequest(t, "access_login_denied.json")
			appendAccessLoginRecord(records, &entry, testPollTime)
		}},
		{golden: "access_user_inventory.yaml", build: func(records plog.LogRecordSlice) {
			appendAccessUserRecord(records, eventAccessUser, &user, nil, nil, testPollTime)
			appendAccessUserRecord(records, eventAccessUser, &never, nil, nil, testPollTime)
		}},
		{golden: "access_user_added.yaml", build: func(records plog.LogRecordSlice) {
			appendChanges(records, accessUserKind, []cloudflare.AccessUser{user}, []cloudflare.AccessUser{user, idle}, removedItems(accessUserKind, []cloudflare.AccessUser{user}, []cloudflare.AccessUser{user, idle}), testPollTime)
		}},
		{golden: "access_user_removed.yaml", build: func(records plog.LogRecordSlice) {
			appendChanges(records, accessUserKind, []cloudflare.AccessUser{user, idle}, []cloudflare.AccessUser{idle}, removedItems(accessUserKind, []cloudflare.AccessUser{user, idle}, []cloudflare.AccessUser{idle}), testPollTime)
		}},
		{golden: "access_user_changed.yaml", build: func(records plog.LogRecordSlice) {
			appendChanges(records, accessUserKind, []cloudflare.AccessUser{user, idle}, []cloudflare.AccessUser{changed, idle}, removedItems(accessUserKind, []cloudflare.AccessUser{user, idle}, []cloudflare.AccessUser{changed, idle}), testPollTime)
		}},
		{golden: "access_seats.yaml", build: func(records plog.LogRecordSlice) {
			appendSeatSummaryRecord(records, []cloudflare.AccessUser{user, idle, never}, testPollTime)
		}},
	})
}

// TestAccessRequestKeyTellsRetriesApart: a ray id repeats across retries, so
// the key takes every identifying field; the same entry always hashes alike.
// Mutation caught: AccessRequestKey hashing ray_id alone.
func TestAccessRequestKeyTellsRetriesApart(t *testing.T) {
	base := []string{"187d944c61940c77", "2026-11-28T08:31:07Z", "ada@example.com", "app-1", "login"}
	key := cloudflare.AccessRequestKey(base[0], base[1], base[2], base[3], base[4])
	assert.Equal(t, key, cloudflare.AccessRequestKey(base[0], base[1], base[2], base[3], base[4]), "stable")
	for i := 1; i < len(base); i++ {
		other := append([]string(nil), base...)
		other[i] += "x"
		assert.NotEqual(t, key, cloudflare.AccessRequestKey(other[0], other[1], other[2], other[3], other[4]), "field %d", i)
	}
}

// TestSeatSummaryCountsOnTheInjectedClock: a seat is unused from exactly 30
// (90) days after its last login on the receiver's clock, and a user without
// a seat never counts. Mutations caught: `>` for `>=` in summarizeSeats (the
// boundary rows); the seat check dropped (the seatless row).
func TestSeatSummaryCountsOnTheInjectedClock(t *testing.T) {
	const day = 24 * time.Hour
	now := testPollTime
	tests := []struct {
		name             string
		user             cloudflare.AccessUser
		want30d, want90d int
	}{
		{name: "signed in yesterday", user: cloudflare.AccessUser{AccessSeat: true, LastSuccessfulLogin: now.Add(-day)}},
		{name: "just under 30 days", user: cloudflare.AccessUser{AccessSeat: true, LastSuccessfulLogin: now.Add(-30*day + time.Second)}},
		{name: "exactly 30 days", user: cloudflare.AccessUser{GatewaySeat: true, LastSuccessfulLogin: now.Add(-30 * day)}, want30d: 1},
		{name: "exactly 90 days", user: cloudflare.AccessUser{AccessSeat: true, LastSuccessfulLogin: now.Add(-90 * day)}, want30d: 1, want90d: 1},
		{name: "never signed in", user: cloudflare.AccessUser{AccessSeat: true}, want30d: 1, want90d: 1},
		{name: "no seat", user: cloudflare.AccessUser{LastSuccessfulLogin: now.Add(-400 * day)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarizeSeats([]cloudflare.AccessUser{tt.user}, now)
			assert.Equal(t, tt.want30d, s.unused30d, "30 days")
			assert.Equal(t, tt.want90d, s.unused90d, "90 days")
		})
	}
}

func TestAccessUserChangedFields(t *testing.T) {
	base := readAccessUser(t, "access_user.json")
	tests := []struct {
		name   string
		change func(u *cloudflare.AccessUser)
		want   []string
	}{
		{name: "nothing", change: func(*cloudflare.AccessUser) {}},
		{name: "last login only", change: func(u *cloudflare.AccessUser) { u.LastSuccessfulLogin = u.LastSuccessfulLogin.Add(time.Hour) }},
		{name: "access seat", change: func(u *cloudflare.AccessUser) { u.AccessSeat = false }, want: []string{fieldAccessSeat}},
		{name: "gateway seat", change: func(u *cloudflare.AccessUser) { u.GatewaySeat = false }, want: []string{fieldGatewaySeat}},
		{name: "devices", change: func(u *cloudflare.AccessUser) { u.ActiveDeviceCount = 5 }, want: []string{fieldDevices}},
		{name: "name and email", change: func(u *cloudflare.AccessUser) { u.Name, u.Email = "A", "a@example.com" }, want: []string{fieldName, fieldEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := base
			tt.change(&current)
			assert.Equal(t, tt.want, accessUserChangedFields(&base, &current))
		})
	}
}
