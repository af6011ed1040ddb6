package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/user"
)

// UserLoginLister lists the token owner's own logins (GET /user/audit_logs),
// which only a user-owned token may read. The receiver reads account audit
// logs only; the preflight check compares the two, to tell whether an
// account's log shows the logins of its other members. Every Client that New
// makes implements it.
type UserLoginLister interface {
	// ListUserLogins is ListLogins of the token owner's audit log, paged the
	// same way; q.AccountID is not sent.
	ListUserLogins(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error
}

func (c *client) ListUserLogins(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error {
	// The same options as every service New builds: base URL, token, HTTP
	// client and middleware.
	userLogs := user.NewAuditLogService(c.userTokens.Options...)
	return c.listV1Logins(ctx, EndpointUserAuditLogs, q, func(ctx context.Context, opts ...option.RequestOption) error {
		_, err := userLogs.List(ctx, user.AuditLogListParams{}, opts...)
		return err
	}, fn)
}
