package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var checkTime = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// runCheck runs the command against sim with args and token in
// CLOUDFLARE_API_TOKEN.
func runCheck(t *testing.T, sim *cloudflaresim.Server, token string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runArgs(context.Background(), token, append([]string{"-endpoint", sim.URL()}, args...)...)
}

// runArgs runs the command with args alone and token in CLOUDFLARE_API_TOKEN.
func runArgs(ctx context.Context, token string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	env := map[string]string{tokenEnv: token}
	code = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut, func() time.Time { return checkTime })
	return out.String(), errOut.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func startSim(t *testing.T, cfg cloudflaresim.Config) *cloudflaresim.Server {
	cfg.Now = cloudflaresim.NewManualClock(checkTime).Now
	cfg.RateLimit = 1200 // sends Cloudflare's Ratelimit headers
	return simtest.Start(t, cfg)
}

// TestCheckGolden runs the check against the simulator in the cases a user
// meets: logins in both sources (text and JSON), an account-owned token, a
// token without the members permission, no logins, a revoked token (exit
// 1); and v2 refusing the login filter.
func TestCheckGolden(t *testing.T) {
	tests := []struct {
		name     string
		cfg      cloudflaresim.Config
		setup    func(sim *cloudflaresim.Server)
		args     []string
		wantCode int
	}{
		{name: "both_sources", cfg: cloudflaresim.Config{Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 40, LoginSpan: 48 * time.Hour, FailureRatio: 0.25}},
		{name: "both_sources_json", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 10, LoginSpan: 12 * time.Hour}, args: []string{"-json"}},
		{name: "seven_days_account_token", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 40, LoginSpan: 10 * 24 * time.Hour, TokenKind: cloudflaresim.AccountToken}, args: []string{"-since", "7d"}},
		{name: "missing_permission", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 5, LoginSpan: 12 * time.Hour},
			setup: func(sim *cloudflaresim.Server) {
				sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointMembers, Count: -1})
			}},
		{name: "no_logins", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3}},
		{name: "revoked_token", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 5},
			setup: func(sim *cloudflaresim.Server) { sim.SetToken("rolled") }, wantCode: 1},
		{name: "v2_filter_rejected", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 1, LoginsPerAccount: 6, LoginSpan: 12 * time.Hour, RejectLoginActionType: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(sim)
			}
			stdout, stderr, code := runCheck(t, sim, simtest.Token, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Empty(t, stderr)
			// The simulator's port changes from run to run.
			golden(t, tt.name, strings.ReplaceAll(stdout, strings.TrimPrefix(sim.URL(), "http://"), "SIM"))
			assert.NotContains(t, stdout, simtest.Token)
			assert.LessOrEqual(t, sim.Stats().Total, maxRequests)
		})
	}
}

// TestCheckRefusesWithoutToken: no token, no request, and the message names
// the variable.
func TestCheckRefusesWithoutToken(t *testing.T) {
	sim := startSim(t, cloudflaresim.Config{Accounts: 1})
	stdout, stderr, code := runCheck(t, sim, "")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "CLOUDFLARE_API_TOKEN")
	assert.Zero(t, sim.Stats().Total)
}

