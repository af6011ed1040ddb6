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
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zapcore"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

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
	cfg := testConfig(simtest.Start(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 5, LoginSpan: time.Hour}))
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

// TestStartWithUnreachableAPIDoesNotFail: Start returns at once; the loops
// report the failure as a recoverable status and stop cleanly on Shutdown.
func TestStartWithUnreachableAPIDoesNotFail(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIToken = "token"
	cfg.Endpoint = "http://127.0.0.1:9/client/v4"   // nothing listens there
	cfg.Logins.PollInterval = 50 * time.Millisecond // below the validated minimum, to keep the test short
	r, err := newIdentityReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	r.retry = fastRetry
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, r.Start(context.Background(), host))
	assert.Eventually(t, func() bool { return host.last() == componentstatus.StatusRecoverableError },
		10*time.Second, 20*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestTokenVerification(t *testing.T) {
	tests := []struct {
		name         string
		kind         cloudflaresim.TokenKind
		token        string
		wantLevel    zapcore.Level
		wantMessage  string
		accountOwned bool
	}{
		{name: "user token", kind: cloudflaresim.UserToken, token: simtest.Token, wantLevel: zapcore.InfoLevel, wantMessage: "Cloudflare API token verified"},
		{name: "account-owned token", kind: cloudflaresim.AccountToken, token: simtest.Token, wantLevel: zapcore.InfoLevel, wantMessage: "Cloudflare API token verified", accountOwned: true},
		{name: "invalid token", kind: cloudflaresim.UserToken, token: "wrong", wantLevel: zapcore.WarnLevel, wantMessage: "Could not verify the Cloudflare API token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, cloudflaresim.Config{Accounts: 1, TokenKind: tt.kind}, observeLogs(zapcore.InfoLevel),
				withConfig(func(cfg *Config) { cfg.APIToken = configopaque.String(tt.token) }))
			env.r.verifyToken(context.Background())
			entries := env.logs.FilterMessageSnippet(tt.wantMessage).All()
			require.Len(t, entries, 1, "logs: %v", env.logs.All())
			assert.Equal(t, tt.wantLevel, entries[0].Level)
			if tt.wantLevel == zapcore.InfoLevel {
				assert.Equal(t, tt.accountOwned, entries[0].ContextMap()["account_owned"])
			}
		})
	}
}
