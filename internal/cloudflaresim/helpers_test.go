package cloudflaresim

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testToken = "test-token"

// testStart is where the tests' manual clocks start.
var testStart = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// startServer serves a new simulator on loopback until the test ends.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	s := New(cfg)
	require.NoError(t, s.Start("127.0.0.1:0"))
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// sdkOptions configures a cloudflare-go service to talk to s without retries,
// over a transport whose idle connections are closed when the test ends.
func sdkOptions(t testing.TB, s *Server) []option.RequestOption {
	return []option.RequestOption{
		option.WithBaseURL(s.URL()),
		option.WithAPIToken(testToken),
		option.WithMaxRetries(0),
		option.WithHTTPClient(testHTTPClient(t)),
	}
}

func testHTTPClient(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get requests path (relative to the API base) with the given token, "" for
// none, and returns the response with its body read.
func get(t testing.TB, s *Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := testHTTPClient(t).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// apiErrorOf decodes the first error of an error envelope.
func apiErrorOf(t testing.TB, body []byte) wireError {
	t.Helper()
	var env struct {
		Success bool        `json:"success"`
		Errors  []wireError `json:"errors"`
		Result  any         `json:"result"`
	}
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	require.False(t, env.Success)
	require.Nil(t, env.Result)
	require.Len(t, env.Errors, 1)
	return env.Errors[0]
}
