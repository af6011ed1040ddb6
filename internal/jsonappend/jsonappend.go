// Package jsonappend writes JSON strings by appending to a byte slice, for
// the few values encoded often enough that encoding/json's reflection shows.
package jsonappend // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/jsonappend"

import (
	"encoding/json"
	"unicode/utf8"
)

// String appends s as a JSON string, escaped as encoding/json escapes it:
// only a string that needs escaping goes through encoding/json.
func String(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(out, quoted...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}
