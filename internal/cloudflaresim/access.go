package cloudflaresim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file serves Zero Trust Access: the authentication log of an account's
// Access applications (GET /accounts/{id}/access/logs/access_requests) and
// its Access users (GET /accounts/{id}/access/users).

// Paging limits of the Access authentication log: limit defaults to 25
// (cloudflare-api.md §2.3); the simulator caps it at 1000.
const (
	defaultAccessLimit = 25
	maxAccessLimit     = 1000
)

// AccessRequest is one entry of an account's Access authentication log.
type AccessRequest struct {
	RayID      string    // 16 hex; not unique: a retried request repeats it
	CreatedAt  time.Time // stored in UTC; fractional seconds allowed
	Action     string    // "login" or "logout"
	Allowed    bool
	AppDomain  string
	AppUID     string // UUID
	Connection string // the identity provider: "google", "okta", "onetimepin", ...
	IPAddress  string
	UserEmail  string

	// VisibleAt delays the entry's appearance in the API; zero means immediately.
	VisibleAt time.Time
}

// AccessUser is a user of an account's Zero Trust organization.
type AccessUser struct {
	ID                  string // UUID
	Email               string
	Name                string
	AccessSeat          bool
	GatewaySeat         bool
	ActiveDeviceCount   int
	LastSuccessfulLogin time.Time // zero: never signed in (served as null)
	CreatedAt           time.Time
}

type accessApp struct{ uid, domain string }

// accessState is one account's Access data.
type accessState struct {
	apps     []accessApp
	requests []AccessRequest // ordered by (CreatedAt, insertion order)
	users    []AccessUser
}

// errAccessPermission is Cloudflare's answer to a token without the Access
// permission an endpoint needs.
var errAccessPermission = apiError(http.StatusForbidden, 10000, "Authentication error")

type wireAccessRequest struct {
	Action     string `json:"action"`
	Allowed    bool   `json:"allowed"`
	AppDomain  string `json:"app_domain"`
	AppUID     string `json:"app_uid"`
	Connection string `json:"connection"`
	CreatedAt  string `json:"created_at"`
	IPAddress  string `json:"ip_address"`
	RayID      string `json:"ray_id"`
	UserEmail  string `json:"user_email"`
}

type wireAccessUser struct {
	ID                  string  `json:"id"`
	AccessSeat          bool    `json:"access_seat"`
	ActiveDeviceCount   int     `json:"active_device_count"`
	CreatedAt           string  `json:"created_at"`
	Email               string  `json:"email"`
	GatewaySeat         bool    `json:"gateway_seat"`
	LastSuccessfulLogin *string `json:"last_successful_login"`
	Name                string  `json:"name"`
	SeatUID             string  `json:"seat_uid"`
	UID                 string  `json:"uid"`
	UpdatedAt           string  `json:"updated_at"`
}

func toWireAccessRequest(r AccessRequest) wireAccessRequest {
	return wireAccessRequest{Action: r.Action, Allowed: r.Allowed, AppDomain: r.AppDomain, AppUID: r.AppUID,
		Connection: r.Connection, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), IPAddress: r.IPAddress,
		RayID: r.RayID, UserEmail: r.UserEmail}
}

func toWireAccessUser(u AccessUser) wireAccessUser {
	w := wireAccessUser{ID: u.ID, AccessSeat: u.AccessSeat, ActiveDeviceCount: u.ActiveDeviceCount,
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339Nano), Email: u.Email, GatewaySeat: u.GatewaySeat, Name: u.Name,
		SeatUID: strings.ReplaceAll(u.ID, "-", ""), UID: u.ID, UpdatedAt: u.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !u.LastSuccessfulLogin.IsZero() {
		last := u.LastSuccessfulLogin.UTC().Format(time.RFC3339)
		w.LastSuccessfulLogin = &last
	}
	return w
}

