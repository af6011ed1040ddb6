package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverBudget is what a response said of the token's budget on Cloudflare,
// which the token owner's dashboard and other API use share with this
// receiver.
type serverBudget struct {
	remaining int           // requests left in the server's window
	reset     time.Duration // until the server frees budget again
	quota     int           // the server's requests per window; 0 when not sent
	window    time.Duration // the server's window; 0 when not sent
}

// parseBudget reads the rate-limit headers of a response: Cloudflare's
// `Ratelimit: "<name>";r=<remaining>;t=<seconds>` with
// `Ratelimit-Policy: "<name>";q=<quota>;w=<seconds>`, else the older
// X-RateLimit-Limit, -Remaining and -Reset (seconds to reset, or a Unix
// time). It reports false when neither gives the remaining requests.
func parseBudget(h http.Header, now time.Time) (serverBudget, bool) {
	if params, ok := structuredParams(h.Get("Ratelimit")); ok {
		remaining, rOK := params["r"]
		reset, tOK := params["t"]
		if rOK && tOK {
			b := serverBudget{remaining: remaining, reset: time.Duration(reset) * time.Second}
			if policy, ok := structuredParams(h.Get("Ratelimit-Policy")); ok {
				b.quota, b.window = policy["q"], time.Duration(policy["w"])*time.Second
			}
			return b, true
		}
	}
	remaining, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil || remaining < 0 {
		return serverBudget{}, false
	}
	b := serverBudget{remaining: remaining}
	if limit, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil && limit > 0 {
		b.quota = limit
	}
	if reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && reset >= 0 {
		if at := time.Unix(reset, 0); reset > 1e9 { // a Unix time, not a number of seconds
			b.reset = max(at.Sub(now), 0)
		} else {
			b.reset = time.Duration(reset) * time.Second
		}
	}
	return b, true
}

// structuredParams reads the integer parameters of the first item of a
// structured-field list such as `"default";r=50;t=30`. Parameters that are
// not non-negative integers are left out.
func structuredParams(value string) (map[string]int, bool) {
	item, _, _ := strings.Cut(value, ",")
	parts := strings.Split(item, ";")
	if len(parts) < 2 {
		return nil, false
	}
	params := make(map[string]int, len(parts)-1)
	for _, p := range parts[1:] {
		key, val, found := strings.Cut(strings.TrimSpace(p), "=")
		if n, err := strconv.Atoi(val); found && err == nil && n >= 0 {
			params[strings.ToLower(key)] = n
		}
	}
	return params, true
}
