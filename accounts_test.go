package cloudflareidentityreceiver

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestAccountsComeAndGo: an account out of the token's reach stops being
// polled without failing the others; a new one is picked up by the next users poll.
func TestAccountsComeAndGo(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 5, LoginsPerAccount: 5, LoginSpan: time.Hour})
	sim, sink, r := env.sim, env.sink, env.r
	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.pollLogins(context.Background()))
	gone := sim.Accounts()[0]
	sim.RemoveAccount(gone.ID)
	added := cloudflaresim.Account{ID: "aaaaaaaabbbbbbbbccccccccdddddddd", Name: "New Corp"}
	sim.AddAccount(added)
	sim.AddMember(added.ID, sim.NewMember())
	sink.Reset()
	sim.ResetStats()
	env.clock.Advance(5 * time.Minute) // README: a new account is found within 5 minutes

	require.NoError(t, r.pollUsers(context.Background()))
	require.NoError(t, r.pollLogins(context.Background()))
	assert.Zero(t, sim.Stats().Unauthorized, "the vanished account is not called")
	recs := records(sink.AllLogs())
	require.Len(t, recs, 1)
	assert.Equal(t, added.ID, recs[0].account)
	assert.Equal(t, eventMember, recs[0].eventName, "a new account starts with an inventory")
}

// memberReads counts the reads of member snapshots through a storage client.
type memberReads struct {
	storage.Client
	n atomic.Int32
}

func (c *memberReads) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.HasPrefix(key, "members.") {
		c.n.Add(1)
	}
	return c.Client.Get(ctx, key)
}

// TestMemberSnapshotIsReadOnceForLogins: the logins stream looks for a
// stored member list once per account, also when there is none (users
// stream off), not on every poll.
func TestMemberSnapshotIsReadOnceForLogins(t *testing.T) {
	env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 3}, withStorage(),
		withConfig(func(cfg *Config) { cfg.Users.Enabled = false }))
	reads := &memberReads{Client: env.r.store.client}
	env.r.store.client = reads
	for range 3 {
		require.NoError(t, env.r.pollLogins(context.Background()))
		env.clock.Advance(time.Minute)
	}
	assert.Equal(t, int32(1), reads.n.Load())
}
