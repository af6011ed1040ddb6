package cloudflareidentityreceiver

import (
	"context"
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
