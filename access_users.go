package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/json"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// streamAccessUsers names the stream in its config key, logs, status and metrics.
const streamAccessUsers = "access_users"

// accessUsersStream lists every account's Zero Trust Access users and diffs
// them like the users stream diffs members; every inventory ends with the
// account's seat summary. An Access user list counts one page in the plan:
// its size is not known ahead.
var accessUsersStream = streamDescriptor{
	name:    streamAccessUsers,
	enabled: func(cfg *Config) bool { return cfg.AccessUsers.Enabled },
	intervals: func(cfg *Config) []streamInterval {
		return []streamInterval{{"poll_interval", cfg.AccessUsers.PollInterval}}
	},
	requestsPerMinute: func(cfg *Config, _ float64) float64 { return perMinute(1, cfg.AccessUsers.PollInterval) },
	permission:        "Access: Users Read",
	endpoints:         []string{cloudflare.EndpointAccessUsers},
	validate: func(cfg *Config) []error {
		return cfg.AccessUsers.validate(accessUsersKeyErrors, minAccessUsersPollInterval)
	},
	open: openAccessUsersStream,
}

// accessUserKind describes Zero Trust Access users for inventories and diffs.
var accessUserKind = listKind[cloudflare.AccessUser]{
	events: inventoryEvents{
		inventory: eventAccessUser, added: eventAccessUserAdded, removed: eventAccessUserRemoved, changed: eventAccessUserChanged,
	},
	endpoint:      cloudflare.EndpointAccessUsers,
	id:            func(u *cloudflare.AccessUser) string { return u.ID },
	body:          func(u *cloudflare.AccessUser) *json.RawMessage { return &u.Raw },
	changedFields: accessUserChangedFields,
	appendRecord:  appendAccessUserRecord,
	appendSummary: appendSeatSummaryRecord,
}

func openAccessUsersStream(env *streamEnv, cfg *Config) pollFunc {
	users := &inventory[cloudflare.AccessUser]{env: env, stream: streamAccessUsers, kind: accessUserKind,
		snapshotInterval: cfg.AccessUsers.SnapshotInterval,
		snapshots: newCheckpoints[listSnapshot[cloudflare.AccessUser]](env.store, env.logger, accessUserSnapshotKey,
			"Discarding an unreadable Access user checkpoint; the next poll emits an inventory"),
		list: env.client.ListAccessUsers}
	return users.poll
}
