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

// runCheck runs the command against sim with args, the simulator's token in
// CLOUDFLARE_API_TOKEN unless token says otherwise.
func runCheck(t *testing.T, sim *cloudflaresim.Server, token string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{tokenEnv: token}
	code = run(context.Background(), append([]string{"-endpoint", sim.URL()}, args...),
		func(k string) string { return env[k] }, &out, &errOut, func() time.Time { return checkTime })
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
// token without the members permission, no logins, a revoked token; and v2
// refusing the login filter.
func TestCheckGolden(t *testing.T) {
	tests := []struct {
		name  string
		cfg   cloudflaresim.Config
		setup func(sim *cloudflaresim.Server)
		token string
		args  []string
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
			setup: func(sim *cloudflaresim.Server) { sim.SetToken("rolled") }},
		{name: "v2_filter_rejected", cfg: cloudflaresim.Config{Accounts: 1, MembersPerAccount: 1, LoginsPerAccount: 6, LoginSpan: 12 * time.Hour, RejectLoginActionType: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(sim)
			}
			stdout, stderr, code := runCheck(t, sim, simtest.Token, tt.args...)
			assert.Equal(t, 0, code, stderr)
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
	for _, endpoint := range []string{sim.URL(), echo.URL, named.URL()} {
		for _, args := range [][]string{nil, {"-json"}} {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"-endpoint", endpoint}, args...),
				func(string) string { return secret }, &out, &errOut, func() time.Time { return checkTime })
			assert.Equal(t, 0, code)
			assert.NotContains(t, out.String()+errOut.String(), secret)
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
