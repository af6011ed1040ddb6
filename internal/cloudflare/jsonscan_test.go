package cloudflare

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONScannerIsAsStrictAsEncodingJSON: the scanner accepts a value
// exactly when encoding/json does, so that the one-pass decoder never takes
// what encoding/json would refuse.
// Mutations caught: stringSpan accepting control characters; escape
// accepting any letter or a short \u; number without its leading-zero,
// fraction or exponent rules; literal matching a prefix; object or array
// accepting a trailing comma.
func TestJSONScannerIsAsStrictAsEncodingJSON(t *testing.T) {
	for _, input := range []string{
		`""`, `"plain"`, `"naïve"`, "\"tab\there\"", `"\"\\\/\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\u00g0"`, `"\u00e"`, `"\x"`,
		"\"\xff\"", `"unterminated`, `"\`,
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `12.5e10`, `-12`, `+1`, `0x1`,
		`true`, `false`, `null`, `tru`, `nul`, `True`, `truex`,
		`{}`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`[]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, ` [ 1 , 2 ] `, `{"a":1}}`, `[1]]`, ``, ` `,
		strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
		strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	} {
		s := newJSONScanner([]byte(input))
		assert.Equal(t, json.Valid([]byte(input)), s.value() && s.end(), "%.40q", input)
	}
}

// TestJSONScannerStrings: strings decode as encoding/json decodes them, those
// without escape sequences as substrings of the one copy of the input.
func TestJSONScannerStrings(t *testing.T) {
	for _, input := range []string{`"plain"`, `"naïve"`, `"a\u0040b"`, `"a\/b"`, "\"bad \xff byte\"", `"\uD83D"`} {
		var want string
		if err := json.Unmarshal([]byte(input), &want); err != nil {
			t.Fatal(err)
		}
		s := newJSONScanner([]byte(input))
		got, ok := s.str()
		assert.True(t, ok, input)
		assert.Equal(t, want, got, input)
	}
}
