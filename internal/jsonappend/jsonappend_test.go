package jsonappend

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestStringEscapesAsEncodingJSON: String writes what encoding/json writes.
// Mutations caught: dropping the check for '"', '\\', a control character or
// a byte beyond ASCII.
func TestStringEscapesAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b`, `a\b`, "tab\there", "\x00", "<&>", "naïve", "bad \xff byte", "\u2028"} {
		want, err := json.Marshal(s)
		assert.NoError(t, err)
		assert.Equal(t, string(want), string(String([]byte("x"), s))[1:], "%q", s)
	}
}
