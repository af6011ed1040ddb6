package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/jsonappend"
)

// loginHistory is what the receiver remembers of one user's successful
// logins in one account: the newest, and the networks they came from.
type loginHistory struct {
	LastLogin time.Time     `json:"last_login"`
	Networks  []networkSeen `json:"networks,omitempty"` // newest first
}

// maxNetworksPerUser bounds the networks remembered of one user: the least
// recently used one is forgotten first.
const maxNetworksPerUser = 32

// networkSeen is one network a user signed in from, and when last.
type networkSeen struct {
	Network string `json:"n"`
	Seen    int64  `json:"t"` // unix nanoseconds, compact in storage
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
	byAccount map[string]map[string]*loginHistory // user -> history; nil: none stored
	// pending holds histories changed in memory, to be written with the
	// account's next login checkpoint.
	pending map[string]map[string]*loginHistory
	// watchedSince is the lower bound of each account's first login poll.
	watchedSince map[string]time.Time
}

func newLoginHistories(store *checkpointStore) *loginHistories {
	return &loginHistories{store: store, byAccount: map[string]map[string]*loginHistory{},
		pending: map[string]map[string]*loginHistory{}, watchedSince: map[string]time.Time{}}
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

// get returns a copy of a user's history; the zero history when there is none.
func (h *loginHistories) get(ctx context.Context, accountID, user string) (loginHistory, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	stored, err := h.loadLocked(ctx, accountID, user)
	if err != nil || stored == nil {
		return loginHistory{}, err
	}
	hist := *stored
	hist.Networks = append([]networkSeen(nil), stored.Networks...)
	return hist, nil
}

func (h *loginHistories) loadLocked(ctx context.Context, accountID, user string) (*loginHistory, error) {
	users := h.byAccount[accountID]
	if users == nil {
		users = map[string]*loginHistory{}
		h.byAccount[accountID] = users
	}
	if hist, cached := users[user]; cached {
		return hist, nil
	}
	var hist loginHistory
	found, err := h.store.load(ctx, loginHistoryKey(accountID, user), &hist)
	if err != nil {
		return nil, err
	}
	// A copy: user may share its memory with a whole page of logins, which
	// the map's key would keep alive (a page the pipeline refuses is read
	// but never put).
	user = strings.Clone(user)
	users[user] = nil
	if found {
		users[user] = &hist
	}
	return users[user], nil
}

// put makes hist the user's history in memory at once, and in storage with
// the account's next login checkpoint.
func (h *loginHistories) put(accountID, user string, hist loginHistory) {
	h.mu.Lock()
	defer h.mu.Unlock()
	users := h.byAccount[accountID]
	if users == nil {
		users = map[string]*loginHistory{}
		h.byAccount[accountID] = users
	}
	// A copy, as in loadLocked: assigning to a known string key replaces
	// the key too.
	user = strings.Clone(user)
	users[user] = &hist
	if h.store.memoryOnly {
		return
	}
	if h.pending[accountID] == nil {
		h.pending[accountID] = map[string]*loginHistory{}
	}
	h.pending[accountID][user] = &hist
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
	for user, hist := range pending {
		// Its times were read as RFC 3339, so they always encode.
		data, _ := hist.appendJSON(nil)
		ops = append(ops, storage.SetOperation(loginHistoryKey(accountID, user), data))
	}
	return ops, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for user, hist := range pending {
			if h.pending[accountID][user] == hist {
				delete(h.pending[accountID], user)
			}
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
	network := networkOf(entry.ActorIP, p.cfg.NewAddressIPv4Prefix, p.cfg.NewAddressIPv6Prefix)
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
func (h *loginHistory) judgeAddress(network string, when, watchedSince time.Time, memory time.Duration) addressVerdict {
	if network == "" || memory == 0 {
		return addressUnjudged
	}
	at := when.UnixNano()
	i := slices.IndexFunc(h.Networks, func(n networkSeen) bool { return n.Network == network })
	verdict := addressUnjudged
	switch {
	case i >= 0 && time.Duration(at-h.Networks[i].Seen) <= memory:
		verdict = addressKnown
	case when.Sub(watchedSince) >= memory:
		verdict = addressNew
	}
	if i >= 0 {
		at = max(at, h.Networks[i].Seen)
		h.Networks = slices.Delete(h.Networks, i, i+1)
	}
	h.Networks = append(h.Networks, networkSeen{Network: network, Seen: at})
	h.forgetNetworks(memory)
	return verdict
}

// forgetNetworks orders the networks newest first, then drops those not
// seen within memory of the newest, and all but maxNetworksPerUser.
func (h *loginHistory) forgetNetworks(memory time.Duration) {
	slices.SortStableFunc(h.Networks, func(a, b networkSeen) int { return cmp.Compare(b.Seen, a.Seen) })
	newest := h.Networks[0].Seen
	keep := 0
	for keep < len(h.Networks) && keep < maxNetworksPerUser && time.Duration(newest-h.Networks[keep].Seen) <= memory {
		keep++
	}
	h.Networks = slices.Clip(h.Networks[:keep])
}

// appendJSON writes the history as encoding/json would from its field tags.
func (h *loginHistory) appendJSON(out []byte) ([]byte, error) {
	out, err := appendTimeField(append(out, '{'), "last_login", h.LastLogin)
	if err != nil {
		return nil, err
	}
	if len(h.Networks) > 0 {
		out = append(out, `,"networks":[`...)
		for i, network := range h.Networks {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"n":`...)
			out = jsonappend.String(out, network.Network)
			out = append(out, `,"t":`...)
			out = strconv.AppendInt(out, network.Seen, 10)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	return append(out, '}'), nil
}
