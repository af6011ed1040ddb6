// Package cloudflareidentityreceiver polls the Cloudflare API for the users
// of every account a token can read and their sign-ins, and emits them as
// OTLP log events: account members and their dashboard/API logins (from the
// audit log), and Zero Trust Access users and their logins. Each of these
// streams is a streamDescriptor (stream.go) over one of two engines: the
// window engine for time-ordered logs (window.go) and the inventory engine
// for lists (inventory.go).
package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"
