package cloudflaresim

import (
	"crypto/md5"
	"encoding/hex"
)

// grant is one permission of a role as the members endpoint reports it.
type grant struct {
	Read  bool `json:"read"`
	Write bool `json:"write"`
}

// catalogRole is a built-in account role with its permissions.
type catalogRole struct {
	Role
	permissions map[string]grant
}

var (
	readWrite = grant{Read: true, Write: true}
	readOnly  = grant{Read: true}

	// roleCatalog holds Cloudflare's common account roles. The generator
	// relies on the three administrator roles coming first.
	roleCatalog = []catalogRole{
		newRole("Administrator", "Can access the full account, except for membership management and billing.",
			everything(readWrite)),
		newRole("Super Administrator - All Privileges", "Can edit any Cloudflare setting, make purchases, update billing, and manage memberships.",
			everything(readWrite)),
		newRole("Administrator Read Only", "Can access the full account in read-only mode.",
			everything(readOnly)),
		newRole("Billing", "Can edit the account's billing profile and subscriptions.",
			map[string]grant{"billing": readWrite}),
		newRole("DNS", "Can view and edit DNS records.",
			map[string]grant{"dns": readWrite, "dns_records": readWrite, "zones": readOnly}),
		newRole("Audit Logs Viewer", "Can view Audit Logs.",
			map[string]grant{"logs": readOnly}),
		newRole("Analytics", "Can read Analytics.",
			map[string]grant{"analytics": readOnly, "zones": readOnly}),
		newRole("Firewall", "Can edit WAF, IP Firewall, and Zone Lockdown settings.",
			map[string]grant{"waf": readWrite, "zones": readOnly}),
	}

	// permissionsByRoleID finds a catalog role's permissions; roles from
	// elsewhere are reported without any.
	permissionsByRoleID = func() map[string]map[string]grant {
		m := make(map[string]map[string]grant, len(roleCatalog))
		for _, r := range roleCatalog {
			m[r.ID] = r.permissions
		}
		return m
	}()
)

// newRole derives the role's ID from its name, so IDs are stable across runs
// and look like Cloudflare's 32-hex identifiers.
func newRole(name, description string, permissions map[string]grant) catalogRole {
	sum := md5.Sum([]byte(name))
	return catalogRole{
		Role:        Role{ID: hex.EncodeToString(sum[:]), Name: name, Description: description},
		permissions: permissions,
	}
}

func everything(g grant) map[string]grant {
	m := make(map[string]grant)
	for _, area := range []string{
		"analytics", "billing", "cache_purge", "dns", "dns_records", "lb", "logs",
		"organization", "ssl", "waf", "zone_settings", "zones",
	} {
		m[area] = g
	}
	return m
}
