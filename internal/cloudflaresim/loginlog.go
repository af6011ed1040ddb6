package cloudflaresim

import (
	"slices"
	"sort"
	"time"
)

// loginLog is one account's login entries ordered by (When, insertion order).
// Keeping the slice sorted lets a query find its time range by binary search
// and, while every entry in that range is visible, cut a page by index
// arithmetic alone; the benchmark pages through a million entries this way.
type loginLog struct {
	entries []loginEntry
	// Actors and clients repeat a lot; entries refer to them by index so a
	// million entries fit in well under 100 MB.
	actors  interner[actorKey]
	clients interner[clientKey]
	// late lists entries that were not yet visible when last checked. It is
	// usually empty; a query scans entry by entry only when one of these
	// falls in its range.
	late []lateEntry
}

// loginEntry is the compact stored form of a LoginEvent.
type loginEntry struct {
	id        string
	when      int64 // Unix nanoseconds; the sort key
	visibleAt int64 // Unix nanoseconds; 0 = immediately
	actor     uint32
	client    uint32
	success   bool
}

type actorKey struct{ id, email, ip, kind string }

type clientKey struct{ iface, userAgent string }

type lateEntry struct{ when, visibleAt int64 }

// auditQuery selects a page of the visible entries with since <= When <
// before (zero bounds are open).
type auditQuery struct {
	since, before time.Time
	descending    bool
	page, perPage int // page counts from 1
}

// insert places e after every entry with the same or an earlier When.
func (l *loginLog) insert(e LoginEvent, now time.Time) {
	entry := l.store(e)
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].when > entry.when })
	l.entries = slices.Insert(l.entries, i, entry)
	if entry.visibleAt > now.UnixNano() {
		l.late = append(l.late, lateEntry{when: entry.when, visibleAt: entry.visibleAt})
	}
}

// merge adds events that are sorted by When and visible immediately. They go
// after existing entries with the same When, as if inserted one by one.
func (l *loginLog) merge(sorted []LoginEvent) {
	added := make([]loginEntry, len(sorted))
	for i, e := range sorted {
		added[i] = l.store(e)
	}
	old := l.entries
	if len(old) == 0 || len(added) == 0 || added[0].when >= old[len(old)-1].when {
		l.entries = append(old, added...)
		return
	}
	merged := make([]loginEntry, 0, len(old)+len(added))
	i, j := 0, 0
	for i < len(old) && j < len(added) {
		if added[j].when < old[i].when {
			merged = append(merged, added[j])
			j++
		} else {
			merged = append(merged, old[i])
			i++
		}
	}
	merged = append(merged, old[i:]...)
	l.entries = append(merged, added[j:]...)
}

// events returns every entry, visible or not.
func (l *loginLog) events() []LoginEvent {
	out := make([]LoginEvent, len(l.entries))
	for i, e := range l.entries {
		out[i] = l.event(e)
	}
	return out
}

// query returns the requested page and the number of matching visible
// entries. It assumes the clock does not run backwards.
func (l *loginLog) query(q auditQuery, now time.Time) (page []LoginEvent, total int) {
	lo, hi := l.bounds(q.since, q.before)
	if l.hasLateIn(lo, hi, now) {
		return l.scan(lo, hi, q, now)
	}
	total = hi - lo
	start, end := pageWindow(total, q.page, q.perPage)
	page = make([]LoginEvent, 0, end-start)
	for k := start; k < end; k++ {
		page = append(page, l.event(l.entries[indexAt(lo, hi, k, q.descending)]))
	}
	return page, total
}

// indexAt returns the index of the k-th entry of [lo, hi) in query order.
func indexAt(lo, hi, k int, descending bool) int {
	if descending {
		return hi - 1 - k
	}
	return lo + k
}

// bounds returns the index range of entries with since <= When < before.
func (l *loginLog) bounds(since, before time.Time) (lo, hi int) {
	hi = len(l.entries)
	if !since.IsZero() {
		s := since.UnixNano()
		lo = sort.Search(len(l.entries), func(i int) bool { return l.entries[i].when >= s })
	}
	if !before.IsZero() {
		b := before.UnixNano()
		hi = sort.Search(len(l.entries), func(i int) bool { return l.entries[i].when >= b })
	}
	return lo, max(lo, hi)
}

// hasLateIn forgets entries that have become visible and reports whether any
// still-invisible entry falls in entries[lo:hi].
func (l *loginLog) hasLateIn(lo, hi int, now time.Time) bool {
	n := now.UnixNano()
	l.late = slices.DeleteFunc(l.late, func(e lateEntry) bool { return e.visibleAt <= n })
	if lo == hi {
		return false
	}
	first, last := l.entries[lo].when, l.entries[hi-1].when
	for _, e := range l.late {
		if e.when >= first && e.when <= last {
			return true
		}
	}
	return false
}

// scan pages through entries[lo:hi] one by one, skipping invisible ones.
func (l *loginLog) scan(lo, hi int, q auditQuery, now time.Time) (page []LoginEvent, total int) {
	start, end := pageWindow(hi-lo, q.page, q.perPage)
	n := now.UnixNano()
	for k := range hi - lo {
		e := l.entries[indexAt(lo, hi, k, q.descending)]
		if e.visibleAt > n {
			continue
		}
		if total >= start && total < end {
			page = append(page, l.event(e))
		}
		total++
	}
	return page, total
}

func (l *loginLog) store(e LoginEvent) loginEntry {
	entry := loginEntry{
		id:      e.ID,
		when:    e.When.UnixNano(),
		actor:   l.actors.intern(actorKey{id: e.ActorID, email: e.ActorEmail, ip: e.ActorIP, kind: e.ActorType}),
		client:  l.clients.intern(clientKey{iface: e.Interface, userAgent: e.UserAgent}),
		success: e.Success,
	}
	if !e.VisibleAt.IsZero() {
		entry.visibleAt = e.VisibleAt.UnixNano()
	}
	return entry
}

func (l *loginLog) event(e loginEntry) LoginEvent {
	actor, client := l.actors.values[e.actor], l.clients.values[e.client]
	ev := LoginEvent{
		ID:         e.id,
		When:       time.Unix(0, e.when).UTC(),
		Success:    e.success,
		ActorID:    actor.id,
		ActorEmail: actor.email,
		ActorIP:    actor.ip,
		ActorType:  actor.kind,
		Interface:  client.iface,
		UserAgent:  client.userAgent,
	}
	if e.visibleAt != 0 {
		ev.VisibleAt = time.Unix(0, e.visibleAt).UTC()
	}
	return ev
}

// interner numbers distinct values so they can be stored once.
type interner[K comparable] struct {
	values []K
	index  map[K]uint32
}

func (in *interner[K]) intern(k K) uint32 {
	if i, ok := in.index[k]; ok {
		return i
	}
	if in.index == nil {
		in.index = make(map[K]uint32)
	}
	i := uint32(len(in.values))
	in.values = append(in.values, k)
	in.index[k] = i
	return i
}

// pageWindow returns the offsets [start, end) of a 1-based page within total
// items.
func pageWindow(total, page, perPage int) (start, end int) {
	if page-1 > total/perPage { // also keeps (page-1)*perPage from overflowing
		return total, total
	}
	start = min((page-1)*perPage, total)
	return start, min(start+perPage, total)
}
