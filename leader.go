package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/k8sleaderelector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

var (
	errLeaderElectorNotConfigured = errors.New("is not configured in the service's extensions")
	errNotLeaderElector           = errors.New("is not a k8s_leader_elector extension")
)

// pollWhileLeading hands the polling loops to the k8s_leader_elector
// extension named id: they run only while this replica holds the lease, so
// that of several replicas one polls. A standby calls no API at all; the
// collector reports it OK.
//
// The lease alone does not keep two replicas from polling at once: client-go
// does not promise one leader at a time (a frozen process resumes still
// believing it leads), and the stop callback comes only once the elector
// noticed. Each term therefore takes the next number of a counter in storage
// (leaderTerm), and every batch and checkpoint write first checks that the
// stored number is still its own: a replica that another one replaced stops
// there, having emitted at most the page in flight and written nothing.
func (r *identityReceiver) pollWhileLeading(host component.Host, id component.ID) error {
	ext, found := host.GetExtensions()[id]
	if !found {
		return fmt.Errorf("k8s_leader_elector: extension %q %w", id, errLeaderElectorNotConfigured)
	}
	elector, ok := ext.(k8sleaderelector.LeaderElection)
	if !ok {
		return fmt.Errorf("k8s_leader_elector: extension %q %w", id, errNotLeaderElector)
	}
	r.settings.Logger.Info("Standing by: polling starts when this replica leads", zap.String("k8s_leader_elector", id.String()))
	elector.SetCallBackFuncs(
		// ctx ends when the elector stops leading; when the callback is
		// registered after the election was won, contrib passes a context
		// that never ends, and only the stop callback ends the term.
		func(ctx context.Context) {
			r.settings.Logger.Info("Leading: polling starts from the checkpoints in storage")
			// Another replica polled in the meantime: nothing kept in memory is current.
			r.startLoops(ctx, func() {
				r.newPollState(host)
				if !r.store.memoryOnly {
					r.term = &leaderTerm{client: r.storageClient, logger: r.settings.Logger}
				}
			})
		},
		func() {
			// Waits for the loops to return; the term check, not this
			// callback, keeps a replaced leader from writing (see above).
			<-r.stopLoops()
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.shutDown {
				return
			}
			r.settings.Logger.Info("Lost leadership: polling stopped, standing by")
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
		})
	return nil
}

// leaderTermKey is the storage key of the leader term counter.
const leaderTermKey = "leader_term"

// errReplaced ends a term whose number is no longer the stored one.
var errReplaced = errors.New("another replica leads now")

// leaderTermRetry is how long a new leader waits before it tries again to
// take its term number from storage.
const leaderTermRetry = 2 * time.Second

// leaderTerm is one term of leadership, numbered from a counter kept in the
// shared storage: a fencing token. A replica starting to lead takes the next
// number before it polls; one that finds another number stored was replaced.
type leaderTerm struct {
	client storage.Client
	logger *zap.Logger
	number uint64
	// end cancels the term's loops; set by startLoops.
	end context.CancelFunc
}

// begin takes the next term number, retrying until storage answers or ctx ends.
func (t *leaderTerm) begin(ctx context.Context) error {
	for warned := false; ; warned = true {
		stored, err := t.stored(ctx)
		if err == nil {
			t.number = stored + 1
			if err = t.client.Set(ctx, leaderTermKey, strconv.AppendUint(nil, t.number, 10)); err == nil {
				return nil
			}
		}
		if !warned {
			t.logger.Warn("Leading, but the term cannot be recorded in storage; polling starts once it can", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(leaderTermRetry):
		}
	}
}

// check returns errReplaced, and ends the term's loops, once another
// replica took a later term; a storage failure is returned as such.
func (t *leaderTerm) check(ctx context.Context) error {
	stored, err := t.stored(ctx)
	if err != nil {
		return err
	}
	if stored == t.number {
		return nil
	}
	t.logger.Warn("Another replica leads now: this one stops polling without emitting or storing more",
		zap.Uint64("term", t.number), zap.Uint64("stored_term", stored))
	t.end()
	return fmt.Errorf("%w (term %d, stored %d)", errReplaced, t.number, stored)
}

// stored reads the latest term number; 0 when there is none yet.
func (t *leaderTerm) stored(ctx context.Context) (uint64, error) {
	data, err := t.client.Get(ctx, leaderTermKey)
	if err != nil {
		return 0, storageError{fmt.Errorf("reading the leader term: %w", err)}
	}
	if len(data) == 0 {
		return 0, nil
	}
	number, err := strconv.ParseUint(string(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading the leader term %q: %w", data, err)
	}
	return number, nil
}

// checkTerm checks this replica's term of leadership, if it leads under
// k8s_leader_elector with storage; checkpointStore calls it before writes.
func (r *identityReceiver) checkTerm(ctx context.Context) error {
	if r.term == nil {
		return nil
	}
	return r.term.check(ctx)
}
