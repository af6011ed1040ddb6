package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"go.uber.org/zap"
)

// defaultRetryAfter is used when a 429 carries no usable Retry-After: it is
// how long Cloudflare locks a token out.
const defaultRetryAfter = 5 * time.Minute

// redirectError is a redirect refused by refuseRedirect. Its text gives the
// status and the scheme of the target, not the target URL, which the server
// chose and could fill with anything.
type redirectError struct {
	status int
	scheme string
}

func (e *redirectError) Error() string {
	scheme := "another"
	if e.scheme == "http" || e.scheme == "https" {
		scheme = "an " + e.scheme + "://"
	}
	return fmt.Sprintf("refused a redirect to %s URL: the Cloudflare API does not redirect, "+
		"and the API token would follow it; check endpoint", scheme)
}

// middleware runs around every request the SDK sends: it waits for the rate
// limiter, caps the body size, and turns every failure into an *APIError, so
// the SDK itself only ever decodes a complete 2xx body. No error message it
// returns carries the token, even when the server echoed it back.
func (c *client) middleware(req *http.Request, next option.MiddlewareNext) (res *http.Response, err error) {
	defer func() {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			apiErr.Message = c.redact(apiErr.Message)
		}
	}()
	endpoint := endpointOf(req.URL.Path)
	held := false
	ticket, _, err := c.limiter.Wait(req.Context(), func(wait time.Duration) {
		if !held {
			held = true
			c.observer.RateLimitHeld()
		}
		c.observer.RateLimitWaiting(wait)
	})
	if err != nil {
		return nil, err
	}

	start := time.Now()
	res, err = next(req)
	if err != nil {
		var redirect *redirectError
		if errors.As(err, &redirect) {
			// The 3xx came back, and nothing was sent to its target.
			c.observer.RequestDone(endpoint, redirect.status, time.Since(start))
			return nil, &APIError{Kind: KindRequest, Endpoint: endpoint, StatusCode: redirect.status,
				Message: redirect.Error(), Err: redirect}
		}
		c.observer.RequestDone(endpoint, 0, time.Since(start))
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, &APIError{Kind: KindTransient, Endpoint: endpoint, Message: err.Error(), Err: err}
	}
	c.limiter.Observe(ticket, res.Header)
	if h, ok := c.observer.(HeaderObserver); ok {
		h.ResponseHeaders(endpoint, res.Header)
	}
	var body []byte
	readErr := errBodyTooLarge
	// A declared length over the cap is refused before reading a byte of it.
	if res.ContentLength <= c.maxResponseBytes {
		body, readErr = readCapped(res.Body, c.maxResponseBytes)
	}
	_ = res.Body.Close()
	c.observer.RequestDone(endpoint, res.StatusCode, time.Since(start))
	switch {
	case errors.Is(readErr, errBodyTooLarge):
		return nil, &APIError{Kind: KindBadResponse, Endpoint: endpoint, StatusCode: res.StatusCode,
			Message: fmt.Sprintf("response body larger than %d bytes, refused", c.maxResponseBytes)}
	case readErr != nil:
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, &APIError{Kind: KindTransient, Endpoint: endpoint, StatusCode: res.StatusCode,
			Message: "reading response: " + readErr.Error(), Err: readErr}
	case res.StatusCode == http.StatusTooManyRequests:
		apiErr := statusError(endpoint, res, body, KindRateLimited)
		apiErr.RetryAfter = retryAfter(res.Header.Get("Retry-After"), time.Now())
		if c.limiter.PauseFor(apiErr.RetryAfter) {
			c.logger.Warn("Cloudflare rate limit reached; pausing every call with this token",
				zap.String("endpoint", endpoint), zap.Duration("retry_after", apiErr.RetryAfter))
		}
		return nil, apiErr
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return nil, statusError(endpoint, res, body, KindAuth)
	case res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return nil, statusError(endpoint, res, body, KindTransient)
	case res.StatusCode >= 400:
		return nil, statusError(endpoint, res, body, KindRequest)
	case res.StatusCode >= 300:
		return nil, statusError(endpoint, res, body, KindBadResponse)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// redact replaces the token in a text taken from a response or an error:
// a proxy or a misbehaving server can echo the request's headers back.
func (c *client) redact(text string) string {
	if c.token == "" {
		return text
	}
	return strings.ReplaceAll(text, c.token, "[REDACTED]")
}

// endpointOf names a request path for errors and metrics without its IDs.
func endpointOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/user/tokens/verify"):
		return EndpointUserTokenVerify
	case strings.HasSuffix(path, "/tokens/verify"):
		return EndpointAccountTokenVerify
	case strings.HasSuffix(path, "/members"):
		return EndpointMembers
	case strings.HasSuffix(path, "/user/audit_logs"):
		return EndpointUserAuditLogs
	case strings.HasSuffix(path, "/audit_logs"):
		return EndpointAuditLogs
	case strings.HasSuffix(path, "/logs/audit"):
		return EndpointAuditLogsV2
	case strings.HasSuffix(path, "/accounts"):
		return EndpointAccounts
	case strings.HasSuffix(path, "/access/logs/access_requests"):
		return EndpointAccessRequests
	case strings.HasSuffix(path, "/access/users"):
		return EndpointAccessUsers
	}
	return "other"
}

// Endpoint names, as used in errors and metrics.
const (
	EndpointAccounts           = "accounts"
	EndpointMembers            = "members"
	EndpointAuditLogs          = "audit_logs"
	EndpointAuditLogsV2        = "audit_logs_v2"
	EndpointUserTokenVerify    = "user_tokens_verify"
	EndpointAccountTokenVerify = "account_tokens_verify"
	EndpointAccessRequests     = "access_requests"
	EndpointAccessUsers        = "access_users"
	// EndpointUserAuditLogs is read by the preflight check only, never by the receiver.
	EndpointUserAuditLogs = "user_audit_logs"
)

var errBodyTooLarge = errors.New("body too large")

func readCapped(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// statusError reads Cloudflare's error envelope. Its "errors" entries are
// usually {code, message} objects, sometimes bare strings; an HTML error page
// from the edge carries neither.
func statusError(endpoint string, res *http.Response, body []byte, kind ErrorKind) *APIError {
	apiErr := &APIError{Kind: kind, Endpoint: endpoint, StatusCode: res.StatusCode, Message: http.StatusText(res.StatusCode)}
	var envelope struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &envelope) != nil || len(envelope.Errors) == 0 {
		return apiErr
	}
	var detail struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	var text string
	switch {
	case json.Unmarshal(envelope.Errors[0], &detail) == nil:
		apiErr.Code, apiErr.Message = detail.Code, detail.Message
	case json.Unmarshal(envelope.Errors[0], &text) == nil:
		apiErr.Message = text
	}
	return apiErr
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(header string, now time.Time) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(header)); err == nil && secs >= 0 {
		return max(time.Duration(secs)*time.Second, time.Second)
	}
	if at, err := http.ParseTime(header); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return defaultRetryAfter
}
