package cloudflareidentityreceiver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNetworkOf(t *testing.T) {
	tests := []struct {
		addr       string
		ipv4, ipv6 int
		want       string
	}{
		{addr: "203.0.113.7", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "203.0.113.250", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "203.0.113.7", ipv4: 16, ipv6: 56, want: "203.0.0.0/16"},
		{addr: "203.0.113.7", ipv4: 32, ipv6: 56, want: "203.0.113.7/32"},
		{addr: "::ffff:203.0.113.7", ipv4: 24, ipv6: 56, want: "203.0.113.0/24"},
		{addr: "2001:db8:5a76:4152::8c9c", ipv4: 24, ipv6: 56, want: "2001:db8:5a76:4100::/56"},
		{addr: "2001:db8:5a76:41ff:1::1", ipv4: 24, ipv6: 56, want: "2001:db8:5a76:4100::/56"},
		{addr: "fe80::1%eth0", ipv4: 24, ipv6: 64, want: "fe80::/64"},
		{addr: "", ipv4: 24, ipv6: 56, want: ""},
		{addr: "not an address", ipv4: 24, ipv6: 56, want: ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d", tt.addr, tt.ipv4, tt.ipv6), func(t *testing.T) {
			assert.Equal(t, tt.want, networkOf(tt.addr, tt.ipv4, tt.ipv6))
		})
	}
}

// TestJudgeAddress runs sequences of one user's logins through a history and
// checks each verdict.
func TestJudgeAddress(t *testing.T) {
	const memory = 30 * 24 * time.Hour
	day := func(n float64) time.Time { return testPollTime.Add(time.Duration(n * float64(24*time.Hour))) }
	type login struct {
		network string
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
			{"a", day(1), addressUnjudged}, {"a", day(2), addressKnown}, {"b", day(3), addressUnjudged},
		}},
		{name: "watched longer than the memory: first login from a network is new", watchedSince: day(-31), memory: memory, logins: []login{
			{"a", day(0), addressNew}, {"a", day(1), addressKnown}, {"b", day(2), addressNew}, {"a", day(3), addressKnown},
		}},
		{name: "the watch reaches the memory while watching", watchedSince: day(0), memory: memory, logins: []login{
			{"a", day(1), addressUnjudged}, {"b", day(29.9), addressUnjudged}, {"c", day(30), addressNew},
		}},
		{name: "a network not used for longer than the memory is new again", watchedSince: day(-31), memory: memory, logins: []login{
			{"a", day(0), addressNew}, {"a", day(30), addressKnown}, {"a", day(60.01), addressNew},
		}},
		{name: "a late login from a network seen after it is known", watchedSince: day(-31), memory: memory, logins: []login{
			{"a", day(5), addressNew}, {"a", day(4), addressKnown}, {"a", day(34.5), addressKnown},
		}},
		{name: "no address", watchedSince: day(-31), memory: memory, logins: []login{{"", day(0), addressUnjudged}}},
		{name: "memory off", watchedSince: day(-31), memory: 0, logins: []login{{"a", day(0), addressUnjudged}}},
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
		hist.judgeAddress(fmt.Sprintf("n%d", i), testPollTime.Add(time.Duration(i)*time.Minute), watched, memory)
	}
	// n0 ... n7 went; n0, used again, comes back and pushes out n8.
	hist.judgeAddress("n0", testPollTime.Add(time.Hour), watched, memory)
	require.Len(t, hist.Networks, maxNetworksPerUser)
	assert.Equal(t, "n0", hist.Networks[0].Network)
	assert.Equal(t, addressNew, hist.judgeAddress("n8", testPollTime.Add(2*time.Hour), watched, memory))
	// n8 came back and pushed out n9, the least recently used; n10 stays.
	assert.Equal(t, addressKnown, hist.judgeAddress("n10", testPollTime.Add(3*time.Hour), watched, memory))
	assert.Equal(t, addressNew, hist.judgeAddress("n9", testPollTime.Add(4*time.Hour), watched, memory))
}
