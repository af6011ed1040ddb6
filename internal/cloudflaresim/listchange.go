package cloudflaresim

import (
	"net/url"
	"slices"
	"sync"
)

// This file changes an account's members or Access users while a client
// pages through them. Both come in offset pages, which shift when the list
// changes between two page requests: the change lands where a client reading
// the list page by page can tear it.

// ChangeListAfterPage runs change once, when page number page of an
// account's members (EndpointMembers) or Access users (EndpointAccessUsers)
// has been read and before it is sent: the client's next request finds the
// list changed, as when an admin edits it between two page requests.
// Changes queued for the same page run on its successive reads, one each, in
// the order queued. change runs outside the server's lock, so it may call
// the Server's methods (InsertMember, RemoveAccessUser, ...).
func (s *Server) ChangeListAfterPage(endpoint Endpoint, accountID string, page int, change func()) {
	s.listChanges.mu.Lock()
	defer s.listChanges.mu.Unlock()
	s.listChanges.queued = append(s.listChanges.queued, listChange{endpoint: endpoint, accountID: accountID, page: page, change: change})
}

// listChanges holds the changes ChangeListAfterPage queued; it guards itself.
type listChanges struct {
	mu     sync.Mutex
	queued []listChange
}

type listChange struct {
	endpoint  Endpoint
	accountID string
	page      int
	change    func()
}

// served runs the first change queued for the page q asked of the list at
// endpoint of accountID, if any. The list handlers defer it before taking
// the server's lock, so it runs once the page was read, outside the lock.
func (c *listChanges) served(endpoint Endpoint, accountID string, q url.Values) {
	page, _ := listPaging(q)
	c.mu.Lock()
	i := slices.IndexFunc(c.queued, func(l listChange) bool {
		return l.endpoint == endpoint && l.accountID == accountID && l.page == page
	})
	var change func()
	if i >= 0 {
		change = c.queued[i].change
		c.queued = slices.Delete(c.queued, i, i+1)
	}
	c.mu.Unlock()
	if change != nil {
		change()
	}
}

// InsertMember puts a member at index (clamped to the list) of an account's
// members, where a list ordered by anything but joining time may place a new
// one; unknown accounts are ignored.
func (s *Server) InsertMember(accountID string, index int, m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		m.Roles = slices.Clone(m.Roles)
		a.members = slices.Insert(a.members, min(max(index, 0), len(a.members)), m)
	}
}

// InsertAccessUser puts an Access user at index (clamped to the list) of an
// account's Access users; unknown accounts are ignored.
func (s *Server) InsertAccessUser(accountID string, index int, u AccessUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.access.users = slices.Insert(a.access.users, min(max(index, 0), len(a.access.users)), u)
	}
}
