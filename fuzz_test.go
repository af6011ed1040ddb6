package cloudflareidentityreceiver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudflare/cloudflare-go/v7/shared"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// FuzzMapAuditPage decodes an audit log page as the client does and maps
// every entry. Whatever Cloudflare sends, mapping never panics, every record
// is a login event carrying its entry's id, and its Body, marshalled to JSON,
// is the same JSON value as the entry's ORIGINAL bytes in the page (both
// decoded into any): nothing Cloudflare sent is lost or changed, whichever
// decoder (the struct of the usual shape, or the lenient one) read the entry.
// It replaces a check against a re-encoding of the decoded struct, which
// could not see a key the struct decoder dropped.
// Mutations caught: DecodeAuditPage/DecodeAuditEntry without the exact-keys
// check (an entry spelling a key in another case, e.g. "ID", or repeating a
// key, loses it from the body: seed exact-keys); putAuditRecord writing
// "interface" from the actor type; putRawJSON putting `{}` as an empty string.
// Seeds: testdata/fuzz/FuzzMapAuditPage.
func FuzzMapAuditPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := cloudflare.DecodeAuditPage(body)
		if err != nil {
			return
		}
		// The entries as they are in the page, independently of the decoders under test.
		var page struct {
			Result []json.RawMessage `json:"result"`
		}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&page); err != nil {
			t.Fatalf("the page decoded, but not as an envelope of entries: %v", err)
		}
		if len(page.Result) != len(entries) {
			t.Fatalf("%d entries decoded from %d in the page", len(entries), len(page.Result))
		}
		logs, records := newAccountLogs(testAccount, "fuzz")
		member := &cloudflare.Member{ID: "m", FirstName: "A", Roles: []string{"R"}}
		for i := range entries {
			appendLoginRecord(records, &entries[i], member, time.Unix(0, 0))
			lr := records.At(records.Len() - 1)
			if lr.EventName() != eventLogin {
				t.Fatalf("event name %q", lr.EventName())
			}
			if uid, _ := lr.Attributes().Get("log.record.uid"); uid.Str() != entries[i].ID {
				t.Fatalf("uid %q, entry id %q", uid.Str(), entries[i].ID)
			}
			var want any
			if json.Unmarshal(page.Result[i], &want) != nil {
				continue // e.g. a number beyond float64: no JSON value to compare with
			}
			encoded, err := json.Marshal(lr.Body().AsRaw())
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(encoded, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("body differs from the entry sent\n sent: %s\n body: %s", page.Result[i], encoded)
			}
		}
		if got := logs.LogRecordCount(); got != len(entries) {
			t.Fatalf("%d records for %d entries", got, len(entries))
		}
	})
}

// FuzzMemberDiff decodes two member lists (a JSON array of members, or one
// member) and diffs them as a users poll does. Replaying the emitted events
// on the previous list must give the current one: added for a member not
// there before, removed for one gone (carrying its last known record),
// changed listing exactly the fields that differ with their previous values;
// no member gets two events, and an unchanged member gets none.
// It replaces a check that a record does not differ from itself.
// Mutations caught: changedFields without its email comparison (seed
// lists: an email change is not replayed); appendChanges without the
// removed loop; appendMemberRecord putting the current status into
// cloudflare.member.previous; sameRoles comparing only the number of roles.
// Seeds: testdata/fuzz/FuzzMemberDiff.
func FuzzMemberDiff(f *testing.F) {
	f.Fuzz(func(t *testing.T, before, after []byte) {
		previous, ok := decodeMemberList(before)
		if !ok {
			return
		}
		current, ok := decodeMemberList(after)
		if !ok {
			return
		}
		_, records := newAccountLogs(testAccount, "fuzz")
		appendMemberChangesForTest(records, previous, current, time.Unix(0, 0))

		state := make(map[string]memberView, len(previous))
		for i := range previous {
			state[previous[i].ID] = viewOfMember(&previous[i])
		}
		seen := map[string]bool{}
		for _, lr := range records.All() {
			id, _ := lr.Attributes().Get(attrMemberID)
			key := id.Str()
			if seen[key] {
				t.Fatalf("member %q has two events", key)
			}
			seen[key] = true
			got := viewOfRecord(lr.Attributes())
			old, known := state[key]
			switch lr.EventName() {
			case eventMemberAdded:
				if known {
					t.Fatalf("member %q added, but it was there", key)
				}
				state[key] = got
			case eventMemberRemoved:
				if !known || !reflect.DeepEqual(got, old) {
					t.Fatalf("member %q removed: known %v, record %+v, last known %+v", key, known, got, old)
				}
				delete(state, key)
			case eventMemberChanged:
				if !known {
					t.Fatalf("member %q changed, but it was not there", key)
				}
				checkChange(t, key, old, got, lr.Attributes())
				state[key] = got
			default:
				t.Fatalf("unexpected event %q", lr.EventName())
			}
		}
		want := make(map[string]memberView, len(current))
		for i := range current {
			want[current[i].ID] = viewOfMember(&current[i])
		}
		if !reflect.DeepEqual(want, state) {
			t.Fatalf("replaying the events gives\n %+v\nnot the current list\n %+v", state, want)
		}
	})
}

