package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

const (
	minUsersPollInterval  = time.Minute
	minWindowPollInterval = 10 * time.Second
	// minAccessUsersPollInterval keeps the Access user listing, which pages
	// through every user of an organization, from eating the shared budget.
	minAccessUsersPollInterval = 5 * time.Minute
	// maxInitialLookback is the audit log retention of the Cloudflare API (18 months).
	maxInitialLookback  = 13140 * time.Hour
	maxPageSize         = 1000
	minRateLimitWindow  = time.Second
	maxRateLimitReserve = 0.9
	// minUsageWindow is the shortest users.dormant_after and logins.new_address_memory other than 0.
	minUsageWindow = time.Hour

	// The login sources, values of logins.source.
	loginSourceV1 = "audit_logs"
	loginSourceV2 = "audit_logs_v2"
)

var (
	errMissingToken    = errors.New("api_token: must be set (a Cloudflare API token)")
	errTokenWhitespace = errors.New("api_token: holds whitespace or a control character, which no Cloudflare token does; a trailing newline usually comes from the file the token was read from " +
		"(a Kubernetes Secret made with --from-file, a file written by echo): write it without one, e.g. printf '%s' \"$TOKEN\" > file, or kubectl create secret generic ... --from-literal")
	errLoginSource       = fmt.Errorf("logins.source: must be %s (Audit Logs v1) or %s (Audit Logs v2)", loginSourceV1, loginSourceV2)
	errDormantAfter      = fmt.Errorf("users.dormant_after: must be 0 (off) or between %s and %s; in hours, Go durations have no d unit: 90 days is 2160h", minUsageWindow, maxInitialLookback)
	errNewAddressMemory  = fmt.Errorf("logins.new_address_memory: must be 0 (off) or between %s and %s; in hours, Go durations have no d unit: 30 days is 720h", minUsageWindow, maxInitialLookback)
	errIPv4Prefix        = errors.New("logins.new_address_ipv4_prefix: must be between 8 and 32 (bits of an IPv4 address that name its network)")
	errIPv6Prefix        = errors.New("logins.new_address_ipv6_prefix: must be between 16 and 128 (bits of an IPv6 address that name its network)")
	errRequestsPerWindow = errors.New("rate_limit.requests_per_window: must be at least 1")
	errRateLimitWindow   = fmt.Errorf("rate_limit.window: must be at least %s", minRateLimitWindow)
	errRateLimitReserve  = fmt.Errorf("rate_limit.reserve: must be between 0 and %g (a share of Cloudflare's quota, e.g. 0.2 for 20%%)", maxRateLimitReserve)
	errNothingEnabled    = fmt.Errorf("%s: at least one stream must be enabled", enabledKeys())

	usersKeyErrors        = newInventoryKeyErrors("users", minUsersPollInterval)
	accessUsersKeyErrors  = newInventoryKeyErrors("access_users", minAccessUsersPollInterval)
	loginsKeyErrors       = newWindowKeyErrors("logins", " (18 months, the audit log retention)")
	accessLoginsKeyErrors = newWindowKeyErrors("access_logins", "")

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
	// LeaderElectorID names a k8s_leader_elector extension: polling runs only while this replica holds the lease; nil always polls.
	LeaderElectorID *component.ID `mapstructure:"k8s_leader_elector"`

	// Users configures the account member stream.
	Users UsersConfig `mapstructure:"users"`
	// Logins configures the login audit event stream.
	Logins LoginsConfig `mapstructure:"logins"`
	// AccessLogins configures the Zero Trust Access login stream (end users signing in to Access applications); it needs the token permission Access: Audit Logs Read.
	AccessLogins WindowConfig `mapstructure:"access_logins"`
	// AccessUsers configures the Zero Trust Access user stream; it needs the token permission Access: Users Read.
	AccessUsers InventoryConfig `mapstructure:"access_users"`
	// RateLimit caps this receiver's request rate, shared by all accounts and streams.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
	// Format is the records' Body: otel (the Cloudflare record) or ocsf (an OCSF event, ocsf.go).
	Format string `mapstructure:"format"`

	_ struct{}
}

// UsersConfig configures the account member stream.
type UsersConfig struct {
	// InventoryConfig holds how the member lists are read.
	InventoryConfig `mapstructure:",squash"`
	// DormantAfter is how long an accepted member may go without a login before a dormant record; 0 turns dormancy off.
	DormantAfter time.Duration `mapstructure:"dormant_after"`

	_ struct{}
}

