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
	ListUserLogins(ctx context.Context, q LoginQuery, fn func(page []AuditEntry) error) error
}

func (c *client) ListUserLogins(ctx context.Context, q LoginQuery, fn func(page []AuditEntry) error) error {
	// The same options as every service New builds: base URL, token, HTTP
	// client and middleware.
	userLogs := user.NewAuditLogService(c.userTokens.Options...)
	fetch := func(ctx context.Context, at loginPageRequest) (entries []AuditEntry, total int, err error) {
		err = c.call(ctx, EndpointUserAuditLogs, func() error {
			var body []byte
			_, err := userLogs.List(ctx, user.AuditLogListParams{}, append(timePageOptions(at, "before", q.Before, "per_page", q.PageSize),
				option.WithQuery("action.type", "login"),
				option.WithResponseBodyInto(&body),
			)...)
			if err != nil {
				return err
			}
			if entries, err = DecodeAuditPage(body); err != nil {
				return err
			}
			total = -1
			if len(entries) < q.PageSize { // only a short page needs the count
				total = auditTotalCount(body)
			}
			return nil
		})
		return entries, total, err
	}
	return listByTime(ctx, c, EndpointUserAuditLogs, q, newLoginPaging(q.Since, q.PageSize, AuditStamp), fetch, fn)
}
