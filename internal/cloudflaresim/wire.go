package cloudflaresim

import (
	"encoding/json"
	"net/http"
	"time"
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