// TestCheckRefusesPlainHTTPToOtherHosts: the receiver's endpoint rule. An
// -endpoint that would send the token over plain http to a host that is not
// loopback, or that is no http(s) URL at all, is bad usage: exit 2 with the
// reason, before any request (no report, which only follows requests; the
// hosts are not reachable from the test, so a request would end in a report
// of an unreachable Cloudflare). http:// to 127.0.0.1 still works.
func TestCheckRefusesPlainHTTPToOtherHosts(t *testing.T) {
	sim := startSim(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 1, LoginsPerAccount: 2, FailureRatio: -1})
	tests := []struct {
		endpoint string
		wantErr  string // "" when the check runs
	}{
		{endpoint: "http://example.com/client/v4", wantErr: `http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://, the API token goes with every request: got host "example.com"`},
		{endpoint: "http://10.0.0.1:8080/client/v4", wantErr: `got host "10.0.0.1"`},
		{endpoint: "http://[2001:db8::1]:8080/client/v4", wantErr: `got host "2001:db8::1"`},
		{endpoint: "http://localhost.example.com/client/v4", wantErr: `got host "localhost.example.com"`},
		{endpoint: "HTTP://example.com/client/v4", wantErr: `got host "example.com"`},
		{endpoint: "api.cloudflare.com/client/v4", wantErr: `must be an absolute http(s) URL`},
		{endpoint: "ftp://127.0.0.1/client/v4", wantErr: `must be an absolute http(s) URL`},
		{endpoint: "https:///client/v4", wantErr: `must be an absolute http(s) URL`},
		{endpoint: sim.URL()}, // http://127.0.0.1:port; TestIsLoopback covers the other loopback names
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			sim.ResetStats()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stdout, stderr, code := runArgs(ctx, simtest.Token, "-endpoint", tt.endpoint)
			if tt.wantErr != "" {
				assert.Equal(t, 2, code)
				assert.Empty(t, stdout, "no report: nothing was sent")
				assert.Contains(t, stderr, "cloudflare-identity-check: -endpoint: ")
				assert.Contains(t, stderr, tt.wantErr)
				return
			}
			assert.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "logins, Audit Logs v1 (audit_logs): 2 success")
			assert.Positive(t, sim.Stats().Total)
		})
	}
}

// TestCheckExitCodes: what a CI job gates on. 0 when the token works and an
// account's logins are readable, with or without logins in the window; 1
// when the token is refused, reads no account, reads no login source, or
// Cloudflare is not reached; 2 on bad usage. --help and -h print the usage
// with the exit codes and exit 0.
func TestCheckExitCodes(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	tests := []struct {
		name     string
		cfg      cloudflaresim.Config
		setup    func(sim *cloudflaresim.Server)
		args     []string // after -endpoint SIM
		endpoint string   // instead of the simulator
		noToken  bool
		want     int
	}{
		{name: "logins readable", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 4}, want: 0},
		{name: "readable, no logins in the window", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2}, want: 0},
		{name: "only v2 readable", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 4},
			setup: func(sim *cloudflaresim.Server) {
				sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: cloudflaresim.EndpointAuditLogs, Count: -1})
			}, want: 0},
		{name: "token refused", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 4},
			setup: func(sim *cloudflaresim.Server) { sim.SetToken("rolled") }, want: 1},
		{name: "no account readable", cfg: cloudflaresim.Config{}, want: 1},
		{name: "no login source readable", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 4},
			setup: func(sim *cloudflaresim.Server) {
				for _, e := range []cloudflaresim.Endpoint{cloudflaresim.EndpointAuditLogs, cloudflaresim.EndpointAuditLogsV2} {
					sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultForbidden, Endpoint: e, Count: -1})
				}
			}, want: 1},
		{name: "Cloudflare not reached", endpoint: closed.URL + "/client/v4", want: 1},
		{name: "unknown flag", args: []string{"-verbose"}, want: 2},
		{name: "bad -since", args: []string{"-since", "week"}, want: 2},
		{name: "no token", noToken: true, want: 2},
		{name: "plain http to another host", endpoint: "http://example.com/client/v4", want: 2},
		{name: "--help", args: []string{"--help"}, want: 0},
		{name: "-h", args: []string{"-h"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(sim)
			}
			endpoint, token := sim.URL(), simtest.Token
			if tt.endpoint != "" {
				endpoint = tt.endpoint
			}
			if tt.noToken {
				token = ""
			}
			_, stderr, code := runArgs(context.Background(), token, append([]string{"-endpoint", endpoint}, tt.args...)...)
			assert.Equal(t, tt.want, code, stderr)
		})
	}
}

