package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// streamAccessLogins names the stream in its config key, logs, status and metrics.
const streamAccessLogins = "access_logins"

// accessLoginsStream reads every account's Zero Trust Access authentication
// log (end users signing in to Access applications) with the window engine
// (window.go), as the logins stream reads the audit log.
var accessLoginsStream = streamDescriptor{
	name:    streamAccessLogins,
	enabled: func(cfg *Config) bool { return cfg.AccessLogins.Enabled },
	intervals: func(cfg *Config) []streamInterval {
		return []streamInterval{{"poll_interval", cfg.AccessLogins.PollInterval}}
	},
	requestsPerMinute: func(cfg *Config, _ float64) float64 { return cfg.AccessLogins.requestsPerMinute() },
	permission:        "Access: Audit Logs Read",
	endpoints:         []string{cloudflare.EndpointAccessRequests},
	validate:          func(cfg *Config) []error { return cfg.AccessLogins.validate(accessLoginsKeyErrors) },
	open:              openAccessLoginsStream,
}

func openAccessLoginsStream(env *streamEnv, cfg *Config) pollFunc {
	cursors := newCheckpoints[windowCursor](env.store, env.logger, accessLoginCursorKey,
		"Discarding an unreadable Access login checkpoint; this account is read again from access_logins.initial_lookback")
	window := &windowLog[cloudflare.AccessRequest]{env: env, stream: streamAccessLogins, cursors: cursors,
		settings:      cfg.AccessLogins,
		list:          env.client.ListAccessRequests,
		keep:          func(*cloudflare.AccessRequest) bool { return true },
		stamp:         cloudflare.AccessRequestStamp,
		appendRecords: appendAccessLoginRecords,
	}
	return func(ctx context.Context, account cloudflare.Account) error {
		cursor, err := cursors.load(ctx, account.ID)
		if err != nil {
			return err
		}
		return window.poll(ctx, account, cursor, env.now())
	}
}

func appendAccessLoginRecords(records plog.LogRecordSlice, _ cloudflare.Account, fresh []cloudflare.AccessRequest, observed time.Time) {
	for i := range fresh {
		appendAccessLoginRecord(records, &fresh[i], observed)
	}
}
