package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
)

const (
	minUsersPollInterval  = time.Minute
	minLoginsPollInterval = 10 * time.Second
	// maxInitialLookback is the audit log retention of the Cloudflare API (18 months).
	maxInitialLookback = 13140 * time.Hour
	maxPageSize        = 1000
	minRateLimitWindow = time.Second
	// minUsageWindow is the shortest users.dormant_after and logins.new_address_memory other than 0.
	minUsageWindow = time.Hour

	// The login sources, values of logins.source.
	loginSourceV1 = "audit_logs"
	loginSourceV2 = "audit_logs_v2"
)

var (
	errMissingToken       = errors.New("api_token: must be set (a Cloudflare API token)")
	errMissingEndpoint    = errors.New("endpoint: must be an absolute http(s) URL")
	errPlainHTTPEndpoint  = errors.New("endpoint: http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://, the API token goes with every request")
	errUsersPollInterval  = fmt.Errorf("users.poll_interval: must be at least %s", minUsersPollInterval)
	errSnapshotInterval   = errors.New("users.snapshot_interval: must be 0 (inventory on the first poll only) or at least users.poll_interval")
	errLoginsPollInterval = fmt.Errorf("logins.poll_interval: must be at least %s", minLoginsPollInterval)
	errInitialLookback    = fmt.Errorf("logins.initial_lookback: must be between 0 and %s (18 months, the audit log retention)", maxInitialLookback)
	errLateArrivalWindow  = fmt.Errorf("logins.late_arrival_window: must be between 0 and %s (18 months, the audit log retention)", maxInitialLookback)
	errLateArrivalSweep   = errors.New("logins.late_arrival_sweep: must be at least logins.poll_interval and at most logins.late_arrival_window (when the window is not 0)")
	errPageSize           = fmt.Errorf("logins.page_size: must be between 1 and %d", maxPageSize)
	errLoginSource        = fmt.Errorf("logins.source: must be %s (Audit Logs v1) or %s (Audit Logs v2)", loginSourceV1, loginSourceV2)
	errDormantAfter       = fmt.Errorf("users.dormant_after: must be 0 (off) or between %s and %s; in hours, Go durations have no d unit: 90 days is 2160h", minUsageWindow, maxInitialLookback)
	errNewAddressMemory   = fmt.Errorf("logins.new_address_memory: must be 0 (off) or between %s and %s; in hours, Go durations have no d unit: 30 days is 720h", minUsageWindow, maxInitialLookback)
	errIPv4Prefix         = errors.New("logins.new_address_ipv4_prefix: must be between 8 and 32 (bits of an IPv4 address that name its network)")
	errIPv6Prefix         = errors.New("logins.new_address_ipv6_prefix: must be between 16 and 128 (bits of an IPv6 address that name its network)")
	errRequestsPerWindow  = errors.New("rate_limit.requests_per_window: must be at least 1")
	errRateLimitWindow    = fmt.Errorf("rate_limit.window: must be at least %s", minRateLimitWindow)
	errNothingEnabled     = errors.New("users.enabled, logins.enabled: at least one stream must be enabled")
	errMalformedAccountID = errors.New("accounts: each entry must be a Cloudflare account ID (32 lowercase hex characters)")
	errDuplicateAccountID = errors.New("accounts: lists the same account ID twice")
	accountIDPattern      = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Config is the configuration of the cloudflare_identity receiver.
type Config struct {
	// ClientConfig holds endpoint (the API base URL), timeout, tls, proxy_url, headers, ...
	confighttp.ClientConfig `mapstructure:",squash"`

	// APIToken is the Cloudflare API token (user-owned or account-owned); never logged.
	APIToken configopaque.String `mapstructure:"api_token"`
	// Accounts restricts polling to these account IDs; empty polls every account the token can read.
	Accounts []string `mapstructure:"accounts"`
	// StorageID names the storage extension that keeps checkpoints across restarts; nil keeps them in memory.
	StorageID *component.ID `mapstructure:"storage"`

	// Users configures the account member stream.
	Users UsersConfig `mapstructure:"users"`
	// Logins configures the login audit event stream.
	Logins LoginsConfig `mapstructure:"logins"`
	// RateLimit caps this receiver's request rate, shared by all accounts and both streams.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`

	_ struct{}
}

// UsersConfig configures the account member stream.
type UsersConfig struct {
	// Enabled turns the stream on.
	Enabled bool `mapstructure:"enabled"`
	// PollInterval is how often member lists are read and diffed.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// SnapshotInterval is how often the full inventory is re-emitted; 0 emits it on the first poll only.
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`
	// DormantAfter is how long an accepted member may go without a login before a dormant record; 0 turns dormancy off.
	DormantAfter time.Duration `mapstructure:"dormant_after"`

	_ struct{}
}

// LoginsConfig configures the login audit event stream.
type LoginsConfig struct {
	// Enabled turns the stream on.
	Enabled bool `mapstructure:"enabled"`
	// PollInterval is how often the audit log is read.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialLookback is how far back the first poll of an account reads.
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// LateArrivalWindow is how far before the checkpoint a sweep re-reads, because the API shows some events late; 0 turns sweeps off.
	LateArrivalWindow time.Duration `mapstructure:"late_arrival_window"`
	// LateArrivalSweep is how often the late-arrival window is re-read.
	LateArrivalSweep time.Duration `mapstructure:"late_arrival_sweep"`
	// PageSize is the number of audit entries requested per page.
	PageSize int `mapstructure:"page_size"`
	// Source is where logins are read: audit_logs (v1) or audit_logs_v2.
	Source string `mapstructure:"source"`
	// NewAddressMemory is how long a user's login networks are remembered to flag a login from a new one; 0 turns the flag off.
	NewAddressMemory time.Duration `mapstructure:"new_address_memory"`
	// NewAddressIPv4Prefix is the prefix length that makes two IPv4 addresses one network.
	NewAddressIPv4Prefix int `mapstructure:"new_address_ipv4_prefix"`
	// NewAddressIPv6Prefix is the prefix length that makes two IPv6 addresses one network.
	NewAddressIPv6Prefix int `mapstructure:"new_address_ipv6_prefix"`

	_ struct{}
}

// RateLimitConfig is the client-side request budget.
type RateLimitConfig struct {
	// RequestsPerWindow is the most requests sent within any Window.
	RequestsPerWindow int `mapstructure:"requests_per_window"`
	// Window is the length of the sliding window.
	Window time.Duration `mapstructure:"window"`

	_ struct{}
}

// Validate reports every problem in the configuration, each naming its key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.APIToken == "" {
		errs = append(errs, errMissingToken)
	}
	if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errMissingEndpoint)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		errs = append(errs, fmt.Errorf("%w: got host %q", errPlainHTTPEndpoint, u.Hostname()))
	}
	errs = append(errs, validateAccounts(cfg.Accounts)...)
	if !cfg.Users.Enabled && !cfg.Logins.Enabled {
		errs = append(errs, errNothingEnabled)
	}
	if cfg.Users.PollInterval < minUsersPollInterval {
		errs = append(errs, errUsersPollInterval)
	}
	if cfg.Users.SnapshotInterval != 0 && cfg.Users.SnapshotInterval < cfg.Users.PollInterval {
		errs = append(errs, errSnapshotInterval)
	}
	if cfg.Logins.PollInterval < minLoginsPollInterval {
		errs = append(errs, errLoginsPollInterval)
	}
	if cfg.Logins.InitialLookback < 0 || cfg.Logins.InitialLookback > maxInitialLookback {
		errs = append(errs, errInitialLookback)
	}
	if cfg.Logins.LateArrivalWindow < 0 || cfg.Logins.LateArrivalWindow > maxInitialLookback {
		errs = append(errs, errLateArrivalWindow)
	}
	if window, sweep := cfg.Logins.LateArrivalWindow, cfg.Logins.LateArrivalSweep; window > 0 &&
		(sweep < cfg.Logins.PollInterval || sweep > window) {
		errs = append(errs, errLateArrivalSweep)
	}
	if cfg.Logins.PageSize < 1 || cfg.Logins.PageSize > maxPageSize {
		errs = append(errs, errPageSize)
	}
	if cfg.Logins.Source != loginSourceV1 && cfg.Logins.Source != loginSourceV2 {
		errs = append(errs, fmt.Errorf("%w: got %q", errLoginSource, cfg.Logins.Source))
	}
	errs = append(errs, cfg.validateUsage()...)
	if cfg.RateLimit.RequestsPerWindow < 1 {
		errs = append(errs, errRequestsPerWindow)
	}
	if cfg.RateLimit.Window < minRateLimitWindow {
		errs = append(errs, errRateLimitWindow)
	}
	return errors.Join(errs...)
}

// validateUsage checks the keys of dormancy and new-address detection.
func (cfg *Config) validateUsage() []error {
	var errs []error
	if d := cfg.Users.DormantAfter; d != 0 && (d < minUsageWindow || d > maxInitialLookback) {
		errs = append(errs, errDormantAfter)
	}
	if d := cfg.Logins.NewAddressMemory; d != 0 && (d < minUsageWindow || d > maxInitialLookback) {
		errs = append(errs, errNewAddressMemory)
	}
	if p := cfg.Logins.NewAddressIPv4Prefix; p < 8 || p > 32 {
		errs = append(errs, errIPv4Prefix)
	}
	if p := cfg.Logins.NewAddressIPv6Prefix; p < 16 || p > 128 {
		errs = append(errs, errIPv6Prefix)
	}
	return errs
}

// isLoopback reports whether host (without port or brackets) is localhost or
// a loopback address, where plain http does not leave the machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateAccounts(ids []string) []error {
	var errs []error
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !accountIDPattern.MatchString(id) {
			errs = append(errs, fmt.Errorf("%w: got %q", errMalformedAccountID, id))
			continue
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("%w: %q", errDuplicateAccountID, id))
		}
		seen[id] = true
	}
	return errs
}