// InventoryConfig configures a stream that lists items of every account and
// diffs them: users, access_users.
type InventoryConfig struct {
	// Enabled turns the stream on.
	Enabled bool `mapstructure:"enabled"`
	// PollInterval is how often the lists are read and diffed.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// SnapshotInterval is how often the full inventory is re-emitted; 0 emits it on the first poll only.
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`

	_ struct{}
}

// LoginsConfig configures the login audit event stream.
type LoginsConfig struct {
	// WindowConfig holds how the audit log is read.
	WindowConfig `mapstructure:",squash"`
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

// WindowConfig configures a stream that reads a time-ordered log of every
// account by time windows: logins, access_logins.
type WindowConfig struct {
	// Enabled turns the stream on.
	Enabled bool `mapstructure:"enabled"`
	// PollInterval is how often the log is read.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialLookback is how far back the first poll of an account reads (the API serves only what it retains).
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// LateArrivalWindow is how far before the checkpoint a sweep re-reads, because the API shows some events late; 0 turns sweeps off.
	LateArrivalWindow time.Duration `mapstructure:"late_arrival_window"`
	// LateArrivalSweep is how often the late-arrival window is re-read.
	LateArrivalSweep time.Duration `mapstructure:"late_arrival_sweep"`
	// PageSize is the number of entries requested per page.
	PageSize int `mapstructure:"page_size"`

	_ struct{}
}

// RateLimitConfig is the client-side request budget.
type RateLimitConfig struct {
	// RequestsPerWindow is the most requests sent within any Window.
	RequestsPerWindow int `mapstructure:"requests_per_window"`
	// Window is the length of the sliding window.
	Window time.Duration `mapstructure:"window"`
	// Reserve is the share of Cloudflare's quota (from its rate-limit headers) left to the token owner's other use.
	Reserve float64 `mapstructure:"reserve"`

	_ struct{}
}

// Unmarshal reads the configuration, then gives a late_arrival_sweep left
// unset a default that fits its window: at most late_arrival_window, so that
// lowering the window alone is a valid configuration.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	if !conf.IsSet("logins::late_arrival_sweep") {
		cfg.Logins.sweepWithinWindow()
	}
	if !conf.IsSet("access_logins::late_arrival_sweep") {
		cfg.AccessLogins.sweepWithinWindow()
	}
	return nil
}

// sweepWithinWindow lowers the sweep interval to a shorter late-arrival window.
func (cfg *WindowConfig) sweepWithinWindow() {
	if cfg.LateArrivalWindow > 0 {
		cfg.LateArrivalSweep = min(cfg.LateArrivalSweep, cfg.LateArrivalWindow)
	}
}

// Validate reports every problem in the configuration, each naming its key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.APIToken == "" {
		errs = append(errs, errMissingToken)
	} else if at := strings.IndexFunc(string(cfg.APIToken), isTokenSpaceOrControl); at >= 0 {
		// Where, not what: the token itself is never put in an error.
		errs = append(errs, fmt.Errorf("%w (at byte %d of %d)", errTokenWhitespace, at+1, len(cfg.APIToken)))
	}
	if err := cloudflare.CheckEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint: %w", err))
	}
	errs = append(errs, validateAccounts(cfg.Accounts)...)
	enabled := false
	for _, s := range allStreams {
		enabled = enabled || s.enabled(cfg)
		errs = append(errs, s.validate(cfg)...)
	}
	if !enabled {
		errs = append(errs, errNothingEnabled)
	}
	errs = append(errs, validateFormat(cfg.Format)...)
	if cfg.RateLimit.RequestsPerWindow < 1 {
		errs = append(errs, errRequestsPerWindow)
	}
	if cfg.RateLimit.Window < minRateLimitWindow {
		errs = append(errs, errRateLimitWindow)
	}
	if !(cfg.RateLimit.Reserve >= 0 && cfg.RateLimit.Reserve <= maxRateLimitReserve) { // NaN fails too
		errs = append(errs, fmt.Errorf("%w: got %g", errRateLimitReserve, cfg.RateLimit.Reserve))
	}
	return errors.Join(errs...)
}

// windowKeyErrors are the errors naming the keys of one stream read by time windows.
type windowKeyErrors struct {
	pollInterval, initialLookback, lateArrivalWindow, lateArrivalSweep, pageSize error
}

// newWindowKeyErrors builds the errors naming the window keys of the stream
// whose keys start with prefix (logins, access_logins); retention follows the
// upper bound in the initial_lookback and late_arrival_window messages.
func newWindowKeyErrors(prefix, retention string) windowKeyErrors {
	return windowKeyErrors{
		pollInterval:      fmt.Errorf("%s.poll_interval: must be at least %s", prefix, minWindowPollInterval),
		initialLookback:   fmt.Errorf("%s.initial_lookback: must be between 0 and %s%s", prefix, maxInitialLookback, retention),
		lateArrivalWindow: fmt.Errorf("%s.late_arrival_window: must be between 0 and %s%s", prefix, maxInitialLookback, retention),
		lateArrivalSweep:  fmt.Errorf("%[1]s.late_arrival_sweep: must be at least %[1]s.poll_interval and at most %[1]s.late_arrival_window (when the window is not 0)", prefix),
		pageSize:          fmt.Errorf("%s.page_size: must be between 1 and %d", prefix, maxPageSize),
	}
}

// validate checks the keys of a stream read by time windows; keys names them.
func (cfg *WindowConfig) validate(keys windowKeyErrors) []error {
	var errs []error
	if cfg.PollInterval < minWindowPollInterval {
		errs = append(errs, keys.pollInterval)
	}
	if cfg.InitialLookback < 0 || cfg.InitialLookback > maxInitialLookback {
		errs = append(errs, keys.initialLookback)
	}
	if cfg.LateArrivalWindow < 0 || cfg.LateArrivalWindow > maxInitialLookback {
		errs = append(errs, keys.lateArrivalWindow)
	}
	if window, sweep := cfg.LateArrivalWindow, cfg.LateArrivalSweep; window > 0 && (sweep < cfg.PollInterval || sweep > window) {
		errs = append(errs, keys.lateArrivalSweep)
	}
	if cfg.PageSize < 1 || cfg.PageSize > maxPageSize {
		errs = append(errs, keys.pageSize)
	}
	return errs
}

// enabledKeys lists the enabled keys of every stream.
func enabledKeys() string {
	keys := make([]string, len(allStreams))
	for i, s := range allStreams {
		keys[i] = s.name + ".enabled"
	}
	return strings.Join(keys, ", ")
}

// inventoryKeyErrors are the errors naming the keys of one inventory stream.
type inventoryKeyErrors struct {
	pollInterval, snapshotInterval error
}

// newInventoryKeyErrors builds the errors naming the keys of the inventory
// stream whose keys start with prefix (users, access_users).
func newInventoryKeyErrors(prefix string, minPollInterval time.Duration) inventoryKeyErrors {
	return inventoryKeyErrors{
		pollInterval: fmt.Errorf("%s.poll_interval: must be at least %s", prefix, minPollInterval),
		snapshotInterval: fmt.Errorf("%[1]s.snapshot_interval: must be 0 (inventory on the first poll only) or at least %[1]s.poll_interval",
			prefix),
	}
}

// validate checks the keys of an inventory stream; keys names them.
func (cfg *InventoryConfig) validate(keys inventoryKeyErrors, minPollInterval time.Duration) []error {
	var errs []error
	if cfg.PollInterval < minPollInterval {
		errs = append(errs, keys.pollInterval)
	}
	if cfg.SnapshotInterval != 0 && cfg.SnapshotInterval < cfg.PollInterval {
		errs = append(errs, keys.snapshotInterval)
	}
	return errs
}

// validate checks the users stream's keys.
func (cfg *UsersConfig) validate() []error {
	errs := cfg.InventoryConfig.validate(usersKeyErrors, minUsersPollInterval)
	if d := cfg.DormantAfter; d != 0 && (d < minUsageWindow || d > maxInitialLookback) {
		errs = append(errs, errDormantAfter)
	}
	return errs
}

// validate checks the logins stream's keys.
func (cfg *LoginsConfig) validate() []error {
	errs := cfg.WindowConfig.validate(loginsKeyErrors)
	if cfg.Source != loginSourceV1 && cfg.Source != loginSourceV2 {
		errs = append(errs, fmt.Errorf("%w: got %q", errLoginSource, cfg.Source))
	}
	if d := cfg.NewAddressMemory; d != 0 && (d < minUsageWindow || d > maxInitialLookback) {
		errs = append(errs, errNewAddressMemory)
	}
	if p := cfg.NewAddressIPv4Prefix; p < 8 || p > 32 {
		errs = append(errs, errIPv4Prefix)
	}
	if p := cfg.NewAddressIPv6Prefix; p < 16 || p > 128 {
		errs = append(errs, errIPv6Prefix)
	}
	return errs
}

// isTokenSpaceOrControl reports a character no Cloudflare API token holds,
// which Go's HTTP client refuses to send in the Authorization header.
func isTokenSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

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
