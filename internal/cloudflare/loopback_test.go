package cloudflare

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIsLoopback: plain http is allowed to these hosts only, as u.Hostname()
// gives them (no port, no brackets).
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":          true,
		"LocalHost":          true,
		"127.0.0.1":          true,
		"127.1.2.3":          true,
		"::1":                true,
		"example.com":        false,
		"localhost.evil":     false,
		"10.0.0.1":           false,
		"0.0.0.0":            false,
		"::":                 false,
		"[::1]":              false, // Hostname() strips the brackets
		"":                   false,
		"api.cloudflare.com": false,
	} {
		assert.Equal(t, want, IsLoopback(host), host)
	}
}
