package cloudflareidentityreceiver

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/ocsfschema"
)

// ocsfSchemaDir holds the JSON Schemas of OCSF 1.8.0 that the OCSF project's
// tools export (scripts/ocsf-jsonschema.sh).
var ocsfSchemaDir = filepath.Join("testdata", "ocsf", "schema-"+ocsfVersion)

func loadOCSFSchema(t *testing.T) *ocsfschema.Validator {
	t.Helper()
	v, err := ocsfschema.Load(ocsfSchemaDir)
	require.NoError(t, err)
	return v
}

// TestOCSFGoldenConformsToSchema validates every record of every golden file,
// mapped with format ocsf, against the official OCSF 1.8.0 schema of its class,
// and wants every class the mapping emits among them.
func TestOCSFGoldenConformsToSchema(t *testing.T) {
	v := loadOCSFSchema(t)
	seen := map[string]int{}
	for _, file := range mappingGoldenFiles(t) {
		events, names := ocsfBodies(t, file)
		require.NotEmpty(t, events, file)
		for i, event := range events {
			class, err := v.Validate(event)
			require.NoError(t, err, "%s record %d (%s)", filepath.Base(file), i, names[i])
			seen[class]++
		}
	}
	t.Logf("records validated by class: %v", seen)
	classes := v.Classes()
	slices.Sort(classes)
	for _, class := range classes {
		assert.Positive(t, seen[class], "no golden record maps to %s", class)
	}
}

// TestOCSFSchemaRejectsBrokenEvents: the validator fails events that break
// the schema; each case changes one thing of a valid login event.
func TestOCSFSchemaRejectsBrokenEvents(t *testing.T) {
	v := loadOCSFSchema(t)
	events, _ := ocsfBodies(t, goldenPath("login_success.yaml"))
	valid, err := json.Marshal(events[0])
	require.NoError(t, err)
	fresh := func() map[string]any {
		var event map[string]any
		require.NoError(t, json.Unmarshal(valid, &event))
		return event
	}
	_, err = v.Validate(fresh())
	require.NoError(t, err, "the unbroken event")

	tests := []struct {
		name   string
		mutate func(event map[string]any)
	}{
		{"wrong enum id: activity_id", func(e map[string]any) { e["activity_id"] = 42 }},
		{"wrong enum id: severity_id", func(e map[string]any) { e["severity_id"] = 7 }},
		{"wrong enum id: status_id", func(e map[string]any) { e["status_id"] = 3 }},
		{"wrong class_uid for the class", func(e map[string]any) { e["class_uid"] = 3001; e["category_uid"] = 2 }},
		{"missing required: user", func(e map[string]any) { delete(e, "user") }},
		{"missing required: time", func(e map[string]any) { delete(e, "time") }},
		{"missing required: metadata.version", func(e map[string]any) { delete(e["metadata"].(map[string]any), "version") }},
		{"missing required: cloud (profile cloud)", func(e map[string]any) { delete(e, "cloud") }},
		{"missing required: cloud.provider", func(e map[string]any) { delete(e["cloud"].(map[string]any), "provider") }},
		{"string where integer: time", func(e map[string]any) { e["time"] = "1795786443123" }},
		{"string where integer: type_uid", func(e map[string]any) { e["type_uid"] = "300201" }},
		{"integer where string: user.email_addr", func(e map[string]any) { e["user"].(map[string]any)["email_addr"] = 7 }},
		{"boolean where integer: severity_id", func(e map[string]any) { e["severity_id"] = true }},
		{"none of service and dst_endpoint", func(e map[string]any) { delete(e, "service") }},
		{"user with none of uid, name, account", func(e map[string]any) {
			e["user"] = map[string]any{"email_addr": "a@example.com"}
		}},
		{"attribute the class does not have", func(e map[string]any) { e["logon_time"] = 1 }},
		{"attribute the object does not have", func(e map[string]any) { e["src_endpoint"].(map[string]any)["country"] = "PT" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event := fresh()
			tt.mutate(event)
			_, err := v.Validate(event)
			require.Error(t, err)
			t.Log(err)
		})
	}
}
