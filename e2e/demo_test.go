//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// repoRoot is the repository root, seen from this package's directory (where
// go test runs the tests).
const repoRoot = ".."

// consoleLine is a line of the demo console (cmd/demo-console): when, what
// (the event, "poll <stream>" or "collector <LEVEL>"), then the rest.
var consoleLine = regexp.MustCompile(`^([A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2})  (.{20}) (.*)$`)

// consoleTimeLayout is how the console writes times.
const consoleTimeLayout = "Jan 02 15:04:05"

// recordKinds are the console's names of the record kinds the demo shows,
// by event name.
var recordKinds = map[string]string{
	eventMember:      "member",
	eventLogin:       "login",
	eventAccessUser:  "access user",
	eventAccessLogin: "access login",
}

// TestDemoShowsRecordsEveryRun runs scripts/run-demo.sh (what `make run`
// runs) on config/demo.yaml four times in a row, as a user would run
// `make run` again, and checks that every run's console shows members, logins,
// Access users and Access logins, one line per record (as many as the run
// wrote to records.jsonl, each of the form the console promises) and a line
// per poll, and that records.jsonl keeps the records of the earlier runs.
// Runs 1 and 2 give the simulator the same seed, so the second run shows
// records only because the script starts from a fresh receiver state; runs 3
// and 4 take the script's own seed, which must differ per run: run 4 must
// write no audit id that run 3 wrote.
func TestDemoShowsRecordsEveryRun(t *testing.T) {
	t.Parallel()
	d := newDemo(t)

	var jsonl []byte // records.jsonl after the previous run
	var prevUIDs map[string]bool
	for run, seed := range []string{"4242", "4242", "", ""} {
		out := d.run(t, run+1, seed, func(out string) bool {
			kinds := consoleKinds(out)
			return kinds["member"] > 0 && kinds["login"] > 0 && kinds["access user"] > 0 && kinds["access login"] > 0 &&
				kinds["poll logins"] > 0 && kinds["poll users"] > 0
		})
		now, err := os.ReadFile(d.records)
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if !bytes.HasPrefix(now, jsonl) {
			t.Errorf("run %d: records.jsonl no longer starts with the %d bytes the earlier runs wrote (not appended)", run+1, len(jsonl))
		}
		if len(now) <= len(jsonl) {
			t.Fatalf("run %d: records.jsonl did not grow (%d bytes before, %d after)", run+1, len(jsonl), len(now))
		}
		written := readRecords(t, now[min(len(jsonl), len(now)):])
		checkConsoleShows(t, run+1, out, written)

		uids := map[string]bool{}
		for _, r := range written {
			if r.EventName == eventLogin {
				uids[r.str("log.record.uid")] = true
			}
		}
		if len(uids) == 0 {
			t.Errorf("run %d: wrote no login record to records.jsonl", run+1)
		}
		if seed == "" && prevUIDs != nil {
			shared := 0
			for uid := range uids {
				if prevUIDs[uid] {
					shared++
				}
			}
			if shared > 0 {
				t.Errorf("run %d: %d of its %d log.record.uid values were already used by the previous run, "+
					"so records.jsonl has uids that name two different events", run+1, shared, len(uids))
			}
		}
		jsonl = now
		if seed == "" {
			prevUIDs = uids
		}
	}
}

// TestDemoShowsALateArrival runs the demo as shipped until its console shows
// a login the receiver's late-arrival sweep found (the simulator holds logins
// back, cloudflare-sim -late-delay; config/demo.yaml sweeps every 30s): a
// "login (late)" line of a login that records.jsonl has after a newer login of
// the same account. Meanwhile the demo's metrics and health endpoints answer.
func TestDemoShowsALateArrival(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	var metricsChecked bool
	out := d.runFor(t, 1, "", 3*time.Minute, func(out string) bool {
		if !metricsChecked && strings.Contains(out, "  poll logins ") {
			metricsChecked = true
			body := httpGet(t, "http://"+d.metricsAddr+"/metrics")
			if !strings.Contains(body, "otelcol_receiver_cloudflare_api_requests") {
				t.Errorf("http://%s/metrics (METRICS_ADDR) has no otelcol_receiver_cloudflare_api_requests:\n%.2000s", d.metricsAddr, body)
			}
			if body := httpGet(t, "http://"+d.healthAddr+"/status"); !strings.Contains(body, `"healthy":true`) {
				t.Errorf("http://%s/status (HEALTH_ADDR): %s", d.healthAddr, body)
			}
		}
		return consoleKinds(out)["login (late)"] > 0
	})

	data, err := os.ReadFile(d.records)
	if err != nil {
		t.Fatal(err)
	}
	written := readRecords(t, data)
	checkConsoleShows(t, 1, out, written)
	// The late logins in records.jsonl: older than a login of their account written before them.
	newest := map[string]time.Time{}
	var late []record
	for _, r := range written {
		if r.EventName != eventLogin {
			continue
		}
		account := r.Resource["cloudflare.account.name"].(string)
		if r.Timestamp.Before(newest[account]) {
			late = append(late, r)
		} else {
			newest[account] = r.Timestamp
		}
	}
	if len(late) == 0 {
		t.Fatalf("records.jsonl has no login older than one written before it, but the console shows a late one")
	}
	for _, r := range late {
		if !consoleHas(out, "login (late)", r) {
			t.Errorf("the console has no \"login (late)\" line for the late login of %s at %s (%s)", r.str("user.email"),
				r.Timestamp.Local().Format(consoleTimeLayout), r.Resource["cloudflare.account.name"])
		}
	}
	t.Logf("%d late login(s) swept; e.g. %s", len(late), grepLine(out, "login (late)"))
}

