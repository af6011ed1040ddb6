package cloudflaresim

import (
	"net/http"
	"strconv"
	"strings"
)

// Endpoint names an API operation, for faults and statistics.
type Endpoint string

// The endpoints the simulator serves.
const (
	EndpointAccounts           Endpoint = "accounts"
	EndpointMembers            Endpoint = "members"
	EndpointAuditLogs          Endpoint = "audit_logs"
	EndpointAuditLogsV2        Endpoint = "audit_logs_v2"
	EndpointUserTokenVerify    Endpoint = "user_tokens_verify"
	EndpointAccountTokenVerify Endpoint = "account_tokens_verify"
	EndpointAccessRequests     Endpoint = "access_requests"
	EndpointAccessUsers        Endpoint = "access_users"
)

// route is a parsed API path.
type route struct {
	endpoint  Endpoint
	accountID string // "" for paths outside /accounts/{id}
}

// accountIDSegment marks the path segment holding the account ID.
const accountIDSegment = "{account_id}"

var routes = []struct {
	segments []string
	endpoint Endpoint
}{
	{[]string{"accounts"}, EndpointAccounts},
	{[]string{"accounts", accountIDSegment, "members"}, EndpointMembers},
	{[]string{"accounts", accountIDSegment, "audit_logs"}, EndpointAuditLogs},
	{[]string{"accounts", accountIDSegment, "logs", "audit"}, EndpointAuditLogsV2},
	{[]string{"accounts", accountIDSegment, "tokens", "verify"}, EndpointAccountTokenVerify},
	{[]string{"user", "tokens", "verify"}, EndpointUserTokenVerify},
	{[]string{"user", "audit_logs"}, EndpointUserAuditLogs},
	{[]string{"accounts", accountIDSegment, "access", "logs", "access_requests"}, EndpointAccessRequests},
	{[]string{"accounts", accountIDSegment, "access", "users"}, EndpointAccessUsers},
}

func parseRoute(path string) (route, bool) {
	rest, ok := strings.CutPrefix(path, apiPrefix+"/")
	if !ok {
		return route{}, false
	}
	segments := strings.Split(rest, "/")
	for _, candidate := range routes {
		if accountID, ok := matchSegments(candidate.segments, segments); ok {
			return route{endpoint: candidate.endpoint, accountID: accountID}, true
		}
	}
	return route{}, false
}

func matchSegments(pattern, segments []string) (accountID string, ok bool) {
	if len(pattern) != len(segments) {
		return "", false
	}
	for i, want := range pattern {
		switch {
		case want == accountIDSegment && segments[i] != "":
			accountID = segments[i]
		case want != segments[i]:
			return "", false
		}
	}
	return accountID, true
}

// serveHTTP runs every request through the same steps as Cloudflare's edge:
// routing, authentication, rate limiting, then the endpoint, with an injected
// fault taking over where it applies.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.life.enter() {
		s.send(w, errClosed)
		return
	}
	defer s.life.leave()

	now := s.cfg.Now()
	rt, known := parseRoute(r.URL.Path)
	s.stats.received(rt.endpoint, now)
	switch {
	case !known:
		s.send(w, errNoRoute)
		return
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		s.send(w, errMethod)
		return
	}

	token, valid := s.bearerToken(r)
	if !valid {
		s.send(w, errInvalidToken)
		return
	}
	verdict := s.limiter.admit(token, now)
	verdict.writeHeaders(w.Header())
	if !verdict.allowed {
		s.send(w, errRateLimited)
		return
	}

	q := r.URL.Query()
	page := intParam(q, "page", 1)
	if rt.endpoint == EndpointAuditLogsV2 {
		page = v2CursorPage(q.Get("cursor"))
	}
	fault := s.faults.take(rt, page)
	if fault != nil && s.preempt(w, r, *fault) {
		return
	}

	var rep reply
	switch rt.endpoint {
	case EndpointAccounts:
		rep = s.listAccounts(q)
	case EndpointMembers:
		rep = s.listMembers(rt.accountID, q)
	case EndpointAuditLogs:
		rep = s.listAuditLogs(rt.accountID, q, fault)
	case EndpointAuditLogsV2:
		rep = s.listAuditLogsV2(rt.accountID, q, fault)
	case EndpointAccessRequests:
		rep = s.listAccessRequests(rt.accountID, q, fault)
	case EndpointAccessUsers:
		rep = s.listAccessUsers(rt.accountID, q)
	case EndpointUserAuditLogs:
		rep = s.listUserAuditLogs(q)
	default:
		rep = s.verifyToken(rt)
	}
	s.deliver(w, rep, fault)
}

// send writes a reply and counts the rejections it represents.
func (s *Server) send(w http.ResponseWriter, rep reply) {
	s.stats.answered(rep.status)
	h := w.Header()
	h.Set("Content-Type", rep.contentType)
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}
