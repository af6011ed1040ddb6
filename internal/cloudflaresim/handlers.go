package cloudflaresim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Paging limits of /accounts and /accounts/{id}/members.
const (
	defaultPerPage = 20
	minPerPage     = 5
	maxPerPage     = 50

	defaultAuditPerPage = 100
)

func (s *Server) listAccounts(q url.Values) reply {
	page, perPage := listPaging(q)
	s.mu.Lock()
	defer s.mu.Unlock()
	total := len(s.accounts)
	start, end := pageWindow(total, page, perPage)
	items := make([]wireAccount, 0, end-start)
	for _, a := range s.accounts[start:end] {
		items = append(items, toWireAccount(a))
	}
	return success(items, listInfo(page, perPage, len(items), total))
}

func (s *Server) listMembers(accountID string, q url.Values) reply {
	defer s.listChanges.served(EndpointMembers, accountID, q) // after the page was read, outside the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return errNoAccess
	}
	return listPage(q, a.members, toWireMember)
}

// listPage answers one page of a page-numbered account listing in its wire format.
func listPage[T, W any](q url.Values, all []T, toWire func(T) W) reply {
	page, perPage := listPaging(q)
	total := len(all)
	start, end := pageWindow(total, page, perPage)
	items := make([]W, 0, end-start)
	for _, item := range all[start:end] {
		items = append(items, toWire(item))
	}
	return success(items, listInfo(page, perPage, len(items), total))
}

// listAuditLogs serves GET /accounts/{id}/audit_logs for login entries. The
// page is copied under the lock and encoded outside it.
func (s *Server) listAuditLogs(accountID string, q url.Values, fault *Fault) reply {
	aq, actionType, err := parseAuditQuery(q, s.cfg.MaxPerPageAuditLogs)
	if err != nil {
		return apiError(http.StatusBadRequest, 1001, err.Error())
	}
	events, total, found := s.loginPage(accountID, aq, actionType, fault)
	if !found {
		return errNoAccess
	}
	items := make(auditLogPage, len(events))
	for i, e := range events {
		items[i] = toWireAuditLog(accountID, e)
		if fault != nil && fault.Kind == FaultMissingID {
			items[i].ID = ""
		}
	}
	if fault != nil && fault.Kind == FaultMissingWhen {
		for i := range items {
			if fault.EntryID == "" && i == 0 || items[i].ID == fault.EntryID {
				items[i].When = ""
			}
		}
	}
	return successEncoded(items.appendJSON(make([]byte, 0, 700*len(items)+2)),
		auditPageInfo{Page: aq.page, PerPage: aq.perPage, Count: len(items), TotalCount: total})
}

// loginPage selects one page of an account's visible logins, shaped by an
// audit-log fault when one applies.
func (s *Server) loginPage(accountID string, aq auditQuery, actionType string, fault *Fault) (events []LoginEvent, total int, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byID[accountID]
	if a == nil {
		return nil, 0, false
	}
	if actionType != "" && actionType != "login" { // the simulator only records logins
		return nil, 0, true
	}
	now := s.cfg.Now()
	if fault != nil && fault.Kind == FaultIgnorePaging {
		aq.since, aq.page = time.Time{}, 1
	}
	if s.cfg.Retention > 0 && aq.since.Before(now.Add(-s.cfg.Retention)) {
		aq.since = now.Add(-s.cfg.Retention) // older entries have expired
	}
	if s.cfg.ShuffleTies {
		// Order the whole range, then cut the page: ties may change places across pages.
		all := aq
		all.page, all.perPage = 1, math.MaxInt32
		events, total = a.logins.query(all, now)
		s.gen.shuffleTies(events)
		start, end := pageWindow(total, aq.page, aq.perPage)
		events = events[start:end]
	} else {
		events, total = a.logins.query(aq, now)
	}
	switch {
	case fault == nil:
	case fault.Kind == FaultEmptyPage:
		events = nil
	case fault.Kind == FaultDuplicateEntry:
		// The entry just before this page, in the query's order: the last of
		// the page before, or on page 1 the newest entry older than since.
		previous := aq
		previous.page--
		if aq.page == 1 {
			previous = auditQuery{before: aq.since, descending: true, page: 1, perPage: 1}
		}
		if prev, _ := a.logins.query(previous, now); len(prev) > 0 && (aq.page > 1 || !aq.since.IsZero()) {
			last := prev[len(prev)-1]
			if aq.page == 1 {
				last = prev[0]
			}
			events = append([]LoginEvent{last}, events...)
		}
	}
	return events, total, true
}

// parseAuditQuery reads the audit log filters. since and before accept a date
// (midnight UTC) or an RFC 3339 date-time; since is inclusive, before
// exclusive.
func parseAuditQuery(q url.Values, maxAuditPerPage int) (aq auditQuery, actionType string, err error) {
	aq.page = max(1, intParam(q, "page", 1))
	aq.perPage = min(max(1, intParam(q, "per_page", defaultAuditPerPage)), maxAuditPerPage)
	switch d := q.Get("direction"); d {
	case "", "desc":
		aq.descending = true
	case "asc":
	default:
		return aq, "", fmt.Errorf("invalid direction %q: want asc or desc", d)
	}
	if aq.since, err = timeParam(q, "since"); err != nil {
		return aq, "", err
	}
	if aq.before, err = timeParam(q, "before"); err != nil {
		return aq, "", err
	}
	return aq, q.Get("action.type"), nil
}

func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("invalid %s %q: want YYYY-MM-DD or an RFC 3339 date-time", name, v)
}

// listPaging reads page and per_page of the account and member listings.
func listPaging(q url.Values) (page, perPage int) {
	return max(1, intParam(q, "page", 1)), min(max(minPerPage, intParam(q, "per_page", defaultPerPage)), maxPerPage)
}

func listInfo(page, perPage, count, total int) pageInfo {
	return pageInfo{
		Page:       page,
		PerPage:    perPage,
		Count:      count,
		TotalCount: total,
		TotalPages: (total + perPage - 1) / perPage,
	}
}

// intParam reads an integer query parameter, or def when it is absent or
// malformed.
func intParam(q url.Values, name string, def int) int {
	v, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return def
	}
	return v
}