// TestDemoFailsFastOnATakenPort runs the demo with its metrics address taken
// by another listener: it must stop at once, before starting anything, naming
// the address and the variable that moves it.
func TestDemoFailsFastOnATakenPort(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d.metricsAddr = ln.Addr().String()

	cmd := d.command(t, "")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("run-demo.sh succeeded with %s taken:\n%s", d.metricsAddr, out)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("run-demo.sh took %s to fail", took)
	}
	for _, want := range []string{d.metricsAddr + ", the address of the collector's metrics for Prometheus, is in use", "METRICS_ADDR="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("run-demo.sh's message lacks %q:\n%s", want, out)
		}
	}
	// Nothing started: no simulator, no collector, no demo.
	for _, log := range []string{"cloudflare-sim.log", "collector.log"} {
		if _, err := os.Stat(filepath.Join(d.dir, log)); err == nil {
			t.Errorf("run-demo.sh started something (it wrote %s) although %s was taken:\n%s", log, d.metricsAddr, out)
		}
	}
	if strings.Contains(string(out), ">> Cloudflare identity receiver demo") {
		t.Errorf("run-demo.sh started the demo although %s was taken:\n%s", d.metricsAddr, out)
	}
}

// demo is the demo of scripts/run-demo.sh with its addresses and directory
// moved out of the way (SIM_ADDR, HEALTH_ADDR, METRICS_ADDR, DEMO_DIR): free
// ports and a temporary state directory instead of 127.0.0.1:8787,
// 127.0.0.1:13133, 127.0.0.1:8888 and ./_storage/demo.
type demo struct {
	dir, records, sim, console       string
	simAddr, healthAddr, metricsAddr string
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	d := &demo{dir: t.TempDir(), simAddr: freeAddr(t), healthAddr: freeAddr(t), metricsAddr: freeAddr(t)}
	d.records = filepath.Join(d.dir, "records.jsonl")
	bin := t.TempDir()
	d.sim, d.console = filepath.Join(bin, "cloudflare-sim"), filepath.Join(bin, "demo-console")
	for path, pkg := range map[string]string{d.sim: "./cmd/cloudflare-sim", d.console: "./cmd/demo-console"} {
		build := exec.Command("go", "build", "-o", path, pkg)
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	return d
}

// command is the demo script with the test's binaries, addresses and
// directory; seed "" leaves the seed to the script.
func (d *demo) command(t *testing.T, seed string) *exec.Cmd {
	cmd := exec.Command("./scripts/run-demo.sh")
	cmd.Dir = repoRoot
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIM_SEED=") && !strings.HasPrefix(kv, "SIM_ARGS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OTELCOL="+collectorBinary(t), "SIM="+d.sim, "DEMO_CONSOLE="+d.console, "SIM_ADDR="+d.simAddr,
		"HEALTH_ADDR="+d.healthAddr, "METRICS_ADDR="+d.metricsAddr, "DEMO_DIR="+d.dir)
	if seed != "" {
		cmd.Env = append(cmd.Env, "SIM_SEED="+seed)
	}
	return cmd
}

// run runs the demo script until its output satisfies done (at most 60 s)
// and records.jsonl got a new line, then stops it with SIGINT (as Ctrl-C
// does) and returns what it printed.
func (d *demo) run(t *testing.T, n int, seed string, done func(out string) bool) string {
	t.Helper()
	return d.runFor(t, n, seed, 60*time.Second, done)
}

