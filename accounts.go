package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// accountRefreshInterval is how old the account listing may grow before a
// stream lists the accounts again: new accounts are found this often, and
// the streams, starting together, share one listing.
const accountRefreshInterval = 5 * time.Minute

// accountDirectory is the list of accounts to poll: the configured IDs, or
// every account the token can read. Names come from GET /accounts.
type accountDirectory struct {
	client     cloudflare.Client
	configured []string
	now        func() time.Time

	listing sync.Mutex // held by the one stream listing the accounts

	mu        sync.Mutex
	known     []cloudflare.Account
	listed    bool // known holds a listing (or the configured IDs)
	refreshed time.Time
}

func newAccountDirectory(client cloudflare.Client, configured []string, now func() time.Time) *accountDirectory {
	return &accountDirectory{client: client, configured: configured, now: now}
}

// current returns the accounts known, whether there are any, and whether
// they were listed within accountRefreshInterval.
func (d *accountDirectory) current() (accounts []cloudflare.Account, listed, fresh bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.known, d.listed, !d.refreshed.IsZero() && d.now().Sub(d.refreshed) < accountRefreshInterval
}

// list returns the accounts, listing them again when the last listing is
// older than accountRefreshInterval. A stream that finds another listing
// them goes on with the accounts listed before rather than wait for it. With
// configured IDs a failed listing only costs the names; without, it fails
// the poll.
func (d *accountDirectory) list(ctx context.Context) ([]cloudflare.Account, error) {
	if known, _, fresh := d.current(); fresh {
		return known, nil
	}
	if !d.listing.TryLock() {
		if known, listed, _ := d.current(); listed {
			return known, nil
		}
		d.listing.Lock()
	}
	defer d.listing.Unlock()
	if known, _, fresh := d.current(); fresh {
		return known, nil // listed while this stream waited
	}
	listed, err := d.client.ListAccounts(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.configured) == 0 {
		if err != nil {
			return nil, err
		}
		d.known, d.listed, d.refreshed = listed, true, d.now()
		return d.known, nil
	}
	names := make(map[string]string, len(listed))
	for _, a := range listed {
		names[a.ID] = a.Name
	}
	for _, a := range d.known {
		if names[a.ID] == "" {
			names[a.ID] = a.Name
		}
	}
	accounts := make([]cloudflare.Account, len(d.configured))
	for i, id := range d.configured {
		accounts[i] = cloudflare.Account{ID: id, Name: names[id]}
	}
	d.known, d.listed = accounts, true
	if err == nil {
		d.refreshed = d.now()
	}
	return d.known, nil
}

// memberDirectory is the latest member list of every account, by user id and
// by email, so that login records carry the user's name and roles.
type memberDirectory struct {
	mu        sync.RWMutex
	byAccount map[string]accountMembers
}

type accountMembers struct {
	byUserID map[string]*cloudflare.Member
	byEmail  map[string]*cloudflare.Member
	count    int
}

func newMemberDirectory() *memberDirectory {
	return &memberDirectory{byAccount: map[string]accountMembers{}}
}

// fillIfUnknown gives an account the members load returns when the
// directory knows nothing of it yet: after a restart, logins carry names and
// roles from the users stream's stored list before its first poll finished.
// Once per account: with none stored, the account is known with no members
// until the users stream lists them, and load is not called again.
func (d *memberDirectory) fillIfUnknown(accountID string, load func() []cloudflare.Member) {
	d.mu.RLock()
	_, known := d.byAccount[accountID]
	d.mu.RUnlock()
	if !known {
		d.updateIfAbsent(accountID, load())
	}
}

func (d *memberDirectory) update(accountID string, members []cloudflare.Member) {
	d.set(accountID, members, true)
}

// updateIfAbsent keeps a list the users stream stored meanwhile, which is newer.
func (d *memberDirectory) updateIfAbsent(accountID string, members []cloudflare.Member) {
	d.set(accountID, members, false)
}

func (d *memberDirectory) set(accountID string, members []cloudflare.Member, replace bool) {
	entry := accountMembers{
		byUserID: make(map[string]*cloudflare.Member, len(members)),
		byEmail:  make(map[string]*cloudflare.Member, len(members)),
		count:    len(members),
	}
	for i := range members {
		m := &members[i]
		if m.UserID != "" {
			entry.byUserID[m.UserID] = m
		}
		if email := memberEmail(m); email != "" {
			entry.byEmail[strings.ToLower(email)] = m
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, known := d.byAccount[accountID]; replace || !known {
		d.byAccount[accountID] = entry
	}
}

// pagesPerAccount is the average number of member pages of the accounts
// listed so far, at least 1 (an empty list is one request too).
func (d *memberDirectory) pagesPerAccount() float64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.byAccount) == 0 {
		return 1
	}
	pages := 0
	for _, entry := range d.byAccount {
		pages += max(1, (entry.count+cloudflare.MembersPerPage-1)/cloudflare.MembersPerPage)
	}
	return float64(pages) / float64(len(d.byAccount))
}

// lookup finds the member behind a login's actor, by id and then by email.
func (d *memberDirectory) lookup(accountID, userID, email string) *cloudflare.Member {
	d.mu.RLock()
	defer d.mu.RUnlock()
	entry := d.byAccount[accountID]
	if m := entry.byUserID[userID]; m != nil && userID != "" {
		return m
	}
	if email == "" {
		return nil
	}
	return entry.byEmail[strings.ToLower(email)]
}
