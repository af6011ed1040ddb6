package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/binary"
	"hash/fnv"
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

// networkKey is the network of an address at the configured prefix
// lengths (an IPv4-mapped IPv6 address counts as IPv4) as a number
// (prefixKey), and false when addr is not an IP.
func networkKey(addr string, ipv4Bits, ipv6Bits int) (uint64, bool) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return 0, false
	}
	ip = ip.Unmap().WithZone("")
	bits := ipv6Bits
	if ip.Is4() {
		bits = ipv4Bits
	}
	prefix, err := ip.Prefix(bits)
	if err != nil {
		return 0, false
	}
	return prefixKey(prefix), true
}

// prefixKey numbers a network in 8 bytes, small for the usual prefixes (it
// is stored as a uvarint): the prefix's bits shifted down, and a last bit 0
// for IPv4, 1 for IPv6. An IPv6 prefix longer than 62 bits is numbered by a
// hash of it instead.
func prefixKey(prefix netip.Prefix) uint64 {
	addr, bits := prefix.Masked().Addr(), prefix.Bits()
	if addr.Is4() {
		a := addr.As4()
		return uint64(binary.BigEndian.Uint32(a[:])>>(32-bits)) << 1
	}
	a := addr.As16()
	if bits <= 62 {
		return binary.BigEndian.Uint64(a[:8])>>(64-bits)<<1 | 1
	}
	hash := fnv.New64a()
	_, _ = hash.Write(a[:])
	_, _ = hash.Write([]byte{byte(bits)})
	return hash.Sum64()<<1 | 1
}
