package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"net"
	"strings"
)

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
