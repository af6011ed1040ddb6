package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// TestLoginHistoriesKeepNoPageAlive: a user id read from a page of logins
// is a substring of the whole page, so the histories must not keep it as a
// map key, whether the user was only read or written.
func TestLoginHistoriesKeepNoPageAlive(t *testing.T) {
	page := strings.Repeat("x", 1<<16) + "user-read" + "user-written"
	read, written := page[1<<16:1<<16+9], page[1<<16+9:]
	histories := newLoginHistories(&checkpointStore{client: storage.NewNopClient()})

	// Read only: the page that read it was refused, so nothing was put.
	_, err := histories.get(context.Background(), "acct", read)
	require.NoError(t, err)
	histories.put("acct", written, loginHistory{LastLogin: time.Unix(2, 0)})

	pageStart, pageEnd := uintptr(unsafe.Pointer(unsafe.StringData(page))), uintptr(unsafe.Pointer(unsafe.StringData(page)))+uintptr(len(page))
	require.Len(t, histories.byAccount["acct"], 2)
	for user := range histories.byAccount["acct"] {
		at := uintptr(unsafe.Pointer(unsafe.StringData(user)))
		assert.False(t, at >= pageStart && at < pageEnd, "the key %q is a substring of the page", user)
	}
}

// TestHistoryEncoding: a history reads back as it was written (times seen
// to the second before the last login), at the bound in at most 400 bytes
// with its storage key; one stored as JSON by an earlier version reads as
// the same networks; what is neither is refused.
// Mutations caught: encodeHistory writing the seconds before the last login
// as seen - last (wrapped: every network decoded as just seen); decodeHistory
// without its JSON branch; prefixKey without the IPv6 bit.
func TestHistoryEncoding(t *testing.T) {
	last := time.Date(2026, 11, 27, 13, 34, 3, 123456789, time.UTC)
	var full loginHistory
	full.LastLogin = last
	for i := range maxNetworksPerUser {
		addr := fmt.Sprintf("198.51.%d.7", i)
		if i%4 == 0 {
			addr = fmt.Sprintf("2001:db8:%x::7", 0x5a00+i)
		}
		key, ok := networkKey(addr, defaultIPv4Prefix, defaultIPv6Prefix)
		require.True(t, ok)
		full.Networks = append(full.Networks, networkSeen{network: key, seen: last.Add(-time.Duration(i) * 7 * time.Minute).UnixNano()})
	}
	for _, hist := range []loginHistory{{}, {LastLogin: last}, full} {
		encoded := encodeHistory(&hist)
		decoded, err := decodeHistory(encoded)
		require.NoError(t, err)
		assert.True(t, hist.LastLogin.Equal(decoded.LastLogin))
		require.Len(t, decoded.Networks, len(hist.Networks))
		for i, n := range hist.Networks {
			assert.Equal(t, n.network, decoded.Networks[i].network)
			assert.Equal(t, time.Unix(0, n.seen).Truncate(time.Second).UnixNano()-last.Truncate(time.Second).UnixNano(),
				decoded.Networks[i].seen-last.Truncate(time.Second).UnixNano(), "network %d seen", i)
		}
	}
	stored := len(encodeHistory(&full)) + len(loginHistoryKey(strings.Repeat("a", 32), strings.Repeat("b", 32)))
	assert.LessOrEqual(t, stored, 400, "a history at the bound, with its key")

	legacy := `{"last_login":"2026-11-28T06:01:39.72133539Z","networks":[{"n":"192.0.2.0/24","t":1795845699721335390},` +
		`{"n":"2001:db8:99::/48","t":1795845000000000000},{"n":"not a network","t":1}]}`
	decoded, err := decodeHistory([]byte(legacy))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 28, 6, 1, 39, 721335390, time.UTC), decoded.LastLogin)
	assert.Equal(t, []networkSeen{
		{network: prefixKey(netip.MustParsePrefix("192.0.2.0/24")), seen: 1795845699721335390},
		{network: prefixKey(netip.MustParsePrefix("2001:db8:99::/48")), seen: 1795845000000000000},
	}, decoded.Networks)

	for _, bad := range [][]byte{{}, {2, 1}, {historyFormat, 0x80}} {
		_, err := decodeHistory(bad)
		assert.Error(t, err, "%x", bad)
	}
}
