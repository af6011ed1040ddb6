package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// runJSON runs the check against sim with -json and decodes the report.
func runJSON(t *testing.T, sim *cloudflaresim.Server) report {
	t.Helper()
	stdout, stderr, code := runCheck(t, sim, simtest.Token, "-json")
	require.Equal(t, 0, code, stderr)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	return rep
}

// TestCheckCountsTheTokenOwnersLogins: a user token's owner's own logins are
// counted from GET /user/audit_logs, in the window only, and the owner named
// from them; an account-owned token is not sent there and reads "not
// applicable", not an error.
func TestCheckCountsTheTokenOwnersLogins(t *testing.T) {
	t.Run("user token", func(t *testing.T) {
		sim := startSim(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 60, LoginSpan: 20 * time.Hour})
		owner, ok := sim.TokenOwner()
		require.True(t, ok)
		acct := sim.Accounts()[1].ID
		// Outside the window, and one failure, in the account the owner was not seeded in.
		sim.AppendLogin(acct, cloudflaresim.LoginEvent{ID: "too-old", When: checkTime.Add(-25 * time.Hour), Success: true, ActorID: owner.UserID, ActorEmail: owner.Email, ActorType: "user"})
		sim.AppendLogin(acct, cloudflaresim.LoginEvent{ID: "failed", When: checkTime.Add(-time.Hour), ActorID: owner.UserID, ActorEmail: owner.Email, ActorType: "user"})
		var success, failure int
		for _, a := range sim.Accounts() {
			for _, e := range sim.Logins(a.ID) {
				switch {
				case e.ActorID != owner.UserID || e.When.Before(checkTime.Add(-24*time.Hour)):
				case e.Success:
					success++
				default:
					failure++
				}
			}
		}
		require.Positive(t, success)

		rep := runJSON(t, sim)
		assert.Empty(t, rep.UserLog.NotApplicable)
		assert.True(t, rep.UserLog.Read, rep.UserLog.Error)
		assert.Equal(t, success, rep.UserLog.Success)
		assert.Equal(t, failure, rep.UserLog.Failure)
		assert.Equal(t, []identity{{ID: owner.UserID, Email: owner.Email}}, rep.UserLog.Owner)
		assert.Equal(t, 1, sim.Stats().Requests[cloudflaresim.EndpointUserAuditLogs])
	})
	t.Run("account-owned token", func(t *testing.T) {
		cfg := cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 20, TokenKind: cloudflaresim.AccountToken}
		sim := startSim(t, cfg)
		rep := runJSON(t, sim)
		assert.Equal(t, "the token is account-owned; /user endpoints refuse it", rep.UserLog.NotApplicable)
		assert.Empty(t, rep.UserLog.Error)
		assert.Zero(t, sim.Stats().Requests[cloudflaresim.EndpointUserAuditLogs])
		// A simulator of its own: the limiter would pace a second run by the first one's requests.
		stdout, _, code := runCheck(t, startSim(t, cfg), simtest.Token)
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "Token owner's own logins, user audit log (GET /user/audit_logs): not applicable, the token is account-owned")
	})
}

// userLogins is a user audit log of fixed entries.
type userLogins []cloudflare.AuditEntry

func (l userLogins) ListUserLogins(_ context.Context, _ cloudflare.RangeQuery, fn func(page []cloudflare.AuditEntry) error) error {
	return fn(l)
}

// TestCheckUserLogCountsLoginsOnly: should Cloudflare ignore the login
// filter, another entry of the user's log (one made by someone else, such as
// an invitation) neither counts as a login nor names the token owner.
func TestCheckUserLogCountsLoginsOnly(t *testing.T) {
	log := userLogins{
		{ID: "1", ActionType: "login", Success: true, ActorID: "u1", ActorEmail: "owner@example.com"},
		{ID: "2", ActionType: "add_member", Success: true, ActorID: "u2", ActorEmail: "admin@example.com"},
	}
	rep := checkUserLog(context.Background(), log, tokenReport{Status: "active", Owner: "user"}, window{})
	assert.Equal(t, 1, rep.Success)
	assert.Equal(t, []identity{{ID: "u1", Email: "owner@example.com"}}, rep.Owner)
}

// people are the distinct people (by e-mail) logging in to an account, and
// how many of them are not the token owner.
func people(sim *cloudflaresim.Server, accountID, ownerEmail string) (all, others int) {
	seen := map[string]bool{}
	for _, e := range sim.Logins(accountID) {
		if e.ActorEmail != "" && !seen[e.ActorEmail] {
			seen[e.ActorEmail] = true
			if e.ActorEmail != ownerEmail {
				others++
			}
		}
	}
	return len(seen), others
}

