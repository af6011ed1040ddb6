package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// AuditRecord is an audit log entry in its usual wire shape: every field
// present, none null but metadata, newValue and oldValue, no other field
// (jsonScanner.usualEntry checks the shape, as encoding/json leaves a
// missing or null field at its zero value). Such an entry is decoded once, here, and
// its log body is built from these fields; any other entry keeps its raw JSON
// (AuditEntry.Raw) and the body is decoded from that. The values of
// metadata, newValue and oldValue are kept raw, as they vary by action.
type AuditRecord struct {
	ID        string              `json:"id"`
	Action    AuditRecordAction   `json:"action"`
	Actor     AuditRecordActor    `json:"actor"`
	Interface string              `json:"interface"`
	Metadata  json.RawMessage     `json:"metadata"`
	NewValue  json.RawMessage     `json:"newValue"`
	OldValue  json.RawMessage     `json:"oldValue"`
	Owner     AuditRecordOwner    `json:"owner"`
	Resource  AuditRecordResource `json:"resource"`
	When      string              `json:"when"`
}

// AuditRecordAction is the action of an audit log entry.
type AuditRecordAction struct {
	Result bool   `json:"result"`
	Type   string `json:"type"`
}

// AuditRecordActor is who performed the action.
type AuditRecordActor struct {
	Email string `json:"email"`
	ID    string `json:"id"`
	IP    string `json:"ip"`
	Type  string `json:"type"`
}

// AuditRecordOwner is the owner of the audit log entry.
type AuditRecordOwner struct {
	ID string `json:"id"`
}