// decodeMemberList decodes a JSON array of members, or one member, keeping
// each membership id once as a users poll does.
func decodeMemberList(data []byte) ([]cloudflare.Member, bool) {
	var list []shared.Member
	if json.Unmarshal(data, &list) != nil {
		var one shared.Member
		if json.Unmarshal(data, &one) != nil {
			return nil, false
		}
		list = []shared.Member{one}
	}
	members := make([]cloudflare.Member, len(list))
	for i := range list {
		members[i] = cloudflare.NewMember(&list[i])
	}
	return uniqueByID(members, memberKind.id), true
}

// memberView is what the member events tell of a member: the fields whose
// change is an event.
type memberView struct {
	Status    string
	Roles     []string // sorted: the API promises no order
	TwoFactor bool
	FullName  string
	Email     string
}

func viewOfMember(m *cloudflare.Member) memberView {
	return memberView{Status: m.Status, Roles: sortedRoles(m.Roles), TwoFactor: m.TwoFactor,
		FullName: strings.TrimSpace(m.FirstName + " " + m.LastName), Email: cmp.Or(m.UserEmail, m.Email)}
}

// viewOfRecord reads a member event's attributes; an absent one is empty.
func viewOfRecord(attrs pcommon.Map) memberView {
	str := func(key string) string { v, _ := attrs.Get(key); return v.Str() }
	twoFactor, _ := attrs.Get(attrTwoFactor)
	roles, _ := attrs.Get("user.roles")
	return memberView{Status: str(attrMemberStatus), Roles: sortedRoles(sliceOfStrings(roles)), TwoFactor: twoFactor.Bool(),
		FullName: str("user.full_name"), Email: str("user.email")}
}

// checkChange checks a changed event: it lists exactly the fields that
// differ, with their previous values.
func checkChange(t *testing.T, id string, old, got memberView, attrs pcommon.Map) {
	t.Helper()
	fieldsValue, _ := attrs.Get(attrMemberChanged)
	previousValue, _ := attrs.Get(attrMemberPrevious)
	fields, previous := sliceOfStrings(fieldsValue), previousValue.Map()
	differ := map[string]bool{
		fieldStatus:    old.Status != got.Status,
		fieldRoles:     !slices.Equal(old.Roles, got.Roles),
		fieldTwoFactor: old.TwoFactor != got.TwoFactor,
		fieldFullName:  old.FullName != got.FullName,
		fieldEmail:     old.Email != got.Email,
	}
	var wantFields []string
	for _, field := range []string{fieldStatus, fieldRoles, fieldTwoFactor, fieldFullName, fieldEmail} {
		if differ[field] {
			wantFields = append(wantFields, field)
		}
	}
	if len(wantFields) == 0 || !slices.Equal(fields, wantFields) {
		t.Fatalf("member %q: changed fields %v, but %v differ (%+v -> %+v)", id, fields, wantFields, old, got)
	}
	wantPrevious := map[string]any{}
	for _, field := range wantFields {
		switch field {
		case fieldStatus:
			wantPrevious[field] = old.Status
		case fieldRoles:
			wantPrevious[field] = old.Roles
		case fieldTwoFactor:
			wantPrevious[field] = old.TwoFactor
		case fieldFullName:
			wantPrevious[field] = old.FullName
		case fieldEmail:
			wantPrevious[field] = old.Email
		}
	}
	gotPrevious := previous.AsRaw()
	if roles, ok := gotPrevious[fieldRoles].([]any); ok {
		gotPrevious[fieldRoles] = sortedRoles(anyStrings(roles))
	}
	if !reflect.DeepEqual(wantPrevious, gotPrevious) {
		t.Fatalf("member %q: previous values %v, want %v", id, gotPrevious, wantPrevious)
	}
}

func sliceOfStrings(v pcommon.Value) []string {
	if v.Type() != pcommon.ValueTypeSlice {
		return nil
	}
	out := make([]string, 0, v.Slice().Len())
	for _, e := range v.Slice().All() {
		out = append(out, e.Str())
	}
	return out
}

func anyStrings(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i], _ = v.(string)
	}
	return out
}

func sortedRoles(roles []string) []string {
	out := slices.Clone(roles)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return out
}

