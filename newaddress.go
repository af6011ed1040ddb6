package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"net/netip"
)

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
