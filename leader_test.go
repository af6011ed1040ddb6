package cloudflareidentityreceiver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/k8sleaderelector/k8sleaderelectortest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

var (
	electorID = component.MustNewID("k8s_leader_elector")
	sharedID  = storagetest.NewStorageID("redis_storage")
	counterID = component.MustNewID("request_counter")
)

// sharedStorage is a storage extension that hands every receiver the same
// client, as redis_storage gives the replicas of a Deployment the same Redis.
type sharedStorage struct {
	component.StartFunc
	component.ShutdownFunc
	client storage.Client
}

func (s *sharedStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return s.client, nil
}

// requestCounter is an HTTP client auth extension that only counts the
// requests it sees: the receiver's HTTP client calls it as it sends each one
// (a count kept by the server would also see requests cut short by the end
// of a term arrive after it).
type requestCounter struct {
	component.StartFunc
	component.ShutdownFunc
	sent atomic.Int64
	// beforeSend, when set, is called with each request before it is sent.
	beforeSend func(*http.Request)
}

func (c *requestCounter) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		c.sent.Add(1)
		if c.beforeSend != nil {
			c.beforeSend(req)
		}
		return base.RoundTrip(req)
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// replica is one collector of a pair: a started receiver behind contrib's
// fake leader elector, on the shared storage, polling the shared simulator
// with an HTTP client that counts its requests.
type replica struct {
	r        *identityReceiver
	elector  *k8sleaderelectortest.FakeLeaderElection
	host     *statusHost
	requests *requestCounter
}

// handover stands for the Kubernetes lease moving mid-backfill: a replica's
// consumer takes its page number atPage of logins, then hangs until its
// loops are cancelled and fails, so that the checkpoint stays before that
// page (the page in flight). inFlight gets the page's login ids.
type handover struct {
	atPage   int
	reached  chan struct{}
	inFlight map[string]bool
}

func newHandover(atPage int) *handover {
	return &handover{atPage: atPage, reached: make(chan struct{}), inFlight: map[string]bool{}}
}

func (h *handover) consumer(sink consumer.Logs) consumer.Logs {
	var pages int
	next, _ := consumer.NewLogs(func(ctx context.Context, logs plog.Logs) error {
		if err := sink.ConsumeLogs(ctx, logs); err != nil {
			return err
		}
		if pages++; pages != h.atPage {
			return nil
		}
		for uid := range uidCounts(records([]plog.Logs{logs})) {
			h.inFlight[uid] = true
		}
		close(h.reached)
		<-ctx.Done()
		return ctx.Err()
	})
	return next
}

