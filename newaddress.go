package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// maxNetworksPerUser bounds the networks remembered of one user: the least
// recently used one is forgotten first.
const maxNetworksPerUser = 32

// addressVerdict is what a successful login's address says about the user.
type addressVerdict int

const (
	// addressUnjudged: no address, the feature is off, or the receiver has
	// not watched the account for new_address_memory yet and has not seen
	// the network either: cloudflare.login.new_address is absent.
	addressUnjudged addressVerdict = iota
	// addressKnown: the user signed in from this network within the memory.
	addressKnown
	// addressNew: not within the memory, which the receiver watched whole.
	addressNew
)

// networkSeen is one network a user signed in from, and when last.
type networkSeen struct {
	Network string `json:"n"`
	Seen    int64  `json:"t"` // unix nanoseconds, compact in storage
}

// networkOf is the network of an address at the configured prefix lengths
// (an IPv4-mapped IPv6 address counts as IPv4), or "" when addr is not an IP.
func networkOf(addr string, ipv4Bits, ipv6Bits int) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	ip = ip.Unmap().WithZone("")
	bits := ipv6Bits
	if ip.Is4() {
		bits = ipv4Bits
	}
	prefix, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return prefix.String()
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
