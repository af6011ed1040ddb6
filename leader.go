package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/k8sleaderelector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
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
		// ctx ends when the lease is lost, should the elector call this late.
		func(ctx context.Context) {
			r.settings.Logger.Info("Leading: polling starts from the checkpoints in storage")
			// Another replica polled in the meantime: nothing kept in memory is current.
			r.startLoops(ctx, func() { r.newPollState(host) })
		},
		func() {
			// Wait, so that the next leader never polls alongside this one.
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
