package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/json"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

// streamUsers names the stream in its config key, logs, status and metrics.
const streamUsers = "users"

// usersStream lists every account's members, diffs them against the last
// accepted list and emits the inventory and the changes, with what the
// logins taught about each member (dormancy.go); logins learn the members
// from it (memberDirectory).
var usersStream = streamDescriptor{
	name:    streamUsers,
	enabled: func(cfg *Config) bool { return cfg.Users.Enabled },
	intervals: func(cfg *Config) []streamInterval {
		return []streamInterval{{"poll_interval", cfg.Users.PollInterval}}
	},
	requestsPerMinute: func(cfg *Config, memberPages float64) float64 {
		return perMinute(memberPages, cfg.Users.PollInterval)
	},
	endpoints: []string{cloudflare.EndpointMembers},
	validate:  func(cfg *Config) []error { return cfg.Users.validate() },
	open:      openUsersStream,
}

// memberKind describes account members for inventories and diffs.
var memberKind = listKind[cloudflare.Member]{
	events: inventoryEvents{
		inventory: eventMember, added: eventMemberAdded, removed: eventMemberRemoved, changed: eventMemberChanged,
	},
	endpoint:      cloudflare.EndpointMembers,
	id:            func(m *cloudflare.Member) string { return m.ID },
	body:          func(m *cloudflare.Member) *json.RawMessage { return &m.Raw },
	changedFields: changedFields,
	appendRecord:  appendMemberRecord,
}

// memberSnapshot is the last member list of one account the pipeline accepted.
type memberSnapshot = listSnapshot[cloudflare.Member]

func openUsersStream(env *streamEnv, cfg *Config) pollFunc {
	members := &inventory[cloudflare.Member]{env: env, stream: streamUsers, kind: memberKind,
		snapshotInterval: cfg.Users.SnapshotInterval,
		snapshots: newCheckpoints[memberSnapshot](env.store, env.logger, memberSnapshotKey,
			"Discarding an unreadable member checkpoint; the next poll emits an inventory"),
		usage:  memberUsage{histories: env.histories, dormantAfter: cfg.Users.DormantAfter},
		list:   env.client.ListMembers,
		listed: env.members.update}
	return members.poll
}
