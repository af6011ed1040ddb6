package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// listSnapshot is the last list of one account the pipeline accepted: its
// members, or its Access users.
type listSnapshot[T any] struct {
	Items         []T       `json:"members"` // the JSON name is the one stored checkpoints hold
	LastInventory time.Time `json:"last_inventory"`
	// Dormant (members only) maps the members reported dormant to the time
	// their dormancy was counted from (see dormancy.go): each transition is
	// emitted once.
	Dormant map[string]time.Time `json:"dormant,omitempty"`
	// LastLoginKnownSince (members only) is the earliest lower bound of the
	// account's login polls known to the users stream.
	LastLoginKnownSince time.Time `json:"last_login_known_since,omitzero"`
	// bodies holds, in memory only, the items' records as Cloudflare sent
	// them, compressed (see compactBodies); nil while the items hold theirs.
	bodies []byte
}

// listUsage adds to a list's polls what other streams learned about its
// items (the members' logins: usage insight).
type listUsage[T any] interface {
	// add decorates a poll's records and remembers in next what it decided.
	add(ctx context.Context, accountID string, previous, next *listSnapshot[T], removed []T, records plog.LogRecordSlice, now time.Time) error
	// forget drops what is kept about removed items, once the pipeline took the poll.
	forget(ctx context.Context, accountID string, removed []T) error
}

// inventoryEvents are the event names of one kind of listed item.
type inventoryEvents struct {
	inventory, added, removed, changed string
}

// listKind describes one kind of listed item for inventories and diffs.
type listKind[T any] struct {
	events inventoryEvents
	// endpoint is the Cloudflare endpoint that lists the items.
	endpoint string
	id       func(*T) string
	// body is where an item holds its record as Cloudflare sent it.
	body func(*T) *json.RawMessage
	// changedFields lists what differs between two records of one item, in a fixed order.
	changedFields func(previous, current *T) []string
	// appendRecord maps one event; for events.changed, previous is the item
	// as last seen and changed lists the fields that differ.
	appendRecord func(records plog.LogRecordSlice, eventName string, item, previous *T, changed []string, seen time.Time)
	// appendSummary, when set, adds records after every inventory.
	appendSummary func(records plog.LogRecordSlice, items []T, seen time.Time)
}

// inventory keeps one stream's lists of every account: it diffs each new
// list against the last one the pipeline accepted and emits the changes, and
// emits the whole list on an account's first poll and every
// snapshotInterval (0: the first poll only).
type inventory[T any] struct {
	env              *streamEnv
	stream           string
	kind             listKind[T]
	snapshotInterval time.Duration
	snapshots        *checkpoints[listSnapshot[T]]
	// usage, when set, adds what is known of the items' use.
	usage listUsage[T]
	// list reads an account's whole list from Cloudflare, page by page.
	list func(ctx context.Context, accountID string) ([]T, error)
	// listed, when set, learns each list that a poll trusts.
	listed func(accountID string, items []T)
}

