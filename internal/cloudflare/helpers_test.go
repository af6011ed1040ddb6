package cloudflare

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
)

const testToken = "test-token-value-3f9a"

var fastRetry = RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// newTestClient is a client of baseURL with retries in milliseconds.
func newTestClient(t *testing.T, baseURL string) Client {
	t.Helper()
	return New(Options{
		BaseURL:    baseURL,
		Token:      testToken,
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Limiter:    NewLimiter(1000, time.Minute),
		Retry:      fastRetry,
		Logger:     zap.NewNop(),
	})
}

// respond answers with status, content type and body.
func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// membersPage is a page of one member, in Cloudflare's wire format.
const membersPage = `{"success":true,"errors":[],"messages":[],"result":[{"id":"m1","email":"a@example.com","status":"accepted","user":{"id":"u1","email":"a@example.com","first_name":"A","last_name":"B","two_factor_authentication_enabled":true},"roles":[{"id":"r","name":"Administrator","description":"","permissions":{}}],"policies":[]}],"result_info":{"page":1,"per_page":50,"count":1,"total_count":1,"total_pages":1}}`
