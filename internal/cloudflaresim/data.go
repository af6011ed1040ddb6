package cloudflaresim

import (
	"slices"
	"time"
)

// Account is an account the token can reach.
type Account struct {
	ID   string // 32 lowercase hex
	Name string
}

// Member is an account membership together with its user.
type Member struct {
	ID     string // membership id, 32 hex
	Email  string
	Status string // "accepted" or "pending"

	UserID    string // user.id, 32 hex
	FirstName string
	LastName  string
	TwoFactor bool

	Roles []Role
}

// Role is an account role granted to a member.
type Role struct {
	ID, Name, Description string
}

// LoginEvent is one login entry of an account's audit log.
type LoginEvent struct {
	ID      string    // UUID v4
	When    time.Time // stored in UTC; fractional seconds allowed
	Success bool

	ActorID, ActorEmail, ActorIP, ActorType string // ActorType is "user"

	Interface string // "UI", "API" or ""
	UserAgent string // returned as metadata.user_agent when set

	// VisibleAt delays the entry's appearance in the API, like Cloudflare's
	// ingestion lag; zero means immediately.
	VisibleAt time.Time
}

type accountState struct {
	Account
	createdOn time.Time
	members   []Member
	logins    loginLog
	access    accessState
}

// Accounts returns the accounts in the order they were added.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, len(s.accounts))
	for i, a := range s.accounts {
		out[i] = a.Account
	}
	return out
}

// AddAccount adds an account, or renames it if its ID is already present.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing := s.byID[a.ID]; existing != nil {
		existing.Name = a.Name
		return
	}
	s.addAccountLocked(a, s.cfg.Now().UTC().Truncate(time.Second))
}

func (s *Server) addAccountLocked(a Account, createdOn time.Time) *accountState {
	st := &accountState{Account: a, createdOn: createdOn}
	s.accounts = append(s.accounts, st)
	s.byID[a.ID] = st
	return st
}

// RemoveAccount drops an account with its data: it is no longer listed and its
// paths answer 403, as when the token loses access.
func (s *Server) RemoveAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
	s.accounts = slices.DeleteFunc(s.accounts, func(a *accountState) bool { return a.ID == id })
}

// Members returns an account's members in insertion order.
func (s *Server) Members(accountID string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return nil
	}
	return cloneMembers(a.members)
}

// AddMember appends a member to an account; unknown accounts are ignored.
func (s *Server) AddMember(accountID string, m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		m.Roles = slices.Clone(m.Roles)
		a.members = append(a.members, m)
	}
}

// RemoveMember deletes a membership by its ID.
func (s *Server) RemoveMember(accountID, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.members = slices.DeleteFunc(a.members, func(m Member) bool { return m.ID == memberID })
	}
}

// UpdateMember applies update to a stored member. update runs under the
// server's lock, so it must not call back into the Server.
func (s *Server) UpdateMember(accountID, memberID string, update func(*Member)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return
	}
	for i := range a.members {
		if a.members[i].ID == memberID {
			update(&a.members[i])
			return
		}
	}
}

// AppendLogin adds a login entry, keeping the log ordered by (When, insertion
// order); unknown accounts are ignored.
func (s *Server) AppendLogin(accountID string, e LoginEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.logins.insert(e, s.cfg.Now())
	}
}

// Logins returns all of an account's login entries in log order, including
// the ones not visible yet.
func (s *Server) Logins(accountID string) []LoginEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return nil
	}
	return a.logins.events()
}

// GenerateLogins generates n login entries with When in [from, to), adds them
// to the account and returns them in time order. It returns nil for an unknown
// account or an empty range. The output is deterministic for a given Seed and
// sequence of calls.
func (s *Server) GenerateLogins(accountID string, n int, from, to time.Time) []LoginEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil || n <= 0 || !to.After(from) {
		return nil
	}
	events := s.gen.logins(a.members, n, from, to)
	a.logins.merge(events)
	return events
}

// NewMember generates a fresh member without adding it anywhere.
func (s *Server) NewMember() Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen.member()
}

// seed fills a new server with cfg.Accounts generated accounts.
func (s *Server) seed(now time.Time) {
	for i := 1; i <= s.cfg.Accounts; i++ {
		a := s.addAccountLocked(s.gen.account(i), s.gen.createdOn(now))
		for range s.cfg.MembersPerAccount {
			a.members = append(a.members, s.gen.member())
		}
		if n := s.cfg.LoginsPerAccount; n > 0 {
			a.logins.merge(s.gen.logins(a.members, n, now.Add(-s.cfg.LoginSpan), now))
		}
		s.seedAccess(a, now)
	}
}

func cloneMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}
