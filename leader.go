package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// errReplaced ends a term whose number is no longer the stored one.
var errReplaced = errors.New("another replica leads now")

// leaderTermRetry is how long a new leader waits before it tries again to
// take its term number from storage.
const leaderTermRetry = 2 * time.Second

// leaderTerm is one term of leadership, recorded in the shared storage: a
// fencing token. A replica starting to lead records the next number with a
// random tag of its own before it polls; one that finds another record was
// replaced. A record that vanished (a Redis that restarted empty) is no sign
// of another leader, who would have recorded its own: it is recorded again.
type leaderTerm struct {
	client storage.Client
	logger *zap.Logger
	number uint64
	tag    string // tells two terms of one number apart, should the record vanish between them
	// end cancels the term's loops; set by startLoops.
	end context.CancelFunc
}

// begin takes the next term number, retrying until storage answers or ctx ends.
func (t *leaderTerm) begin(ctx context.Context) error {
	var tag [8]byte
	_, _ = rand.Read(tag[:])
	t.tag = hex.EncodeToString(tag[:])
	for warned := false; ; warned = true {
		stored, _, err := t.stored(ctx)
		if err == nil {
			t.number = stored + 1
			if err = t.record(ctx); err == nil {
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
// replica recorded its term; a storage failure is returned as such.
func (t *leaderTerm) check(ctx context.Context) error {
	stored, tag, err := t.stored(ctx)
	switch {
	case err != nil:
		return err
	case stored == t.number && tag == t.tag:
		return nil
	case stored == 0:
		t.logger.Warn("The leader term vanished from storage (a Redis restarted without persistence?): recorded again",
			zap.Uint64("term", t.number))
		return t.record(ctx)
	}
	t.logger.Warn("Another replica leads now: this one stops polling without emitting or storing more",
		zap.Uint64("term", t.number), zap.Uint64("stored_term", stored))
	t.end()
	return fmt.Errorf("%w (term %d, stored %d)", errReplaced, t.number, stored)
}

// record writes this term as the latest.
func (t *leaderTerm) record(ctx context.Context) error {
	if err := t.client.Set(ctx, leaderTermKey, []byte(strconv.FormatUint(t.number, 10)+" "+t.tag)); err != nil {
		return storageError{fmt.Errorf("writing the leader term: %w", err)}
	}
	return nil
}

// stored reads the latest term: its number (0 when there is none) and tag.
func (t *leaderTerm) stored(ctx context.Context) (uint64, string, error) {
	data, err := t.client.Get(ctx, leaderTermKey)
	if err != nil {
		return 0, "", storageError{fmt.Errorf("reading the leader term: %w", err)}
	}
	if len(data) == 0 {
		return 0, "", nil
	}
	text, tag, _ := strings.Cut(string(data), " ")
	number, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("reading the leader term %q: %w", data, err)
	}
	return number, tag, nil
}

// checkTerm checks this replica's term of leadership, if it leads under
// k8s_leader_elector with storage; checkpointStore calls it before writes.
func (r *identityReceiver) checkTerm(ctx context.Context) error {
	if r.term == nil {
		return nil
	}
	return r.term.check(ctx)
}