// startReplica starts a replica that logs to logger and counts its requests
// in requests (nil: a counter of its own).
func startReplica(t *testing.T, sim *cloudflaresim.Server, clock *cloudflaresim.ManualClock, shared *sharedStorage, next consumer.Logs,
	logger *zap.Logger, requests *requestCounter,
) *replica {
	t.Helper()
	if requests == nil {
		requests = &requestCounter{}
	}
	rep := &replica{elector: &k8sleaderelectortest.FakeLeaderElection{}, requests: requests}
	cfg := testConfig(sim)
	cfg.Auth = configoptional.Some(configauth.Config{AuthenticatorID: counterID})
	cfg.Users.Enabled = false
	cfg.Logins.PageSize = 10
	cfg.Logins.PollInterval = time.Hour // one poll per term: the backfill
	cfg.StorageID = &sharedID
	cfg.LeaderElectorID = &electorID
	settings := receivertest.NewNopSettings(metadata.Type)
	settings.ID = component.NewID(metadata.Type) // both replicas run the same config
	settings.Logger = logger
	r, err := newIdentityReceiver(settings, cfg, next)
	require.NoError(t, err)
	r.now, r.retry = clock.Now, fastRetry
	rep.r = r
	rep.host = &statusHost{Host: storagetest.NewStorageHost().WithExtension(sharedID, shared).
		WithExtension(electorID, rep.elector).WithExtension(counterID, rep.requests)}
	require.NoError(t, r.Start(context.Background(), rep.host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return rep
}

// TestLeadershipMovesMidBackfillAndBack: two replicas share storage; the
// lease moves from A to B in the middle of a backfill, and back to A. Every
// login is emitted; only the pages in flight at the handovers are emitted
// twice; a standby calls no API at all; A's second term starts from the
// checkpoint B left in storage, not from what A remembers of its first.
func TestLeadershipMovesMidBackfillAndBack(t *testing.T) {
	clock := newTestClock()
	sim := simtest.Start(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 80, LoginSpan: 10 * time.Hour, Now: clock.Now})
	shared := &sharedStorage{client: storagetest.NewInMemoryClient(component.KindReceiver, component.NewID(metadata.Type), "")}
	sink := new(consumertest.LogsSink)
	toB, backToA := newHandover(3), newHandover(2)
	a := startReplica(t, sim, clock, shared, toB.consumer(sink), zap.NewNop(), nil)
	b := startReplica(t, sim, clock, shared, backToA.consumer(sink), zap.NewNop(), nil)
	require.Zero(t, a.requests.sent.Load()+b.requests.sent.Load(), "a standby calls no API")

	a.elector.InvokeOnLeading()
	<-toB.reached
	a.elector.InvokeOnStopping() // returns once A's loops have stopped
	assert.Equal(t, componentstatus.StatusOK, a.host.last(), "a standby is OK")
	assert.Zero(t, b.requests.sent.Load(), "B stood by while A led")
	aRequests := a.requests.sent.Load()

	b.elector.InvokeOnLeading()
	<-backToA.reached
	b.elector.InvokeOnStopping()
	assert.Equal(t, aRequests, a.requests.sent.Load(), "A stood by while B led")
	bRequests := b.requests.sent.Load()

	want := sim.Logins(sim.Accounts()[0].ID)
	a.elector.InvokeOnLeading()
	require.Eventually(t, func() bool { return len(uidCounts(records(sink.AllLogs()))) == len(want) },
		30*time.Second, 10*time.Millisecond, "A finishes the backfill")
	a.elector.InvokeOnStopping()
	assert.Equal(t, bRequests, b.requests.sent.Load(), "B stood by while A led again")

	counts := uidCounts(records(sink.AllLogs()))
	for _, e := range want {
		wantCount := 1
		if toB.inFlight[e.ID] || backToA.inFlight[e.ID] {
			wantCount = 2
		}
		assert.Equal(t, wantCount, counts[e.ID], "login %s", e.ID)
	}
}

func TestLeaderElectorMustBeConfigured(t *testing.T) {
	tests := []struct {
		name    string
		host    component.Host
		wantErr error
	}{
		{name: "not in the service's extensions", host: storagetest.NewStorageHost(), wantErr: errLeaderElectorNotConfigured},
		{name: "another kind of extension", host: storagetest.NewStorageHost().WithExtension(electorID, storagetest.NewNonStorageExtension("other")),
			wantErr: errNotLeaderElector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := simtest.Start(t, cloudflaresim.Config{Accounts: 1})
			cfg := testConfig(sim)
			cfg.LeaderElectorID = &electorID
			r, err := newIdentityReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			require.NoError(t, err)
			err = r.Start(context.Background(), tt.host)
			require.ErrorIs(t, err, tt.wantErr)
			assert.ErrorContains(t, err, `k8s_leader_elector: extension "k8s_leader_elector"`)
			require.NoError(t, r.Shutdown(context.Background()))
			assert.Zero(t, sim.Stats().Total, "no API call")
		})
	}
}

// cursorWrites records the high-water mark of every login checkpoint written
// through it, in order.
type cursorWrites struct {
	storage.Client
	key string

	mu         sync.Mutex
	highWaters []time.Time
}

func (c *cursorWrites) record(key string, value []byte) {
	if key != c.key {
		return
	}
	var cursor windowCursor
	if err := json.Unmarshal(value, &cursor); err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.highWaters = append(c.highWaters, cursor.HighWater)
}

func (c *cursorWrites) Set(ctx context.Context, key string, value []byte) error {
	c.record(key, value)
	return c.Client.Set(ctx, key, value)
}

