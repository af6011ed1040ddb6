//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// TestReadmeRedactionRemovesPII runs the demo's data (the simulator with the
// defaults of cmd/cloudflare-sim: 2 accounts of 25 members, 200 logins each,
// a quarter of the addresses IPv6) through the built collector with the
// redaction processor block, exactly as docs/pii.md has it, in the logs
// pipeline. After the inventory and the logins it changes a member's name and
// email, adds one member and removes another, and waits for the users poll
// that reports them. No email, name or address (IPv4 or IPv6) may be left in
// what the collector exports.
func TestReadmeRedactionRemovesPII(t *testing.T) {
	t.Parallel()
	redaction := readmeRedaction(t)

	sim := simtest.Start(t, cloudflaresim.Config{
		Seed: 1, Accounts: 2, MembersPerAccount: 25, LoginsPerAccount: 200,
		AccessUsersPerAccount: 10, AccessRequestsPerAccount: 100,
		LoginSpan: 23 * time.Hour, // inside the 24h initial_lookback
	})
	pii := newPIISet()
	loginIP := map[string]string{}  // audit id -> actor address
	accessIP := map[string]string{} // Access login uid -> client address
	for _, a := range sim.Accounts() {
		for _, m := range sim.Members(a.ID) {
			pii.addMember(m)
		}
		for _, e := range sim.Logins(a.ID) {
			pii.add(e.ActorEmail, e.ActorIP)
			loginIP[e.ID] = e.ActorIP
		}
		for _, u := range sim.AccessUsers(a.ID) {
			pii.addAccessUser(u)
		}
		for _, r := range sim.AccessRequests(a.ID) {
			pii.add(r.UserEmail, r.IPAddress)
			accessIP[accessKey(r)] = r.IPAddress
		}
	}

	snk := startSink(t)
	params := newCollectorParams(t, sim, snk)
	params.AccessLogins, params.AccessUsers = true, true
	col := startCollectorIn(t, "collector", "", []string{redactionKeyEnv}, "--config", redactionConfig(t, params, redaction))

	want := wantedLogins(sim, "audit_logs")
	wantAccess := wantedAccessLogins(sim)
	waitFor(t, col, 60*time.Second, func() string {
		_, unique := snk.loginCounts()
		_, uniqueAccess := snk.eventCounts(eventAccessLogin)
		return fmt.Sprintf("%d logins, %d Access logins, 50 member and 20 Access user records (have %d, %d, %d and %d)",
			len(want), len(wantAccess), unique, uniqueAccess, countEvent(snk.snapshot(), eventMember), countEvent(snk.snapshot(), eventAccessUser))
	}, func() bool {
		_, unique := snk.loginCounts()
		_, uniqueAccess := snk.eventCounts(eventAccessLogin)
		return unique >= len(want) && uniqueAccess >= len(wantAccess) &&
			countEvent(snk.snapshot(), eventMember) >= 50 && countEvent(snk.snapshot(), eventAccessUser) >= 20
	})

	// Member changes, seen by the next users poll (users.poll_interval: 1m).
	account := sim.Accounts()[0].ID
	members := sim.Members(account)
	var changed cloudflaresim.Member
	for _, m := range members {
		if m.Status == "accepted" {
			changed = m
			break
		}
	}
	sim.UpdateMember(account, changed.ID, func(m *cloudflaresim.Member) {
		m.FirstName, m.LastName, m.Email = "Brunhilde", "Okonkwo", "brunhilde.okonkwo@example.org"
		pii.addMember(*m)
	})
	added := sim.NewMember()
	pii.addMember(added)
	sim.AddMember(account, added)
	removed := members[len(members)-1]
	sim.RemoveMember(account, removed.ID)
	events := []string{eventMember + ".changed", eventMember + ".added", eventMember + ".removed"}
	waitFor(t, col, 100*time.Second, func() string { return fmt.Sprintf("one record each of %v", events) }, func() bool {
		records := snk.snapshot()
		for _, e := range events {
			if countEvent(records, e) == 0 {
				return false
			}
		}
		return true
	})
	if err := col.stop(15 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}

	records := snk.snapshot()
	var leaks []string
	var v6Logins, fullNames, previous, accessNames, v6AccessLogins int
	for _, r := range records {
		where := fmt.Sprintf("%s %s%s", r.EventName, r.str("log.record.uid"), r.str("cloudflare.member.id"))
		for _, leak := range pii.find(r.Resource, "resource") {
			leaks = append(leaks, where+": "+leak)
		}
		for _, leak := range pii.find(r.Attrs, "attributes") {
			leaks = append(leaks, where+": "+leak)
		}
		for _, leak := range pii.find(r.Body, "body") {
			leaks = append(leaks, where+": "+leak)
		}
		// The data did carry what the processor had to mask.
		if r.EventName == eventLogin && strings.Contains(loginIP[r.str("log.record.uid")], ":") && r.str("client.address") != "" {
			v6Logins++
		}
		if r.str("user.full_name") != "" {
			fullNames++
		}
		if _, ok := r.Attrs["cloudflare.member.previous"]; ok {
			previous++
		}
		if r.str("user.name") != "" {
			accessNames++
		}
		if r.EventName == eventAccessLogin && ipv6Pattern.MatchString(accessIP[r.str("log.record.uid")]) {
			v6AccessLogins++
		}
	}
	t.Logf("%d records exported: %d logins from IPv6 addresses, %d with user.full_name, %d with cloudflare.member.previous, "+
		"%d Access logins from IPv6 addresses, %d with user.name; %d values left in clear",
		len(records), v6Logins, fullNames, previous, v6AccessLogins, accessNames, len(leaks))
	if v6Logins == 0 || fullNames == 0 || previous == 0 || v6AccessLogins == 0 || accessNames == 0 {
		t.Errorf("the data must carry IPv6 client.address, user.full_name, cloudflare.member.previous, Access logins from IPv6 "+
			"and user.name to be masked; got %d, %d, %d, %d and %d records", v6Logins, fullNames, previous, v6AccessLogins, accessNames)
	}
	if len(leaks) > 0 {
		sort.Strings(leaks)
		t.Errorf("%d values left in clear by the redaction block of %s, e.g.:\n%s", len(leaks), redactionDoc, strings.Join(leaks[:min(10, len(leaks))], "\n"))
	}
}

