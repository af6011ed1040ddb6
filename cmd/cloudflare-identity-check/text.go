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
		source(p, "logins, Audit Logs v1 (audit_logs)", &a.V1)
		source(p, "logins, Audit Logs v2 (audit_logs_v2)", &a.V2)
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

func source(p func(string, ...any), name string, s *sourceReport) {
	switch {
	case s.MissingPermission != "":
		p("    %s: not readable, missing permission %s (%s)", name, s.MissingPermission, s.Error)
		return
	case !s.Read:
		p("    %s: not readable (%s)", name, s.Error)
		return
	case s.total() == 0:
		p("    %s: no logins", name)
	default:
		p("    %s: %d success, %d failure, first %s, last %s", name, s.Success, s.Failure, stampOf(s.First), stampOf(s.Last))
	}
	if s.FilterRejected {
		p("      (the action_type=login filter was refused with a 400; every entry was read and filtered here)")
	}
	if len(s.Actions) > 0 {
		p("      sign-in entries by action.type / action.description: %s", strings.Join(s.Actions, ", "))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOf(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}
