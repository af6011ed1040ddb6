package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// transportFailuresBeforeError is how many polls of an account in a row must
// fail on transient errors (each after its own retries) before the status
// turns, once the stream has worked; before that, the first failure counts.
const transportFailuresBeforeError = 2

// requiredPermissions is what the token needs, in the dashboard's words.
const requiredPermissions = "Account Settings:Read (accounts, members, audit logs), Memberships:Read and User Details:Read"

// invalidTokenCode is Cloudflare's error code of a refused token.
const invalidTokenCode = 1000

// statusKey is what a status cause belongs to: a stream's poll of one
// account, or with account "" its account listing.
type statusKey struct{ stream, account string }

// statusReporter turns poll outcomes into component status and ERROR lines.
// Every stream and account that fails gets its own ERROR line when its cause
// changes, so that one failure never hides another; the component status is
// the first current cause. OK is reported only once every stream has
// completed a poll: until then the collector shows the status it set at start.
type statusReporter struct {
	mu       sync.Mutex
	host     component.Host
	logger   *zap.Logger
	streams  []string            // in the order causes are reported
	polled   map[string]bool     // streams that completed a poll
	worked   map[string]bool     // streams that had a successful poll of an account
	failures map[statusKey]int   // consecutive failed polls
	causes   map[statusKey]error // current failures
	current  error               // last reported error; nil when OK
	reported bool
}

func newStatusReporter(host component.Host, logger *zap.Logger, streams []string) *statusReporter {
	return &statusReporter{host: host, logger: logger, streams: streams, polled: map[string]bool{}, worked: map[string]bool{},
		failures: map[statusKey]int{}, causes: map[statusKey]error{}}
}

// pollDone records one step of a stream: the outcome of each poll it made,
// keyed by account ("" for the account listing), and the accounts listed
// (nil when the listing was not read). Accounts no longer listed lose their
// causes; accounts skipped while backing off keep theirs.
func (s *statusReporter) pollDone(stream string, outcomes map[string]error, listed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if listed != nil {
		keep := make(map[string]bool, len(listed))
		for _, id := range listed {
			keep[id] = true
		}
		for key := range s.causes {
			if key.stream == stream && key.account != "" && !keep[key.account] {
				delete(s.causes, key)
				delete(s.failures, key)
			}
		}
	}
	for _, account := range slices.Sorted(maps.Keys(outcomes)) {
		s.record(statusKey{stream, account}, outcomes[account])
	}
	s.polled[stream] = true
	s.report()
}

func (s *statusReporter) record(key statusKey, err error) {
	kind, fromAPI := cloudflare.KindOf(err)
	switch {
	case err == nil:
		delete(s.failures, key)
		delete(s.causes, key)
		if key.account != "" {
			s.worked[key.stream] = true
		}
	case !fromAPI && !errors.As(err, new(storageError)):
		// The pipeline refused records: the exporters report their own status.
	default:
		s.failures[key]++
		// A storage failure is a state at once: unlike the API's hiccups, the
		// next poll meets the same backend, and no checkpoint moves meanwhile.
		transient := fromAPI && kind != cloudflare.KindAuth && kind != cloudflare.KindRequest
		if transient && s.worked[key.stream] && s.failures[key] < transportFailuresBeforeError {
			return // a single failed poll of a working stream is not yet a state
		}
		if previous := s.causes[key]; previous == nil || !sameCause(previous, err) {
			fields := []zap.Field{zap.String("stream", key.stream)}
			if key.account != "" {
				fields = append(fields, zap.String("account_id", key.account))
			}
			s.logger.Error("Cloudflare polling is failing; "+remedy(err), append(fields, zap.Error(err))...)
		}
		s.causes[key] = err
	}
}

// report sets the component status from the current causes, on change only.
func (s *statusReporter) report() {
	var cause error
	for _, stream := range s.streams {
		keys := make([]statusKey, 0)
		for key := range s.causes {
			if key.stream == stream {
				keys = append(keys, key)
			}
		}
		if len(keys) > 0 {
			slices.SortFunc(keys, func(a, b statusKey) int { return strings.Compare(a.account, b.account) })
			cause = s.causes[keys[0]]
			break
		}
	}
	if cause == nil {
		for _, stream := range s.streams {
			if !s.polled[stream] {
				return // still starting
			}
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
		if errors.As(err, new(storageError)) {
			return "the storage extension named by `storage` failed: check its backend (the file_storage directory, or the Redis of redis_storage); the receiver retries on every poll from the last checkpoint it stored"
		}
		return "the receiver retries on every poll"
	}
	switch apiErr.Kind {
	case cloudflare.KindAuth:
		if permission := streamPermission(apiErr.Endpoint); permission != "" && apiErr.Code != invalidTokenCode {
			return fmt.Sprintf("the token lacks the permission %s on this account, which this stream needs: add it to the token "+
				"(Account permissions, for this account) or disable the stream; the other streams are polled as usual "+
				"and this one is retried with backoff", permission)
		}
		if accountNotVisible(apiErr) {
			return "this account is not visible to this token: check that the account ID is one the token was granted " +
				"(the token's Account Resources, or the account that owns it) and that the token has " + requiredPermissions +
				" on it; the other accounts are polled as usual and this one is retried with backoff"
		}
		return fmt.Sprintf("the API token was refused: check that it is active (My Profile > API Tokens, or the account's API Tokens) and that it has %s; the receiver keeps retrying and recovers by itself", requiredPermissions)
	case cloudflare.KindRequest:
		return "Cloudflare refused the request: check the account IDs in `accounts` and the `endpoint`"
	case cloudflare.KindBadResponse:
		return "Cloudflare's answer could not be used (the error says why: a body that is not the API's JSON, paging that does not add up, " +
			"or a list that changed while it was read); nothing of it was emitted and the receiver reads it again on every poll"
	case cloudflare.KindRateLimited:
		return "Cloudflare's rate limit was reached: lower rate_limit.requests_per_window or raise the poll intervals"
	}
	return "Cloudflare could not be reached or answered badly: check network access to the endpoint; the receiver retries on every poll"
}

// accountNotVisible tells a token that works but may not read one account (a
// 403 other than Invalid API Token, on a call about that account that needs
// no more than requiredPermissions) from a refused token (401, code 1000, or
// a refused account listing or verify).
func accountNotVisible(err *cloudflare.APIError) bool {
	if err.StatusCode != http.StatusForbidden || err.Code == invalidTokenCode {
		return false
	}
	for _, s := range allStreams {
		if s.permission == "" && slices.Contains(s.endpoints, err.Endpoint) {
			return true
		}
	}
	return false
}

// streamPermission is the permission beyond requiredPermissions that the
// stream reading endpoint needs; "" when none does.
func streamPermission(endpoint string) string {
	for _, s := range allStreams {
		if slices.Contains(s.endpoints, endpoint) {
			return s.permission
		}
	}
	return ""
}
