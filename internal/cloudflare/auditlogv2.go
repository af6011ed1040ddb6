package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/option"
)

// Audit Logs v2, GET /accounts/{id}/logs/audit: pages by an opaque cursor
// within [since, before), and names its fields differently from v1. Its
// entries are handed out as the same AuditEntry, with Raw holding the entry
// exactly as sent (Record stays nil), so that the logins stream dedupes,
// checkpoints and maps them as it does v1's.

// V2LoginActionType is the action_type filter sent to v2 for logins.
const V2LoginActionType = "login"

// v2LoginNames are the action types and descriptions of v2 entries taken
// for sign-ins, compared without regard to case.
var v2LoginNames = []string{"login", "sign_in", "sso_login"}

// IsV2Login reports whether a v2 entry is a sign-in: its action.type is
// login, or its action.description names a login.
func IsV2Login(e *AuditEntry) bool {
	if strings.EqualFold(e.ActionType, V2LoginActionType) {
		return true
	}
	for _, name := range v2LoginNames {
		if strings.EqualFold(e.Description, name) {
			return true
		}
	}
	return false
}

// v2Page is a v2 list response. result_info.cursor is what the API and its
// OpenAPI document; result_info.cursors.after is what cloudflare-go's pager
// reads: either is accepted.
type v2Page struct {
	Result     []json.RawMessage `json:"result"`
	ResultInfo *struct {
		Cursor  *string `json:"cursor"`
		Cursors *struct {
			After *string `json:"after"`
		} `json:"cursors"`
	} `json:"result_info"`
}

// DecodeV2Page decodes the body of a v2 list response: its entries and the
// cursor of the next page ("" when there is none).
func DecodeV2Page(body []byte) (entries []AuditEntry, next string, err error) {
	var page v2Page
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", err
	}
	entries = make([]AuditEntry, len(page.Result))
	for i, raw := range page.Result {
		if entries[i], err = DecodeV2Entry(raw); err != nil {
			return nil, "", fmt.Errorf("result[%d]: %w", i, err)
		}
	}
	if info := page.ResultInfo; info != nil {
		switch {
		case info.Cursor != nil && *info.Cursor != "":
			next = *info.Cursor
		case info.Cursors != nil && info.Cursors.After != nil:
			next = *info.Cursors.After
		}
	}
	return entries, next, nil
}

// DecodeV2Entry decodes one v2 audit entry leniently from its JSON object.
func DecodeV2Entry(raw json.RawMessage) (AuditEntry, error) {
	var object map[string]any
	if err := json.Unmarshal(raw, &object); err != nil {
		return AuditEntry{}, err
	}
	if object == nil {
		return AuditEntry{}, errors.New("audit log entry is null")
	}
	action, _ := object["action"].(map[string]any)
	actor, _ := object["actor"].(map[string]any)
	rawInfo, _ := object["raw"].(map[string]any)
	entry := AuditEntry{
		ID:          stringAt(object, "id"),
		ActionType:  stringAt(action, "type"),
		Description: stringAt(action, "description"),
		Success:     strings.EqualFold(stringAt(action, "result"), "success"),
		ActorID:     stringAt(actor, "id"),
		ActorEmail:  stringAt(actor, "email"),
		ActorIP:     stringAt(actor, "ip_address"),
		ActorType:   stringAt(actor, "type"),
		Interface:   stringAt(actor, "context"),
		UserAgent:   stringAt(rawInfo, "user_agent"),
		RayID:       stringAt(rawInfo, "cf_ray_id"),
		Raw:         raw,
	}
	entry.When, _ = time.Parse(time.RFC3339Nano, stringAt(action, "time"))
	if entry.ID == "" {
		entry.ID = contentKey(object)
	}
	return entry, nil
}

// ListLoginsV2 pages through the v2 audit entries of [q.Since, q.Before),
// oldest first, by cursor, handing each page to fn. It sends
// action_type=login unless q.Unfiltered; the caller keeps only entries that
// IsV2Login accepts either way. An absent or empty cursor ends the listing;
// a page without entries that still gives a cursor (the entries it hid
// would be passed over), a cursor the API has given before, or more than
// maxPages pages fail it as a bad response.
func (c *client) ListLoginsV2(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error {
	var params accounts.LogAuditListParams
	params.AccountID.Value, params.AccountID.Present = q.AccountID, true
	base := []option.RequestOption{
		// since and before are sent with nanoseconds: the SDK's typed fields
		// would truncate them to a date.
		option.WithQuery("since", q.Since.UTC().Format(time.RFC3339Nano)),
		option.WithQuery("before", q.Before.UTC().Format(time.RFC3339Nano)),
		option.WithQuery("direction", "asc"),
		option.WithQuery("limit", strconv.Itoa(q.PageSize)),
	}
	if !q.Unfiltered {
		base = append(base, option.WithQuery("action_type", V2LoginActionType))
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 1; ; pages++ {
		opts := base
		if cursor != "" {
			opts = append(opts[:len(opts):len(opts)], option.WithQuery("cursor", cursor))
		}
		var entries []AuditEntry
		var next string
		err := c.call(ctx, EndpointAuditLogsV2, func() error {
			var body []byte
			_, err := c.auditLogsV2.List(ctx, params, append(opts[:len(opts):len(opts)], option.WithResponseBodyInto(&body))...)
			if err != nil {
				return err
			}
			entries, next, err = DecodeV2Page(body)
			return err
		})
		if err != nil {
			return err
		}
		if len(entries) == 0 && next != "" {
			return pagingError(EndpointAuditLogsV2, "account "+q.AccountID+": an empty page gave a cursor to a next page; the next poll resumes from the checkpoint")
		}
		if err := fn(entries); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if pages == q.MaxPages {
			return ErrMorePages
		}
		if seen[next] {
			return pagingError(EndpointAuditLogsV2, "account "+q.AccountID+": the API gave the same cursor twice; the next poll resumes from the checkpoint")
		}
		if pages >= c.maxPages {
			return pagingError(EndpointAuditLogsV2, fmt.Sprintf("account %s: more than %d pages in one poll; the next poll resumes from the checkpoint", q.AccountID, c.maxPages))
		}
		seen[next] = true
		cursor = next
	}
}

// IsFilterRejected reports whether err is v2 refusing a request with a 400:
// what it answers when it does not know the action_type sent.
func IsFilterRejected(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Endpoint == EndpointAuditLogsV2 &&
		apiErr.Kind == KindRequest && apiErr.StatusCode == http.StatusBadRequest
}
