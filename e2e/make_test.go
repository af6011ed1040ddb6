//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMakeBuildsOnlyWhatChanged asks make, without running anything (-n),
// what `make build` and `make sim` would do for binaries newer than every
// source (in a temporary directory, OTELCOL and BIN_DIR moved there): nothing;
// and with one file taken as just changed (-W): ocb for the receiver's Go
// files, go.mod, go.sum and builder-config.yaml, not for tests, docs or other
// commands; go build of the simulator for its own sources.
func TestMakeBuildsOnlyWhatChanged(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	dir := t.TempDir()
	binDir := filepath.Join(dir, "bin")
	otelcol := filepath.Join(dir, "otelcol-cloudflare")
	for _, f := range []string{filepath.Join(binDir, "builder"), filepath.Join(binDir, "cloudflare-sim"), otelcol} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Hour) // newer than any source of the checkout
		if err := os.Chtimes(f, future, future); err != nil {
			t.Fatal(err)
		}
	}
	dryRun := func(target, changed string) string {
		args := []string{"-n", target, "OTELCOL=" + otelcol, "BIN_DIR=" + binDir}
		if changed != "" {
			args = append(args, "-W", changed)
		}
		cmd := exec.Command("make", args...)
		cmd.Dir = repoRoot
		for _, kv := range os.Environ() { // not the flags of a make running this test
			if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") && !strings.HasPrefix(kv, "MFLAGS=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	glob := func(pattern string) string {
		matches, _ := filepath.Glob(filepath.Join(repoRoot, pattern))
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				return strings.TrimPrefix(m, repoRoot+"/")
			}
		}
		t.Fatalf("no file matches %s", pattern)
		return ""
	}
	const ocb = "--config builder-config.yaml"
	const simBuild = "build -o " // go build -o .../cloudflare-sim

	for _, tt := range []struct {
		target, changed, want string
		runs                  bool
	}{
		{"build", "", ocb, false},
		{"build", "go.mod", ocb, true},
		{"build", "go.sum", ocb, true},
		{"build", "builder-config.yaml", ocb, true},
		{"build", glob("*.go"), ocb, true},
		{"build", glob("internal/cloudflare/*.go"), ocb, true},
		{"build", "e2e/demo_test.go", ocb, false},
		{"build", "README.md", ocb, false},
		{"build", "cmd/demo-console/main.go", ocb, false},
		{"sim", "", simBuild, false},
		{"sim", "cmd/cloudflare-sim/main.go", simBuild, true},
		{"sim", glob("internal/cloudflaresim/*.go"), simBuild, true},
		{"sim", "config/demo.yaml", simBuild, false},
	} {
		out := dryRun(tt.target, tt.changed)
		if got := strings.Contains(out, tt.want); got != tt.runs {
			t.Errorf("make %s with %q changed: builds %v, want %v; make -n printed:\n%s", tt.target, tt.changed, got, tt.runs, out)
		}
	}
}

// TestMakeHelpListsTheTargets checks that `make help` lists every target the
// Makefile documents with a `## target:` comment, with its text.
func TestMakeHelpListsTheTargets(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "help")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	documented := regexp.MustCompile(`(?m)^## ([a-z0-9][a-z0-9-]*): (.*)$`).FindAllStringSubmatch(string(raw), -1)
	if len(documented) < 10 {
		t.Fatalf("the Makefile documents %d targets with ## target: comments", len(documented))
	}
	for _, m := range documented {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(m[1]) + ` +` + regexp.QuoteMeta(m[2]) + `$`).Match(out) {
			t.Errorf("make help does not list %s: %s\n%s", m[1], m[2], out)
		}
	}
}