// poll reads the account's current list (readUntorn), emits what it changes,
// and the inventory when it is due, then makes the list the checkpoint.
func (inv *inventory[T]) poll(ctx context.Context, account cloudflare.Account) error {
	previous, err := inv.snapshots.load(ctx, account.ID)
	if err != nil {
		return err
	}
	current, err := inv.readUntorn(ctx, account.ID, previous)
	if err != nil {
		return err
	}
	if inv.listed != nil {
		inv.listed(account.ID, current)
	}
	now := inv.env.now()
	logs, records := newAccountLogs(account, inv.env.version)
	next := &listSnapshot[T]{Items: current}
	var removed []T
	if previous != nil {
		removed = removedItems(inv.kind, previous.Items, current)
		if err := previous.restoreBodies(inv.kind, removed); err != nil {
			return err
		}
		appendChanges(records, inv.kind, previous.Items, current, removed, now)
		next.LastInventory = previous.LastInventory
	}
	// The first poll of a fresh state is an inventory, never "added" for everyone.
	if previous == nil || (inv.snapshotInterval > 0 && now.Sub(previous.LastInventory) >= inv.snapshotInterval) {
		for i := range current {
			inv.kind.appendRecord(records, inv.kind.events.inventory, &current[i], nil, nil, now)
		}
		if inv.kind.appendSummary != nil {
			inv.kind.appendSummary(records, current, now)
		}
		next.LastInventory = now
	}
	if inv.usage != nil {
		if err := inv.usage.add(ctx, account.ID, previous, next, removed, records, now); err != nil {
			return err
		}
	}
	if records.Len() > 0 {
		inv.env.logger.Debug("Inventory records to emit", zap.String("stream", inv.stream),
			zap.String("account_id", account.ID), zap.Int("records", records.Len()))
	}
	if err := deliver(ctx, inv.env.downstream, inv.snapshots, inv.stream, account, logs, func() *listSnapshot[T] { return next }); err != nil {
		return err
	}
	// Stored as it came; in memory only the removals of later polls need the
	// records, and they are most of a large account's state.
	if err := next.compactBodies(inv.kind); err != nil {
		return err
	}
	if inv.usage != nil {
		return inv.usage.forget(ctx, account.ID, removed)
	}
	return nil
}

// maxListReads bounds the whole reads of an account's list in one poll.
const maxListReads = 3

// readUntorn reads the account's list until one read can be trusted, and
// returns it without repeats.
//
// The list comes in offset pages, which shift when it changes between two
// page requests (seconds apart when the budget is spread over many
// accounts): an item added before the reader's position repeats one at the
// next page boundary, which is harmless; one removed there hides the item at
// the boundary: a false "removed" and then "added", or a hole in an
// inventory. Neither result_info.total_count (a removal and an addition keep
// it) nor page 1 read again (a shift further on leaves it as it was) tells.
// A read of one page is one answer, and is trusted alone. Every item of a
// read was listed, though, so only a missing item misleads:
//   - a read holding every item of the checkpoint is trusted alone: whatever
//     a tear hid from it is new since, and shows as added on a later poll.
//     This is the usual poll, and it costs no extra request;
//   - a read lacking an item of the checkpoint (a removal, true or not), and
//     an account's first read (its inventory), are trusted when the next
//     read lists the same ids in the same order: one more whole read, and one
//     more each time the list moved in between.
//
// A list still moving after maxListReads reads fails the poll with a bad
// response: nothing of it is emitted, and the next poll reads it again.
func (inv *inventory[T]) readUntorn(ctx context.Context, accountID string, previous *listSnapshot[T]) ([]T, error) {
	var kept map[string]bool // the checkpoint's items; nil on an account's first poll
	if previous != nil {
		kept = make(map[string]bool, len(previous.Items))
		for i := range previous.Items {
			kept[inv.kind.id(&previous.Items[i])] = true
		}
	}
	var lastIDs []string // the read before, of which only the ids are kept
	for range maxListReads {
		pages := 0
		items, err := inv.list(cloudflare.WithPageCount(ctx, &pages), accountID)
		if err != nil {
			return nil, err
		}
		items = uniqueByID(items, inv.kind.id)
		if pages == 1 || (kept != nil && holdsAll(inv.kind, items, kept)) || (lastIDs != nil && sameIDs(inv.kind, lastIDs, items)) {
			return items, nil
		}
		lastIDs = make([]string, len(items))
		for i := range items {
			lastIDs[i] = inv.kind.id(&items[i])
		}
	}
	return nil, cloudflare.ListMovedError(inv.kind.endpoint, accountID, maxListReads)
}

// holdsAll reports whether items hold every id of kept.
func holdsAll[T any](kind listKind[T], items []T, kept map[string]bool) bool {
	held := 0
	for i := range items {
		if kept[kind.id(&items[i])] {
			held++
		}
	}
	return held == len(kept)
}

// sameIDs reports whether items list the ids of ids, in the same order.
func sameIDs[T any](kind listKind[T], ids []string, items []T) bool {
	return slices.EqualFunc(ids, items, func(id string, item T) bool { return id == kind.id(&item) })
}

