package cloudflaresim

import (
	"net/http"
	"net/url"
	"slices"
)

// EndpointUserAuditLogs is GET /user/audit_logs, the audit log of the user who
// owns the token.
const EndpointUserAuditLogs Endpoint = "user_audit_logs"

// TokenOwner is the user who owns a user token: the first accepted member, in
// the order accounts and members were added. ok is false for an
// account-owned token, which belongs to no user, and when no account has an
// accepted member.
func (s *Server) TokenOwner() (owner Member, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok = s.tokenOwnerLocked()
	owner.Roles = slices.Clone(owner.Roles)
	return owner, ok
}

func (s *Server) tokenOwnerLocked() (Member, bool) {
	if s.cfg.TokenKind != UserToken {
		return Member{}, false
	}
	for _, a := range s.accounts {
		for _, m := range a.members {
			if m.Status == "accepted" {
				return m, true
			}
		}
	}
	return Member{}, false
}

// listUserAuditLogs serves GET /user/audit_logs: the token owner's own
// logins, gathered from the logs of every account, with the query parameters
// and in the wire format of the account audit log (v1). As at
// /user/tokens/verify, Cloudflare refuses an account-owned token here.
func (s *Server) listUserAuditLogs(q url.Values) reply {
	if s.cfg.TokenKind != UserToken {
		return errInvalidToken
	}
	aq, actionType, err := parseAuditQuery(q, s.cfg.MaxPerPageAuditLogs)
	if err != nil {
		return apiError(http.StatusBadRequest, 1001, err.Error())
	}
	events, total, ownerID := s.userLoginPage(aq, actionType)
	items := make(auditLogPage, len(events))
	for i, e := range events {
		// A user's entries are owned by the user, as in Cloudflare's login example.
		items[i] = toWireAuditLog(ownerID, e)
	}
	return successEncoded(items.appendJSON(make([]byte, 0, 700*len(items)+2)),
		auditPageInfo{Page: aq.page, PerPage: aq.perPage, Count: len(items), TotalCount: total})
}

// userLoginPage selects one page of the token owner's visible logins. A login
// stored in several accounts' logs (the same id) is the owner's once.
func (s *Server) userLoginPage(aq auditQuery, actionType string) (events []LoginEvent, total int, ownerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.tokenOwnerLocked()
	if !ok || actionType != "" && actionType != "login" { // the simulator only records logins
		return nil, 0, owner.UserID
	}
	now := s.cfg.Now()
	if s.cfg.Retention > 0 && aq.since.Before(now.Add(-s.cfg.Retention)) {
		aq.since = now.Add(-s.cfg.Retention) // older entries have expired
	}
	var own loginLog
	seen := map[string]bool{}
	for _, a := range s.accounts {
		for _, e := range a.logins.events() {
			if e.ActorID == owner.UserID && !seen[e.ID] {
				seen[e.ID] = true
				own.insert(e, now)
			}
		}
	}
	events, total = own.query(aq, now)
	return events, total, owner.UserID
}