func (c *cursorWrites) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type == storage.Set {
			c.record(op.Key, op.Value)
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// TestReplacedLeaderStopsWithoutWriting: client-go's lease does not keep two
// leaders apart (a frozen leader resumes believing it leads). Here A freezes
// in the middle of a backfill, B leads meanwhile and finishes it, then A
// resumes: A must neither emit nor store anything more than the page in
// flight (no checkpoint write moves backwards), read at most the page it read
// ahead, and stop by itself, before its elector says anything.
func TestReplacedLeaderStopsWithoutWriting(t *testing.T) {
	const frozenPage = 3
	tests := []struct {
		name string
		// freeze makes A hang at its frozenPage-th page until resume is
		// closed, and closes reached once it hangs.
		freeze func(a *requestCounter, sink consumer.Logs, reached, resume chan struct{}, inFlight map[string]bool) consumer.Logs
		// inFlightTwice: the frozen page reached the pipeline, and B read it again.
		inFlightTwice bool
	}{
		{
			name: "frozen while the pipeline takes a page", inFlightTwice: true,
			freeze: func(_ *requestCounter, sink consumer.Logs, reached, resume chan struct{}, inFlight map[string]bool) consumer.Logs {
				pages := 0
				next, _ := consumer.NewLogs(func(ctx context.Context, logs plog.Logs) error {
					if err := sink.ConsumeLogs(ctx, logs); err != nil {
						return err
					}
					if pages++; pages == frozenPage {
						for uid := range uidCounts(records([]plog.Logs{logs})) {
							inFlight[uid] = true
						}
						close(reached)
						<-resume // then the pipeline took the page
					}
					return nil
				})
				return next
			},
		},
		{
			name: "frozen while a page is read",
			freeze: func(a *requestCounter, sink consumer.Logs, reached, resume chan struct{}, _ map[string]bool) consumer.Logs {
				// The token check runs alongside: count audit pages only.
				audit := 0
				var mu sync.Mutex
				a.beforeSend = func(req *http.Request) {
					if !strings.HasSuffix(req.URL.Path, "/audit_logs") {
						return
					}
					mu.Lock()
					audit++
					hold := audit == frozenPage
					mu.Unlock()
					if hold {
						close(reached)
						<-resume
					}
				}
				return sink
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			sim := simtest.Start(t, cloudflaresim.Config{Accounts: 1, LoginsPerAccount: 80, LoginSpan: 10 * time.Hour, Now: clock.Now})
			account := sim.Accounts()[0].ID
			writes := &cursorWrites{Client: storagetest.NewInMemoryClient(component.KindReceiver, component.NewID(metadata.Type), ""),
				key: loginCursorKey(loginSourceV1, account)}
			shared := &sharedStorage{client: writes}
			sink := new(consumertest.LogsSink)
			reached, resume := make(chan struct{}), make(chan struct{})
			inFlight := map[string]bool{}
			core, logs := observer.New(zapcore.WarnLevel)
			aRequests := &requestCounter{}
			a := startReplica(t, sim, clock, shared, tt.freeze(aRequests, sink, reached, resume, inFlight), zap.New(core), aRequests)
			b := startReplica(t, sim, clock, shared, sink, zap.NewNop(), nil)

			a.elector.InvokeOnLeading()
			<-reached
			b.elector.InvokeOnLeading() // A's elector has not noticed: both believe they lead
			want := sim.Logins(account)
			require.Eventually(t, func() bool { return len(uidCounts(records(sink.AllLogs()))) == len(want) },
				30*time.Second, 10*time.Millisecond, "B finishes the backfill")
			sent := a.requests.sent.Load()
			close(resume)
			require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Another replica leads now").Len() == 1 },
				10*time.Second, 10*time.Millisecond, "A notices it was replaced")
			select {
			case <-a.r.stopLoops():
			case <-time.After(10 * time.Second):
				t.Fatal("A's loops did not stop by themselves")
			}

			// At most the next page, read ahead while the one in flight was handed over.
			assert.LessOrEqual(t, a.requests.sent.Load(), sent+1, "A reads on once it resumed")
			writes.mu.Lock()
			for i := 1; i < len(writes.highWaters); i++ {
				assert.False(t, writes.highWaters[i].Before(writes.highWaters[i-1]),
					"checkpoint write %d moves the high-water mark back from %s to %s", i, writes.highWaters[i-1], writes.highWaters[i])
			}
			writes.mu.Unlock()
			counts := uidCounts(records(sink.AllLogs()))
			for _, e := range want {
				wantCount := 1
				if tt.inFlightTwice && inFlight[e.ID] {
					wantCount = 2 // A's page in flight, which B read again
				}
				assert.Equal(t, wantCount, counts[e.ID], "login %s", e.ID)
			}
			b.elector.InvokeOnStopping()
		})
	}
}

// TestLeaderTermCheck: a term holds while its record is the stored one; a
// record that vanished (a Redis restarted without persistence) is written
// again rather than taken for another leader; a later term ends this one.
func TestLeaderTermCheck(t *testing.T) {
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.NewID(metadata.Type), "")
	ended := false
	a := &leaderTerm{client: client, logger: zap.NewNop(), end: func() { ended = true }}
	ctx := context.Background()
	require.NoError(t, a.begin(ctx))
	require.NoError(t, a.check(ctx))

	require.NoError(t, client.Delete(ctx, leaderTermKey))
	require.NoError(t, a.check(ctx), "a vanished record is no other leader")
	number, tag, err := a.stored(ctx)
	require.NoError(t, err)
	assert.Equal(t, a.number, number, "recorded again")
	assert.Equal(t, a.tag, tag)
	assert.False(t, ended)

	b := &leaderTerm{client: client, logger: zap.NewNop(), end: func() {}}
	require.NoError(t, b.begin(ctx))
	assert.Equal(t, a.number+1, b.number)
	require.ErrorIs(t, a.check(ctx), errReplaced)
	assert.True(t, ended, "the replaced term's loops are ended")

	// The record vanishes, and another replica records term 1 again: its tag tells it apart.
	require.NoError(t, client.Delete(ctx, leaderTermKey))
	c := &leaderTerm{client: client, logger: zap.NewNop(), end: func() {}}
	require.NoError(t, c.begin(ctx))
	require.Equal(t, uint64(1), c.number)
	a.number, ended = 1, false
	require.ErrorIs(t, a.check(ctx), errReplaced, "the same number, another tag")
	assert.True(t, ended)
}
