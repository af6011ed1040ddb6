package cloudflare // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/audit_logs"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/packages/pagination"
)

// defaultMaxPages bounds the requests of one list call: 500,000 members, or
// 10 million audit entries at 1,000 a page. Only an API that pages for ever
// reaches it; the call then fails instead of spending the shared budget.
const defaultMaxPages = 10_000

// listAllPages reads a page-numbered list to its end: total_pages when the
// response gives it, else the first short page. A page that repeats the
// previous one (an API ignoring `page`) or more than maxPages pages fail the
// call, so that a misbehaving list cannot loop for ever. fetch sends the
// request of one page; each goes through c.call for endpoint.
func listAllPages[W, T any](ctx context.Context, c *client, endpoint string, perPage int,
	fetch func(page int) (*pagination.V4PagePaginationArray[W], error),
	convert func(*W) (T, string),
) ([]T, error) {
	var out []T
	var previousIDs []string
	for page := 1; ; page++ {
		if page > c.maxPages {
			return nil, pagingError(endpoint, fmt.Sprintf("more than %d pages; the list does not end", c.maxPages))
		}
		var res *pagination.V4PagePaginationArray[W]
		err := c.call(ctx, endpoint, func() (err error) {
			res, err = fetch(page)
			return err
		})
		if err != nil {
			return nil, err
		}
		if pages, ok := ctx.Value(pageCountKey{}).(*int); ok {
			*pages++
		}
		items, info := res.Result, res.ResultInfo
		ids := make([]string, len(items))
		for i := range items {
			var item T
			item, ids[i] = convert(&items[i])
			out = append(out, item)
		}
		if len(ids) > 0 && slices.Equal(ids, previousIDs) {
			return nil, pagingError(endpoint, fmt.Sprintf("page %d repeats page %d; the API does not page", page, page-1))
		}
		previousIDs = ids
		if lastPage(info, page, len(items), perPage) {
			return out, nil
		}
	}
}

// pageCountKey carries the counter of WithPageCount.
type pageCountKey struct{}

// WithPageCount returns a context under which a page-numbered listing
// (ListMembers, ListAccessUsers, ListAccounts) adds each page it read to
// *pages: a list read in one request is one consistent answer.
func WithPageCount(ctx context.Context, pages *int) context.Context {
	return context.WithValue(ctx, pageCountKey{}, pages)
}

// lastPage prefers total_pages when the response has it, else a short page.
func lastPage(info pagination.V4PagePaginationArrayResultInfo, page, got, perPage int) bool {
	if field, ok := info.JSON.ExtraFields["total_pages"]; ok {
		if total, err := strconv.Atoi(field.Raw()); err == nil {
			return page >= total || got == 0
		}
	}
	return got < perPage
}

// ListMovedError is the bad response of an account's list that changed
// while it was read, each of reads times: no read of it can be trusted, so
// nothing of it is emitted and the next poll reads it again.
func ListMovedError(endpoint, accountID string, reads int) error {
	return pagingError(endpoint, fmt.Sprintf("account %s: the list changed while it was read, %d reads in a row; "+
		"nothing of it is emitted, the next poll reads it again", accountID, reads))
}

// pagingError is the bad response of a list that cannot be read to its end.
func pagingError(endpoint, message string) *APIError {
	return &APIError{Kind: KindBadResponse, Endpoint: endpoint, Message: "paging stopped: " + message}
}

// loginPageRequest is where the next audit log request starts.
type loginPageRequest struct {
	since time.Time
	page  int
}

// loginPaging moves through [since, before) by time rather than by page
// number: each request starts at the newest time of the page before it
// (inclusive, page 1), and entries already handed out at that instant are
// skipped. Entries that expire out of retention, or ties that the API orders
// differently from one request to the next, then cannot shift an entry past
// a page boundary unseen, as they can with page numbers in a fixed window.
// Only a full page whose entries all share one time falls back to page
// numbers within that instant, so that the poll still ends. It pages every
// time-ordered login log: audit entries and Access requests alike.
type loginPaging[E any] struct {
	next     loginPageRequest
	pageSize int
	// stamp returns an entry's id and time.
	stamp func(*E) (string, time.Time)
	// atNext holds the ids already handed out whose time equals next.since.
	atNext      map[string]bool
	previousIDs []string
	previousAll bool // every entry of the previous page had its time == next.since
}

func newLoginPaging[E any](since time.Time, pageSize int, stamp func(*E) (string, time.Time)) *loginPaging[E] {
	return &loginPaging[E]{next: loginPageRequest{since: since, page: 1}, pageSize: pageSize, stamp: stamp, atNext: map[string]bool{}}
}

// AuditStamp is the id and time of an audit entry.
func AuditStamp(e *AuditEntry) (string, time.Time) { return e.ID, e.When }

