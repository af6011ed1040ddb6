package cloudflare

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const usualEntry = `{"id":"e1","action":{"result":false,"type":"login"},"actor":{"email":"a@example.com","id":"u1","ip":"192.0.2.1","type":"user"},` +
	`"interface":"UI","metadata":{"user_agent":"Mozilla/5.0"},"newValue":"","oldValue":"","owner":{"id":"o"},"resource":{"id":"o","type":"account"},` +
	`"when":"2026-11-27T13:34:03.123456789Z"}`

func TestDecodeAuditPage(t *testing.T) {
	when := time.Date(2026, 11, 27, 13, 34, 3, 123456789, time.UTC)
	want := AuditEntry{ID: "e1", When: when, ActionType: "login", ActorID: "u1", ActorEmail: "a@example.com",
		ActorIP: "192.0.2.1", ActorType: "user", Interface: "UI", UserAgent: "Mozilla/5.0"}
	tests := []struct {
		name       string
		page       string
		usualShape bool
		adjust     func(*AuditEntry) // what the page changes from want
	}{
		{name: "usual shape", page: `{"success":true,"errors":[],"messages":[],"result":[` + usualEntry + `],"result_info":{"page":1}}`, usualShape: true},
		{name: "unknown envelope member", page: `{"result":[` + usualEntry + `],"new_member":1}`, usualShape: true},
		{name: "extra field in an entry", page: `{"result":[` + usualEntry[:len(usualEntry)-1] + `,"zone":{"name":"example.com"}}]}`},
		{name: "null field", page: `{"result":[` + usualEntry[:len(usualEntry)-1] + `,"resource":{"id":"o","type":null}}]}`},
		{name: "null in place of a value", page: `{"result":[` + strings.Replace(usualEntry, `"type":"account"`, `"type":null`, 1) + `]}`},
		{name: "null in place of an object", page: `{"result":[` + strings.Replace(usualEntry, `"owner":{"id":"o"}`, `"owner":null`, 1) + `]}`},
		// The owner is not read off an entry of another shape, the actor is: its null reads as no actor.
		{name: "null in place of an object that is read", page: `{"result":[` + strings.Replace(usualEntry,
			`"actor":{"email":"a@example.com","id":"u1","ip":"192.0.2.1","type":"user"}`, `"actor":null`, 1) + `]}`,
			adjust: func(e *AuditEntry) { e.ActorID, e.ActorEmail, e.ActorIP, e.ActorType = "", "", "", "" }},
		{name: "field missing", page: `{"result":[` + strings.Replace(usualEntry, `"owner":{"id":"o"},`, ``, 1) + `]}`},
		{name: "null raw value stays usual", page: `{"result":[` + strings.Replace(usualEntry, `"newValue":""`, `"newValue":null`, 1) + `]}`, usualShape: true},
		// encoding/json would read these keys into the usual shape's fields, and the
		// log body built from the fields would lose or change them.
		{name: "key in another case", page: `{"result":[` + strings.Replace(usualEntry, `"owner"`, `"Owner"`, 1) + `]}`},
		{name: "key given twice", page: `{"result":[` + usualEntry[:len(usualEntry)-1] + `,"newValue":null}]}`},
		{name: "object given twice", page: `{"result":[` + usualEntry[:len(usualEntry)-1] + `,"action":{"type":"login"}}]}`},
		{name: "key with an escape", page: `{"result":[` + strings.Replace(usualEntry, `"interface"`, `"\u0069nterface"`, 1) + `]}`},
		{name: "envelope key in another case", page: `{"Result":[` + usualEntry + `]}`, usualShape: true},
		// encoding/json keeps the last of a repeated envelope member.
		{name: "envelope key given twice", page: `{"result":[` + strings.Replace(usualEntry, `"e1"`, `"e0"`, 1) + `],"result":[` + usualEntry + `]}`, usualShape: true},
		{name: "escaped value stays usual", page: `{"result":[` + strings.Replace(usualEntry, `a@example.com`, `a\u0040example.com`, 1) + `]}`, usualShape: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := DecodeAuditPage([]byte(tt.page))
			require.NoError(t, err)
			require.Len(t, entries, 1)
			got := entries[0]
			assert.Equal(t, tt.usualShape, got.Record != nil)
			assert.Equal(t, !tt.usualShape, got.Raw != nil, "entries of another shape keep their JSON")
			got.Record, got.Raw, got.Metadata = nil, nil, nil
			want := want
			if tt.adjust != nil {
				tt.adjust(&want)
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestDecodeAuditPageErrors(t *testing.T) {
	for _, page := range []string{`<html>`, `{"result":[1]}`, `{"result":[null]}`, `{"result":{"a":1}}`,
		`{"result":[` + usualEntry + `]} trailing`, `{"result":[` + usualEntry + `],}`} {
		_, err := DecodeAuditPage([]byte(page))
		assert.Error(t, err, page)
	}
	entries, err := DecodeAuditPage([]byte(`{"result":[]}`))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestAuditEntryMetadata(t *testing.T) {
	tests := []struct {
		name          string
		metadata      string
		wantUserAgent string
		wantFields    []MetadataField // nil: the log body decodes the raw metadata
	}{
		{name: "strings", metadata: `{"user_agent":"Mozilla/5.0","ray":"r1"}`, wantUserAgent: "Mozilla/5.0",
			wantFields: []MetadataField{{Key: "user_agent", Value: "Mozilla/5.0"}, {Key: "ray", Value: "r1"}}},
		{name: "repeated key: the last value, as in a map", metadata: `{"user_agent":"a","user_agent":"b"}`, wantUserAgent: "b",
			wantFields: []MetadataField{{Key: "user_agent", Value: "a"}, {Key: "user_agent", Value: "b"}}},
		{name: "escaped value", metadata: `{"user_agent":"Mozilla\/5.0"}`, wantUserAgent: "Mozilla/5.0"},
		{name: "escaped key", metadata: `{"user\u005fagent":"Mozilla/5.0"}`, wantUserAgent: "Mozilla/5.0"},
		{name: "not a string", metadata: `{"user_agent":"Mozilla/5.0","attempts":2}`, wantUserAgent: "Mozilla/5.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := `{"result":[` + strings.Replace(usualEntry, `{"user_agent":"Mozilla/5.0"}`, tt.metadata, 1) + `]}`
			entries, err := DecodeAuditPage([]byte(page))
			require.NoError(t, err)
			require.Len(t, entries, 1)
			require.NotNil(t, entries[0].Record)
			assert.Equal(t, tt.wantUserAgent, entries[0].UserAgent)
			assert.Equal(t, tt.wantFields, entries[0].Metadata)
		})
	}
}

// TestMetadataReadAgainLeavesNoNesting: metadata that is not an object of
// plain strings is read a second time as any value; the first, failed read
// must not count towards the nesting bound, or a page of more such entries
// than maxNesting would leave the one-pass read (usualPage) for the entry by
// entry one.
// Mutation caught: metadata resetting the position but not the depth.
func TestMetadataReadAgainLeavesNoNesting(t *testing.T) {
	entry := strings.Replace(usualEntry, `{"user_agent":"Mozilla/5.0"}`, `{"count":1}`, 1)
	page := `{"result":[` + strings.Repeat(entry+",", maxNesting) + entry + `]}`
	entries, ok := usualPage([]byte(page))
	require.True(t, ok, "read in one pass")
	require.Len(t, entries, maxNesting+1)
	assert.NotNil(t, entries[maxNesting].Record)
}
