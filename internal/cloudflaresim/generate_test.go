package cloudflaresim

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	hexIDPattern  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidV4Pattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	emailPattern  = regexp.MustCompile(`^[a-z]+\.[a-z]+[0-9]+@example\.com$`)
)

func seededConfig(seed int64) Config {
	return Config{Seed: seed, Accounts: 3, MembersPerAccount: 20, LoginsPerAccount: 2000, Now: NewManualClock(testStart).Now}
}

func TestSeedingIsDeterministic(t *testing.T) {
	a, b, other := New(seededConfig(7)), New(seededConfig(7)), New(seededConfig(8))
	require.Equal(t, a.Accounts(), b.Accounts())
	assert.NotEqual(t, a.Accounts(), other.Accounts())
	for _, acct := range a.Accounts() {
		assert.Equal(t, a.Members(acct.ID), b.Members(acct.ID))
		assert.Equal(t, a.Logins(acct.ID), b.Logins(acct.ID))
	}
	assert.Equal(t, a.NewMember(), b.NewMember())
}

func TestSeededAccountsAndMembers(t *testing.T) {
	s := New(seededConfig(1))
	accts := s.Accounts()
	require.Len(t, accts, 3)
	var accepted, twoFactor, total int
	emails := map[string]bool{}
	for i, a := range accts {
		assert.Regexp(t, hexIDPattern, a.ID)
		assert.Equal(t, fmt.Sprintf("Acme Corp %d", i+1), a.Name)
		members := s.Members(a.ID)
		require.Len(t, members, 20)
		for _, m := range members {
			total++
			assert.Regexp(t, hexIDPattern, m.ID)
			assert.Regexp(t, hexIDPattern, m.UserID)
			assert.Regexp(t, emailPattern, m.Email)
			assert.False(t, emails[m.Email], "unique e-mail %s", m.Email)
			emails[m.Email] = true
			assert.Contains(t, []string{"accepted", "pending"}, m.Status)
			assert.NotEmpty(t, m.Roles)
			for _, r := range m.Roles {
				assert.Regexp(t, hexIDPattern, r.ID)
				assert.NotEmpty(t, permissionsByRoleID[r.ID], r.Name)
			}
			if m.Status == "accepted" {
				accepted++
			}
			if m.TwoFactor {
				twoFactor++
			}
		}
	}
	assert.InDelta(t, 0.85, float64(accepted)/float64(total), 0.12)
	assert.InDelta(t, 0.7, float64(twoFactor)/float64(total), 0.15)
}

func TestSeededLogins(t *testing.T) {
	cfg := seededConfig(2)
	s := New(cfg)
	now := cfg.Now()
	for _, acct := range s.Accounts() {
		members := map[string]Member{}
		for _, m := range s.Members(acct.ID) {
			members[m.Email] = m
		}
		logins := s.Logins(acct.ID)
		require.Len(t, logins, cfg.LoginsPerAccount)
		assert.True(t, slices.IsSortedFunc(logins, func(a, b LoginEvent) int { return a.When.Compare(b.When) }))

		var failures, strangers, sharedInstants, fractional, ipv6 int
		interfaces := map[string]int{}
		for i, e := range logins {
			assert.Regexp(t, uuidV4Pattern, e.ID)
			assert.Equal(t, "user", e.ActorType)
			assert.Equal(t, time.UTC, e.When.Location())
			assert.False(t, e.When.Before(now.Add(-24*time.Hour)))
			assert.True(t, e.When.Before(now))
			assert.True(t, e.VisibleAt.IsZero())
			ip, err := netip.ParseAddr(e.ActorIP)
			require.NoError(t, err)
			if ip.Is6() {
				ipv6++
			}
			interfaces[e.Interface]++
			assert.Equal(t, e.Interface == "UI", e.UserAgent != "", "user agents come with dashboard logins")
			if e.When.Nanosecond() != 0 {
				fractional++
			}
			if i > 0 && e.When.Equal(logins[i-1].When) {
				sharedInstants++
			}
			m, isMember := members[e.ActorEmail]
			if isMember {
				assert.Equal(t, m.UserID, e.ActorID)
				assert.Equal(t, "accepted", m.Status)
			} else {
				strangers++
				assert.False(t, e.Success, "only members log in successfully")
			}
			if !e.Success {
				failures++
			}
		}
		assert.InDelta(t, 0.1, float64(failures)/float64(len(logins)), 0.04)
		assert.Positive(t, strangers)
		assert.Greater(t, sharedInstants, 20)
		assert.Greater(t, fractional, len(logins)/2)
		assert.Positive(t, ipv6)
		assert.Positive(t, interfaces["UI"])
		assert.Positive(t, interfaces["API"])
		assert.Positive(t, interfaces[""])
	}
}

func TestFailureRatioOptions(t *testing.T) {
	for _, tt := range []struct {
		ratio    float64
		wantFail bool
	}{{ratio: -1, wantFail: false}, {ratio: 1, wantFail: true}} {
		s := New(Config{Accounts: 1, MembersPerAccount: 5, LoginsPerAccount: 200, FailureRatio: tt.ratio})
		for _, e := range s.Logins(s.Accounts()[0].ID) {
			require.Equal(t, tt.wantFail, !e.Success)
		}
	}
}

func TestLoginOrderKeepsInsertionOrderForTies(t *testing.T) {
	s := New(Config{Accounts: 1, MembersPerAccount: 3})
	acct := s.Accounts()[0].ID
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

	s.AppendLogin(acct, LoginEvent{ID: "late", When: base.Add(time.Hour)})
	s.AppendLogin(acct, LoginEvent{ID: "first", When: base})
	s.AppendLogin(acct, LoginEvent{ID: "second", When: base.In(time.FixedZone("CET", 3600))})
	generated := s.GenerateLogins(acct, 50, base, base.Add(2*time.Hour))
	require.Len(t, generated, 50)
	assert.Nil(t, s.GenerateLogins("unknown", 5, base, base.Add(time.Hour)))
	assert.Nil(t, s.GenerateLogins(acct, 5, base, base))

	logins := s.Logins(acct)
	require.Len(t, logins, 53)
	assert.True(t, slices.IsSortedFunc(logins, func(a, b LoginEvent) int { return a.When.Compare(b.When) }))
	var order []string
	for _, e := range logins {
		if e.When.Equal(base) {
			order = append(order, e.ID)
		}
	}
	assert.Equal(t, []string{"first", "second"}, order[:2], "ties keep insertion order, generated ones come after")
	assert.Equal(t, time.UTC, logins[slices.IndexFunc(logins, func(e LoginEvent) bool { return e.ID == "second" })].When.Location())
}
