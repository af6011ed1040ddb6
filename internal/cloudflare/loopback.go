package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The two ways a base URL can break the endpoint rule (CheckEndpoint).
var (
	ErrEndpointNotHTTPURL = errors.New("must be an absolute http(s) URL")
	ErrEndpointPlainHTTP  = errors.New("http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://, the API token goes with every request")
)

// CheckEndpoint applies the rule for the API's base URL, the receiver's
// endpoint and the preflight's -endpoint alike: an absolute http(s) URL, and
// http:// only to a loopback host, as the token goes with every request.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrEndpointNotHTTPURL
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%w: got host %q", ErrEndpointPlainHTTP, u.Hostname())
	}
	return nil
}

// IsLoopback reports whether host (without port or brackets) is localhost or
// a loopback address, where plain http does not leave the machine: the only
// hosts the API token may be sent to over http://.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
