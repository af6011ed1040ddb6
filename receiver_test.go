package cloudflareidentityreceiver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// TestOneFailingAccountDoesNotSlowTheOthers pins issue 9.6: the backoff after
// failed polls is per account. Before the fix it was per stream, so a 403 on
// one account stretched every account's login poll towards 5 minutes.
func TestOneFailingAccountDoesNotSlowTheOthers(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 2})
	failing, healthy := sim.Accounts()[0].ID, sim.Accounts()[1].ID
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointAuditLogs, AccountID: failing, Count: -1})
	host := &statusHost{Host: componenttest.NewNopHost()}
	cfg := testConfig(sim)
	cfg.Users.Enabled = false
	sink := new(consumertest.LogsSink)
	r := newPollingReceiver(t, cfg, clock, sink, host)

	// The failing account is polled in steps 1 and 2, then in step 4 (its wait
	// doubled to two steps) and step 8 (four); the healthy one in every step.
	failingPolled := []bool{true, true, false, true, false, false, false, true}
	for step, wantFailing := range failingPolled {
		sim.AppendLogin(healthy, cloudflaresim.LoginEvent{ID: "healthy-" + string(rune('a'+step)), When: clock.Now().Add(-time.Second),
			Success: true, ActorEmail: "ada@example.com", ActorType: "user"})
		sink.Reset()
		err := r.pollLogins(context.Background())
		if wantFailing {
			require.Error(t, err, "step %d", step+1)
			assert.Contains(t, err.Error(), failing)
		} else {
			require.NoError(t, err, "step %d: the failing account sits out", step+1)
		}
		assert.Equal(t, 1, sink.LogRecordCount(), "step %d: the healthy account's new login", step+1)
		assert.Equal(t, componentstatus.StatusRecoverableError, host.last(), "step %d", step+1)
		clock.Advance(cfg.Logins.PollInterval)
	}
	require.NotNil(t, host.lastEvent().Err())
	assert.Contains(t, host.lastEvent().Err().Error(), failing, "the status names the failing account")
}

// blockingConsumer holds every batch until released, whatever its context says.
type blockingConsumer struct {
	consumertest.LogsSink
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (c *blockingConsumer) ConsumeLogs(_ context.Context, logs plog.Logs) error {
	c.once.Do(func() { close(c.entered) })
	<-c.release
	return c.LogsSink.ConsumeLogs(context.Background(), logs)
}

var _ consumer.Logs = (*blockingConsumer)(nil)

// TestShutdownHonoursItsDeadline pins issue 9.9: Shutdown returns when its
// context ends even if a loop is stuck in a pipeline that ignores
// cancellation. Before the fix it waited for the loop for ever.
func TestShutdownHonoursItsDeadline(t *testing.T) {
	sim := startSim(t, nil, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 5, LoginSpan: time.Hour})
	cfg := testConfig(sim)
	cfg.Users.Enabled = false
	next := &blockingConsumer{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(next.release)
	r, err := newIdentityReceiver(receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	<-next.entered

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown ignored its context's deadline")
	}
}

// TestEachStreamLogsItsOwnError pins issue 9.8: a logins failure gets its own
// ERROR even while the users stream is failing already. Before the fix only
// the first failing stream was ever logged.
func TestEachStreamLogsItsOwnError(t *testing.T) {
	clock := newTestClock()
	sim := startSim(t, clock, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3})
	core, logs := observer.New(zapcore.ErrorLevel)
	r := newPollingReceiver(t, testConfig(sim), clock, new(consumertest.LogsSink), &statusHost{Host: componenttest.NewNopHost()}, zap.New(core))

	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultServerError, Endpoint: cloudflaresim.EndpointMembers, Count: -1})
	require.Error(t, r.pollUsers(context.Background()))
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultInvalidToken, Endpoint: cloudflaresim.EndpointAuditLogs, Count: -1})
	require.Error(t, r.pollLogins(context.Background()))

	lines := logs.All()
	require.Len(t, lines, 2, "one ERROR per failing stream")
	assert.Equal(t, streamUsers, lines[0].ContextMap()["stream"])
	assert.Contains(t, lines[0].ContextMap()["error"], "HTTP 500")
	assert.Equal(t, streamLogins, lines[1].ContextMap()["stream"])
	assert.Contains(t, lines[1].ContextMap()["error"], "HTTP 401, code 1000")
	assert.Contains(t, lines[1].Message, "the API token was refused")
}