// FuzzConfig writes a configuration built from fuzzed values as YAML (in its
// JSON form) and loads it as the collector does (confmap, then Validate).
// Invariants: values
// of the right types always load, each into its own field (a misspelt
// mapstructure tag or a lost decode hook would drop or change one); Validate
// never panics; every line of its error starts with keys the configuration
// has; and the keys it names are exactly those whose values break the ranges
// the README documents, which fuzzConfigProblems restates independently.
// It replaces a check that repeated Validate's own conditions after it passed.
// Mutations caught: loginsKeyErrors.pageSize's bound `> maxPageSize` -> `>= maxPageSize`
// (1000 refused); the late_arrival_window error not appended; an error text
// naming "logins.lookback" instead of "logins.initial_lookback"; the
// mapstructure tag of LateArrivalWindow misspelt.
func FuzzConfig(f *testing.F) {
	d := createDefaultConfig().(*Config)
	f.Add("token", d.Endpoint, "", "", true, true, int64(d.Users.PollInterval), int64(d.Users.SnapshotInterval),
		int64(d.Logins.PollInterval), int64(d.Logins.InitialLookback), int64(d.Logins.LateArrivalWindow), int64(d.Logins.LateArrivalSweep), d.Logins.PageSize,
		d.RateLimit.RequestsPerWindow, int64(d.RateLimit.Window))
	f.Add("custom-token", "http://127.0.0.1:8787/client/v4", "023e105f4ecef8ad9ca31a8372d0c353", "4bb334f7c94c4a29a045f03944f072e5",
		true, true, int64(30*time.Minute), int64(0), int64(2*time.Minute), int64(720*time.Hour), int64(15*time.Minute), int64(15*time.Minute), 500, 600, int64(5*time.Minute))
	f.Add("", "http://api.cloudflare.com/client/v4", "ABC", "ABC", false, false, int64(time.Second), int64(time.Second),
		int64(time.Nanosecond), int64(-time.Hour), int64(13141*time.Hour), int64(time.Second), 1001, 0, int64(time.Millisecond))
	f.Add("t", "https://api.cloudflare.com", "023e105f4ecef8ad9ca31a8372d0c353", "023e105f4ecef8ad9ca31a8372d0c353", false, true,
		int64(time.Minute), int64(time.Minute-1), int64(10*time.Second), int64(13140*time.Hour), int64(13140*time.Hour), int64(13141*time.Hour), 1000, 1, int64(time.Second))

	known := map[string]bool{}
	defaults := confmap.New()
	if err := defaults.Marshal(createDefaultConfig()); err != nil {
		f.Fatal(err)
	}
	for _, key := range defaults.AllKeys() {
		// users::poll_interval is written users.poll_interval in messages;
		// lists and maps also name their parents.
		for parts := strings.Split(key, confmap.KeyDelimiter); len(parts) > 0; parts = parts[:len(parts)-1] {
			known[strings.Join(parts, ".")] = true
		}
	}
	known["accounts"] = true // an empty list is not marshalled

	f.Fuzz(func(t *testing.T, token, endpoint, account1, account2 string, usersEnabled, loginsEnabled bool,
		usersPoll, snapshot, loginsPoll, lookback, late, sweep int64, pageSize, requests int, window int64,
	) {
		in := fuzzConfigValues{token: token, endpoint: endpoint, usersEnabled: usersEnabled, loginsEnabled: loginsEnabled,
			usersPoll: time.Duration(usersPoll), snapshot: time.Duration(snapshot), loginsPoll: time.Duration(loginsPoll),
			lookback: time.Duration(lookback), late: time.Duration(late), sweep: time.Duration(sweep), pageSize: pageSize, requests: requests, window: time.Duration(window)}
		for _, id := range []string{account1, account2} {
			if id != "" {
				in.accounts = append(in.accounts, id)
			}
		}
		for _, s := range append([]string{token, endpoint}, in.accounts...) {
			if !utf8.ValidString(s) {
				return // YAML carries text, not bytes
			}
		}
		// JSON is YAML, and unlike yaml.v3's emitter, encoding/json always
		// writes text that reads back as what was written.
		doc, err := json.MarshalIndent(in.asMap(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		doc = yamlEscape(doc)
		retrieved, err := confmap.NewRetrievedFromYAML(doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		conf, err := retrieved.AsConf()
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		cfg := createDefaultConfig().(*Config)
		if err := conf.Unmarshal(cfg); err != nil {
			t.Fatalf("values of the right types refused: %v\n%s", err, doc)
		}
		if got := fuzzConfigValuesOf(cfg); !reflect.DeepEqual(got, in) {
			t.Fatalf("loaded\n %+v\nfrom\n %+v\n%s", got, in, doc)
		}

		named := map[string]bool{}
		if err := cfg.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				keys, _, found := strings.Cut(line, ": ")
				if !found {
					t.Fatalf("error line without a key: %q", line)
				}
				for _, key := range strings.Split(keys, ", ") {
					if !known[key] {
						t.Fatalf("error line names %q, not a key of the configuration: %q", key, line)
					}
					named[key] = true
				}
			}
		}
		if want := fuzzConfigProblems(in); !reflect.DeepEqual(want, named) {
			t.Fatalf("Validate named %v, the documented ranges are broken by %v\n%s", slices.Sorted(maps.Keys(named)),
				slices.Sorted(maps.Keys(want)), doc)
		}
	})
}

// yamlEscape writes as \u escapes the characters that JSON leaves as they
// are but YAML does not allow (DEL, C1 controls, U+FFFE, U+FFFF) or reads as
// line breaks inside a quoted string (U+0085, U+2028, U+2029).
func yamlEscape(doc []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(doc) {
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfffe || r == 0xffff {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return out.Bytes()
}

// fuzzConfigValues are the fuzzed settings, as written and as loaded.
type fuzzConfigValues struct {
	token, endpoint                                 string
	accounts                                        []string
	usersEnabled, loginsEnabled                     bool
	usersPoll, snapshot, loginsPoll, lookback, late time.Duration
	sweep                                           time.Duration
	pageSize, requests                              int
	window                                          time.Duration
}

func (v fuzzConfigValues) asMap() map[string]any {
	m := map[string]any{
		"api_token": v.token,
		"endpoint":  v.endpoint,
		"users": map[string]any{
			"enabled": v.usersEnabled, "poll_interval": v.usersPoll.String(), "snapshot_interval": v.snapshot.String(),
		},
		"logins": map[string]any{
			"enabled": v.loginsEnabled, "poll_interval": v.loginsPoll.String(), "initial_lookback": v.lookback.String(),
			"late_arrival_window": v.late.String(), "late_arrival_sweep": v.sweep.String(), "page_size": v.pageSize,
		},
		"rate_limit": map[string]any{"requests_per_window": v.requests, "window": v.window.String()},
	}
	if len(v.accounts) > 0 {
		m["accounts"] = v.accounts
	}
	return m
}

func fuzzConfigValuesOf(cfg *Config) fuzzConfigValues {
	v := fuzzConfigValues{token: string(cfg.APIToken), endpoint: cfg.Endpoint, usersEnabled: cfg.Users.Enabled,
		loginsEnabled: cfg.Logins.Enabled, usersPoll: cfg.Users.PollInterval, snapshot: cfg.Users.SnapshotInterval,
		loginsPoll: cfg.Logins.PollInterval, lookback: cfg.Logins.InitialLookback, late: cfg.Logins.LateArrivalWindow,
		sweep: cfg.Logins.LateArrivalSweep, pageSize: cfg.Logins.PageSize, requests: cfg.RateLimit.RequestsPerWindow, window: cfg.RateLimit.Window}
	if len(cfg.Accounts) > 0 {
		v.accounts = cfg.Accounts
	}
	return v
}

// fuzzConfigProblems lists the keys whose values break the ranges the README
// gives for them, written from the README's configuration table, not from
// Validate.
func fuzzConfigProblems(v fuzzConfigValues) map[string]bool {
	problems := map[string]bool{}
	if v.token == "" || strings.ContainsFunc(v.token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		problems["api_token"] = true
	}
	u, err := url.Parse(v.endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		problems["endpoint"] = true
	case u.Scheme == "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		loopback := strings.EqualFold(host, "localhost") || (ip != nil && (ip.Equal(net.IPv6loopback) || ip.To4() != nil && ip.To4()[0] == 127))
		if !loopback {
			problems["endpoint"] = true
		}
	}
	seen := map[string]bool{}
	for _, id := range v.accounts {
		hex := len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
		if !hex || seen[id] {
			problems["accounts"] = true
		}
		seen[id] = true
	}
	if !v.usersEnabled && !v.loginsEnabled { // the Access streams keep their default, off
		for _, key := range []string{"users.enabled", "logins.enabled", "access_logins.enabled", "access_users.enabled"} {
			problems[key] = true
		}
	}
	const retention = 18 * 730 * time.Hour // 18 months of 730 h: 13140 h
	for key, bad := range map[string]bool{
		"users.poll_interval":            v.usersPoll < time.Minute,
		"users.snapshot_interval":        v.snapshot != 0 && v.snapshot < v.usersPoll,
		"logins.poll_interval":           v.loginsPoll < 10*time.Second,
		"logins.initial_lookback":        v.lookback < 0 || v.lookback > retention,
		"logins.late_arrival_window":     v.late < 0 || v.late > retention,
		"logins.late_arrival_sweep":      v.late > 0 && (v.sweep < v.loginsPoll || v.sweep > v.late),
		"logins.page_size":               v.pageSize < 1 || v.pageSize > 1000,
		"rate_limit.requests_per_window": v.requests < 1,
		"rate_limit.window":              v.window < time.Second,
	} {
		if bad {
			problems[key] = true
		}
	}
	return problems
}