// TestCheckTellsWhetherOthersLogIn: each account source says whether it
// shows logins of people other than the token owner: yes with another
// member logging in, no when only the owner does; with an account-owned
// token every login is someone else's; without the owner's identity (the
// user audit log refused) two people still mean yes, one is unknown.
func TestCheckTellsWhetherOthersLogIn(t *testing.T) {
	forbidUserLog := func(sim *cloudflaresim.Server) {
		sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointUserAuditLogs, Count: -1})
	}
	several := cloudflaresim.Config{Accounts: 1, MembersPerAccount: 4, LoginsPerAccount: 40, LoginSpan: 20 * time.Hour}
	onlyOne := cloudflaresim.Config{Accounts: 1, MembersPerAccount: 1, LoginsPerAccount: 10, LoginSpan: 20 * time.Hour, FailureRatio: -1}
	accountOwned := several
	accountOwned.TokenKind = cloudflaresim.AccountToken
	tests := []struct {
		name       string
		cfg        cloudflaresim.Config
		setup      func(sim *cloudflaresim.Server)
		want       string
		wantOthers func(all, others int) int // other_people expected
		wantText   string
	}{
		{name: "other members log in", cfg: several, want: othersYes,
			wantOthers: func(_, others int) int { return others }, wantText: "logins of people other than the token owner: yes, "},
		{name: "only the owner logs in", cfg: onlyOne, want: othersNo,
			wantOthers: func(int, int) int { return 0 }, wantText: "logins of people other than the token owner: no, only the token owner's"},
		{name: "account-owned token", cfg: accountOwned, want: othersYes,
			wantOthers: func(all, _ int) int { return all }, wantText: "logins of people other than the token owner: yes, "},
		{name: "owner unknown, several people", cfg: several, setup: forbidUserLog, want: othersYes,
			wantOthers: func(int, int) int { return 0 }, wantText: "people log in (the user audit log did not name the token owner)"},
		{name: "owner unknown, one person", cfg: onlyOne, setup: forbidUserLog, want: othersUnknown,
			wantOthers: func(int, int) int { return 0 }, wantText: "logins of people other than the token owner: unknown, one person logs in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := func() *cloudflaresim.Server {
				sim := startSim(t, tt.cfg)
				if tt.setup != nil {
					tt.setup(sim)
				}
				return sim
			}
			sim := start()
			owner, _ := sim.TokenOwner()
			acct := sim.Accounts()[0].ID
			all, others := people(sim, acct, owner.Email)
			require.Positive(t, all)

			rep := runJSON(t, sim)
			require.Len(t, rep.Accounts, 1)
			for _, s := range []sourceReport{rep.Accounts[0].V1, rep.Accounts[0].V2} {
				assert.Equal(t, tt.want, s.Others)
				assert.Equal(t, all, s.People)
				assert.Equal(t, tt.wantOthers(all, others), s.OtherPeople)
			}
			// The same data on a simulator of its own: the limiter would pace a
			// second run by the first one's requests.
			stdout, _, _ := runCheck(t, start(), simtest.Token)
			assert.Equal(t, 2, strings.Count(stdout, tt.wantText), stdout)
		})
	}
}

// TestJudgeOthers: a person is one e-mail in any case, else one id; they
// are the token owner by the same id or the same e-mail in any case; a login
// naming nobody counts no one.
func TestJudgeOthers(t *testing.T) {
	owner := userLogReport{Owner: []identity{{ID: "u1", Email: "Owner@Example.com"}}}
	tests := []struct {
		name           string
		logins         []identity
		want           string
		people, others int
	}{
		{name: "same e-mail in another case", logins: []identity{{ID: "u1", Email: "owner@example.com"}}, want: othersNo, people: 1},
		{name: "same id, no e-mail", logins: []identity{{ID: "u1"}}, want: othersNo, people: 1},
		{name: "same e-mail, no id", logins: []identity{{Email: "OWNER@example.com"}}, want: othersNo, people: 1},
		{name: "another person", logins: []identity{{ID: "u1", Email: "owner@example.com"}, {ID: "u2", Email: "b@example.com"}}, want: othersYes, people: 2, others: 1},
		{name: "another person twice, e-mail in two cases", logins: []identity{{ID: "u2", Email: "b@example.com"}, {ID: "u2", Email: "B@Example.com"}}, want: othersYes, people: 1, others: 1},
		{name: "another e-mail without id", logins: []identity{{Email: "stranger@example.net"}}, want: othersYes, people: 1, others: 1},
		{name: "nobody named", logins: []identity{{}}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sourceReport
			for _, who := range tt.logins {
				s.add(&cloudflare.AuditEntry{ActionType: "login", Success: true, ActorID: who.ID, ActorEmail: who.Email})
			}
			owner.judgeOthers(&s)
			assert.Equal(t, tt.want, s.Others)
			assert.Equal(t, tt.people, s.People)
			assert.Equal(t, tt.others, s.OtherPeople)
		})
	}
}