// TestHelpDocumentsTheExitCodes: the usage names every exit code.
func TestHelpDocumentsTheExitCodes(t *testing.T) {
	stdout, stderr, code := runArgs(context.Background(), "", "--help")
	assert.Equal(t, 0, code)
	assert.Empty(t, stdout)
	for _, want := range []string{"-endpoint", "-since", "-json", "Exit status:",
		"0  the token works and the logins of at least one account are readable",
		"1  the token is refused, or no account's logins are readable",
		"2  bad usage"} {
		assert.Contains(t, stderr, want)
	}
}

// TestCheckNeverPrintsTheToken: a refused token, a server that echoes the
// request's Authorization header in its error messages, and an account name
// holding the token: the token is in neither the text nor the JSON report.
// Mutation caught: run printing the report without replacing the token.
func TestCheckNeverPrintsTheToken(t *testing.T) {
	const secret = "cf-secret-token-value-1234567890"
	sim := startSim(t, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 3})
	sim.SetToken("rolled")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token: %s"}],"messages":[],"result":null}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	// A working token, and an account whose name Cloudflare echoes with the token in it.
	named := startSim(t, cloudflaresim.Config{Token: secret})
	named.AddAccount(cloudflaresim.Account{ID: "0123456789abcdef0123456789abcdef", Name: "team " + secret})
	for endpoint, wantCode := range map[string]int{sim.URL(): 1, echo.URL: 1, named.URL(): 0} {
		for _, args := range [][]string{nil, {"-json"}} {
			stdout, stderr, code := runArgs(context.Background(), secret, append([]string{"-endpoint", endpoint}, args...)...)
			assert.Equal(t, wantCode, code, endpoint)
			assert.NotContains(t, stdout+stderr, secret)
		}
	}
}

// TestCheckBudget: with many accounts and pages, at most 60 requests go out.
func TestCheckBudget(t *testing.T) {
	sim := startSim(t, cloudflaresim.Config{Accounts: 8, MembersPerAccount: 120, LoginsPerAccount: 8000, LoginSpan: 12 * time.Hour})
	stdout, _, code := runCheck(t, sim, simtest.Token)
	assert.Equal(t, 0, code)
	assert.LessOrEqual(t, sim.Stats().Total, maxRequests)
	assert.Contains(t, stdout, "Requests sent: 60 (at most 60)")
	assert.Contains(t, stdout, "3 more accounts, not examined")
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		got, err := parseSince(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"", "0d", "-1h", "xd", "week"} {
		_, err := parseSince(bad)
		assert.Error(t, err, bad)
	}
}

// TestRecommend covers what the simulator cannot show: logins in one source
// only (it serves the same logins to both).
func TestRecommend(t *testing.T) {
	ok := tokenReport{Status: "active", Owner: "user"}
	logins := func(n int) sourceReport { return sourceReport{Read: true, Success: n} }
	acct := func(v1, v2 sourceReport) []accountReport {
		n := 1
		return []accountReport{{ID: "a", Members: countReport{Count: &n}, V1: v1, V2: v2}}
	}
	tests := []struct {
		rep  report
		want string
	}{
		{report{Token: ok, Accounts: acct(logins(0), logins(4))}, "Use logins.source: audit_logs_v2 (only Audit Logs v2"},
		{report{Token: ok, Accounts: acct(logins(3), logins(0))}, "Use logins.source: audit_logs, the default (only Audit Logs v1"},
		{report{Token: ok, Accounts: acct(logins(1), logins(5))}, "Use logins.source: audit_logs_v2 (it shows more logins: 5 against 1"},
		{report{Token: ok, Accounts: acct(logins(0), logins(0))}, "No logins in either source in this window: log in to the dashboard once and run again."},
		{report{Token: ok, Accounts: acct(sourceReport{MissingPermission: permission}, logins(0))}, "Add Account Settings:Read to the token"},
		{report{Token: tokenReport{Status: "expired"}}, "The token is expired"},
		{report{Token: ok}, "The token reads no account"},
	}
	for _, tt := range tests {
		assert.Contains(t, strings.Join(recommend(&tt.rep), "\n"), tt.want)
	}
}
