package cloudflaresim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Audit Logs v2, GET /accounts/{id}/logs/audit, served from the same login
// log as v1, so that both sources see the same logins with v2's field names.
// It pages by an opaque cursor in result_info.cursor.

const defaultV2Limit = 100

// listAuditLogsV2 serves a v2 page. since and before are required; limit,
// direction, cursor and action_type are honoured.
func (s *Server) listAuditLogsV2(accountID string, q url.Values, fault *Fault) reply {
	aq, err := parseV2Query(q, s.cfg.MaxPerPageAuditLogs)
	if err != nil {
		return apiError(http.StatusBadRequest, 1001, err.Error())
	}
	actionType := q.Get("action_type")
	if actionType == "login" && s.cfg.RejectLoginActionType {
		return apiError(http.StatusBadRequest, 1001, `invalid action_type "login": want one of create, delete, update, view`)
	}
	if actionType != "" && actionType != "login" {
		actionType = "other" // the simulator only records logins: nothing matches
	}
	events, total, found := s.loginPage(accountID, aq, actionType, fault)
	if !found {
		return errNoAccess
	}
	name := ""
	s.mu.Lock()
	if a := s.byID[accountID]; a != nil {
		name = a.Name
	}
	s.mu.Unlock()
	items := make([]wireAuditLogV2, len(events))
	for i, e := range events {
		items[i] = toWireAuditLogV2(accountID, name, e)
		if fault != nil && fault.Kind == FaultMissingID {
			items[i].ID = ""
		}
	}
	if fault != nil && fault.Kind == FaultMissingWhen && len(items) > 0 {
		items[0].Action.Time = ""
	}
	info := v2PageInfo{Count: strconv.Itoa(len(items))}
	if fault != nil && fault.Kind == FaultIgnorePaging {
		aq.page = 1 // loginPage served page 1, whatever the cursor said
	}
	if aq.page*aq.perPage < total {
		info.Cursor = v2Cursor(aq.page+1, aq.perPage)
	}
	return success(items, info)
}

// parseV2Query reads v2's filters: since and before (required, a date or an
// RFC 3339 date-time), direction, limit and cursor.
func parseV2Query(q url.Values, maxLimit int) (aq auditQuery, err error) {
	aq.perPage = min(max(1, intParam(q, "limit", defaultV2Limit)), maxLimit)
	aq.page = max(1, v2CursorPage(q.Get("cursor")))
	switch d := q.Get("direction"); d {
	case "", "desc":
		aq.descending = true
	case "asc":
	default:
		return aq, fmt.Errorf("invalid direction %q: want asc or desc", d)
	}
	for _, name := range []string{"since", "before"} {
		if q.Get(name) == "" {
			return aq, fmt.Errorf("%s is required", name)
		}
	}
	if aq.since, err = timeParam(q, "since"); err != nil {
		return aq, err
	}
	if aq.before, err = timeParam(q, "before"); err != nil {
		return aq, err
	}
	return aq, nil
}

// v2Cursor encodes a page and its size as an opaque cursor.
func v2Cursor(page, limit int) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "p%d.l%d", page, limit))
}

// v2CursorPage decodes the page of a cursor; 1 for none or an unreadable one.
func v2CursorPage(cursor string) int {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 1
	}
	head, _, _ := strings.Cut(strings.TrimPrefix(string(raw), "p"), ".")
	page, err := strconv.Atoi(head)
	if err != nil || page < 1 {
		return 1
	}
	return page
}

// v2PageInfo is v2's result_info; count is a string, as the docs show it.
type v2PageInfo struct {
	Count  string `json:"count"`
	Cursor string `json:"cursor,omitempty"`
}

type wireAuditLogV2 struct {
	ID       string           `json:"id,omitempty"` // empty only under FaultMissingID
	Account  wireV2Account    `json:"account"`
	Action   wireV2Action     `json:"action"`
	Actor    wireV2Actor      `json:"actor"`
	Raw      wireV2Raw        `json:"raw"`
	Resource wireV2Resource   `json:"resource"`
	Zone     wireV2NamedThing `json:"zone"`
}

type wireV2Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireV2Action struct {
	Description string `json:"description"`
	Result      string `json:"result"`
	Time        string `json:"time,omitempty"` // empty only under FaultMissingWhen
	Type        string `json:"type"`
}

type wireV2Actor struct {
	ID        string `json:"id"`
	Context   string `json:"context"`
	Email     string `json:"email"`
	IPAddress string `json:"ip_address"`
	TokenID   string `json:"token_id"`
	TokenName string `json:"token_name"`
	Type      string `json:"type"`
}

type wireV2Raw struct {
	CFRayID    string `json:"cf_ray_id"`
	Method     string `json:"method"`
	StatusCode int    `json:"status_code"`
	URI        string `json:"uri"`
	UserAgent  string `json:"user_agent"`
}

type wireV2Resource struct {
	ID       string         `json:"id"`
	Product  string         `json:"product"`
	Request  map[string]any `json:"request"`
	Response map[string]any `json:"response"`
	Scope    map[string]any `json:"scope"`
	Type     string         `json:"type"`
}

type wireV2NamedThing struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// V2ID is the id v2 gives the login that v1 lists as id: the two sources
// number their entries apart, as Cloudflare's do.
func V2ID(id string) string {
	sum := sha256.Sum256([]byte("v2:" + id))
	return hex.EncodeToString(sum[:16])
}

// v2Context maps v1's interface to v2's actor.context.
func v2Context(iface string) string {
	if iface == "API" {
		return "api_token"
	}
	return "dash"
}

func toWireAuditLogV2(accountID, accountName string, e LoginEvent) wireAuditLogV2 {
	result, status, description := "success", http.StatusOK, "Login"
	if !e.Success {
		result, status, description = "failure", http.StatusUnauthorized, "Login failed"
	}
	ray := sha256.Sum256([]byte(e.ID))
	return wireAuditLogV2{
		ID:      V2ID(e.ID),
		Account: wireV2Account{ID: accountID, Name: accountName},
		Action:  wireV2Action{Description: description, Result: result, Time: e.When.UTC().Format(time.RFC3339Nano), Type: "login"},
		Actor: wireV2Actor{ID: e.ActorID, Context: v2Context(e.Interface), Email: e.ActorEmail, IPAddress: e.ActorIP,
			Type: e.ActorType},
		Raw: wireV2Raw{CFRayID: hex.EncodeToString(ray[:8]), Method: http.MethodPost, StatusCode: status,
			URI: "/api/v4/login", UserAgent: e.UserAgent},
		Resource: wireV2Resource{ID: e.ActorID, Product: "login", Request: map[string]any{}, Response: map[string]any{},
			Scope: map[string]any{}, Type: "user"},
	}
}
