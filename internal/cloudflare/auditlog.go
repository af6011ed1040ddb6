package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// AuditRecord is an audit log entry in its usual wire shape: every field
// present, none null, no other field. Such an entry is decoded once, here,
// and its log body is built from these fields; any other entry keeps its raw
// JSON (AuditEntry.Raw) and the body is decoded from that. The values of
// metadata, newValue and oldValue are kept raw, as they vary by action.
type AuditRecord struct {
	ID        *string              `json:"id"`
	Action    *AuditRecordAction   `json:"action"`
	Actor     *AuditRecordActor    `json:"actor"`
	Interface *string              `json:"interface"`
	Metadata  json.RawMessage      `json:"metadata"`
	NewValue  json.RawMessage      `json:"newValue"`
	OldValue  json.RawMessage      `json:"oldValue"`
	Owner     *AuditRecordOwner    `json:"owner"`
	Resource  *AuditRecordResource `json:"resource"`
	When      *string              `json:"when"`
}

// AuditRecordAction is the action of an audit log entry.
type AuditRecordAction struct {
	Result *bool   `json:"result"`
	Type   *string `json:"type"`
}

// AuditRecordActor is who performed the action.
type AuditRecordActor struct {
	Email *string `json:"email"`
	ID    *string `json:"id"`
	IP    *string `json:"ip"`
	Type  *string `json:"type"`
}

// AuditRecordOwner is the owner of the audit log entry.
type AuditRecordOwner struct {
	ID *string `json:"id"`
}

// AuditRecordResource is what the action was performed on.
type AuditRecordResource struct {
	ID   *string `json:"id"`
	Type *string `json:"type"`
}

// complete reports whether every field was present and not null.
func (r *AuditRecord) complete() bool {
	return r.ID != nil && r.Interface != nil && r.When != nil &&
		r.Metadata != nil && r.NewValue != nil && r.OldValue != nil &&
		r.Action != nil && r.Action.Result != nil && r.Action.Type != nil &&
		r.Actor != nil && r.Actor.Email != nil && r.Actor.ID != nil && r.Actor.IP != nil && r.Actor.Type != nil &&
		r.Owner != nil && r.Owner.ID != nil &&
		r.Resource != nil && r.Resource.ID != nil && r.Resource.Type != nil
}

// auditPage is a list response whose every entry has the usual shape. The
// envelope's other members are named so that an unknown one is noticed.
type auditPage struct {
	Result     []AuditRecord   `json:"result"`
	Success    json.RawMessage `json:"success"`
	Errors     json.RawMessage `json:"errors"`
	Messages   json.RawMessage `json:"messages"`
	ResultInfo json.RawMessage `json:"result_info"`
}

// DecodeAuditPage decodes the body of an audit log list response. A page of
// entries of the usual shape is decoded in one pass; otherwise each entry is
// decoded on its own (DecodeAuditEntry).
func DecodeAuditPage(body []byte) ([]AuditEntry, error) {
	var page auditPage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(&page) == nil && allComplete(page.Result) {
		entries := make([]AuditEntry, len(page.Result))
		for i := range page.Result {
			entries[i] = entryFromRecord(&page.Result[i])
		}
		return entries, nil
	}
	var lenient struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &lenient); err != nil {
		return nil, err
	}
	entries := make([]AuditEntry, len(lenient.Result))
	for i, raw := range lenient.Result {
		entry, err := DecodeAuditEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("result[%d]: %w", i, err)
		}
		entries[i] = entry
	}
	return entries, nil
}

func allComplete(records []AuditRecord) bool {
	for i := range records {
		if !records[i].complete() {
			return false
		}
	}
	return true
}

// DecodeAuditEntry decodes one audit log entry: through AuditRecord when it
// has the usual shape, else leniently from its JSON object.
func DecodeAuditEntry(raw json.RawMessage) (AuditEntry, error) {
	var record AuditRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&record) == nil && record.complete() {
		return entryFromRecord(&record), nil
	}
	var object map[string]any
	if err := json.Unmarshal(raw, &object); err != nil {
		return AuditEntry{}, err
	}
	if object == nil {
		return AuditEntry{}, fmt.Errorf("audit log entry is null")
	}
	action, _ := object["action"].(map[string]any)
	actor, _ := object["actor"].(map[string]any)
	metadata, _ := object["metadata"].(map[string]any)
	entry := AuditEntry{
		ID:         stringAt(object, "id"),
		ActionType: stringAt(action, "type"),
		ActorID:    stringAt(actor, "id"),
		ActorEmail: stringAt(actor, "email"),
		ActorIP:    stringAt(actor, "ip"),
		ActorType:  stringAt(actor, "type"),
		Interface:  stringAt(object, "interface"),
		UserAgent:  stringAt(metadata, "user_agent"),
		Raw:        raw,
	}
	entry.Success, _ = action["result"].(bool)
	entry.When, _ = time.Parse(time.RFC3339Nano, stringAt(object, "when"))
	if entry.ID == "" {
		entry.ID = contentKey(object)
	}
	return entry, nil
}

// contentKey names an entry that came without an id by a hash of its
// content, so that two such entries stay apart and the same entry read again
// keeps its key. Marshalling the decoded object sorts its keys, so the key
// does not depend on the order the API wrote them in.
func contentKey(object map[string]any) string {
	canonical, _ := json.Marshal(object)
	sum := sha256.Sum256(canonical)
	return contentKeyPrefix + hex.EncodeToString(sum[:16])
}

// contentKeyPrefix marks an id made by contentKey rather than sent by Cloudflare.
const contentKeyPrefix = "sha256:"

func entryFromRecord(r *AuditRecord) AuditEntry {
	entry := AuditEntry{
		ID:         *r.ID,
		ActionType: *r.Action.Type,
		Success:    *r.Action.Result,
		ActorID:    *r.Actor.ID,
		ActorEmail: *r.Actor.Email,
		ActorIP:    *r.Actor.IP,
		ActorType:  *r.Actor.Type,
		Interface:  *r.Interface,
		Record:     r,
	}
	entry.When, _ = time.Parse(time.RFC3339Nano, *r.When)
	// Only a non-empty object can carry a user agent; it is decoded once, for
	// the user agent and the log body.
	if len(r.Metadata) > 2 && r.Metadata[0] == '{' && json.Unmarshal(r.Metadata, &entry.Metadata) == nil {
		entry.UserAgent = stringAt(entry.Metadata, "user_agent")
	}
	return entry
}

func stringAt(object map[string]any, key string) string {
	s, _ := object[key].(string)
	return s
}
