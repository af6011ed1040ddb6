//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The ```yaml blocks of every .md file of the repository (README.md, the
// pages of docs/, and any other) are checked by what their first line says:
//
//	# fragment: ...      part of a collector configuration: validated inside a minimal logs pipeline
//	                     (the receiver, the debug exporter, and every component the fragment defines)
//	# ocb manifest: ...  part of an ocb manifest: see TestReadmeOcbManifest
//	# sample: ...        not a configuration (e.g. a log record shown as YAML): must parse as YAML
//	anything else        a complete collector configuration: validated as it is
//
// A block keeps its marker when it moves from one page to another.
const (
	// manifestDoc holds the one ocb manifest block, redactionDoc the one
	// fragment defining processors.redaction (config/cloudflare.yaml points there).
	manifestDoc  = "docs/collector-build.md"
	redactionDoc = "docs/pii.md"

	markFragment = "# fragment:"
	markManifest = "# ocb manifest:"
	markSample   = "# sample:"
)

// readmeEnv is the environment the docs' configurations are validated
// with: every ${env:...} they use needs a value.
var readmeEnv = []string{
	"CLOUDFLARE_API_TOKEN=dummy-token",
	"OTLP_ENDPOINT=http://localhost:4318",
	redactionKeyEnv,
}

// redactionKeyEnv sets the HMAC key of the redaction processor of docs/pii.md.
const redactionKeyEnv = "REDACTION_HMAC_KEY=0123456789abcdef0123456789abcdef-test-key"

// readmeBlock is one fenced ```yaml block of a .md file.
type readmeBlock struct {
	File string // the .md file, relative to the repository's root
	Line int    // of the opening fence
	Text string // the block's lines, without the fence's indentation
}

// where is the block's file and line, as error messages give it.
func (b readmeBlock) where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

func (b readmeBlock) kind() string {
	first, _, _ := strings.Cut(b.Text, "\n")
	for _, mark := range []string{markFragment, markManifest, markSample} {
		if strings.HasPrefix(first, mark) {
			return mark
		}
	}
	return "config"
}

var fenceOpen = regexp.MustCompile("^( *)```(\\S*)\\s*$")

// markdownFiles returns the .md files of the repository, relative to its
// root, leaving out hidden directories and those of build output (_build, bin, ...).
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != repoRoot && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "bin" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".md") {
			rel, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", manifestDoc, redactionDoc} {
		if !slices.Contains(files, want) {
			t.Fatalf("the .md files of the repository are %v: no %s", files, want)
		}
	}
	return files
}

// readmeYAMLBlocks returns every ```yaml block of every .md file of the
// repository (markdownFiles), file by file.
func readmeYAMLBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	var blocks []readmeBlock
	for _, file := range markdownFiles(t) {
		blocks = append(blocks, fileYAMLBlocks(t, file)...)
	}
	return blocks
}

// fileYAMLBlocks returns every ```yaml block of one .md file.
func fileYAMLBlocks(t *testing.T, file string) []readmeBlock {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		lang   string
		indent string
		lines  []string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur == nil {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				cur, indent, lang, lines = &readmeBlock{File: file, Line: n}, m[1], m[2], nil
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			if lang == "yaml" || lang == "yml" {
				cur.Text = strings.Join(lines, "\n") + "\n"
				blocks = append(blocks, *cur)
			}
			cur = nil
			continue
		}
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, indent) {
			t.Fatalf("%s:%d: a line of the block opened on line %d is indented less than its fence", file, n, cur.Line)
		}
		lines = append(lines, strings.TrimPrefix(line, indent))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s: code block never closed", cur.where())
	}
	return blocks
}

// TestReadmeYAMLBlocksValidate validates every ```yaml block of every .md
// file (README.md, docs/*.md, ...) with the built collector
// (`otelcol-cloudflare validate`), fragments inside a minimal pipeline.
func TestReadmeYAMLBlocksValidate(t *testing.T) {
	blocks := readmeYAMLBlocks(t)
	seen := map[string]int{}
	perFile := map[string]map[string]int{}
	for _, b := range blocks {
		kind := b.kind()
		seen[kind]++
		if perFile[b.File] == nil {
			perFile[b.File] = map[string]int{}
		}
		perFile[b.File][kind]++
		t.Run(strings.NewReplacer("/", "_", ".md", "").Replace(b.File)+fmt.Sprintf("_line%d", b.Line), func(t *testing.T) {
			switch kind {
			case markSample, markManifest: // the manifest has its own test
				var v any
				if err := yaml.Unmarshal([]byte(b.Text), &v); err != nil {
					t.Errorf("%s: the block does not parse as YAML: %v\n%s", b.where(), err, b.Text)
				}
			case markFragment:
				config, err := wrapFragment(b.Text)
				if err != nil {
					t.Fatalf("%s: %v\n%s", b.where(), err, b.Text)
				}
				validateConfig(t, b, config)
			default:
				validateConfig(t, b, b.Text)
			}
		})
	}
	for _, file := range sortedKeys(perFile) {
		n := perFile[file]
		t.Logf("%s yaml blocks: %d complete configurations, %d fragments, %d ocb manifests, %d samples",
			file, n["config"], n[markFragment], n[markManifest], n[markSample])
	}
	if seen["config"] == 0 || seen[markFragment] == 0 {
		t.Errorf("found %d complete configurations and %d fragments in the .md files, want some of each", seen["config"], seen[markFragment])
	}
	if perFile["README.md"]["config"] == 0 {
		t.Errorf("README.md has no complete configuration, want one (its Configuration section)")
	}
}