// compactBodies moves the items' records into s.bodies, compressed: each
// record, in the items' order, as its length (uvarint) and its bytes.
func (s *listSnapshot[T]) compactBodies(kind listKind[T]) error {
	var compressed bytes.Buffer
	w, err := flate.NewWriter(&compressed, flate.BestSpeed)
	if err != nil {
		return err
	}
	var length [binary.MaxVarintLen64]byte
	for i := range s.Items {
		body := kind.body(&s.Items[i])
		if _, err := w.Write(length[:binary.PutUvarint(length[:], uint64(len(*body)))]); err != nil {
			return err
		}
		if _, err := w.Write(*body); err != nil {
			return err
		}
		*body = nil
	}
	if err := w.Close(); err != nil {
		return err
	}
	s.bodies = bytes.Clone(compressed.Bytes())
	return nil
}

// restoreBodies gives removed, items of s gone from the current list, their
// records from s.bodies: the bodies of their removal events.
func (s *listSnapshot[T]) restoreBodies(kind listKind[T], removed []T) error {
	if s.bodies == nil || len(removed) == 0 {
		return nil
	}
	wanted := make(map[string]*T, len(removed))
	for i := range removed {
		wanted[kind.id(&removed[i])] = &removed[i]
	}
	bodies := bufio.NewReader(flate.NewReader(bytes.NewReader(s.bodies)))
	for i := 0; i < len(s.Items) && len(wanted) > 0; i++ {
		length, err := binary.ReadUvarint(bodies)
		if err != nil {
			return fmt.Errorf("reading the kept records: %w", err)
		}
		id := kind.id(&s.Items[i])
		item, found := wanted[id]
		if !found {
			if _, err := bodies.Discard(int(length)); err != nil {
				return fmt.Errorf("reading the kept records: %w", err)
			}
			continue
		}
		body := make(json.RawMessage, length)
		if _, err := io.ReadFull(bodies, body); err != nil {
			return fmt.Errorf("reading the kept records: %w", err)
		}
		*kind.body(item) = body
		delete(wanted, id)
	}
	return nil
}

// appendChanges emits added and changed items in the current list's order,
// then removed ones (removedItems) in the previous list's order.
func appendChanges[T any](records plog.LogRecordSlice, kind listKind[T], previous, current, removed []T, seen time.Time) {
	previousByID := make(map[string]*T, len(previous))
	for i := range previous {
		previousByID[kind.id(&previous[i])] = &previous[i]
	}
	for i := range current {
		item := &current[i]
		before, known := previousByID[kind.id(item)]
		if !known {
			kind.appendRecord(records, kind.events.added, item, nil, nil, seen)
			continue
		}
		if changed := kind.changedFields(before, item); len(changed) > 0 {
			kind.appendRecord(records, kind.events.changed, item, before, changed, seen)
		}
	}
	for i := range removed {
		kind.appendRecord(records, kind.events.removed, &removed[i], nil, nil, seen)
	}
}

// removedItems are the items of previous gone from current, in previous's order.
func removedItems[T any](kind listKind[T], previous, current []T) []T {
	currentIDs := make(map[string]bool, len(current))
	for i := range current {
		currentIDs[kind.id(&current[i])] = true
	}
	var removed []T
	for i := range previous {
		if !currentIDs[kind.id(&previous[i])] {
			removed = append(removed, previous[i])
		}
	}
	return removed
}

// uniqueByID drops repeats of an id (an item listed on two pages). A list
// without any, the usual one, is returned as it is, not copied.
func uniqueByID[T any](items []T, id func(*T) string) []T {
	seen := make(map[string]bool, len(items))
	var unique []T
	for i := range items {
		key := id(&items[i])
		if !seen[key] {
			seen[key] = true
			if unique != nil {
				unique = append(unique, items[i])
			}
			continue
		}
		if unique == nil {
			unique = append(make([]T, 0, len(items)-1), items[:i]...)
		}
	}
	if unique == nil {
		return items
	}
	return unique
}
