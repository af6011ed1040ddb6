package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// loginHistory is what the receiver remembers of one user's successful
// logins in one account: the newest, and the networks they came from. It is
// kept encoded (encodeHistory), in memory as in storage; this is the form a
// page of logins changes.
type loginHistory struct {
	LastLogin time.Time
	Networks  []networkSeen // newest first
}

// maxNetworksPerUser bounds the networks remembered of one user: the least
// recently used one is forgotten first.
const maxNetworksPerUser = 32

// networkSeen is one network a user signed in from (networkKey), and when
// last, in unix nanoseconds (whole seconds once stored).
type networkSeen struct {
	network uint64
	seen    int64
}

// loginHistories holds the login history of every user of every account:
// the logins stream writes it, the users stream reads last logins from it.
// Each user's history is a storage key of its own, so that a page of logins
// writes only the users it touched; those writes land in the same storage
// batch as the login checkpoint that covers them (checkpoints.companions),
// so neither can be stored without the other. A history is read from storage
// the first time it is needed.
type loginHistories struct {
	store *checkpointStore

	mu        sync.Mutex
	byAccount map[string]map[string][]byte // user -> encoded history; nil: none stored
	// pending holds histories changed in memory, to be written with the
	// account's next login checkpoint.
	pending map[string]map[string][]byte
	// watchedSince is the lower bound of each account's first login poll.
	watchedSince map[string]time.Time
}

func newLoginHistories(store *checkpointStore) *loginHistories {
	return &loginHistories{store: store, byAccount: map[string]map[string][]byte{},
		pending: map[string]map[string][]byte{}, watchedSince: map[string]time.Time{}}
}

// loginUser names the user behind a login's actor: the user id, else the email.
func loginUser(userID, email string) string {
	if userID != "" {
		return userID
	}
	if email == "" {
		return ""
	}
	return "email:" + strings.ToLower(email)
}

// memberUsers are the names a member's logins can be kept under, in the
// order they are matched: user id, then email.
func memberUsers(m *cloudflare.Member) []string {
	var users []string
	if m.UserID != "" {
		users = append(users, m.UserID)
	}
	if email := memberEmail(m); email != "" {
		users = append(users, loginUser("", email))
	}
	return users
}

// get returns a user's history; the zero history when there is none.
func (h *loginHistories) get(ctx context.Context, accountID, user string) (loginHistory, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	encoded, err := h.loadLocked(ctx, accountID, user)
	if err != nil || encoded == nil {
		return loginHistory{}, err
	}
	return decodeHistory(encoded)
}

func (h *loginHistories) loadLocked(ctx context.Context, accountID, user string) ([]byte, error) {
	users := h.byAccount[accountID]
	if users == nil {
		users = map[string][]byte{}
		h.byAccount[accountID] = users
	}
	if encoded, cached := users[user]; cached {
		return encoded, nil
	}
	key := loginHistoryKey(accountID, user)
	data, err := h.store.loadBytes(ctx, key)
	if err != nil {
		return nil, err
	}
	var encoded []byte
	if len(data) > 0 {
		// Stored by an earlier version as JSON, or as now: kept as now.
		hist, err := decodeHistory(data)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", errCorruptCheckpoint, key, err)
		}
		encoded = encodeHistory(&hist)
	}
	// A copy: user may share its memory with a whole page of logins, which
	// the map's key would keep alive (a page the pipeline refuses is read
	// but never put).
	users[strings.Clone(user)] = encoded
	return encoded, nil
}

// put makes hist the user's history in memory at once, and in storage with
// the account's next login checkpoint.
func (h *loginHistories) put(accountID, user string, hist loginHistory) {
	encoded := encodeHistory(&hist)
	h.mu.Lock()
	defer h.mu.Unlock()
	users := h.byAccount[accountID]
	if users == nil {
		users = map[string][]byte{}
		h.byAccount[accountID] = users
	}
	// A copy, as in loadLocked: assigning to a known string key replaces
	// the key too.
	user = strings.Clone(user)
	users[user] = encoded
	if h.store.memoryOnly {
		return
	}
	if h.pending[accountID] == nil {
		h.pending[accountID] = map[string][]byte{}
	}
	h.pending[accountID][user] = encoded
}