// validateConfig runs `otelcol-cloudflare validate` on config.
func validateConfig(t *testing.T, b readmeBlock, config string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), readmeEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: otelcol-cloudflare validate failed (%v):\n%s\nconfiguration validated:\n%s", b.where(), err, out, config)
	}
}

// wrapFragment turns a configuration fragment into a complete configuration:
// the fragment's components plus, where it defines none of a kind, the
// cloudflare_identity receiver and the debug exporter, all in one logs
// pipeline; the fragment's extensions are enabled; anything the fragment
// sets under service is kept.
func wrapFragment(fragment string) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(fragment), &doc); err != nil {
		return "", fmt.Errorf("the fragment does not parse as YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("the fragment is not a YAML mapping")
	}
	config := map[string]any{}
	ids := map[string][]string{} // per kind, the component IDs in the fragment's order
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, top.Content[i+1]
		var v any
		if err := val.Decode(&v); err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		config[key] = v
		if val.Kind == yaml.MappingNode {
			for j := 0; j < len(val.Content); j += 2 {
				ids[key] = append(ids[key], val.Content[j].Value)
			}
		}
	}
	if len(ids["connectors"]) > 0 {
		return "", fmt.Errorf("fragments with connectors are not supported by this test")
	}
	if len(ids["receivers"]) == 0 {
		config["receivers"] = map[string]any{"cloudflare_identity": map[string]any{"api_token": "${env:CLOUDFLARE_API_TOKEN}"}}
		ids["receivers"] = []string{"cloudflare_identity"}
	}
	if len(ids["exporters"]) == 0 {
		config["exporters"] = map[string]any{"debug": nil}
		ids["exporters"] = []string{"debug"}
	}
	service, _ := config["service"].(map[string]any)
	if service == nil {
		service = map[string]any{}
	}
	if _, ok := service["pipelines"]; ok {
		return "", fmt.Errorf("a fragment must not define service.pipelines: the test builds the pipeline")
	}
	pipeline := map[string]any{"receivers": ids["receivers"], "exporters": ids["exporters"]}
	if len(ids["processors"]) > 0 {
		pipeline["processors"] = ids["processors"]
	}
	service["pipelines"] = map[string]any{"logs": pipeline}
	if len(ids["extensions"]) > 0 {
		service["extensions"] = ids["extensions"]
	}
	config["service"] = service
	out, err := yaml.Marshal(config)
	return string(out), err
}