// listAccessRequests serves the authentication log: since inclusive, until
// exclusive, ordered by direction, limit entries from page; a bare array
// without result_info, as Cloudflare answers.
func (s *Server) listAccessRequests(accountID string, q url.Values, fault *Fault) reply {
	if s.cfg.WithoutAccessPermissions {
		return errAccessPermission
	}
	since, err := timeParam(q, "since")
	if err != nil {
		return apiError(http.StatusBadRequest, 12130, err.Error())
	}
	until, err := timeParam(q, "until")
	if err != nil {
		return apiError(http.StatusBadRequest, 12130, err.Error())
	}
	limit := min(max(1, intParam(q, "limit", defaultAccessLimit)), maxAccessLimit)
	page := max(1, intParam(q, "page", 1))
	descending := q.Get("direction") != "asc"

	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return errNoAccess
	}
	now := s.cfg.Now()
	if s.cfg.Retention > 0 && since.Before(now.Add(-s.cfg.Retention)) {
		since = now.Add(-s.cfg.Retention)
	}
	if fault != nil && fault.Kind == FaultIgnorePaging {
		since, page = time.Time{}, 1
	}
	var matching []AccessRequest
	for _, r := range a.access.requests {
		if r.CreatedAt.Before(since) || (!until.IsZero() && !r.CreatedAt.Before(until)) || r.VisibleAt.After(now) {
			continue
		}
		matching = append(matching, r)
	}
	if descending {
		slices.Reverse(matching)
	}
	start, end := pageWindow(len(matching), page, limit)
	items := make([]wireAccessRequest, 0, end-start)
	if fault == nil || fault.Kind != FaultEmptyPage {
		for _, r := range matching[start:end] {
			items = append(items, toWireAccessRequest(r))
		}
	}
	return success(items, nil)
}

// listAccessUsers serves the Access users, page by page.
func (s *Server) listAccessUsers(accountID string, q url.Values) reply {
	if s.cfg.WithoutAccessPermissions {
		return errAccessPermission
	}
	defer s.listChanges.served(EndpointAccessUsers, accountID, q) // after the page was read, outside the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return errNoAccess
	}
	return listPage(q, a.access.users, toWireAccessUser)
}

// AccessRequests returns an account's Access authentication log in log
// order, including the entries not visible yet.
func (s *Server) AccessRequests(accountID string) []AccessRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		return slices.Clone(a.access.requests)
	}
	return nil
}

// AppendAccessRequest adds an entry to an account's Access authentication
// log, after every entry of the same or an earlier time.
func (s *Server) AppendAccessRequest(accountID string, r AccessRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.access.insert(r)
	}
}

// GenerateAccessRequests generates n Access requests by the account's Access
// users with CreatedAt in [from, to), adds them and returns them in time order.
func (s *Server) GenerateAccessRequests(accountID string, n int, from, to time.Time) []AccessRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil || n <= 0 || !to.After(from) {
		return nil
	}
	requests := s.gen.accessRequests(&a.access, n, from, to)
	for _, r := range requests {
		a.access.insert(r)
	}
	return requests
}

// AccessUsers returns an account's Access users in insertion order.
func (s *Server) AccessUsers(accountID string) []AccessUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		return slices.Clone(a.access.users)
	}
	return nil
}

// AddAccessUser appends an Access user to an account.
func (s *Server) AddAccessUser(accountID string, u AccessUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.access.users = append(a.access.users, u)
	}
}

// RemoveAccessUser deletes an Access user by its ID.
func (s *Server) RemoveAccessUser(accountID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.access.users = slices.DeleteFunc(a.access.users, func(u AccessUser) bool { return u.ID == id })
	}
}

// UpdateAccessUser applies update to a stored Access user, under the
// server's lock: update must not call back into the Server.
func (s *Server) UpdateAccessUser(accountID, id string, update func(*AccessUser)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		for i := range a.access.users {
			if a.access.users[i].ID == id {
				update(&a.access.users[i])
				return
			}
		}
	}
}

// NewAccessUser generates a fresh Access user without adding it anywhere.
func (s *Server) NewAccessUser() AccessUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen.accessUser(s.cfg.Now())
}

// insert places r after every entry with the same or an earlier CreatedAt.
func (st *accessState) insert(r AccessRequest) {
	i := sort.Search(len(st.requests), func(i int) bool { return st.requests[i].CreatedAt.After(r.CreatedAt) })
	st.requests = slices.Insert(st.requests, i, r)
}

