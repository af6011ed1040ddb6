package cloudflareidentityreceiver

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/shared"
	"go.opentelemetry.io/collector/confmap"

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

// FuzzMemberDiff decodes two member records and diffs them: no panic, a
// record never differs from itself, and every reported field has a previous value.
// Seeds: testdata/fuzz/FuzzMemberDiff.
func FuzzMemberDiff(f *testing.F) {
	f.Fuzz(func(t *testing.T, before, after []byte) {
		var a, b shared.Member
		if json.Unmarshal(before, &a) != nil || json.Unmarshal(after, &b) != nil {
			return
		}
		previous, current := cloudflare.NewMember(&a), cloudflare.NewMember(&b)
		if changed := changedFields(&current, &current); len(changed) != 0 {
			t.Fatalf("a member differs from itself: %v", changed)
		}
		_, records := newAccountLogs(testAccount, "fuzz")
		appendMemberChanges(records, []cloudflare.Member{previous}, []cloudflare.Member{current}, time.Unix(0, 0))
		for _, lr := range records.All() {
			if lr.EventName() != eventMemberChanged {
				continue
			}
			fields, _ := lr.Attributes().Get(attrMemberChanged)
			prev, _ := lr.Attributes().Get(attrMemberPrevious)
			if fields.Slice().Len() != prev.Map().Len() {
				t.Fatalf("changed %v but previous %v", fields.AsRaw(), prev.AsRaw())
			}
		}
	})
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
