// Package simtest starts the Cloudflare API simulator for tests and
// benchmarks: in the test's own process (Start), or in a process of its own
// (StartProcess) where the simulator's memory and CPU must not count in the
// measurements of the process under test.
package simtest // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

const (
	// Token is the API token the simulator accepts when the config names none.
	Token = "sim-token-for-tests"
	// Seed seeds the simulator's data when the config gives no seed.
	Seed = 7
)

// Start serves a simulator on a free loopback port until the test ends.
// cfg.Token defaults to Token and cfg.Seed to Seed; cfg.Now, when set, is the
// simulator's clock (a cloudflaresim.ManualClock's Now in most tests).
func Start(t testing.TB, cfg cloudflaresim.Config) *cloudflaresim.Server {
	t.Helper()
	sim := cloudflaresim.New(withDefaults(cfg))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// StartProcess builds cmd/cloudflare-sim and runs it on a free loopback port
// until the test ends, with the data cfg describes (same defaults as Start)
// and without live changes. It returns the API's base URL. The command runs
// on the wall clock and knows no more of Config than its flags: a config
// that sets anything else fails the test.
func StartProcess(t testing.TB, cfg cloudflaresim.Config) string {
	t.Helper()
	args, err := flags(withDefaults(cfg))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cloudflare-sim")
	build := exec.Command("go", "build", "-o", bin, "github.com/otel-cloudflare/cloudflareidentityreceiver/cmd/cloudflare-sim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/cloudflare-sim: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-live-interval", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting cmd/cloudflare-sim: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// "cloudflare-sim listening on http://127.0.0.1:PORT/client/v4 (token ...)"
	line, err := bufio.NewReader(stdout).ReadString('\n')
	_, rest, found := strings.Cut(line, "listening on ")
	url, _, _ := strings.Cut(rest, " ")
	if err != nil || !found || url == "" {
		t.Fatalf("cmd/cloudflare-sim did not say where it listens: %q (%v)", line, err)
	}
	return url
}

func withDefaults(cfg cloudflaresim.Config) cloudflaresim.Config {
	if cfg.Token == "" {
		cfg.Token = Token
	}
	if cfg.Seed == 0 {
		cfg.Seed = Seed
	}
	return cfg
}

// flags renders cfg as cmd/cloudflare-sim's flags.
func flags(cfg cloudflaresim.Config) ([]string, error) {
	if cfg.FailureRatio != 0 || cfg.Lockout != 0 || cfg.Now != nil || cfg.MaxPerPageAuditLogs != 0 ||
		cfg.ShuffleTies || cfg.Retention != 0 {
		return nil, fmt.Errorf("cmd/cloudflare-sim has no flag for part of %+v", cfg)
	}
	kind := "user"
	if cfg.TokenKind == cloudflaresim.AccountToken {
		kind = "account"
	}
	args := []string{
		"-token", cfg.Token, "-token-kind", kind, "-seed", strconv.FormatInt(cfg.Seed, 10),
		"-accounts", strconv.Itoa(cfg.Accounts), "-members", strconv.Itoa(cfg.MembersPerAccount),
		"-logins", strconv.Itoa(cfg.LoginsPerAccount), "-rate-limit", strconv.Itoa(cfg.RateLimit),
	}
	if cfg.LoginSpan > 0 {
		args = append(args, "-span", cfg.LoginSpan.String())
	}
	if cfg.RateWindow > 0 {
		args = append(args, "-window", cfg.RateWindow.String())
	}
	if cfg.DashboardRequestsPerWindow > 0 {
		args = append(args, "-dashboard-requests", strconv.Itoa(cfg.DashboardRequestsPerWindow))
	}
	if cfg.DashboardBurst > 0 {
		args = append(args, "-dashboard-burst", strconv.Itoa(cfg.DashboardBurst))
	}
	return args, nil
}
