package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind says what the receiver should do about a failed call.
type ErrorKind int

const (
	// KindTransient covers 5xx, 408, timeouts and connection errors: retry with backoff.
	KindTransient ErrorKind = iota
	// KindBadResponse is a body that is not the JSON envelope (HTML, truncated, too large): retry with backoff.
	KindBadResponse
	// KindAuth is a 401 or 403: the token is invalid, revoked or lacks a permission. Retrying soon does not help.
	KindAuth
	// KindRateLimited is a 429: no call with this token may be made before RetryAfter.
	KindRateLimited
	// KindRequest is any other 4xx: the request itself was refused.
	KindRequest
)

func (k ErrorKind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindBadResponse:
		return "bad_response"
	case KindAuth:
		return "auth"
	case KindRateLimited:
		return "rate_limited"
	case KindRequest:
		return "request"
	}
	return "unknown"
}

// APIError is a classified failure of one Cloudflare call. Its text never
// contains the token: it names the endpoint, not the request.
type APIError struct {
	Kind       ErrorKind
	Endpoint   string // accounts, members, audit_logs, audit_logs_v2, user_tokens_verify, account_tokens_verify
	StatusCode int    // 0 when no response was received
	Code       int    // Cloudflare's error code, when the body carried one
	Message    string // Cloudflare's error message, or a description of the failure
	RetryAfter time.Duration
	Err        error // underlying transport or decoding error, if any
}

func (e *APIError) Error() string {
	switch {
	case e.Code != 0:
		return fmt.Sprintf("cloudflare %s: HTTP %d, code %d: %s", e.Endpoint, e.StatusCode, e.Code, e.Message)
	case e.StatusCode != 0:
		return fmt.Sprintf("cloudflare %s: HTTP %d: %s", e.Endpoint, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("cloudflare %s: %s", e.Endpoint, e.Message)
}

func (e *APIError) Unwrap() error { return e.Err }

// KindOf returns the kind of a classified error, and false for any other error.
func KindOf(err error) (ErrorKind, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Kind, true
	}
	return 0, false
}
