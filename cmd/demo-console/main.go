// Command demo-console is the console of the demo (make run, scripts/run-demo.sh):
// it follows the records the collector appends to records.jsonl (the file
// exporter's OTLP/JSON, one line per batch) and the collector's own log (JSON
// lines), and prints one line per record (when, what happened, account, user,
// address, outcome) and one line per poll (the receiver's DEBUG "Poll done"),
// with the collector's warnings and errors and the receiver's INFO lines.
//
// A login older than one already printed for its account was found by a
// sweep of the late-arrival window: its line says so.
//
//	demo-console -records _storage/demo/records.jsonl -records-offset N -log _storage/demo/collector.log -of-parent
//
// It reads until SIGINT or SIGTERM (with -of-parent: SIGTERM, or its parent
// exiting), then reads what is left and exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// followInterval is how often the files are checked for new lines.
const followInterval = 200 * time.Millisecond

func main() {
	records := flag.String("records", "_storage/demo/records.jsonl", "the file exporter's output (OTLP/JSON lines) to follow")
	recordsOffset := flag.Int64("records-offset", -1, "where in -records to start (-1: its current end, so earlier runs' records are not shown)")
	logPath := flag.String("log", "", "the collector's log (JSON encoding) to follow; empty: none")
	ofParent := flag.Bool("of-parent", false, "ignore SIGINT (Ctrl-C stops the collector; the parent sends SIGTERM once it "+
		"stopped, so that its last lines show) and stop when the parent process exits")
	flag.Parse()

	start := *recordsOffset
	if start < 0 {
		start = 0
		if st, err := os.Stat(*records); err == nil {
			start = st.Size()
		}
	}
	stopSignals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	parent := os.Getppid()
	if *ofParent {
		signal.Ignore(os.Interrupt)
		stopSignals = stopSignals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()

	c := newConsole(os.Stdout)
	recs := &follower{path: *records, offset: start}
	var logs *follower
	if *logPath != "" {
		logs = &follower{path: *logPath}
	}
	ticker := time.NewTicker(followInterval)
	defer ticker.Stop()
	for {
		done := ctx.Err() != nil || (*ofParent && os.Getppid() != parent)
		if logs != nil {
			logs.read(c.logLine)
		}
		recs.read(c.recordsLine)
		if done {
			return
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
}

// follower reads the complete lines appended to a file since the last read;
// a line still being written waits for its newline.
type follower struct {
	path    string
	offset  int64
	partial []byte
}

func (f *follower) read(line func([]byte)) {
	file, err := os.Open(f.path)
	if err != nil {
		return // not created yet
	}
	defer file.Close()
	if st, err := file.Stat(); err == nil && st.Size() < f.offset {
		f.offset, f.partial = 0, nil // truncated: start over
	}
	if _, err := file.Seek(f.offset, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(file)
	f.offset += int64(len(data))
	if err != nil && len(data) == 0 {
		return
	}
	data = append(f.partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if len(bytes.TrimSpace(data[:i])) > 0 {
			line(data[:i])
		}
		data = data[i+1:]
	}
	f.partial = append([]byte(nil), data...)
}

// console formats records and log lines.
type console struct {
	out io.Writer
	// newest is the time of the newest login printed, per account and event
	// name: an older one came late.
	newest map[string]time.Time
}

func newConsole(out io.Writer) *console {
	c := &console{out: out, newest: map[string]time.Time{}}
	fmt.Fprintf(out, "%-15s  %-20s %-14s %-32s %-24s %s\n", "WHEN", "WHAT", "ACCOUNT", "USER", "ADDRESS", "OUTCOME")
	return c
}

const timeLayout = "Jan 02 15:04:05"

// recordsLine prints one line per log record of an OTLP/JSON line.
func (c *console) recordsLine(line []byte) {
	var u plog.JSONUnmarshaler
	logs, err := u.UnmarshalLogs(line)
	if err != nil {
		fmt.Fprintf(c.out, "demo-console: a line of the records file is not OTLP/JSON logs: %v\n", err)
		return
	}
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		rl := logs.ResourceLogs().At(i)
		account := str(rl.Resource().Attributes(), "cloudflare.account.name")
		if account == "" {
			account = str(rl.Resource().Attributes(), "cloud.account.id")
		}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				fmt.Fprintln(c.out, c.record(account, lrs.At(k)))
			}
		}
	}
}

// record formats one record.
func (c *console) record(account string, lr plog.LogRecord) string {
	attrs := lr.Attributes()
	when := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		when = lr.ObservedTimestamp().AsTime()
	}
	what := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(lr.EventName(), "cloudflare."), "account."), ".", " ")
	what = strings.Replace(what, "user login", "login", 1)
	user := firstOf(str(attrs, "user.email"), str(attrs, "user.name"), str(attrs, "user.id"), "-")
	address := firstOf(str(attrs, "client.address"), "-")

	var outcome []string
	switch lr.EventName() {
	case "cloudflare.user.login":
		result := str(attrs, "cloudflare.audit.action.result")
		if result == "failure" {
			result = "FAILURE"
		}
		outcome = append(outcome, result, str(attrs, "cloudflare.audit.interface"))
		if b, ok := attrs.Get("cloudflare.login.new_address"); ok && b.Bool() {
			outcome = append(outcome, "new address")
		}
	case "cloudflare.access.login":
		if b, ok := attrs.Get("cloudflare.access.allowed"); ok && !b.Bool() {
			outcome = append(outcome, "DENIED")
		} else {
			outcome = append(outcome, "allowed")
		}
		outcome = append(outcome, str(attrs, "cloudflare.access.app.domain"))
	case "cloudflare.access.seats":
		outcome = append(outcome, fmt.Sprintf("%s users, %s Access seats, %s Gateway seats, unused: %s for 30 days, %s for 90 days",
			str(attrs, "cloudflare.access.users"), str(attrs, "cloudflare.access.seats.access"), str(attrs, "cloudflare.access.seats.gateway"),
			str(attrs, "cloudflare.access.seats.unused_30d"), str(attrs, "cloudflare.access.seats.unused_90d")))
	default: // members, Access users, dormancy
		if s := str(attrs, "cloudflare.member.status"); s != "" {
			outcome = append(outcome, s)
		}
		if b, ok := attrs.Get("cloudflare.user.two_factor_authentication_enabled"); ok {
			outcome = append(outcome, "2FA "+onOff(b.Bool()))
		}
		if roles := str(attrs, "user.roles"); roles != "" {
			outcome = append(outcome, "roles: "+roles)
		}
		for _, seat := range []string{"cloudflare.access.seat", "cloudflare.gateway.seat"} {
			if b, ok := attrs.Get(seat); ok && b.Bool() {
				outcome = append(outcome, strings.TrimPrefix(strings.TrimSuffix(seat, ".seat"), "cloudflare.")+" seat")
			}
		}
		for _, key := range []string{"cloudflare.member.last_login", "cloudflare.access.last_login"} {
			if s := str(attrs, key); s != "" {
				outcome = append(outcome, "last login "+localTime(s))
			}
		}
		for _, key := range []string{"cloudflare.member.changed_fields", "cloudflare.access.user.changed_fields"} {
			if s := str(attrs, key); s != "" {
				outcome = append(outcome, "changed: "+s)
			}
		}
	}

	if lr.EventName() == "cloudflare.user.login" || lr.EventName() == "cloudflare.access.login" {
		key := account + "\x00" + lr.EventName()
		if newest := c.newest[key]; when.Before(newest) {
			what += " (late)"
			outcome = append(outcome, fmt.Sprintf("LATE ARRIVAL: shown by the audit log after newer logins, found by a sweep %s after it happened",
				lr.ObservedTimestamp().AsTime().Sub(when).Round(time.Second)))
		} else {
			c.newest[key] = when
		}
	}
	return fmt.Sprintf("%-15s  %-20s %-14s %-32s %-24s %s", when.Local().Format(timeLayout), what, account, user, address,
		strings.Join(nonEmpty(outcome), ", "))
}

