package main

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// Whether a source shows logins of anyone but the token owner
// (sourceReport.Others).
const (
	othersYes     = "yes"
	othersNo      = "no"
	othersUnknown = "unknown" // one person logs in, and the user audit log did not name the token owner
)

// userLogReport is the token owner's own logins, from GET /user/audit_logs,
// and who the owner is according to them. Comparing the people in an
// account's log with the owner tells whether that log shows the logins of
// the account's other members.
type userLogReport struct {
	// NotApplicable says why the log was not read: an account-owned token
	// belongs to no user, and /user endpoints refuse it.
	NotApplicable string `json:"not_applicable,omitempty"`
	sourceReport
	Owner []identity `json:"owner,omitempty"`
}

// identity is who logged in, as an audit entry's actor names them.
type identity struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

// key names a person: by e-mail, which every login entry carries, else by
// id; "" when the entry names nobody.
func (i identity) key() string {
	if i.Email != "" {
		return "email:" + strings.ToLower(i.Email)
	}
	if i.ID != "" {
		return "id:" + i.ID
	}
	return ""
}

// same reports whether two identities are one person: the same id or the
// same e-mail.
func (i identity) same(o identity) bool {
	return i.ID != "" && i.ID == o.ID || i.Email != "" && strings.EqualFold(i.Email, o.Email)
}

// checkUserLog reads the token owner's logins in w, unless the token is
// account-owned.
func checkUserLog(ctx context.Context, logs cloudflare.UserLoginLister, token tokenReport, w window) userLogReport {
	if token.Owner == "account" {
		return userLogReport{NotApplicable: "the token is account-owned; /user endpoints refuse it"}
	}
	var rep userLogReport
	err := logs.ListUserLogins(ctx, cloudflare.RangeQuery{Since: w.Since, Before: w.Before, PageSize: pageSize},
		func(page []cloudflare.AuditEntry) error {
			for i := range page {
				if page[i].ActionType == "login" {
					rep.add(&page[i])
				}
			}
			return nil
		})
	rep.done(err)
	for _, key := range slices.Sorted(maps.Keys(rep.people)) {
		rep.Owner = append(rep.Owner, rep.people[key])
	}
	return rep
}

// ownerKnown reports whether the owner's identity is known: from their own
// logins, or as nobody when the token is account-owned (then every login
// is someone else's).
func (u *userLogReport) ownerKnown() bool { return u.NotApplicable != "" || len(u.Owner) > 0 }

func (u *userLogReport) isOwner(who identity) bool {
	for _, owner := range u.Owner {
		if owner.same(who) {
			return true
		}
	}
	return false
}

// judgeOthers says whether s, an account's login source, shows logins of
// anyone but the token owner. Without the owner's identity, two people
// logging in still mean someone else does.
func (u *userLogReport) judgeOthers(s *sourceReport) {
	s.People = len(s.people)
	switch {
	case s.People == 0:
		return
	case !u.ownerKnown():
		s.Others = othersUnknown
		if s.People > 1 {
			s.Others = othersYes
		}
		return
	}
	for _, who := range s.people {
		if !u.isOwner(who) {
			s.OtherPeople++
		}
	}
	s.Others = othersNo
	if s.OtherPeople > 0 {
		s.Others = othersYes
	}
}