// seedAccess gives an account its Access applications, users and
// authentication log.
func (s *Server) seedAccess(a *accountState, now time.Time) {
	if s.cfg.AccessUsersPerAccount == 0 && s.cfg.AccessRequestsPerAccount == 0 {
		return
	}
	a.access.apps = s.gen.accessApps(a.Name)
	for range s.cfg.AccessUsersPerAccount {
		a.access.users = append(a.access.users, s.gen.accessUser(now))
	}
	if n := s.cfg.AccessRequestsPerAccount; n > 0 {
		a.access.requests = s.gen.accessRequests(&a.access, n, now.Add(-s.cfg.LoginSpan), now)
	}
}

// addLiveAccess gives every account with Access applications one or two
// Access logins in [from, to); a user allowed in takes an Access seat and
// has signed in just now.
func (s *Server) addLiveAccess(from, to time.Time) []string {
	if !to.After(from) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var changes []string
	for _, a := range s.accounts {
		if len(a.access.apps) == 0 {
			continue
		}
		requests := s.gen.accessRequests(&a.access, 1+s.gen.rng.IntN(2), from, to)
		for _, r := range requests {
			a.access.insert(r)
			a.access.signedIn(r)
		}
		changes = append(changes, fmt.Sprintf("%s: %d new Access login(s)", a.Name, len(requests)))
	}
	return changes
}

// signedIn records an allowed request on its user.
func (st *accessState) signedIn(r AccessRequest) {
	if !r.Allowed {
		return
	}
	for i := range st.users {
		if st.users[i].Email == r.UserEmail {
			st.users[i].AccessSeat = true
			st.users[i].LastSuccessfulLogin = r.CreatedAt.Truncate(time.Second)
			return
		}
	}
}

func (g *generator) accessApps(accountName string) []accessApp {
	slug := strings.ToLower(strings.Join(strings.Fields(accountName), "-"))
	names := []string{"wiki", "grafana", "admin", "vpn"}
	apps := make([]accessApp, len(names))
	for i, uid := range g.uuids(len(names)) {
		apps[i] = accessApp{uid: uid, domain: names[i] + "." + slug + ".example.com"}
	}
	return apps
}

var identityProviders = []string{"google", "okta", "azureAD", "onetimepin"}

func (g *generator) accessUser(now time.Time) AccessUser {
	g.members++
	first, last := pick(g, firstNames), pick(g, lastNames)
	u := AccessUser{
		ID:          g.uuids(1)[0],
		Email:       fmt.Sprintf("%s.%s%d@example.org", strings.ToLower(first), strings.ToLower(last), g.members),
		Name:        first + " " + last,
		AccessSeat:  g.chance(0.8),
		GatewaySeat: g.chance(0.4),
		CreatedAt:   now.Add(-time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour)))).UTC().Truncate(time.Second),
	}
	if u.GatewaySeat {
		u.ActiveDeviceCount = 1 + g.rng.IntN(3)
	}
	if g.chance(0.85) { // some seats were never used, or not for months
		u.LastSuccessfulLogin = now.Add(-time.Duration(g.rng.Int64N(int64(120 * 24 * time.Hour)))).UTC().Truncate(time.Second)
	}
	return u
}

// accessRequests generates n requests by the account's users (or strangers,
// who are denied) to its applications, in time order.
func (g *generator) accessRequests(st *accessState, n int, from, to time.Time) []AccessRequest {
	if len(st.apps) == 0 {
		st.apps = g.accessApps("access")
	}
	requests := make([]AccessRequest, n)
	for i, when := range g.loginTimes(n, from, to) {
		app := pick(g, st.apps)
		email := fmt.Sprintf("visitor%d@example.net", g.rng.IntN(50))
		allowed := false
		if len(st.users) > 0 && g.chance(0.85) {
			email, allowed = pick(g, st.users).Email, !g.chance(g.failureRatio)
		}
		requests[i] = AccessRequest{
			RayID: fmt.Sprintf("%016x", g.rng.Uint64()), CreatedAt: when, Action: "login", Allowed: allowed,
			AppDomain: app.domain, AppUID: app.uid, Connection: pick(g, identityProviders),
			IPAddress: g.ip(), UserEmail: email,
		}
	}
	return requests
}