// TestReadmeOcbManifest builds a collector from the ocb manifest fragment of
// docs/collector-build.md, the only one of the .md files, as a user with a
// checkout of this repository would: the fragment,
// plus a dist section and the providers of builder-config.yaml, generated by
// the pinned ocb (OCB_BINARY) in a directory laid out as its path: expects,
// then compiled.
func TestReadmeOcbManifest(t *testing.T) {
	t.Parallel()
	builder := os.Getenv("OCB_BINARY")
	if builder == "" {
		t.Fatal("OCB_BINARY is not set: run make e2e (it sets it to bin/builder, installed by make tools)")
	}
	builder, err := filepath.Abs(builder)
	if err != nil {
		t.Fatal(err)
	}
	var fragments []readmeBlock
	for _, b := range readmeYAMLBlocks(t) {
		if b.kind() == markManifest {
			fragments = append(fragments, b)
		}
	}
	if len(fragments) != 1 {
		var where []string
		for _, b := range fragments {
			where = append(where, b.where())
		}
		t.Fatalf("the .md files have %d %q blocks (%v), want 1, in %s", len(fragments), markManifest, where, manifestDoc)
	}
	b := fragments[0]
	if b.File != manifestDoc {
		t.Fatalf("%s: the ocb manifest block is here, want it in %s (or update manifestDoc)", b.where(), manifestDoc)
	}
	var manifest map[string]any
	if err := yaml.Unmarshal([]byte(b.Text), &manifest); err != nil {
		t.Fatalf("%s: %v", b.where(), err)
	}

	// The checkout where the fragment's path: says, relative to the directory
	// ocb runs in: a link to this repository.
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "mycollector")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	receivers, _ := manifest["receivers"].([]any)
	var linked int
	for _, r := range receivers {
		entry, _ := r.(map[string]any)
		gomod, _ := entry["gomod"].(string)
		path, _ := entry["path"].(string)
		if !strings.HasPrefix(gomod, "github.com/otel-cloudflare/cloudflareidentityreceiver ") {
			continue
		}
		if path == "" || filepath.IsAbs(path) {
			t.Fatalf("%s: the receiver entry has path %q, want one relative to a checkout", b.where(), path)
		}
		checkout := filepath.Join(work, path)
		if err := os.MkdirAll(filepath.Dir(checkout), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(root, checkout); err != nil {
			t.Fatal(err)
		}
		linked++
	}
	if linked != 1 {
		t.Fatalf("%s: want one receivers entry for the cloudflareidentityreceiver module, found %d", b.where(), linked)
	}

	var ours map[string]any
	raw, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &ours); err != nil {
		t.Fatalf("builder-config.yaml: %v", err)
	}
	manifest["providers"] = ours["providers"]
	manifest["dist"] = map[string]any{
		"name": "otelcol-readme", "module": "example.com/otelcol-readme", "output_path": "./_build",
	}
	out, err := yaml.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "manifest.yaml"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command(builder, "--config", "manifest.yaml", "--skip-compilation")
	gen.Dir = work
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("ocb on the docs' manifest failed (%v):\n%s\nmanifest:\n%s", err, out, manifestText(work))
	}
	bin := filepath.Join(t.TempDir(), "otelcol-readme")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(work, "_build")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("compiling the collector generated from the docs' manifest failed (%v):\n%s", err, out)
	}
	components, err := exec.Command(bin, "components").CombinedOutput()
	if err != nil || !strings.Contains(string(components), "name: cloudflare_identity") {
		t.Fatalf("the collector built from the docs' manifest does not list cloudflare_identity (err=%v):\n%s", err, components)
	}
}

func manifestText(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.yaml"))
	return string(data)
}

// TestReadmeStatusTableMatchesMetadata checks the status table at the top of
// README.md (generated by mdatagen: make generate; make check-generate fails
// when it is stale) against metadata.yaml: stability per signal, semantic
// conventions version, distributions, each with a link that leads somewhere.
func TestReadmeStatusTableMatchesMetadata(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		SemConvVersion string `yaml:"sem_conv_version"`
		Status         struct {
			Stability     map[string][]string `yaml:"stability"`
			Distributions []string            `yaml:"distributions"`
		} `yaml:"status"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("metadata.yaml: %v", err)
	}

	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "<!-- status autogenerated section -->")
	section, _, ok2 := strings.Cut(section, "<!-- end autogenerated section -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- status autogenerated section --> ... <!-- end autogenerated section -->")
	}
	rows := map[string][]string{} // first cell -> second cells ("" continues the previous row's name)
	var last string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if !strings.HasPrefix(strings.TrimSpace(line), "|") || len(cells) != 2 {
			continue
		}
		name, value := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		if name == "" {
			name = last
		}
		rows[name] = append(rows[name], value)
		last = name
	}

	var stability []string
	for _, level := range sortedKeys(meta.Status.Stability) {
		stability = append(stability, fmt.Sprintf("[%s]: %s", level, strings.Join(meta.Status.Stability[level], ", ")))
	}
	distributions := "[" + strings.Join(meta.Status.Distributions, "], [") + "]"
	for name, want := range map[string][]string{
		"Stability":                    stability,
		"Distributions":                {distributions},
		"Semantic Conventions Version": {meta.SemConvVersion},
	} {
		if got := rows[name]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("README.md status table, %s: %q, metadata.yaml says %q", name, got, want)
		}
	}
	for _, d := range meta.Status.Distributions {
		link := regexp.MustCompile(`(?m)^\[` + regexp.QuoteMeta(d) + `\]: *(\S*)`).FindStringSubmatch(section)
		switch {
		case link == nil || link[1] == "":
			t.Errorf("README.md status section: no link for distribution [%s]", d)
		case !strings.Contains(link[1], "://"):
			if _, err := os.Stat(filepath.Join(repoRoot, link[1])); err != nil {
				t.Errorf("README.md status section: the link of distribution [%s]: %v", d, err)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
