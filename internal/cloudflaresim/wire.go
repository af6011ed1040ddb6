package cloudflaresim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/jsonappend"
)

// This file holds Cloudflare's v4 wire format: the response envelope and the
// JSON shape of every resource the simulator serves.

// reply is a finished answer that has not been written yet, so faults can
// still replace, cut or pad it.
type reply struct {
	status      int
	contentType string
	body        []byte
}

type envelope struct {
	Success    bool         `json:"success"`
	Errors     []wireError  `json:"errors"`
	Messages   []wireNotice `json:"messages"`
	Result     any          `json:"result"`
	ResultInfo any          `json:"result_info,omitempty"`
}

type wireError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type wireNotice struct {
	Code    int     `json:"code"`
	Message string  `json:"message"`
	Type    *string `json:"type"`
}

func jsonReply(status int, env envelope) reply {
	if env.Errors == nil {
		env.Errors = []wireError{}
	}
	if env.Messages == nil {
		env.Messages = []wireNotice{}
	}
	body, err := json.Marshal(env)
	if err != nil {
		panic(err) // only plain structs, slices and maps of them get here
	}
	return reply{status: status, contentType: "application/json", body: body}
}

func success(result, info any) reply {
	return jsonReply(http.StatusOK, envelope{Success: true, Result: result, ResultInfo: info})
}

// successEncoded is success for a result already encoded as JSON.
func successEncoded(result []byte, info any) reply {
	encodedInfo, err := json.Marshal(info)
	if err != nil {
		panic(err) // only plain structs get here
	}
	body := make([]byte, 0, len(result)+len(encodedInfo)+64)
	body = append(body, `{"success":true,"errors":[],"messages":[],"result":`...)
	body = append(body, result...)
	body = append(body, `,"result_info":`...)
	body = append(body, encodedInfo...)
	body = append(body, '}')
	return reply{status: http.StatusOK, contentType: "application/json", body: body}
}

func apiError(status, code int, message string) reply {
	return jsonReply(status, envelope{Errors: []wireError{{Code: code, Message: message}}})
}

// The errors Cloudflare answers most often.
var (
	errInvalidToken = apiError(http.StatusUnauthorized, 1000, "Invalid API Token")
	errNoAccess     = apiError(http.StatusForbidden, 9109, "Unauthorized to access requested resource")
	errNoRoute      = apiError(http.StatusNotFound, 7003, "No route for that URI")
	errMethod       = apiError(http.StatusMethodNotAllowed, 7001, "Method not allowed")
	errRateLimited  = apiError(http.StatusTooManyRequests, 971, "Please wait and consider throttling your request speed")
	errInternal     = apiError(http.StatusInternalServerError, 10002, "An unknown error has occurred")
	errClosed       = apiError(http.StatusServiceUnavailable, 10002, "The simulator is shutting down")
)

// pageInfo is result_info of page-numbered listings.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// auditPageInfo is result_info of audit log pages, which carry no page count.
type auditPageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
}

type wireAccount struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Type      string              `json:"type"`
	CreatedOn string              `json:"created_on"`
	Settings  wireAccountSettings `json:"settings"`
}

type wireAccountSettings struct {
	AbuseContactEmail *string `json:"abuse_contact_email"`
	EnforceTwoFactor  bool    `json:"enforce_twofactor"`
}

func toWireAccount(a *accountState) wireAccount {
	return wireAccount{ID: a.ID, Name: a.Name, Type: "standard", CreatedOn: a.createdOn.Format(time.RFC3339)}
}

type wireMember struct {
	ID       string     `json:"id"`
	Email    string     `json:"email"`
	Status   string     `json:"status"`
	User     wireUser   `json:"user"`
	Roles    []wireRole `json:"roles"`
	Policies []struct{} `json:"policies"`
}

type wireUser struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	TwoFactor bool   `json:"two_factor_authentication_enabled"`
}

type wireRole struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Permissions map[string]grant `json:"permissions"`
}

