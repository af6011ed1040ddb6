package cloudflareidentityreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

// loginGenerator appends login events to the simulator; their audit ids are
// the ids the contract checker tracks. Each scenario gets a fresh account, so
// that the next scenario's receiver does not read the previous one's events.
type loginGenerator struct {
	sim       *cloudflaresim.Server
	account   string
	scenarios int
	next      atomic.Int64
}

func (g *loginGenerator) Start() {
	g.scenarios++
	g.account = fmt.Sprintf("%032x", g.scenarios)
	g.sim.AddAccount(cloudflaresim.Account{ID: g.account, Name: "Contract"})
}

func (g *loginGenerator) Stop() { g.sim.RemoveAccount(g.account) }

func (g *loginGenerator) Generate() []receivertest.UniqueIDAttrVal {
	ids := make([]receivertest.UniqueIDAttrVal, 3)
	for i := range ids {
		id := fmt.Sprintf("contract-%012d", g.next.Add(1))
		g.sim.AppendLogin(g.account, cloudflaresim.LoginEvent{
			ID: id, When: time.Now().Add(-time.Second), Success: true,
			ActorEmail: "ada@example.com", ActorType: "user",
		})
		ids[i] = receivertest.UniqueIDAttrVal(id)
	}
	return ids
}

// uidAsTestID copies log.record.uid into the attribute the checker reads.
type uidAsTestID struct{ next consumer.Logs }

func (c uidAsTestID) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (c uidAsTestID) ConsumeLogs(ctx context.Context, logs plog.Logs) error {
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				uid, _ := lr.Attributes().Get("log.record.uid")
				lr.Attributes().PutStr(receivertest.UniqueIDAttrName, uid.Str())
			}
		}
	}
	return c.next.ConsumeLogs(ctx, logs)
}

// TestConsumeContract runs the collector's receiver contract: with a pipeline
// that always succeeds, fails now and then (retried), refuses permanently
// (dropped) or mixes both, every generated login is accepted or dropped
// exactly once.
func TestConsumeContract(t *testing.T) {
	sim := simtest.Start(t, cloudflaresim.Config{})
	cfg := testConfig(sim)
	cfg.Users.Enabled = false
	// Below the validated minimums, to keep the test short; the users interval
	// is also how often the logins stream lists accounts again.
	cfg.Logins.PollInterval = 20 * time.Millisecond
	cfg.Users.PollInterval = 20 * time.Millisecond
	cfg.Logins.PageSize = 25
	// Polls every 20 ms need more than the default budget, which would spread
	// them (Limiter.Spread): this test is of the pipeline, not of the budget.
	cfg.RateLimit.RequestsPerWindow = 1_000_000

	factory := receiver.NewFactory(metadata.Type, func() component.Config { return cfg },
		receiver.WithLogs(func(ctx context.Context, set receiver.Settings, c component.Config, next consumer.Logs) (receiver.Logs, error) {
			r, err := newIdentityReceiver(set, c.(*Config), uidAsTestID{next: next})
			if err != nil {
				return nil, err
			}
			r.retry = fastRetry
			return r, nil
		}, metadata.LogsStability))

	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       factory,
		Signal:        pipeline.SignalLogs,
		Config:        cfg,
		Generator:     &loginGenerator{sim: sim},
		GenerateCount: 200,
	})
}
