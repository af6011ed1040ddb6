package cloudflareidentityreceiver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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
// lists: an email change is not replayed); appendMemberChanges without the
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
		appendMemberChanges(records, previous, current, time.Unix(0, 0))

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
	return uniqueMembers(members), true
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

// FuzzConfig loads arbitrary YAML as the receiver's configuration: loading
// and validation never panic, and a configuration that validates is usable.
// Seeds: testdata/fuzz/FuzzConfig.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, yaml []byte) {
		retrieved, err := confmap.NewRetrievedFromYAML(yaml)
		if err != nil {
			return
		}
		conf, err := retrieved.AsConf()
		if err != nil {
			return
		}
		cfg := createDefaultConfig().(*Config)
		if conf.Unmarshal(cfg) != nil || cfg.Validate() != nil {
			return
		}
		if cfg.APIToken == "" || cfg.Logins.PageSize < 1 || cfg.Logins.PageSize > maxPageSize ||
			cfg.RateLimit.RequestsPerWindow < 1 || cfg.Logins.PollInterval < minLoginsPollInterval {
			t.Fatalf("validated but unusable: %+v", cfg)
		}
	})
}
