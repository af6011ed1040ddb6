package cloudflareidentityreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	storageID := component.MustNewID("file_storage")
	custom := createDefaultConfig().(*Config)
	custom.APIToken = "custom-token"
	custom.Endpoint = "http://127.0.0.1:8787/client/v4"
	custom.Timeout = 10 * time.Second
	custom.Accounts = []string{"023e105f4ecef8ad9ca31a8372d0c353", "4bb334f7c94c4a29a045f03944f072e5"}
	custom.StorageID = &storageID
	electorID := component.MustNewID("k8s_leader_elector")
	custom.LeaderElectorID = &electorID
	custom.Users.PollInterval = 30 * time.Minute
	custom.Users.SnapshotInterval = 0
	custom.Logins.PollInterval = 2 * time.Minute
	custom.Logins.InitialLookback = 720 * time.Hour
	custom.Logins.LateArrivalWindow = 15 * time.Minute
	custom.Logins.LateArrivalSweep = 3 * time.Minute
	custom.Logins.PageSize = 500
	custom.Logins.Source = loginSourceV2
	custom.AccessLogins = WindowConfig{Enabled: true, PollInterval: 30 * time.Second,
		InitialLookback: 48 * time.Hour, LateArrivalWindow: 20 * time.Minute, LateArrivalSweep: 2 * time.Minute, PageSize: 250}
	custom.AccessUsers = InventoryConfig{Enabled: true, PollInterval: 2 * time.Hour, SnapshotInterval: 48 * time.Hour}
	custom.RateLimit.RequestsPerWindow = 600
	custom.RateLimit.Reserve = 0.35
	custom.Users.DormantAfter = 1440 * time.Hour
	custom.Logins.NewAddressMemory = 0
	custom.Logins.NewAddressIPv4Prefix = 16
	custom.Logins.NewAddressIPv6Prefix = 48

	defaults := createDefaultConfig().(*Config)
	defaults.APIToken = "default-token"

	// Issue 22 item 4: a window shorter than the default sweep needs no sweep
	// set by hand; a sweep set by hand is kept, and checked.
	shortWindow := createDefaultConfig().(*Config)
	shortWindow.APIToken = "short-window-token"
	shortWindow.Logins.LateArrivalWindow, shortWindow.Logins.LateArrivalSweep = 2*time.Minute, 2*time.Minute
	shortWindow.AccessLogins.Enabled = true
	shortWindow.AccessLogins.LateArrivalWindow, shortWindow.AccessLogins.LateArrivalSweep = 3*time.Minute, 3*time.Minute

	tests := []struct {
		id       component.ID
		expected *Config
		errMsg   string
	}{
		{id: component.NewID(metadata.Type), expected: defaults},
		{id: component.NewIDWithName(metadata.Type, "custom"), expected: custom},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), errMsg: "poll_interval"},
		{id: component.NewIDWithName(metadata.Type, "short_window"), expected: shortWindow},
		{id: component.NewIDWithName(metadata.Type, "short_window_long_sweep"), errMsg: "logins.late_arrival_sweep: must be at least"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.errMsg != "" {
				require.ErrorContains(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		errs   []error
	}{
		{name: "defaults with a token", modify: func(*Config) {}},
		{name: "missing token", modify: func(c *Config) { c.APIToken = "" }, errs: []error{errMissingToken}},
		// Issue 22 item 3: a token read from a file often ends in a newline,
		// which the HTTP client then refuses as a header value on every request.
		{name: "token ending in a newline", modify: func(c *Config) { c.APIToken = "abc123\n" }, errs: []error{errTokenWhitespace}},
		{name: "token ending in CRLF", modify: func(c *Config) { c.APIToken = "abc123\r\n" }, errs: []error{errTokenWhitespace}},
		{name: "token starting with a space", modify: func(c *Config) { c.APIToken = " abc123" }, errs: []error{errTokenWhitespace}},
		{name: "token with a tab inside", modify: func(c *Config) { c.APIToken = "abc\t123" }, errs: []error{errTokenWhitespace}},
		{name: "token with a NUL", modify: func(c *Config) { c.APIToken = "abc\x00123" }, errs: []error{errTokenWhitespace}},
		{name: "token with a non-breaking space", modify: func(c *Config) { c.APIToken = "abc\u00a0123" }, errs: []error{errTokenWhitespace}},
		{name: "endpoint without scheme", modify: func(c *Config) { c.Endpoint = "api.cloudflare.com" }, errs: []error{cloudflare.ErrEndpointNotHTTPURL}},
		// Item 10 of issue 9: plain http sends the token in clear, so it is only
		// allowed where it does not leave the machine.
		{name: "http endpoint to a remote host", modify: func(c *Config) { c.Endpoint = "http://api.cloudflare.com/client/v4" }, errs: []error{cloudflare.ErrEndpointPlainHTTP}},
		{name: "http endpoint to a private address", modify: func(c *Config) { c.Endpoint = "http://10.0.0.7:8787/client/v4" }, errs: []error{cloudflare.ErrEndpointPlainHTTP}},
		{name: "http endpoint to a host named like loopback", modify: func(c *Config) { c.Endpoint = "http://127.0.0.1.example.com/client/v4" }, errs: []error{cloudflare.ErrEndpointPlainHTTP}},
		{name: "http endpoint to localhost.example", modify: func(c *Config) { c.Endpoint = "http://localhost.example.com/client/v4" }, errs: []error{cloudflare.ErrEndpointPlainHTTP}},
		{name: "http endpoint to the unspecified address", modify: func(c *Config) { c.Endpoint = "http://0.0.0.0:8787/client/v4" }, errs: []error{cloudflare.ErrEndpointPlainHTTP}},
		{name: "http endpoint to 127.0.0.1", modify: func(c *Config) { c.Endpoint = "http://127.0.0.1:8787/client/v4" }},
		{name: "http endpoint to 127.0.0.0/8", modify: func(c *Config) { c.Endpoint = "http://127.3.2.1:8787/client/v4" }},
		{name: "http endpoint to ::1", modify: func(c *Config) { c.Endpoint = "http://[::1]:8787/client/v4" }},
		{name: "http endpoint to localhost", modify: func(c *Config) { c.Endpoint = "http://LocalHost:8787/client/v4" }},
		{name: "https endpoint to any host", modify: func(c *Config) { c.Endpoint = "https://10.0.0.7:8443/client/v4" }},
		{name: "users interval too short", modify: func(c *Config) { c.Users.PollInterval = 30 * time.Second }, errs: []error{usersKeyErrors.pollInterval}},
		{name: "snapshot shorter than poll", modify: func(c *Config) { c.Users.SnapshotInterval = time.Minute }, errs: []error{usersKeyErrors.snapshotInterval}},
		{name: "snapshot only on first poll", modify: func(c *Config) { c.Users.SnapshotInterval = 0 }},
		{name: "logins interval too short", modify: func(c *Config) { c.Logins.PollInterval = 5 * time.Second }, errs: []error{loginsKeyErrors.pollInterval}},
		{name: "lookback beyond retention", modify: func(c *Config) { c.Logins.InitialLookback = 13141 * time.Hour }, errs: []error{loginsKeyErrors.initialLookback}},
		{name: "lookback at retention", modify: func(c *Config) { c.Logins.InitialLookback = 13140 * time.Hour }},
		{name: "negative late window", modify: func(c *Config) { c.Logins.LateArrivalWindow = -time.Second }, errs: []error{loginsKeyErrors.lateArrivalWindow}},
		// Item 12 of issue 9: the window is not bounded by initial_lookback, and
		// initial_lookback 0 does not switch it off.
		{name: "late window longer than the lookback", modify: func(c *Config) {
			c.Logins.InitialLookback, c.Logins.LateArrivalWindow = time.Hour, 2*time.Hour
		}},
		{name: "late window with no lookback", modify: func(c *Config) {
			c.Logins.InitialLookback, c.Logins.LateArrivalWindow = 0, 10*time.Minute
		}},
		{name: "late window at retention", modify: func(c *Config) { c.Logins.LateArrivalWindow = 13140 * time.Hour }},
		{name: "late window beyond retention", modify: func(c *Config) { c.Logins.LateArrivalWindow = 13140*time.Hour + time.Nanosecond }, errs: []error{loginsKeyErrors.lateArrivalWindow}},
		{name: "sweep shorter than the poll interval", modify: func(c *Config) { c.Logins.LateArrivalSweep = 30 * time.Second }, errs: []error{loginsKeyErrors.lateArrivalSweep}},
		{name: "sweep longer than the window", modify: func(c *Config) { c.Logins.LateArrivalWindow = 2 * time.Minute }, errs: []error{loginsKeyErrors.lateArrivalSweep}},
		{name: "sweep equal to the window", modify: func(c *Config) { c.Logins.LateArrivalSweep = c.Logins.LateArrivalWindow }},
		{name: "sweep equal to the poll interval", modify: func(c *Config) { c.Logins.LateArrivalSweep = c.Logins.PollInterval }},
		{name: "no window: the sweep is not checked", modify: func(c *Config) { c.Logins.LateArrivalWindow = 0 }},
		{name: "page size zero", modify: func(c *Config) { c.Logins.PageSize = 0 }, errs: []error{loginsKeyErrors.pageSize}},
		{name: "page size above 1000", modify: func(c *Config) { c.Logins.PageSize = 1001 }, errs: []error{loginsKeyErrors.pageSize}},
		{name: "unknown login source", modify: func(c *Config) { c.Logins.Source = "audit_logs_v3" }, errs: []error{errLoginSource}},
		{name: "empty login source", modify: func(c *Config) { c.Logins.Source = "" }, errs: []error{errLoginSource}},
		{name: "malformed account", modify: func(c *Config) { c.Accounts = []string{"ACCOUNT"} }, errs: []error{errMalformedAccountID}},
		{name: "duplicate account", modify: func(c *Config) {
			c.Accounts = []string{"023e105f4ecef8ad9ca31a8372d0c353", "023e105f4ecef8ad9ca31a8372d0c353"}
		}, errs: []error{errDuplicateAccountID}},
		{name: "no rate budget", modify: func(c *Config) { c.RateLimit.RequestsPerWindow = 0 }, errs: []error{errRequestsPerWindow}},
		{name: "tiny window", modify: func(c *Config) { c.RateLimit.Window = time.Millisecond }, errs: []error{errRateLimitWindow}},
		{name: "negative reserve", modify: func(c *Config) { c.RateLimit.Reserve = -0.1 }, errs: []error{errRateLimitReserve}},
		{name: "reserve as a percentage", modify: func(c *Config) { c.RateLimit.Reserve = 20 }, errs: []error{errRateLimitReserve}},
		{name: "dormancy off", modify: func(c *Config) { c.Users.DormantAfter = 0 }},
		{name: "dormancy shorter than an hour", modify: func(c *Config) { c.Users.DormantAfter = 59 * time.Minute }, errs: []error{errDormantAfter}},
		{name: "dormancy beyond retention", modify: func(c *Config) { c.Users.DormantAfter = 13141 * time.Hour }, errs: []error{errDormantAfter}},
		{name: "new-address memory off", modify: func(c *Config) { c.Logins.NewAddressMemory = 0 }},
		{name: "negative new-address memory", modify: func(c *Config) { c.Logins.NewAddressMemory = -time.Hour }, errs: []error{errNewAddressMemory}},
		{name: "new-address memory at retention", modify: func(c *Config) { c.Logins.NewAddressMemory = 13140 * time.Hour }},
		{name: "IPv4 prefix too short", modify: func(c *Config) { c.Logins.NewAddressIPv4Prefix = 7 }, errs: []error{errIPv4Prefix}},
		{name: "IPv4 prefix too long", modify: func(c *Config) { c.Logins.NewAddressIPv4Prefix = 33 }, errs: []error{errIPv4Prefix}},
		{name: "IPv4 host prefix", modify: func(c *Config) { c.Logins.NewAddressIPv4Prefix = 32 }},
		{name: "IPv6 prefix too short", modify: func(c *Config) { c.Logins.NewAddressIPv6Prefix = 15 }, errs: []error{errIPv6Prefix}},
		{name: "IPv6 prefix too long", modify: func(c *Config) { c.Logins.NewAddressIPv6Prefix = 129 }, errs: []error{errIPv6Prefix}},
		{name: "both streams off", modify: func(c *Config) { c.Users.Enabled, c.Logins.Enabled = false, false }, errs: []error{errNothingEnabled}},
		{name: "only access_logins on", modify: func(c *Config) {
			c.Users.Enabled, c.Logins.Enabled, c.AccessLogins.Enabled = false, false, true
		}},
		{name: "only access_users on", modify: func(c *Config) {
			c.Users.Enabled, c.Logins.Enabled, c.AccessUsers.Enabled = false, false, true
		}},
		{name: "access_logins poll too short", modify: func(c *Config) { c.AccessLogins.PollInterval = 9 * time.Second }, errs: []error{accessLoginsKeyErrors.pollInterval}},
		{name: "access_logins negative lookback", modify: func(c *Config) { c.AccessLogins.InitialLookback = -time.Second }, errs: []error{accessLoginsKeyErrors.initialLookback}},
		{name: "access_logins lookback longer than Access retention is fine", modify: func(c *Config) { c.AccessLogins.InitialLookback = 4320 * time.Hour }},
		{name: "access_logins window beyond retention", modify: func(c *Config) { c.AccessLogins.LateArrivalWindow = 13140*time.Hour + 1 }, errs: []error{accessLoginsKeyErrors.lateArrivalWindow}},
		{name: "access_logins sweep longer than the window", modify: func(c *Config) { c.AccessLogins.LateArrivalWindow = 2 * time.Minute }, errs: []error{accessLoginsKeyErrors.lateArrivalSweep}},
		{name: "access_logins page size above 1000", modify: func(c *Config) { c.AccessLogins.PageSize = 1001 }, errs: []error{accessLoginsKeyErrors.pageSize}},
		{name: "access_users poll too short", modify: func(c *Config) { c.AccessUsers.PollInterval = 4 * time.Minute }, errs: []error{accessUsersKeyErrors.pollInterval}},
		{name: "access_users snapshot shorter than the poll", modify: func(c *Config) { c.AccessUsers.SnapshotInterval = 30 * time.Minute }, errs: []error{accessUsersKeyErrors.snapshotInterval}},
		{name: "access_users snapshot 0", modify: func(c *Config) { c.AccessUsers.SnapshotInterval = 0 }},
		{name: "every problem at once", modify: func(c *Config) {
			c.APIToken = ""
			c.Logins.PageSize = 0
			c.Users.PollInterval = 0
		}, errs: []error{errMissingToken, loginsKeyErrors.pageSize, usersKeyErrors.pollInterval}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.APIToken = "token"
			tt.modify(cfg)
			err := cfg.Validate()
			if len(tt.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.ErrorIs(t, err, want)
			}
			// One line per problem, each naming its key.
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tt.errs), err.Error())
		})
	}
}

// TestPlainHTTPEndpointErrorNamesKey: the refusal of an http:// endpoint to a
// remote host names the key and the host, and stands alone (item 10 of issue 9).
func TestPlainHTTPEndpointErrorNamesKey(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIToken = "token"
	cfg.Endpoint = "http://api.cloudflare.com/client/v4"
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "endpoint: http:// is only allowed to a loopback host")
	assert.Contains(t, err.Error(), `"api.cloudflare.com"`)
}

// TestTokenWhitespaceErrorNeverShowsTheToken: the refusal of a token with a
// trailing newline names the key and the likely cause, not the token.
func TestTokenWhitespaceErrorNeverShowsTheToken(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.APIToken = "Zx9-secret-token-value\n"
	err := confmap.Validate(cfg)
	require.ErrorIs(t, err, errTokenWhitespace)
	assert.Contains(t, err.Error(), "api_token: holds whitespace")
	assert.Contains(t, err.Error(), "--from-file")
	assert.Contains(t, err.Error(), "at byte 23 of 23")
	assert.NotContains(t, err.Error(), "secret-token")
}
