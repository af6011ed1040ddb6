package cloudflareidentityreceiver

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The documentation: README.md is the front door, the rest is in docs/ (docs/development.md, "The
// documentation"). These tests keep it so; e2e/readme_test.go validates the YAML blocks of every .md file.

const (
	readmeMaxLines     = 300 // README.md: at most this many lines
	readmeCommandLines = 60  // `make run` and `make test` within this many
)

// TestReadmeIsAFrontDoor: README.md has at most 300 lines; its first commands,
// within its first 60 lines, are `make run` and `make test` (the two commands
// that do all the set-up on a fresh machine); and it links every page of docs/
// and the other documents at the root.
func TestReadmeIsAFrontDoor(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) > readmeMaxLines {
		t.Errorf("README.md has %d lines, want at most %d: move detail into a page of docs/ and link it", len(lines), readmeMaxLines)
	}

	// The commands of README's code blocks, in order, with their line numbers.
	type command struct {
		line int
		text string
	}
	var commands []command
	inBlock := false
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		text, _, _ := strings.Cut(trimmed, "#") // a command's comment
		commands = append(commands, command{i + 1, strings.Join(strings.Fields(text), " ")})
	}
	for i, want := range []string{"make run", "make test"} {
		switch {
		case i >= len(commands):
			t.Errorf("README.md: command %d should be %q, but README.md has only %d commands", i+1, want, len(commands))
		case commands[i].text != want:
			t.Errorf("README.md:%d: command %d is %q, want %q: README opens with `make run` and `make test`",
				commands[i].line, i+1, commands[i].text, want)
		case commands[i].line > readmeCommandLines:
			t.Errorf("README.md:%d: %q is not within the first %d lines", commands[i].line, want, readmeCommandLines)
		}
	}

	// Every page of docs/, and the documents at the root, linked from README.md.
	linked := map[string]bool{}
	for _, l := range markdownLinks(t, "README.md", string(raw)) {
		if l.path != "" {
			linked[filepath.Clean(l.path)] = true
		}
	}
	want := []string{"BENCHMARKS.md", "RELIABILITY.md", "documentation.md"}
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range append(want, pages...) {
		if !linked[page] {
			t.Errorf("README.md does not link %s", page)
		}
	}
}

// TestMarkdownLinksResolve: every relative link of every .md file of the
// repository leads to a file or directory that exists, and a #anchor into a
// .md file (or into the file itself) to one of its headings.
func TestMarkdownLinksResolve(t *testing.T) {
	files := markdownFiles(t)
	if len(files) < 5 || !slices.Contains(files, "README.md") {
		t.Fatalf("found the .md files %v, want README.md and the pages of docs/", files)
	}
	anchors := map[string]map[string]bool{} // per .md file
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		anchors[path] = headingAnchors(string(raw))
		return anchors[path]
	}
	var checked int
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(t, file, string(raw)) {
			checked++
			target := file
			if l.path != "" {
				target = filepath.Join(filepath.Dir(file), l.path)
				if strings.HasPrefix(l.path, "/") { // relative to the repository's root
					target = filepath.Join(".", l.path)
				}
				if rel, err := filepath.Rel(".", target); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s:%d: link %q leads out of the repository", file, l.line, l.target)
					continue
				}
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s:%d: link %q: no such file or directory %s", file, l.line, l.target, target)
					continue
				}
			}
			if l.anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if !anchorsOf(target)[l.anchor] {
				t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", file, l.line, l.target, target, l.anchor)
			}
		}
	}
	t.Logf("%d relative links checked in %d .md files", checked, len(files))
}

// markdownFiles returns the .md files of the repository (relative paths),
// leaving out hidden directories and those of build output (_build, bin, ...).
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "bin" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// mdLink is a relative link of a .md file: target as written, split into the
// path (empty for an anchor of the file itself) and the anchor.
type mdLink struct {
	line                 int
	target, path, anchor string
}

var (
	// [text](target) and ![alt](target), the text possibly over several lines, with an optional title.
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^()\s<>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// [label]: target
	referenceLink = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?([^\s<>]+)>?`)
	// a URL with a scheme (https:, mailto:, ...) or a protocol-relative one
	absoluteURL = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*:|//)`)
	codeSpan    = regexp.MustCompile("``[^`]+``|`[^`]+`")
)

// markdownLinks returns the relative links of a .md file's text, outside
// fenced code blocks and code spans.
func markdownLinks(t *testing.T, file, text string) []mdLink {
	t.Helper()
	text = blankCode(text)
	var links []mdLink
	add := func(offset int, target string) {
		if target == "" || absoluteURL.MatchString(target) {
			return
		}
		path, anchor, _ := strings.Cut(target, "#")
		links = append(links, mdLink{line: 1 + strings.Count(text[:offset], "\n"), target: target, path: path, anchor: anchor})
	}
	for _, m := range inlineLink.FindAllStringSubmatchIndex(text, -1) {
		add(m[2], text[m[2]:m[3]])
	}
	for _, m := range referenceLink.FindAllStringSubmatchIndex(text, -1) {
		add(m[2], text[m[2]:m[3]])
	}
	return links
}

// blankCode replaces fenced code blocks and code spans by spaces, keeping
// every newline (so that offsets still give line numbers).
func blankCode(text string) string {
	return codeSpan.ReplaceAllStringFunc(blankFences(text), blank)
}

// blank replaces every byte of s but newlines by a space: offsets stay.
func blank(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// blankFences blanks the fenced code blocks of text, fences included.
func blankFences(text string) string {
	lines := strings.SplitAfter(text, "\n")
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
			lines[i] = blank(line)
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			lines[i] = blank(line)
		}
	}
	return strings.Join(lines, "")
}

var (
	atxHeading  = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$`)
	htmlAnchor  = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	headingLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// headingAnchors returns the anchors GitHub gives the headings of a .md file:
// the heading's text, lowercased, without punctuation, spaces as hyphens, and
// -1, -2, ... appended to repeats; plus explicit <a name|id="..."> anchors.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range atxHeading.FindAllStringSubmatchIndex(blankFences(text), -1) {
		heading := headingLink.ReplaceAllString(text[m[2]:m[3]], "$1") // a link's text
		var b strings.Builder
		for _, r := range strings.ToLower(heading) {
			switch {
			case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	for _, m := range htmlAnchor.FindAllStringSubmatch(text, -1) {
		anchors[m[1]] = true
	}
	return anchors
}