// advance takes the response to the request p.next, its entries and the
// number of entries it says [since, before) holds (-1 when it does not say),
// and returns the entries not handed out before, whether the listing is
// complete, or an error when the API makes no progress or contradicts itself.
func (p *loginPaging[E]) advance(entries []E, total int) (fresh []E, done bool, err error) {
	ids := make([]string, len(entries))
	times := make([]time.Time, len(entries))
	for i := range entries {
		ids[i], times[i] = p.stamp(&entries[i])
	}
	if len(ids) > 0 && slices.Equal(ids, p.previousIDs) && !(p.next.page == 1 && p.previousAll) {
		return nil, false, fmt.Errorf("the page starting at %s, page %d, repeats the previous one; the API does not page",
			p.next.since.UTC().Format(time.RFC3339Nano), p.next.page)
	}
	p.previousIDs = ids

	fresh = make([]E, 0, len(entries))
	for i := range entries {
		if !p.atNext[ids[i]] {
			fresh = append(fresh, entries[i])
		}
	}
	if len(entries) < p.pageSize {
		// A short page ends the listing, unless the same response counts
		// more entries in the range: then it hid some (an early empty page),
		// and ending here would mark the range read.
		if shown := (p.next.page-1)*p.pageSize + len(entries); total > shown {
			return nil, false, fmt.Errorf("the page starting at %s, page %d, ends the range after %d entries, but its result_info.total_count is %d",
				p.next.since.UTC().Format(time.RFC3339Nano), p.next.page, shown, total)
		}
		return fresh, true, nil
	}

	newest := times[len(times)-1]
	if newest.After(p.next.since) {
		p.next = loginPageRequest{since: newest, page: 1}
		clear(p.atNext)
	} else {
		// A full page of one instant: read that instant's next page.
		p.next.page++
	}
	p.previousAll = true
	for i := range entries {
		if times[i].Equal(p.next.since) {
			p.atNext[ids[i]] = true
		} else {
			p.previousAll = false
		}
	}
	return fresh, false, nil
}

// ListLogins pages through [since, before) as loginPaging describes. since
// and before are sent with nanoseconds: the SDK's typed fields would truncate
// them to a date.
func (c *client) ListLogins(ctx context.Context, q RangeQuery, fn func(page []AuditEntry) error) error {
	var params audit_logs.AuditLogListParams
	params.AccountID.Value, params.AccountID.Present = q.AccountID, true
	return c.listV1Logins(ctx, EndpointAuditLogs, q, func(ctx context.Context, opts ...option.RequestOption) error {
		_, err := c.auditLogs.List(ctx, params, opts...)
		return err
	}, fn)
}

// listV1Logins lists the logins of a v1 audit log (an account's, or the
// token owner's) by time; list sends one request with the given options.
// Each page is decoded here (DecodeAuditPage), once, rather than by the
// SDK's reflective decoder and then again for the log body.
func (c *client) listV1Logins(ctx context.Context, endpoint string, q RangeQuery,
	list func(ctx context.Context, opts ...option.RequestOption) error, fn func(page []AuditEntry) error,
) error {
	fetch := func(ctx context.Context, at loginPageRequest) (entries []AuditEntry, total int, err error) {
		err = c.call(ctx, endpoint, func() error {
			var body []byte
			err := list(ctx, append(timePageOptions(at, "before", q.Before, "per_page", q.PageSize),
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
	return listByTime(ctx, c, endpoint, q, newLoginPaging(q.Since, q.PageSize, AuditStamp), fetch, fn)
}

// timePageOptions are the query of the request at of a time-ordered login
// log: oldest first, from at.since (with nanoseconds) to end, sent as endKey,
// size entries a page, sent as sizeKey.
func timePageOptions(at loginPageRequest, endKey string, end time.Time, sizeKey string, size int) []option.RequestOption {
	return []option.RequestOption{
		option.WithQuery("direction", "asc"),
		option.WithQuery("since", at.since.UTC().Format(time.RFC3339Nano)),
		option.WithQuery(endKey, end.UTC().Format(time.RFC3339Nano)),
		option.WithQuery(sizeKey, strconv.Itoa(size)),
		option.WithQuery("page", strconv.Itoa(at.page)),
	}
}

// auditTotalCount reads result_info.total_count of an audit log page: the
// number of entries in the whole range [since, before), or -1 when the
// response does not give it as a number.
func auditTotalCount(body []byte) int {
	var page struct {
		ResultInfo struct {
			TotalCount *int `json:"total_count"`
		} `json:"result_info"`
	}
	if json.Unmarshal(body, &page) != nil || page.ResultInfo.TotalCount == nil {
		return -1
	}
	return *page.ResultInfo.TotalCount
}

// listByTime hands fn the pages of one account's login log that paging
// steps through, fetched by fetch. While fn handles a full page, the next
// one is already being fetched and decoded: a backfill then takes as long as
// the rate limit forces, not that plus the time to map every page.
func listByTime[E any](ctx context.Context, c *client, endpoint string, q RangeQuery, paging *loginPaging[E],
	fetch func(ctx context.Context, at loginPageRequest) (entries []E, total int, err error), fn func(page []E) error,
) error {
	type fetched struct {
		entries []E
		total   int
		err     error
	}
	prefetchCtx, cancelPrefetch := context.WithCancel(ctx)
	defer cancelPrefetch()
	entries, total, err := fetch(ctx, paging.next)
	for pages := 1; ; pages++ {
		if err != nil {
			return err
		}
		fresh, done, err := paging.advance(entries, total)
		if err != nil {
			return pagingError(endpoint, "account "+q.AccountID+": "+err.Error())
		}
		if !done && pages >= c.maxPages {
			return pagingError(endpoint, fmt.Sprintf("account %s: more than %d pages in one poll; the next poll resumes from the checkpoint", q.AccountID, c.maxPages))
		}
		turnOver := !done && pages == q.MaxPages
		var prefetch chan fetched
		if !done && !turnOver {
			prefetch = make(chan fetched, 1)
			go func(at loginPageRequest) {
				entries, total, err := fetch(prefetchCtx, at)
				prefetch <- fetched{entries, total, err}
			}(paging.next)
		}
		if err := fn(fresh); err != nil {
			if prefetch != nil {
				cancelPrefetch()
				<-prefetch
			}
			return err
		}
		if done {
			return nil
		}
		if turnOver {
			return ErrMorePages
		}
		next := <-prefetch
		entries, total, err = next.entries, next.total, next.err
	}
}
