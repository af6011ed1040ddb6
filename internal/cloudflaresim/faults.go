package cloudflaresim

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way a request can go wrong.
type FaultKind int

const (
	// FaultRateLimited answers 429 code 971 with Retry-After (Fault.RetryAfter,
	// default 1s) without starting the rate-limit lockout.
	FaultRateLimited FaultKind = iota
	// FaultServerError answers 500 with an error envelope (code 10002).
	FaultServerError
	// FaultBadGateway answers 502 with an HTML page, as Cloudflare's edge does.
	FaultBadGateway
	// FaultSlow waits Fault.Delay, or until the client gives up, then answers
	// normally.
	FaultSlow
	// FaultHTMLBody answers 200 with an HTML page instead of JSON.
	FaultHTMLBody
	// FaultTruncatedBody answers 200 with the first half of the normal JSON.
	FaultTruncatedBody
	// FaultInvalidToken answers 401 code 1000.
	FaultInvalidToken
	// FaultForbidden answers 403 code 9109.
	FaultForbidden
	// FaultConnectionReset closes the connection without any response.
	FaultConnectionReset
	// FaultOversizedBody answers with the normal JSON padded to Fault.Size
	// bytes (default 64 MiB); it stays valid JSON.
	FaultOversizedBody
	// FaultDuplicateEntry (audit logs) starts the page with the entry before
	// it again: the previous page's last, or on a v1 page 1 the newest entry
	// older than since (v2: from its second page on).
	FaultDuplicateEntry
	// FaultEmptyPage (audit logs, Access requests) answers an empty page
	// although entries remain. The rest of the response is what the range
	// holds, as Cloudflare would send it: v1's result_info.total_count
	// counts the range's entries, v2 gives the cursor of the next page when
	// one follows; the Access log's bare array tells nothing more.
	FaultEmptyPage
	// FaultIgnorePaging (audit logs, Access requests) answers every request with the first
	// page of the account's whole log, whatever its since and page (v2: its
	// cursor) say: a list that never ends; on v2, the same cursor every time.
	FaultIgnorePaging
	// FaultMissingWhen (audit logs) serves the entry Fault.EntryID, or when
	// that is empty the first entry of each page, without its "when" (v2:
	// the first entry of each page, without action.time).
	FaultMissingWhen
	// FaultMissingID (audit logs) serves every entry without its "id".
	FaultMissingID
)

// Fault describes an injected failure.
type Fault struct {
	Kind      FaultKind
	Endpoint  Endpoint // "" matches every endpoint
	AccountID string   // "" matches every account
	// Count is the number of matching requests the fault applies to: 0 means
	// 1, -1 means until ClearFaults.
	Count int

	RetryAfter time.Duration // FaultRateLimited
	Delay      time.Duration // FaultSlow
	Size       int           // FaultOversizedBody
	EntryID    string        // FaultMissingWhen
}

const defaultOversize = 64 << 20

// InjectFault queues a fault. When several match a request, the earliest
// queued one applies.
func (s *Server) InjectFault(f Fault) { s.faults.add(f) }

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() { s.faults.clear() }

type faultQueue struct {
	mu     sync.Mutex
	queued []*queuedFault
}

type queuedFault struct {
	Fault
	remaining int // -1 = unlimited
}

func (q *faultQueue) add(f Fault) {
	remaining := f.Count
	if remaining == 0 {
		remaining = 1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = append(q.queued, &queuedFault{Fault: f, remaining: remaining})
}

func (q *faultQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = nil
}

// take consumes one use of the first fault matching the request, if any.
func (q *faultQueue) take(rt route, page int) *Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.queued {
		if !f.matches(rt, page) {
			continue
		}
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				q.queued = append(q.queued[:i], q.queued[i+1:]...)
			}
		}
		taken := f.Fault
		return &taken
	}
	return nil
}

func (f *queuedFault) matches(rt route, page int) bool {
	if (f.Endpoint != "" && f.Endpoint != rt.endpoint) || (f.AccountID != "" && f.AccountID != rt.accountID) {
		return false
	}
	switch f.Kind {
	case FaultDuplicateEntry: // v2 needs a previous page to repeat from
		return rt.endpoint == EndpointAuditLogs || (rt.endpoint == EndpointAuditLogsV2 && page > 1)
	case FaultEmptyPage, FaultIgnorePaging:
		return isAuditLog(rt.endpoint) || rt.endpoint == EndpointAccessRequests
	case FaultMissingWhen, FaultMissingID:
		return isAuditLog(rt.endpoint)
	}
	return true
}

// isAuditLog reports whether an endpoint lists audit entries (v1 or v2).
func isAuditLog(e Endpoint) bool { return e == EndpointAuditLogs || e == EndpointAuditLogsV2 }

// preempt handles the faults that replace the normal answer. It reports
// whether the request is done.
func (s *Server) preempt(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(cmp.Or(f.RetryAfter, time.Second))))
		s.send(w, errRateLimited)
	case FaultServerError:
		s.send(w, errInternal)
	case FaultBadGateway:
		s.send(w, reply{status: http.StatusBadGateway, contentType: htmlType, body: []byte(badGatewayPage)})
	case FaultHTMLBody:
		s.send(w, reply{status: http.StatusOK, contentType: htmlType, body: []byte(challengePage)})
	case FaultInvalidToken:
		s.send(w, errInvalidToken)
	case FaultForbidden:
		s.send(w, errNoAccess)
	case FaultConnectionReset:
		resetConnection(w)
	case FaultSlow:
		if !s.sleep(r.Context(), f.Delay) {
			panic(http.ErrAbortHandler) // nobody waits for the answer any more
		}
		return false
	default:
		return false
	}
	return true
}

// deliver writes the normal answer, cut or padded when a fault says so.
func (s *Server) deliver(w http.ResponseWriter, rep reply, f *Fault) {
	switch {
	case f != nil && f.Kind == FaultTruncatedBody:
		rep.body = rep.body[:len(rep.body)/2]
	case f != nil && f.Kind == FaultOversizedBody:
		s.sendPadded(w, rep, cmp.Or(f.Size, defaultOversize))
		return
	}
	s.send(w, rep)
}

// sendPadded writes rep with a leading "padding" member that brings the body
// to size bytes, streaming the padding rather than holding it in memory.
func (s *Server) sendPadded(w http.ResponseWriter, rep reply, size int) {
	const head, tail = `{"padding":"`, `",`
	pad := size - len(head) - len(tail) - (len(rep.body) - 1)
	if pad < 0 || len(rep.body) < 2 || rep.body[0] != '{' {
		s.send(w, rep)
		return
	}
	s.stats.answered(rep.status)
	w.Header().Set("Content-Type", rep.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(rep.status)
	chunk := []byte(strings.Repeat("x", 32<<10))
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	for pad > 0 {
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return // the client stopped reading, as a size-capped one should
		}
		pad -= n
	}
	_, _ = w.Write(append([]byte(tail), rep.body[1:]...))
}

// resetConnection drops the connection abruptly, with a TCP reset where
// possible, so the client sees no response at all.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2): abort the stream instead
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits d unless the request or the server ends first; it reports
// whether the full delay passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.life.done:
		return false
	}
}

const htmlType = "text/html; charset=UTF-8"

const badGatewayPage = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
`

const challengePage = `<!DOCTYPE html>
<html lang="en-US">
<head><title>Just a moment...</title></head>
<body><noscript>Enable JavaScript and cookies to continue</noscript></body>
</html>
`