// AuditRecordResource is what the action was performed on.
type AuditRecordResource struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// DecodeAuditPage decodes the body of an audit log list response. A page
// whose envelope and entries all have the usual shape is read in one pass
// (usualPage); otherwise each entry is decoded on its own (DecodeAuditEntry).
// encoding/json matches keys without regard to case and lets a repeated key
// overwrite or merge into the first, so the usual shape also requires every
// key spelled exactly and once: else an entry such as {"ID":..,"id":..}
// would lose a key from its log body.
func DecodeAuditPage(body []byte) ([]AuditEntry, error) {
	if entries, ok := usualPage(body); ok {
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

// DecodeAuditEntry decodes one audit log entry: through AuditRecord when it
// has the usual shape, else leniently from its JSON object.
func DecodeAuditEntry(raw json.RawMessage) (AuditEntry, error) {
	s := newJSONScanner(raw)
	var usual usualRecord
	if s.usualEntry(&usual) && s.end() {
		return entryFromRecord(&usual), nil
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

// entryFromRecord is the entry of a record of the usual shape.
func entryFromRecord(usual *usualRecord) AuditEntry {
	r := &usual.record
	entry := AuditEntry{
		ID:         r.ID,
		ActionType: r.Action.Type,
		Success:    r.Action.Result,
		ActorID:    r.Actor.ID,
		ActorEmail: r.Actor.Email,
		ActorIP:    r.Actor.IP,
		ActorType:  r.Actor.Type,
		Interface:  r.Interface,
		Record:     r,
	}
	entry.When, _ = time.Parse(time.RFC3339Nano, r.When)
	// Only a non-empty object can carry a user agent. The usual metadata,
	// strings only, is read once, for the user agent and the log body.
	if len(r.Metadata) > 2 && r.Metadata[0] == '{' {
		if usual.flatMetadata {
			entry.Metadata = usual.metadata
			entry.UserAgent = lastValue(usual.metadata, "user_agent")
		} else {
			var metadata map[string]any
			_ = json.Unmarshal(r.Metadata, &metadata)
			entry.UserAgent = stringAt(metadata, "user_agent")
		}
	}
	return entry
}

// lastValue is the value of key, the last one given as when decoding into a map.
func lastValue(fields []MetadataField, key string) string {
	for i := len(fields) - 1; i >= 0; i-- {
		if fields[i].Key == key {
			return fields[i].Value
		}
	}
	return ""
}

func stringAt(object map[string]any, key string) string {
	s, _ := object[key].(string)
	return s
}

// Keys of the usual shape, spelled as AuditRecord names them.
var (
	envelopeKeys = []string{"result", "success", "errors", "messages", "result_info"}
	recordKeys   = []string{"id", "action", "actor", "interface", "metadata", "newValue", "oldValue", "owner", "resource", "when"}
	actionKeys   = []string{"result", "type"}
	actorKeys    = []string{"email", "id", "ip", "type"}
	ownerKeys    = []string{"id"}
	resourceKeys = []string{"id", "type"}
)

// usualRecord is an entry of the usual shape as read, with its metadata when
// that is an object of strings without escape sequences (flatMetadata).
type usualRecord struct {
	record       AuditRecord
	metadata     []MetadataField
	flatMetadata bool
}

// usualPage reads a page whose envelope members are the usual ones, each
// once, and whose entries all have the usual shape; ok is false for any
// other page, valid or not. Its strings share one copy of body.
func usualPage(body []byte) (entries []AuditEntry, ok bool) {
	s := newJSONScanner(body)
	var records []usualRecord
	var seen uint32
	ok = s.object(func(key string, _ bool) bool {
		k := keyIndex(envelopeKeys, key)
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		if k != 0 {
			return s.value()
		}
		return s.array(func() bool {
			records = append(records, usualRecord{})
			return s.usualEntry(&records[len(records)-1])
		})
	}) && s.end()
	if !ok {
		return nil, false
	}
	entries = make([]AuditEntry, len(records))
	for i := range records {
		entries[i] = entryFromRecord(&records[i])
	}
	return entries, true
}

// usualEntry reads an entry of the usual shape: every field present, none
// null but metadata, newValue and oldValue (encoding/json would leave a
// missing or null field at its zero value), no other field.
func (s *jsonScanner) usualEntry(into *usualRecord) bool {
	r := &into.record
	return s.exactObject(recordKeys, func(k int) (ok bool) {
		switch recordKeys[k] {
		case "id":
			r.ID, ok = s.str()
		case "action":
			return s.exactObject(actionKeys, func(k int) (ok bool) {
				if actionKeys[k] == "result" {
					r.Action.Result, ok = s.boolean()
					return ok
				}
				r.Action.Type, ok = s.str()
				return ok
			})
		case "actor":
			return s.exactStrings(actorKeys, &r.Actor.Email, &r.Actor.ID, &r.Actor.IP, &r.Actor.Type)
		case "interface":
			r.Interface, ok = s.str()
		case "metadata":
			r.Metadata, into.metadata, into.flatMetadata, ok = s.metadata()
		case "newValue":
			r.NewValue, ok = s.raw()
		case "oldValue":
			r.OldValue, ok = s.raw()
		case "owner":
			return s.exactStrings(ownerKeys, &r.Owner.ID)
		case "resource":
			return s.exactStrings(resourceKeys, &r.Resource.ID, &r.Resource.Type)
		case "when":
			r.When, ok = s.str()
		}
		return ok
	})
}

// exactObject reads an object whose keys are exactly keys, each once, in any
// order; value reads the value of keys[k].
func (s *jsonScanner) exactObject(keys []string, value func(k int) bool) bool {
	var seen uint32
	return s.object(func(key string, _ bool) bool {
		k := keyIndex(keys, key)
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		return value(k)
	}) && seen == 1<<len(keys)-1
}

// exactStrings is exactObject for an object of strings, read into fields
// (in the order of keys).
func (s *jsonScanner) exactStrings(keys []string, fields ...*string) bool {
	return s.exactObject(keys, func(k int) (ok bool) {
		*fields[k], ok = s.str()
		return ok
	})
}

// metadata reads an entry's metadata, raw, and also as its fields when it
// is an object of strings without escape sequences (flat), as it usually is.
func (s *jsonScanner) metadata() (raw json.RawMessage, fields []MetadataField, flat, ok bool) {
	s.ws()
	start, depth := s.i, s.depth
	if fields, flat = s.flatStrings(); flat {
		return s.b[start:s.i:s.i], fields, true, true
	}
	// Anything else is read again, as any value.
	s.i, s.depth = start, depth
	raw, ok = s.raw()
	return raw, nil, false, ok
}

// flatStrings reads an object whose keys and values are strings without
// escape sequences, in the order given, repeats included.
func (s *jsonScanner) flatStrings() ([]MetadataField, bool) {
	var fields []MetadataField
	ok := s.object(func(key string, plain bool) bool {
		s.ws()
		start, end, plainValue, ok := s.stringSpan()
		if !plain || !ok || !plainValue {
			return false
		}
		fields = append(fields, MetadataField{Key: key, Value: s.text[start:end]})
		return true
	})
	if !ok {
		return nil, false
	}
	return fields, true
}

// keyIndex is the index of key in keys, -1 when it is not there. A key
// with an escape sequence comes undecoded, so it is never one of them.
func keyIndex(keys []string, key string) int {
	for k, name := range keys {
		if key == name {
			return k
		}
	}
	return -1
}
