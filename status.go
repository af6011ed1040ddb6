package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// transportFailuresBeforeError is how many polls in a row must fail on
// transient errors (each after its own retries) before the status turns.
const transportFailuresBeforeError = 2

// requiredPermissions is what the token needs, in the dashboard's words.
const requiredPermissions = "Account Settings:Read (accounts, members, audit logs), Memberships:Read and User Details:Read"

// statusReporter turns poll outcomes of both streams into component status,
// reporting and logging only changes: OK, or a recoverable error with its cause.
type statusReporter struct {
	mu       sync.Mutex
	host     component.Host
	logger   *zap.Logger
	failures map[string]int   // consecutive failed polls per stream
	causes   map[string]error // current error per stream
	current  error            // last reported error; nil when OK
	reported bool
}

func newStatusReporter(host component.Host, logger *zap.Logger) *statusReporter {
	return &statusReporter{host: host, logger: logger, failures: map[string]int{}, causes: map[string]error{}}
}

// pollDone records the outcome of one poll of a stream.
func (s *statusReporter) pollDone(stream string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, fromAPI := cloudflare.KindOf(err)
	switch {
	case err == nil:
		s.failures[stream] = 0
		delete(s.causes, stream)
	case !fromAPI:
		// The pipeline refused records: the exporters report their own status.
		return
	default:
		s.failures[stream]++
		if kind != cloudflare.KindAuth && kind != cloudflare.KindRequest && s.failures[stream] < transportFailuresBeforeError {
			return // a single failed poll is not yet a state
		}
		s.causes[stream] = err
	}
	s.report()
}

func (s *statusReporter) report() {
	var cause error
	for _, stream := range []string{streamUsers, streamLogins} {
		if err := s.causes[stream]; err != nil {
			cause = err
			break
		}
	}
	if s.reported && sameCause(cause, s.current) {
		return
	}
	s.current, s.reported = cause, true
	if cause == nil {
		s.logger.Info("Cloudflare polling is healthy")
		componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
		return
	}
	s.logger.Error("Cloudflare polling is failing; "+remedy(cause), zap.Error(cause))
	componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(cause))
}

// sameCause compares what failed, not the error text, which can carry a
// request's changing query: a new error value for the same failure is no change.
func sameCause(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var apiA, apiB *cloudflare.APIError
	if errors.As(a, &apiA) && errors.As(b, &apiB) {
		return apiA.Kind == apiB.Kind && apiA.Endpoint == apiB.Endpoint &&
			apiA.StatusCode == apiB.StatusCode && apiA.Code == apiB.Code
	}
	return a.Error() == b.Error()
}

// remedy says what the operator should do about an error.
func remedy(err error) string {
	var apiErr *cloudflare.APIError
	if !errors.As(err, &apiErr) {
		return "the receiver retries on every poll"
	}
	switch apiErr.Kind {
	case cloudflare.KindAuth:
		return fmt.Sprintf("the API token was refused: check that it is active (My Profile > API Tokens, or the account's API Tokens) and that it has %s; the receiver keeps retrying and recovers by itself", requiredPermissions)
	case cloudflare.KindRequest:
		return "Cloudflare refused the request: check the account IDs in `accounts` and the `endpoint`"
	case cloudflare.KindRateLimited:
		return "Cloudflare's rate limit was reached: lower rate_limit.requests_per_window or raise the poll intervals"
	}
	return "Cloudflare could not be reached or answered badly: check network access to the endpoint; the receiver retries on every poll"
}
