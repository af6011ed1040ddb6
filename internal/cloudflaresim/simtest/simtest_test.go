package simtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// accountCount asks a simulator's /accounts with token and returns the
// status code and the number of accounts listed.
func accountCount(t *testing.T, url, token string) (int, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/accounts", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		Result []json.RawMessage `json:"result"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, len(body.Result)
}

func TestStart(t *testing.T) {
	sim := Start(t, cloudflaresim.Config{Accounts: 2})
	code, accounts := accountCount(t, sim.URL(), Token)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, accounts)

	same := Start(t, cloudflaresim.Config{Accounts: 2, Seed: Seed, Token: Token})
	assert.Equal(t, sim.Accounts(), same.Accounts(), "the default seed is Seed")
}

func TestStartProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/cloudflare-sim")
	}
	url := StartProcess(t, cloudflaresim.Config{Accounts: 3, MembersPerAccount: 1, LoginsPerAccount: 1})
	code, accounts := accountCount(t, url, Token)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 3, accounts)
	code, _ = accountCount(t, url, "another-token")
	assert.Equal(t, http.StatusUnauthorized, code)
}

func TestStartProcessRefusesWhatTheCommandCannotDo(t *testing.T) {
	_, err := flags(cloudflaresim.Config{ShuffleTies: true})
	assert.Error(t, err)
	args, err := flags(withDefaults(cloudflaresim.Config{Accounts: 4, RateLimit: 1200, RateWindow: time.Minute, TokenKind: cloudflaresim.AccountToken}))
	require.NoError(t, err)
	assert.Equal(t, []string{"-token", Token, "-token-kind", "account", "-seed", "7", "-accounts", "4", "-members", "0",
		"-logins", "0", "-rate-limit", "1200", "-window", "1m0s"}, args)
}