func toWireMember(m Member) wireMember {
	roles := make([]wireRole, len(m.Roles))
	for i, r := range m.Roles {
		perms := permissionsByRoleID[r.ID]
		if perms == nil {
			perms = map[string]grant{}
		}
		roles[i] = wireRole{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: perms}
	}
	return wireMember{
		ID:     m.ID,
		Email:  m.Email,
		Status: m.Status,
		User: wireUser{
			ID: m.UserID, FirstName: m.FirstName, LastName: m.LastName, Email: m.Email, TwoFactor: m.TwoFactor,
		},
		Roles:    roles,
		Policies: []struct{}{},
	}
}

type wireAuditLog struct {
	ID        string       `json:"id,omitempty"` // empty only under FaultMissingID
	Action    wireAction   `json:"action"`
	Actor     wireActor    `json:"actor"`
	Interface string       `json:"interface"`
	Metadata  wireMetadata `json:"metadata"`
	NewValue  string       `json:"newValue"`
	OldValue  string       `json:"oldValue"`
	Owner     wireOwner    `json:"owner"`
	Resource  wireResource `json:"resource"`
	When      string       `json:"when,omitempty"` // empty only under FaultMissingWhen
}

type wireAction struct {
	Type   string `json:"type"`
	Result bool   `json:"result"`
}

type wireActor struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	IP    string `json:"ip"`
	Type  string `json:"type"`
}

type wireMetadata struct {
	UserAgent string `json:"user_agent,omitempty"`
}

type wireOwner struct {
	ID string `json:"id"`
}

type wireResource struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// auditLogPage is a page of v1 audit log entries. It encodes itself, as
// encoding/json would from the field tags: the simulator stands in for
// Cloudflare's servers, and the time it spends encoding large pages with
// reflection would count against the receiver in benchmarks.
type auditLogPage []wireAuditLog

func (p auditLogPage) appendJSON(out []byte) []byte {
	out = append(out, '[')
	for i := range p {
		if i > 0 {
			out = append(out, ',')
		}
		out = p[i].appendJSON(out)
	}
	return append(out, ']')
}

func (w *wireAuditLog) appendJSON(out []byte) []byte {
	out = append(out, '{')
	if w.ID != "" {
		out = append(jsonappend.String(append(out, `"id":`...), w.ID), ',')
	}
	out = append(jsonappend.String(append(out, `"action":{"type":`...), w.Action.Type), `,"result":`...)
	out = strconv.AppendBool(out, w.Action.Result)
	out = jsonappend.String(append(out, `},"actor":{"id":`...), w.Actor.ID)
	out = jsonappend.String(append(out, `,"email":`...), w.Actor.Email)
	out = jsonappend.String(append(out, `,"ip":`...), w.Actor.IP)
	out = jsonappend.String(append(out, `,"type":`...), w.Actor.Type)
	out = jsonappend.String(append(out, `},"interface":`...), w.Interface)
	out = append(out, `,"metadata":{`...)
	if w.Metadata.UserAgent != "" {
		out = jsonappend.String(append(out, `"user_agent":`...), w.Metadata.UserAgent)
	}
	out = jsonappend.String(append(out, `},"newValue":`...), w.NewValue)
	out = jsonappend.String(append(out, `,"oldValue":`...), w.OldValue)
	out = jsonappend.String(append(out, `,"owner":{"id":`...), w.Owner.ID)
	out = jsonappend.String(append(out, `},"resource":{"id":`...), w.Resource.ID)
	out = jsonappend.String(append(out, `,"type":`...), w.Resource.Type)
	out = append(out, '}')
	if w.When != "" {
		out = jsonappend.String(append(out, `,"when":`...), w.When)
	}
	return append(out, '}')
}

func toWireAuditLog(accountID string, e LoginEvent) wireAuditLog {
	return wireAuditLog{
		ID:        e.ID,
		Action:    wireAction{Type: "login", Result: e.Success},
		Actor:     wireActor{ID: e.ActorID, Email: e.ActorEmail, IP: e.ActorIP, Type: e.ActorType},
		Interface: e.Interface,
		Metadata:  wireMetadata{UserAgent: e.UserAgent},
		Owner:     wireOwner{ID: accountID},
		Resource:  wireResource{ID: accountID, Type: "account"},
		When:      e.When.UTC().Format(time.RFC3339Nano),
	}
}

type wireToken struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	NotBefore string `json:"not_before"`
	ExpiresOn string `json:"expires_on"`
}
