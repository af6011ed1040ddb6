package cloudflareidentityreceiver

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReliabilityMutationsNameCurrentCode: every mutation RELIABILITY.md
// gives as "`before` → `after`" or "drop `code`" names production code (not
// a test) as it is written, so that a refactoring cannot leave a row describing a
// mutation nobody can apply any more. "…" in a snippet stands for code left
// out; each part around it must be there.
func TestReliabilityMutationsNameCurrentCode(t *testing.T) {
	doc, err := os.ReadFile("RELIABILITY.md")
	require.NoError(t, err)
	var sources strings.Builder
	require.NoError(t, filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			code, err := os.ReadFile(path)
			sources.Write(code)
			return err
		}
		return nil
	}))
	code := sources.String()

	// A table cell escapes | as \|.
	unescape := strings.NewReplacer(`\|`, `|`)
	mutation := regexp.MustCompile("`([^`]+)` → `[^`]+`|drop `([^`]+)`")
	matches := mutation.FindAllStringSubmatch(string(doc), -1)
	require.NotEmpty(t, matches)
	for _, m := range matches {
		snippet := unescape.Replace(m[1] + m[2])
		for part := range strings.SplitSeq(snippet, "…") {
			if part = strings.Trim(part, " ("); part != "" && !strings.Contains(code, part) {
				t.Errorf("RELIABILITY.md names a mutation of %q, which no source file holds", part)
			}
		}
	}
}
