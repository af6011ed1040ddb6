//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/ocsfschema"
)

// The event names of format: ocsf's conformance run, beyond collector_test.go's.
const (
	eventMemberAdded       = "cloudflare.account.member.added"
	eventMemberRemoved     = "cloudflare.account.member.removed"
	eventMemberChanged     = "cloudflare.account.member.changed"
	eventMemberDormant     = "cloudflare.account.member.dormant"
	eventMemberReactivated = "cloudflare.account.member.reactivated"
	eventAccessUserAdded   = "cloudflare.access.user.added"
	eventAccessUserRemoved = "cloudflare.access.user.removed"
	eventAccessUserChanged = "cloudflare.access.user.changed"
	eventAccessSeats       = "cloudflare.access.seats"
)

// ocsfSchemaDir holds the official OCSF 1.8.0 JSON Schemas (scripts/ocsf-jsonschema.sh).
var ocsfSchemaDir = filepath.Join(repoRoot, "testdata", "ocsf", "schema-1.8.0")

// ocsfArgs run the harness config with format: ocsf, dormancy after an hour
// and new-address verdicts over an hour, so that one test sees every kind of
// record.
var ocsfArgs = []string{
	"--set=receivers::cloudflare_identity::format=ocsf",
	"--set=receivers::cloudflare_identity::users::dormant_after=1h",
	"--set=receivers::cloudflare_identity::logins::new_address_memory=1h",
}

// TestOCSFConformance runs the built collector with format: ocsf on the
// simulator, over three runs on one storage (first inventories, then every
// kind of change, then a dormant member's login), with each login source,
// and validates every record's Body against the official OCSF 1.8.0 schema of
// its class; every event kind must have arrived.
func TestOCSFConformance(t *testing.T) {
	for _, source := range []string{"audit_logs", "audit_logs_v2"} {
		t.Run(source, func(t *testing.T) { testOCSFConformance(t, source) })
	}
}

