package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"encoding/json"
	"errors"
	"time"
)

// Account is a Cloudflare account the token can read.
type Account struct {
	ID   string
	Name string
}

// Member is one membership of an account, with the fields the receiver maps
// and the record exactly as Cloudflare sent it.
type Member struct {
	ID        string   // membership id
	Email     string   // membership email
	Status    string   // accepted, pending, ...
	UserID    string   // user.id
	UserEmail string   // user.email
	FirstName string   // user.first_name
	LastName  string   // user.last_name
	TwoFactor bool     // user.two_factor_authentication_enabled
	Roles     []string // role names
	Raw       json.RawMessage
}

// AuditEntry is one account audit log entry, with everything Cloudflare sent.
type AuditEntry struct {
	ID         string
	When       time.Time
	ActionType string
	Success    bool
	ActorID    string
	ActorEmail string
	ActorIP    string
	ActorType  string
	Interface  string // v1 interface; v2 actor.context (dash, api_token, oauth, ...)
	UserAgent  string // v1 metadata.user_agent, v2 raw.user_agent, when Cloudflare supplies one
	// Description is v2's action.description (v1 has none).
	Description string
	// RayID is v2's raw.cf_ray_id (v1 has none).
	RayID string
	// Record is the entry when it has the usual shape; otherwise it is nil
	// and Raw holds the entry exactly as Cloudflare sent it.
	Record *AuditRecord
	// Metadata is Record's metadata, in the order sent, when it is a
	// non-empty object of strings without escape sequences, as it usually is.
	Metadata []MetadataField
	Raw      json.RawMessage
}

// MetadataField is one member of an audit log entry's metadata.
type MetadataField struct {
	Key, Value string
}

// Token describes the API token, as the verify endpoints report it.
type Token struct {
	ID        string
	Status    string // active, disabled, expired
	ExpiresOn time.Time
	// AccountOwned is true when only an account's verify endpoint accepted it.
	AccountOwned bool
}

// RangeQuery selects the entries of one account's time-ordered log (audit
// logins, Access requests) in [Since, Before).
type RangeQuery struct {
	AccountID string
	Since     time.Time
	Before    time.Time
	PageSize  int
	// Unfiltered (v2 only) sends no action_type filter: every entry of the
	// range is listed, for the caller to filter.
	Unfiltered bool
	// MaxPages, when not 0, ends the listing after that many pages with
	// ErrMorePages when the range holds more: the caller lets other accounts
	// have their turn and lists the rest later.
	MaxPages int
}

// ErrMorePages ends a listing that read RangeQuery.MaxPages pages of a range
// that holds more.
var ErrMorePages = errors.New("more pages to read")