func (d *demo) runFor(t *testing.T, n int, seed string, timeout time.Duration, done func(out string) bool) string {
	t.Helper()
	linesBefore := countLines(d.records)
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("run-demo-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := d.command(t, seed)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting run-demo.sh: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }() // whatever is left, if it failed
	output := func() string { data, _ := os.ReadFile(logPath); return string(data) }
	tail := func() string {
		lines := strings.Split(output(), "\n")
		return strings.Join(lines[max(0, len(lines)-40):], "\n")
	}

	deadline := time.Now().Add(timeout)
	for !done(output()) || countLines(d.records) <= linesBefore {
		select {
		case err := <-exited:
			t.Fatalf("run %d: run-demo.sh exited (%v) before showing what it should:\n%s", n, err, tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: the console did not show what it should (or records.jsonl did not grow) within %s; last output:\n%s",
				n, timeout, tail())
		}
		time.Sleep(100 * time.Millisecond)
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("run %d: run-demo.sh exited with %v after Ctrl-C, want 0", n, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run %d: run-demo.sh still running 30s after SIGINT:\n%s", n, tail())
	}
	if conn, err := net.DialTimeout("tcp", d.simAddr, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("run %d: the simulator still listens on %s after the demo ended", n, d.simAddr)
	}
	out := output()
	if !strings.Contains(out, "jq '.resourceLogs[]") || !strings.Contains(out, d.records) {
		t.Errorf("run %d: the demo does not say at start where the full records are (%s) with a jq example:\n%.1500s", n, d.records, out)
	}
	return out
}

// consoleKinds counts the console's lines by their second column (an event,
// "poll <stream>", "collector <LEVEL>").
func consoleKinds(out string) map[string]int {
	kinds := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			kinds[strings.TrimSpace(m[2])]++
		}
	}
	return kinds
}

// checkConsoleShows checks that the console printed exactly one line per
// record written to records.jsonl during the run (the console drains both
// files after the collector stopped), and for the kinds the demo shows that
// each record's line names its account, user, address and outcome.
func checkConsoleShows(t *testing.T, run int, out string, written []record) {
	t.Helper()
	kinds := consoleKinds(out)
	recordLines := 0
	for kind, n := range kinds {
		if !strings.HasPrefix(kind, "poll ") && !strings.HasPrefix(kind, "collector ") {
			recordLines += n
		}
	}
	if recordLines != len(written) {
		t.Errorf("run %d: the console shows %d record lines, records.jsonl got %d records: want one line per record (by kind: %v)",
			run, recordLines, len(written), kinds)
	}
	// Nothing else: the intro, the header, these lines, the last one.
	var others []string
	_, body, _ := strings.Cut(out, "\nWHEN ")
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n")[1:] {
		if !consoleLine.MatchString(line) && !strings.HasPrefix(line, ">> demo stopped") {
			others = append(others, line)
		}
	}
	if len(others) > 0 {
		t.Errorf("run %d: the console shows %d lines that are neither a record, a poll nor a collector log line, e.g.:\n%s",
			run, len(others), strings.Join(others[:min(5, len(others))], "\n"))
	}
	if kinds["poll logins"] == 0 || kinds["poll users"] == 0 {
		t.Errorf("run %d: the console shows no line per poll of logins and users (by kind: %v)", run, kinds)
	}
	for _, r := range written {
		kind, ok := recordKinds[r.EventName]
		if !ok {
			continue
		}
		if !consoleHas(out, kind, r) && !consoleHas(out, kind+" (late)", r) {
			t.Errorf("run %d: the console has no %q line for %s of %s at %s; e.g. %s", run, kind, r.str("user.email"),
				r.Resource["cloudflare.account.name"], r.Timestamp.Local().Format(consoleTimeLayout), grepLine(out, "  "+kind+" "))
			return // one is enough to tell
		}
	}
	t.Logf("run %d: %d record lines for %d records, %d logins polls; e.g.\n%s\n%s", run, recordLines, len(written),
		kinds["poll logins"], grepLine(out, "  login "), grepLine(out, "  member "))
}

// consoleHas reports whether the console printed a line of kind for r: its
// time, account, user, address, and its outcome (logins: success or FAILURE;
// Access logins: allowed or DENIED; members: their status).
func consoleHas(out, kind string, r record) bool {
	address := r.str("client.address")
	if address == "" {
		address = "-"
	}
	var outcome string
	switch r.EventName {
	case eventLogin:
		outcome = map[string]string{"success": "success", "failure": "FAILURE"}[r.str("cloudflare.audit.action.result")]
	case eventAccessLogin:
		outcome = "allowed"
		if allowed, _ := r.Attrs["cloudflare.access.allowed"].(bool); !allowed {
			outcome = "DENIED"
		}
	case eventMember:
		outcome = r.str("cloudflare.member.status")
	}
	want := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(r.Timestamp.Local().Format(consoleTimeLayout)) + "  " +
		regexp.QuoteMeta(kind) + ` +` + regexp.QuoteMeta(r.Resource["cloudflare.account.name"].(string)) + ` +` +
		regexp.QuoteMeta(r.str("user.email")) + ` +` + regexp.QuoteMeta(address) + ` +` + regexp.QuoteMeta(outcome))
	return want.MatchString(out)
}

// grepLine returns the first line of out containing s.
func grepLine(out, s string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// countLines returns the number of lines of a file (0 when it does not exist).
func countLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

// readRecords returns the records of OTLP/JSON lines, as the file exporter
// writes them.
func readRecords(t *testing.T, jsonl []byte) []record {
	t.Helper()
	var out []record
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		logs, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			t.Fatalf("records.jsonl: a line is not OTLP/JSON logs: %v", err)
		}
		out = append(out, flatten(logs)...)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading records.jsonl: %v", err)
	}
	return out
}