func testOCSFConformance(t *testing.T, source string) {
	validator, err := ocsfschema.Load(ocsfSchemaDir)
	if err != nil {
		t.Fatal(err)
	}
	sim := simtest.Start(t, cloudflaresim.Config{
		Seed: 23, Accounts: 1, MembersPerAccount: 4, LoginsPerAccount: 20, LoginSpan: 23 * time.Hour,
		FailureRatio: 0.3, AccessUsersPerAccount: 3, AccessRequestsPerAccount: 12,
	})
	account := sim.Accounts()[0].ID
	snk := startSink(t)
	params := newCollectorParams(t, sim, snk)
	params.Source, params.AccessLogins, params.AccessUsers = source, true, true
	args := append([]string{"--config", writeConfig(t, params)}, ocsfArgs...)
	counts := func() map[string]int {
		n := map[string]int{}
		for _, r := range snk.snapshot() {
			n[r.EventName]++
		}
		return n
	}
	// run runs the collector until the records of want (counts by EventName)
	// arrived during the run.
	run := func(name string, want map[string]int) {
		t.Helper()
		before := counts()
		col := startCollectorIn(t, name, "", nil, args...)
		waitFor(t, col, 150*time.Second, func() string { return fmt.Sprintf("%v new, have %v, had %v", want, counts(), before) }, func() bool {
			have := counts()
			for event, n := range want {
				if have[event]-before[event] < n {
					return false
				}
			}
			return true
		})
		if err := col.stop(15 * time.Second); err != nil {
			t.Errorf("%s: graceful shutdown: %v", name, err)
		}
	}

	// Run 1: the inventories, every login of both kinds, the seat summary.
	logins, accessLogins := len(wantedLogins(sim, source)), len(sim.AccessRequests(account))
	run("first", map[string]int{eventMember: 4, eventAccessUser: 3, eventAccessSeats: 1,
		eventLogin: logins, eventAccessLogin: accessLogins})

	// Run 2: every kind of change, a login from an address the user never used.
	members, accessUsers := sim.Members(account), sim.AccessUsers(account)
	sim.AddMember(account, sim.NewMember())
	sim.RemoveMember(account, members[0].ID)
	sim.UpdateMember(account, members[1].ID, func(m *cloudflaresim.Member) { m.TwoFactor = !m.TwoFactor })
	sim.UpdateMember(account, members[2].ID, func(m *cloudflaresim.Member) { m.Roles = m.Roles[:0] })
	sim.AddAccessUser(account, sim.NewAccessUser())
	sim.RemoveAccessUser(account, accessUsers[0].ID)
	sim.UpdateAccessUser(account, accessUsers[1].ID, func(u *cloudflaresim.AccessUser) { u.AccessSeat = !u.AccessSeat })
	sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b", When: time.Now().UTC(),
		Success: true, ActorID: members[3].UserID, ActorEmail: members[3].Email, ActorIP: "203.0.113.77", ActorType: "user",
		Interface: "UI", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"})
	run("changes", map[string]int{eventMemberAdded: 1, eventMemberRemoved: 1, eventMemberChanged: 2,
		eventAccessUserAdded: 1, eventAccessUserRemoved: 1, eventAccessUserChanged: 1, eventMemberDormant: 1,
		eventLogin: 1})

	// Run 3: a member dormant now signs in again.
	dormant := map[string]bool{}
	for _, r := range snk.snapshot() {
		switch r.EventName {
		case eventMemberDormant:
			dormant[r.str("cloudflare.member.id")] = true
		case eventMemberReactivated:
			delete(dormant, r.str("cloudflare.member.id"))
		}
	}
	if len(dormant) == 0 {
		t.Fatal("no member is dormant after the second run")
	}
	for _, m := range sim.Members(account) {
		if dormant[m.ID] {
			sim.AppendLogin(account, cloudflaresim.LoginEvent{ID: "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e", When: time.Now().UTC(),
				Success: true, ActorID: m.UserID, ActorEmail: m.Email, ActorIP: "198.51.100.23", ActorType: "user", Interface: "UI"})
			break
		}
	}
	run("reactivation", map[string]int{eventMemberReactivated: 1})

	// Every record's Body against the schema of its class.
	byClass, byEvent := map[string]int{}, map[string]int{}
	newLogons := 0
	for _, r := range snk.snapshot() {
		byEvent[r.EventName]++
		class, err := validator.Validate(r.Body)
		if err != nil {
			t.Errorf("%s (log.record.uid %q): not OCSF 1.8.0: %v", r.EventName, r.str("log.record.uid"), err)
			continue
		}
		byClass[class]++
		classUID, activityID, typeUID := number(r.Body["class_uid"]), number(r.Body["activity_id"]), number(r.Body["type_uid"])
		if typeUID != classUID*100+activityID || activityID == 0 {
			t.Errorf("%s: type_uid %v, want class_uid * 100 + activity_id (%v * 100 + %v)", r.EventName, typeUID, classUID, activityID)
		}
		if uid := r.str("log.record.uid"); uid != "" {
			metadata, _ := r.Body["metadata"].(map[string]any)
			if metadata["uid"] != uid {
				t.Errorf("%s: metadata.uid = %v, want the log.record.uid %q", r.EventName, metadata["uid"], uid)
			}
		}
		if r.Body["is_new_logon"] == true {
			newLogons++
		}
	}
	var names []string
	for name := range byEvent {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, want := range []string{eventLogin, eventAccessLogin, eventMember, eventMemberAdded, eventMemberRemoved,
		eventMemberChanged, eventMemberDormant, eventMemberReactivated, eventAccessUser, eventAccessUserAdded,
		eventAccessUserRemoved, eventAccessUserChanged, eventAccessSeats} {
		if byEvent[want] == 0 {
			t.Errorf("no %s record arrived (have %s)", want, strings.Join(names, ", "))
		}
	}
	if newLogons == 0 {
		t.Errorf("no login with is_new_logon true (logins.new_address_memory is 1h)")
	}
	t.Logf("validated against OCSF 1.8.0: %v records by class; by event: %v; logins from a new address: %d",
		byClass, byEvent, newLogons)
}

// number is an integer of a Body, as OTLP carries it (int64) or JSON (float64); else -1.
func number(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}
