package cloudflareidentityreceiver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNetworkKey: addresses of one network at the configured prefix lengths
// get the key of that prefix, others another key; what is not an address
// gets none.
func TestNetworkKey(t *testing.T) {
	tests := []struct {
		addr       string
		ipv4, ipv6 int
		want       string // the prefix whose key it gets; "" for none
	}{
		{addr: "203.0.113.7", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "203.0.113.250", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "203.0.113.7", ipv4: 16, ipv6: 56, want: "203.0.0.0/16"},
		{addr: "203.0.113.7", ipv4: 32, ipv6: 56, want: "203.0.113.7/32"},
		{addr: "::ffff:203.0.113.7", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "2001:db8:5a76:4152::8c9c", ipv4: 24, ipv6: 56, want: "2001:db8:5a76:4100::/56"},
		{addr: "2001:db8:5a76:41ff:1::1", ipv4: 24, ipv6: 56, want: "2001:db8:5a76:4100::/56"},
		{addr: "fe80::1%eth0", ipv4: 24, ipv6: 64, want: "fe80::/64"},
		{addr: "2001:db8::1", ipv4: 24, ipv6: 128, want: "2001:db8::1/128"},
		{addr: "", ipv4: 24, ipv6: 56, want: ""},
		{addr: "not an address", ipv4: 24, ipv6: 56, want: ""},
	}
	keys := map[uint64]string{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d", tt.addr, tt.ipv4, tt.ipv6), func(t *testing.T) {
			key, ok := networkKey(tt.addr, tt.ipv4, tt.ipv6)
			if tt.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, prefixKey(netip.MustParsePrefix(tt.want)), key)
			if other, seen := keys[key]; seen {
				assert.Equal(t, tt.want, other, "two networks with one key")
			}
			keys[key] = tt.want
		})
	}
	// An IPv4 network and the IPv6 one with the same bits stay apart.
	assert.NotEqual(t, prefixKey(netip.MustParsePrefix("10.0.0.0/8")), prefixKey(netip.MustParsePrefix("a00::/8")))
}

// TestJudgeAddress runs sequences of one user's logins through a history and
// checks each verdict.
func TestJudgeAddress(t *testing.T) {
	const memory = 30 * 24 * time.Hour
	day := func(n float64) time.Time { return testPollTime.Add(time.Duration(n * float64(24*time.Hour))) }
	type login struct {
		network uint64
		when    time.Time
		want    addressVerdict
	}
	tests := []struct {
		name         string
		watchedSince time.Time
		memory       time.Duration
		logins       []login
	}{
		{name: "watched shorter than the memory: unseen networks are not judged", watchedSince: day(0), memory: memory, logins: []login{
			{1, day(1), addressUnjudged}, {1, day(2), addressKnown}, {2, day(3), addressUnjudged},
		}},
		{name: "watched longer than the memory: first login from a network is new", watchedSince: day(-31), memory: memory, logins: []login{
			{1, day(0), addressNew}, {1, day(1), addressKnown}, {2, day(2), addressNew}, {1, day(3), addressKnown},
		}},
		{name: "the watch reaches the memory while watching", watchedSince: day(0), memory: memory, logins: []login{
			{1, day(1), addressUnjudged}, {2, day(29.9), addressUnjudged}, {3, day(30), addressNew},
		}},
		{name: "a network not used for longer than the memory is new again", watchedSince: day(-31), memory: memory, logins: []login{
			{1, day(0), addressNew}, {1, day(30), addressKnown}, {1, day(60.01), addressNew},
		}},
		{name: "a late login from a network seen after it is known", watchedSince: day(-31), memory: memory, logins: []login{
			{1, day(5), addressNew}, {1, day(4), addressKnown}, {1, day(34.5), addressKnown},
		}},
		{name: "memory off", watchedSince: day(-31), memory: 0, logins: []login{{1, day(0), addressUnjudged}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hist loginHistory
			for i, l := range tt.logins {
				assert.Equal(t, l.want, hist.judgeAddress(l.network, l.when, tt.watchedSince, tt.memory), "login %d", i)
			}
		})
	}
}

// TestJudgeAddressKeepsTheNewestNetworks: a user with more networks than
// maxNetworksPerUser keeps the most recently used ones.
func TestJudgeAddressKeepsTheNewestNetworks(t *testing.T) {
	const memory = 30 * 24 * time.Hour
	watched := testPollTime.Add(-memory)
	var hist loginHistory
	for i := range maxNetworksPerUser + 8 {
		hist.judgeAddress(uint64(i), testPollTime.Add(time.Duration(i)*time.Minute), watched, memory)
	}
	// n0 ... n7 went; n0, used again, comes back and pushes out n8.
	hist.judgeAddress(0, testPollTime.Add(time.Hour), watched, memory)
	require.Len(t, hist.Networks, maxNetworksPerUser)
	assert.Equal(t, uint64(0), hist.Networks[0].network)
	assert.Equal(t, addressNew, hist.judgeAddress(8, testPollTime.Add(2*time.Hour), watched, memory))
	// n8 came back and pushed out n9, the least recently used; n10 stays.
	assert.Equal(t, addressKnown, hist.judgeAddress(10, testPollTime.Add(3*time.Hour), watched, memory))
	assert.Equal(t, addressNew, hist.judgeAddress(9, testPollTime.Add(4*time.Hour), watched, memory))
}
