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
// present, none null but metadata, newValue and oldValue, no other field
// (keyScanner.usualEntry checks the shape, as encoding/json leaves a missing
// or null field at its zero value). Such an entry is decoded once, here, and
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
// decoded on its own (DecodeAuditEntry). encoding/json matches keys without
// regard to case and lets a repeated key overwrite or merge into the first,
// so the usual shape also requires every key spelled exactly and once
// (exactPageKeys): else an entry such as {"ID":..,"id":..} would lose a key
// from its log body.
func DecodeAuditPage(body []byte) ([]AuditEntry, error) {
	var page auditPage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(&page) == nil && exactPageKeys(body) {
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

// DecodeAuditEntry decodes one audit log entry: through AuditRecord when it
// has the usual shape, else leniently from its JSON object.
func DecodeAuditEntry(raw json.RawMessage) (AuditEntry, error) {
	var record AuditRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&record) == nil && exactEntryKeys(raw) {
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
		if fields, ok := flatStrings(r.Metadata); ok {
			entry.Metadata = fields
			entry.UserAgent = lastValue(fields, "user_agent")
		} else {
			var metadata map[string]any
			_ = json.Unmarshal(r.Metadata, &metadata)
			entry.UserAgent = stringAt(metadata, "user_agent")
		}
	}
	return entry
}

// flatStrings reads an object whose keys and values are strings
// without escape sequences. Its keys and values share one copy of raw.
func flatStrings(raw []byte) ([]MetadataField, bool) {
	text := string(raw)
	// at is where b, a slice of raw's array, starts in text.
	at := func(b []byte) string {
		start := cap(raw) - cap(b)
		return text[start : start+len(b)]
	}
	var fields []MetadataField
	s := keyScanner{b: raw}
	ok := s.object(func(key []byte) bool {
		s.ws()
		value, ok := s.str()
		if key == nil || !ok || value == nil {
			return false
		}
		fields = append(fields, MetadataField{Key: at(key), Value: at(value)})
		return true
	})
	return fields, ok
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

// exactPageKeys reports whether the envelope's members and the keys of every
// entry in result are spelled exactly as the usual shape has them, none
// twice. body starts with JSON that encoding/json has already accepted; what
// follows it is not read, as the decoder does not read it either.
func exactPageKeys(body []byte) bool {
	s := keyScanner{b: body}
	var seen uint32
	return s.object(func(key []byte) bool {
		k := keyIndex(envelopeKeys, key)
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		if k != 0 {
			return s.skip()
		}
		return s.array(s.usualEntry)
	})
}

// exactEntryKeys is exactPageKeys for one entry.
func exactEntryKeys(raw []byte) bool {
	s := keyScanner{b: raw}
	return s.usualEntry() && s.end()
}

// keyScanner walks JSON that is already known to be valid, checking the keys
// of objects; it allocates nothing. A key with an escape sequence never
// matches: such an entry takes the lenient path.
type keyScanner struct {
	b []byte
	i int
}

func (s *keyScanner) usualEntry() bool {
	return s.exactObject(recordKeys, func(key string) bool {
		switch key {
		case "action":
			return s.exactObject(actionKeys, nil)
		case "actor":
			return s.exactObject(actorKeys, nil)
		case "owner":
			return s.exactObject(ownerKeys, nil)
		case "resource":
			return s.exactObject(resourceKeys, nil)
		case "metadata", "newValue", "oldValue":
			return s.skip() // kept raw, null included
		}
		return s.notNull()
	})
}

// exactObject reads an object whose keys are exactly keys, each once, in any
// order. value reads the value of a key; nil reads a value that is not null.
func (s *keyScanner) exactObject(keys []string, value func(key string) bool) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		k := keyIndex(keys, key)
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		if value == nil {
			return s.notNull()
		}
		return value(keys[k])
	}) && seen == 1<<len(keys)-1
}

// notNull reads a value that is not null: encoding/json would leave its
// field at the zero value, as if it were missing.
func (s *keyScanner) notNull() bool {
	if s.ws(); s.peek() == 'n' {
		return false
	}
	return s.skip()
}

func keyIndex(keys []string, key []byte) int {
	for k, name := range keys {
		if string(key) == name {
			return k
		}
	}
	return -1
}

// object reads an object, calling member with each key (its raw bytes, or
// nil when escaped) and the scanner at its value, which member must read.
func (s *keyScanner) object(member func(key []byte) bool) bool {
	if s.ws(); s.peek() != '{' {
		return false
	}
	s.i++
	if s.ws(); s.peek() == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return false
		}
		if s.ws(); s.peek() != ':' {
			return false
		}
		s.i++
		if !member(key) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (s *keyScanner) array(elem func() bool) bool {
	if s.ws(); s.peek() != '[' {
		return false
	}
	s.i++
	if s.ws(); s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string and returns its raw content, or nil when it holds an
// escape sequence.
func (s *keyScanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start, escaped := s.i+1, false
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			if escaped {
				return nil, true
			}
			return s.b[start:j], true
		}
	}
	return nil, false
}

// skip reads any value.
func (s *keyScanner) skip() bool {
	s.ws()
	switch s.peek() {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	case 0:
		return false
	}
	// A number, true, false or null.
	start := s.i
	for s.i < len(s.b) && !isDelimiter(s.b[s.i]) {
		s.i++
	}
	return s.i > start
}

// end reports whether nothing but white space is left.
func (s *keyScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *keyScanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *keyScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDelimiter(c byte) bool { return isSpace(c) || c == ',' || c == '}' || c == ']' }
