package cloudflareidentityreceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

// TestAStreamIsOneDescriptor adds a stream the way docs/development.md's "Adding a
// stream" says, a descriptor in allStreams and nothing else, and checks that
// the receiver polls it, the planner counts it, the status reports it,
// Validate checks its keys, and a 403 of its endpoint names its permission.
// Mutations caught: newPollState polling a list of its own; planRequests
// leaving a stream out; Validate without the loop's validate call;
// streamPermission answering "" for every endpoint.
func TestAStreamIsOneDescriptor(t *testing.T) {
	errProbeKey := errors.New("probe.poll_interval: refused by the probe")
	var polled []string
	probe := &streamDescriptor{
		name:    "probe",
		enabled: func(*Config) bool { return true },
		intervals: func(*Config) []streamInterval {
			return []streamInterval{{"poll_interval", time.Hour}}
		},
		requestsPerMinute: func(*Config, float64) float64 { return 2 },
		permission:        "Probe: Read",
		endpoints:         []string{"probe_endpoint"},
		validate:          func(cfg *Config) []error { return []error{errProbeKey} },
		open: func(*streamEnv, *Config) pollFunc {
			return func(_ context.Context, account cloudflare.Account) error {
				polled = append(polled, account.ID)
				return nil
			}
		},
	}
	all := allStreams
	allStreams = append(append([]*streamDescriptor(nil), all...), probe)
	t.Cleanup(func() { allStreams = all })

	env := newTestEnv(t, cloudflaresim.Config{Accounts: 2, MembersPerAccount: 1})
	require.NoError(t, env.r.pollStep(context.Background(), env.r.streamNamed("probe")))
	var accounts []string
	for _, account := range env.sim.Accounts() {
		accounts = append(accounts, account.ID)
	}
	assert.ElementsMatch(t, accounts, polled, "the receiver polls every account of the stream")
	assert.Contains(t, env.r.status.streams, "probe", "the status reports the stream")

	plan := planRequests(env.cfg, 3, 1)
	assert.InDelta(t, 6, plan.byStream["probe"], 1e-9, "the planner counts 2 requests a minute for each of 3 accounts")
	assert.ErrorIs(t, env.cfg.Validate(), errProbeKey, "Validate checks the stream's keys")
	assert.Equal(t, "Probe: Read", streamPermission("probe_endpoint"), "a 403 of its endpoint names its permission")
}
