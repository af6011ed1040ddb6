package cloudflareidentityreceiver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/shared"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// FuzzMapAuditPage decodes an audit log page as the client does and maps
// every entry: whatever Cloudflare sends, mapping never panics, every record
// is a login event carrying its entry's id, and a body built field by field
// from an entry of the usual shape equals the body decoded from its JSON.
// Seeds: testdata/fuzz/FuzzMapAuditPage.
func FuzzMapAuditPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := cloudflare.DecodeAuditPage(body)
		if err != nil {
			return
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
			if entries[i].Record == nil {
				continue
			}
			raw, err := json.Marshal(entries[i].Record)
			if err != nil {
				t.Fatal(err)
			}
			decoded := plog.NewLogRecord()
			setBody(decoded, raw)
			if !decoded.Body().Equal(lr.Body()) {
				t.Fatalf("body built from fields %v differs from decoded %v", lr.Body().AsRaw(), decoded.Body().AsRaw())
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
