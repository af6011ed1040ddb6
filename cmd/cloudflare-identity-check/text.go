package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// text is the plain-text report.
func (r *report) text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Cloudflare identity receiver: preflight check")
	p("Window: %s to %s (%s)", stamp(r.Window.Since), stamp(r.Window.Before), r.Window.Before.Sub(r.Window.Since))
	p("")
	switch {
	case r.Token.Status == "refused" || r.Token.Status == "unknown":
		p("Token: %s (%s)", r.Token.Status, r.Token.Error)
	default:
		expiry := "no expiry"
		if r.Token.ExpiresOn != nil {
			expiry = "expires " + stamp(*r.Token.ExpiresOn)
		}
		p("Token: %s, %s, %s-owned", r.Token.Status, expiry, r.Token.Owner)
		if r.Token.Error != "" {
			p("  %s", r.Token.Error)
		}
	}
	userLog(p, &r.UserLog)
	p("")
	p("Accounts: %d readable", len(r.Accounts)+r.MoreAccounts)
	for _, a := range r.Accounts {
		p("- %s (%s)", a.Name, a.ID)
		switch {
		case a.Members.Count != nil:
			p("    members: %d", *a.Members.Count)
		case a.Members.MissingPermission != "":
			p("    members: not readable, missing permission %s (%s)", a.Members.MissingPermission, a.Members.Error)
		default:
			p("    members: not readable (%s)", a.Members.Error)
		}
		source(p, "    ", "logins, Audit Logs v1 (audit_logs)", &a.V1)
		source(p, "    ", "logins, Audit Logs v2 (audit_logs_v2)", &a.V2)
	}
	if r.MoreAccounts > 0 {
		p("- and %d more accounts, not examined", r.MoreAccounts)
	}
	p("")
	if len(r.RateLimit) == 0 {
		p("Rate limit headers of the last response: none")
	} else {
		p("Rate limit headers of the last response:")
		names := make([]string, 0, len(r.RateLimit))
		for name := range r.RateLimit {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p("  %s: %s", name, r.RateLimit[name])
		}
	}
	p("Requests sent: %d (at most %d)", r.Requests, maxRequests)
	p("")
	p("Recommendation:")
	for _, line := range r.Recommendation {
		p("  %s", line)
	}
	return b.String()
}

// userLog is the token owner's own logins and who the owner is.
func userLog(p func(string, ...any), u *userLogReport) {
	const name = "Token owner's own logins, user audit log (GET /user/audit_logs)"
	if u.NotApplicable != "" {
		p("%s: not applicable, %s", name, u.NotApplicable)
		return
	}
	source(p, "", name, &u.sourceReport)
	for _, owner := range u.Owner {
		who := owner.Email
		if owner.ID != "" {
			who = strings.TrimSpace(who + " (id " + owner.ID + ")")
		}
		p("  token owner: %s", who)
	}
}

// source is a login source, indented by indent.
func source(p func(string, ...any), indent, name string, s *sourceReport) {
	switch {
	case s.MissingPermission != "":
		p("%s%s: not readable, missing permission %s (%s)", indent, name, s.MissingPermission, s.Error)
		return
	case !s.Read:
		p("%s%s: not readable (%s)", indent, name, s.Error)
		return
	case s.total() == 0:
		p("%s%s: no logins", indent, name)
	default:
		p("%s%s: %d success, %d failure, first %s, last %s", indent, name, s.Success, s.Failure, stampOf(s.First), stampOf(s.Last))
	}
	if s.FilterRejected {
		p("%s  (the action_type=login filter was refused with a 400; every entry was read and filtered here)", indent)
	}
	if len(s.Actions) > 0 {
		p("%s  sign-in entries by action.type / action.description: %s", indent, strings.Join(s.Actions, ", "))
	}
	const others = "  logins of people other than the token owner:"
	switch {
	case s.Others == othersYes && s.OtherPeople > 0:
		p("%s%s yes, %d of the %d people logging in", indent, others, s.OtherPeople, s.People)
	case s.Others == othersYes:
		p("%s%s yes, %d people log in (the user audit log did not name the token owner)", indent, others, s.People)
	case s.Others == othersNo:
		p("%s%s no, only the token owner's", indent, others)
	case s.Others == othersUnknown:
		p("%s%s unknown, one person logs in and the user audit log did not name the token owner", indent, others)
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOf(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}