// writes returns the storage writes of an account's pending histories, and
// a function that forgets them once they were stored.
func (h *loginHistories) writes(accountID string) ([]*storage.Operation, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pending := h.pending[accountID]
	if len(pending) == 0 {
		return nil, nil
	}
	ops := make([]*storage.Operation, 0, len(pending))
	for user, encoded := range pending {
		ops = append(ops, storage.SetOperation(loginHistoryKey(accountID, user), encoded))
	}
	return ops, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for user, encoded := range pending {
			if current, ok := h.pending[accountID][user]; ok && &current[0] == &encoded[0] {
				delete(h.pending[accountID], user)
			}
		}
		if len(h.pending[accountID]) == 0 {
			delete(h.pending, accountID) // a map emptied keeps its table
		}
	}
}

// forget drops the histories of members removed from an account, in
// memory and in storage: the state stays bounded by the member count.
func (h *loginHistories) forget(ctx context.Context, accountID string, removed []cloudflare.Member) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ops []*storage.Operation
	for i := range removed {
		for _, user := range memberUsers(&removed[i]) {
			delete(h.byAccount[accountID], user)
			delete(h.pending[accountID], user)
			ops = append(ops, storage.DeleteOperation(loginHistoryKey(accountID, user)))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if err := h.store.allowWrite(ctx); err != nil {
		return err
	}
	if err := h.store.client.Batch(ctx, ops...); err != nil {
		return storageError{fmt.Errorf("deleting the login history of removed members: %w", err)}
	}
	return nil
}

// lastLogin is a member's newest successful login the receiver saw, matched
// by user id, then email; zero when none.
func (h *loginHistories) lastLogin(ctx context.Context, accountID string, m *cloudflare.Member) (time.Time, error) {
	var last time.Time
	for _, user := range memberUsers(m) {
		hist, err := h.get(ctx, accountID, user)
		if err != nil {
			return time.Time{}, err
		}
		if hist.LastLogin.After(last) {
			last = hist.LastLogin
		}
	}
	return last, nil
}

// watching records the lower bound of a login poll of an account; the
// earliest is kept.
func (h *loginHistories) watching(accountID string, since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if known, ok := h.watchedSince[accountID]; !ok || since.Before(known) {
		h.watchedSince[accountID] = since
	}
}

// knownSince is the lower bound of the account's first login poll, zero
// while the logins stream has not polled it.
func (h *loginHistories) knownSince(accountID string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watchedSince[accountID]
}

// pageHistories are the histories of the users of one page of logins,
// changed on copies while the page is mapped; commit makes them the
// receiver's once the pipeline took the page, so that a refused page is
// judged again from the same state.
type pageHistories struct {
	all          *loginHistories
	cfg          LoginsConfig
	accountID    string
	watchedSince time.Time
	changed      map[string]*loginHistory
}

func newPageHistories(all *loginHistories, cfg LoginsConfig, accountID string, watchedSince time.Time) *pageHistories {
	return &pageHistories{all: all, cfg: cfg, accountID: accountID, watchedSince: watchedSince, changed: map[string]*loginHistory{}}
}

// observe records a successful login in its user's history and judges its
// address; failed logins and logins of no named user change nothing.
func (p *pageHistories) observe(ctx context.Context, entry *cloudflare.AuditEntry) (addressVerdict, error) {
	user := loginUser(entry.ActorID, entry.ActorEmail)
	if !entry.Success || user == "" || entry.When.IsZero() {
		return addressUnjudged, nil
	}
	hist := p.changed[user]
	if hist == nil {
		stored, err := p.all.get(ctx, p.accountID, user)
		if err != nil {
			return addressUnjudged, err
		}
		hist = &stored
		p.changed[user] = hist
	}
	if entry.When.After(hist.LastLogin) {
		hist.LastLogin = entry.When
	}
	network, ok := networkKey(entry.ActorIP, p.cfg.NewAddressIPv4Prefix, p.cfg.NewAddressIPv6Prefix)
	if !ok {
		return addressUnjudged, nil
	}
	return hist.judgeAddress(network, entry.When, p.watchedSince, p.cfg.NewAddressMemory), nil
}

func (p *pageHistories) commit() {
	for user, hist := range p.changed {
		p.all.put(p.accountID, user, *hist)
	}
}

// judgeAddress judges a successful login from network at when, and
// remembers the network: a network not seen within memory is new, when the
// account was watched for all of memory before the login (watchedSince is
// the lower bound of its first login poll); else unjudged. Networks seen
// after when (a login the audit log showed late) count as known.
func (h *loginHistory) judgeAddress(network uint64, when, watchedSince time.Time, memory time.Duration) addressVerdict {
	if memory == 0 {
		return addressUnjudged
	}
	at := when.UnixNano()
	i := slices.IndexFunc(h.Networks, func(n networkSeen) bool { return n.network == network })
	verdict := addressUnjudged
	switch {
	case i >= 0 && time.Duration(at-h.Networks[i].seen) <= memory:
		verdict = addressKnown
	case when.Sub(watchedSince) >= memory:
		verdict = addressNew
	}
	if i >= 0 {
		at = max(at, h.Networks[i].seen)
		h.Networks = slices.Delete(h.Networks, i, i+1)
	}
	h.Networks = append(h.Networks, networkSeen{network: network, seen: at})
	h.forgetNetworks(memory)
	return verdict
}

// forgetNetworks orders the networks newest first, then drops those not
// seen within memory of the newest, and all but maxNetworksPerUser.
func (h *loginHistory) forgetNetworks(memory time.Duration) {
	slices.SortStableFunc(h.Networks, func(a, b networkSeen) int { return cmp.Compare(b.seen, a.seen) })
	newest := h.Networks[0].seen
	keep := 0
	for keep < len(h.Networks) && keep < maxNetworksPerUser && time.Duration(newest-h.Networks[keep].seen) <= memory {
		keep++
	}
	h.Networks = slices.Clip(h.Networks[:keep])
}

// historyFormat is the first byte of an encoded history; a history stored
// by an earlier version is JSON, and starts with '{'.
const historyFormat = 1

// encodeHistory writes a history compactly: historyFormat, the last login
// (unix nanoseconds), the number of networks, then each network's key and
// how many whole seconds before the last login it was seen, all as uvarints.
// At the bound of 32 networks that is about 7 bytes a network.
func encodeHistory(h *loginHistory) []byte {
	var buffer [2 + 2*binary.MaxVarintLen64 + maxNetworksPerUser*2*binary.MaxVarintLen64]byte
	out := append(buffer[:0], historyFormat)
	var last int64
	if !h.LastLogin.IsZero() {
		last = h.LastLogin.UnixNano()
	}
	out = binary.AppendUvarint(out, uint64(last))
	out = binary.AppendUvarint(out, uint64(len(h.Networks)))
	for _, n := range h.Networks {
		out = binary.AppendUvarint(out, n.network)
		out = binary.AppendUvarint(out, uint64(max(0, last/1e9-n.seen/1e9)))
	}
	return bytes.Clone(out) // no longer than it is: it is kept
}

// decodeHistory reads a history encoded by encodeHistory, or one stored as
// JSON by an earlier version ({"last_login": time, "networks": [{"n":
// prefix, "t": unix nanoseconds}]}).
func decodeHistory(data []byte) (loginHistory, error) {
	if len(data) > 0 && data[0] == '{' {
		return decodeJSONHistory(data)
	}
	if len(data) == 0 || data[0] != historyFormat {
		return loginHistory{}, errors.New("not a login history")
	}
	data = data[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return 0, errors.New("truncated login history")
		}
		data = data[n:]
		return v, nil
	}
	var h loginHistory
	last, err := next()
	if err != nil {
		return h, err
	}
	if last != 0 {
		h.LastLogin = time.Unix(0, int64(last)).UTC()
	}
	count, err := next()
	if err != nil || count > maxNetworksPerUser {
		return h, cmp.Or(err, errors.New("too many networks in a login history"))
	}
	h.Networks = make([]networkSeen, count)
	for i := range h.Networks {
		if h.Networks[i].network, err = next(); err != nil {
			return h, err
		}
		before, err := next()
		if err != nil {
			return h, err
		}
		h.Networks[i].seen = (int64(last)/1e9 - int64(before)) * 1e9
	}
	return h, nil
}

// decodeJSONHistory reads a history stored as JSON by an earlier version.
func decodeJSONHistory(data []byte) (loginHistory, error) {
	var stored struct {
		LastLogin time.Time `json:"last_login"`
		Networks  []struct {
			Network string `json:"n"`
			Seen    int64  `json:"t"`
		} `json:"networks"`
	}
	if err := json.Unmarshal(data, &stored); err != nil {
		return loginHistory{}, err
	}
	h := loginHistory{LastLogin: stored.LastLogin}
	for _, n := range stored.Networks {
		prefix, err := netip.ParsePrefix(n.Network)
		if err != nil {
			continue // not a network: nothing to match a login with
		}
		h.Networks = append(h.Networks, networkSeen{network: prefixKey(prefix), seen: n.Seen})
	}
	return h, nil
}