// logLine prints the collector's log lines that tell what the receiver does:
// each poll (DEBUG "Poll done" / "Poll failed ..."), the receiver's INFO lines,
// every WARN and ERROR, and whatever is not a JSON log line (a start-up error).
func (c *console) logLine(line []byte) {
	var entry map[string]any
	if err := json.Unmarshal(line, &entry); err != nil {
		fmt.Fprintf(c.out, "collector: %s\n", line)
		return
	}
	level, _ := entry["level"].(string)
	msg, _ := entry["msg"].(string)
	ts, _ := entry["ts"].(string)
	when := localTime(ts)
	receiver := entry["otelcol.component.id"] == "cloudflare_identity"
	switch {
	case receiver && msg == "Poll done":
		fmt.Fprintf(c.out, "%-15s  %-20s done in %s\n", when, fmt.Sprint("poll ", entry["stream"]), seconds(entry["duration"]))
	case receiver && strings.HasPrefix(msg, "Poll failed"):
		fmt.Fprintf(c.out, "%-15s  %-20s FAILED: %v\n", when, fmt.Sprint("poll ", entry["stream"]), entry["error"])
	case level == "warn" || level == "error" || (level == "info" && receiver) ||
		msg == "Everything is ready. Begin running and processing data.":
		fmt.Fprintf(c.out, "%-15s  %-20s %s%s\n", when, "collector "+strings.ToUpper(level), msg, fields(entry))
	}
}

// fields renders a log entry's own fields (not the collector's bookkeeping).
func fields(entry map[string]any) string {
	var keys []string
	for k := range entry {
		switch {
		case k == "level", k == "ts", k == "msg", k == "caller", k == "resource", k == "stacktrace", strings.HasPrefix(k, "otelcol."):
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, entry[k])
	}
	return b.String()
}

func str(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeSlice {
		parts := make([]string, 0, v.Slice().Len())
		for i := 0; i < v.Slice().Len(); i++ {
			parts = append(parts, v.Slice().At(i).AsString())
		}
		return strings.Join(parts, ", ")
	}
	return v.AsString()
}

func localTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		return rfc3339
	}
	return t.Local().Format(timeLayout)
}

func seconds(v any) string {
	f, ok := v.(float64)
	if !ok {
		return fmt.Sprint(v)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func nonEmpty(values []string) []string {
	out := values[:0]
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
