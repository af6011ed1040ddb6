package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy bounds the retries of transient failures within one call.
type RetryPolicy struct {
	MaxAttempts    int           // attempts per call, including the first
	InitialBackoff time.Duration // wait before the second attempt; doubles each time, with jitter
	MaxBackoff     time.Duration
}

// DefaultRetryPolicy tries a call four times over about 15 seconds.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, InitialBackoff: 2 * time.Second, MaxBackoff: 30 * time.Second}

// maxRateLimitedAttempts bounds how often one call is refused with a 429 in a
// row before the poll gives up (and the next resumes from its checkpoint).
const maxRateLimitedAttempts = 3

// call runs one request, retrying transient failures with jittered backoff
// and 429s after the pause the server asked for (the limiter enforces it).
func (c *client) call(ctx context.Context, endpoint string, do func() error) error {
	rateLimited := 0
	for attempt := 1; ; attempt++ {
		err := do()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			// The middleware classifies every failed exchange, so what is left is
			// the SDK failing to decode a 2xx body: HTML, truncated JSON, ...
			apiErr = &APIError{Kind: KindBadResponse, Endpoint: endpoint, StatusCode: http.StatusOK,
				Message: c.redact("undecodable response: " + err.Error()), Err: err}
		}
		switch apiErr.Kind {
		case KindRateLimited:
			if rateLimited++; rateLimited >= maxRateLimitedAttempts {
				return apiErr
			}
			attempt-- // a 429 is not a failed attempt: the pause already cost its time
		case KindTransient, KindBadResponse:
			if attempt >= c.retry.MaxAttempts {
				return apiErr
			}
			if err := sleep(ctx, c.backoff(attempt)); err != nil {
				return err
			}
		default:
			return apiErr
		}
	}
}

// backoff is InitialBackoff doubled per attempt, capped, with up to half of it as jitter.
func (c *client) backoff(attempt int) time.Duration {
	d := c.retry.InitialBackoff << (attempt - 1)
	if d > c.retry.MaxBackoff || d <= 0 {
		d = c.retry.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}