// readmeRedaction returns the redaction processor of the one fragment of the
// .md files that defines it (in docs/pii.md), as that page has it.
func readmeRedaction(t *testing.T) any {
	t.Helper()
	var found []any
	var where []string
	for _, b := range readmeYAMLBlocks(t) {
		if b.kind() != markFragment {
			continue
		}
		var fragment struct {
			Processors map[string]any `yaml:"processors"`
		}
		if err := yaml.Unmarshal([]byte(b.Text), &fragment); err != nil {
			t.Fatalf("%s: %v", b.where(), err)
		}
		if r, ok := fragment.Processors["redaction"]; ok {
			found = append(found, r)
			where = append(where, b.File)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the .md files have %d fragments defining processors.redaction (in %v), want 1, in %s", len(found), where, redactionDoc)
	}
	if where[0] != redactionDoc {
		t.Fatalf("the fragment defining processors.redaction is in %s, want it in %s (config/cloudflare.yaml points there)", where[0], redactionDoc)
	}
	return found[0]
}

// redactionConfig is the e2e collector configuration with the redaction
// processor in its logs pipeline.
func redactionConfig(t *testing.T, params collectorParams, redaction any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := collectorConfig.Execute(&buf, params); err != nil {
		t.Fatal(err)
	}
	var config map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &config); err != nil {
		t.Fatal(err)
	}
	config["processors"] = map[string]any{"redaction": redaction}
	pipeline := config["service"].(map[string]any)["pipelines"].(map[string]any)["logs"].(map[string]any)
	pipeline["processors"] = []string{"redaction"}
	out, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "otelcol.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// piiSet is the personal data the simulator served.
type piiSet struct {
	names     map[string]bool // first and last names: no exported string may be one
	fullNames map[string]bool // "First Last": no exported string may contain one
	contained map[string]bool // emails and addresses: no exported string may contain one
}

func newPIISet() *piiSet {
	return &piiSet{names: map[string]bool{}, fullNames: map[string]bool{}, contained: map[string]bool{}}
}

func (p *piiSet) addMember(m cloudflaresim.Member) {
	p.add(m.Email)
	for _, n := range []string{m.FirstName, m.LastName} {
		if n != "" {
			p.names[n] = true
		}
	}
	if m.FirstName != "" && m.LastName != "" {
		p.fullNames[m.FirstName+" "+m.LastName] = true
	}
}

// addAccessUser adds an Access user's email, full name and its parts.
func (p *piiSet) addAccessUser(u cloudflaresim.AccessUser) {
	p.add(u.Email)
	if u.Name != "" {
		p.fullNames[u.Name] = true
		for _, n := range strings.Fields(u.Name) {
			p.names[n] = true
		}
	}
}

func (p *piiSet) add(values ...string) {
	for _, v := range values {
		if v != "" {
			p.contained[v] = true
		}
	}
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	ipv4Pattern  = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	// The simulator's IPv6 addresses are in the documentation prefix.
	ipv6Pattern = regexp.MustCompile(`(?i)\b2001:db8:`)
)

// find returns a description of every string in v (at any depth) that is or
// holds personal data.
func (p *piiSet) find(v any, path string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			out = append(out, p.find(item, path+"."+k)...)
		}
	case []any:
		for i, item := range v {
			out = append(out, p.find(item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case string:
		if why := p.check(v); why != "" {
			out = append(out, fmt.Sprintf("%s = %q (%s)", path, v, why))
		}
	}
	return out
}

func (p *piiSet) check(s string) string {
	switch {
	case p.names[s]:
		return "a name"
	case emailPattern.MatchString(s):
		return "an email address"
	case ipv4Pattern.MatchString(s):
		return "an IPv4 address"
	case ipv6Pattern.MatchString(s):
		return "an IPv6 address"
	}
	for full := range p.fullNames {
		if strings.Contains(s, full) {
			return "a full name"
		}
	}
	for value := range p.contained {
		if strings.Contains(s, value) {
			return "an email or address the simulator served"
		}
	}
	return ""
}
