// Package cloudflareidentityreceiver polls the Cloudflare API for the members
// of every account a token can read and for their dashboard/API logins, and
// emits both as OTLP log events.
package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"
