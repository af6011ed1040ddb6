//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// repoRoot is the repository root, seen from this package's directory (where
// go test runs the tests).
const repoRoot = ".."

// TestDemoShowsRecordsEveryRun runs scripts/run-demo.sh (what `make run`
// runs) on config/demo.yaml four times in a row, as a user would run
// `make run` again, and checks that every run shows the member inventory and
// logins on the console with their event names, and that records.jsonl keeps
// the records of the earlier runs. Runs 1 and 2 give the simulator the same
// seed, so the second run shows records only because the script starts from
// a fresh receiver state; runs 3 and 4 take the script's own seed, which must
// differ per run: run 4 must write no audit id that run 3 wrote.
func TestDemoShowsRecordsEveryRun(t *testing.T) {
	t.Parallel()
	d := newDemo(t)

	var jsonl []byte // records.jsonl after the previous run
	var prevUIDs map[string]bool
	for run, seed := range []string{"4242", "4242", "", ""} {
		out := d.run(t, run+1, seed)
		for _, event := range []string{eventMember, eventLogin, eventAccessUser, eventAccessLogin} {
			if n := strings.Count(out, "EventName: "+event+"\n"); n == 0 {
				t.Errorf("run %d: the console shows no %q record", run+1, "EventName: "+event)
			}
		}
		t.Logf("run %d (seed %q): the console shows %d member, %d login, %d Access user and %d Access login records", run+1, seed,
			strings.Count(out, "EventName: "+eventMember+"\n"), strings.Count(out, "EventName: "+eventLogin+"\n"),
			strings.Count(out, "EventName: "+eventAccessUser+"\n"), strings.Count(out, "EventName: "+eventAccessLogin+"\n"))

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
		uids := loginUIDs(t, now[min(len(jsonl), len(now)):])
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

// demo is the demo of scripts/run-demo.sh with its addresses and directory
// moved out of the way: a free simulator port, a free health port and a
// temporary state directory instead of 127.0.0.1:8787, 127.0.0.1:13133 and
// ./_storage/demo.
type demo struct {
	dir, config, records, sim, simAddr string
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	d := &demo{dir: t.TempDir(), simAddr: freeAddr(t)}
	d.records = filepath.Join(d.dir, "records.jsonl")
	d.sim = filepath.Join(t.TempDir(), "cloudflare-sim")
	build := exec.Command("go", "build", "-o", d.sim, "./cmd/cloudflare-sim")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}

	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := string(raw)
	for from, to := range map[string]string{
		"127.0.0.1:8787":  d.simAddr,
		"127.0.0.1:13133": freeAddr(t),
		"./_storage/demo": d.dir,
	} {
		if !strings.Contains(config, from) {
			t.Fatalf("config/demo.yaml no longer contains %q, which this test replaces", from)
		}
		config = strings.ReplaceAll(config, from, to)
	}
	d.config = filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(d.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// run runs the demo script until the console shows both member and login
// records and records.jsonl got a new line, then stops it with SIGINT (as
// Ctrl-C does) and returns what it printed. seed "" leaves the seed to the
// script.
func (d *demo) run(t *testing.T, n int, seed string) string {
	t.Helper()
	linesBefore := countLines(d.records)
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("run-demo-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command("./scripts/run-demo.sh")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIM_SEED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OTELCOL="+collectorBinary(t), "SIM="+d.sim, "SIM_ADDR="+d.simAddr,
		"CONFIG="+d.config, "DEMO_DIR="+d.dir)
	if seed != "" {
		cmd.Env = append(cmd.Env, "SIM_SEED="+seed)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting run-demo.sh: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }() // whatever is left, if it failed
	output := func() string { data, _ := os.ReadFile(logPath); return string(data) }
	tail := func() string {
		lines := strings.Split(output(), "\n")
		return strings.Join(lines[max(0, len(lines)-40):], "\n")
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		out := output()
		if strings.Contains(out, "EventName: "+eventMember+"\n") && strings.Contains(out, "EventName: "+eventLogin+"\n") &&
			strings.Contains(out, "EventName: "+eventAccessUser+"\n") && strings.Contains(out, "EventName: "+eventAccessLogin+"\n") &&
			countLines(d.records) > linesBefore {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run %d: run-demo.sh exited (%v) before showing records:\n%s", n, err, tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: not all four kinds of records (members, logins, Access users, Access logins) on the console and in records.jsonl after 60s; last output:\n%s", n, tail())
		}
		time.Sleep(100 * time.Millisecond)
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
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
	return output()
}

// countLines returns the number of lines of a file (0 when it does not exist).
func countLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

// loginUIDs returns the log.record.uid values of the login records in
// OTLP/JSON lines, as the file exporter writes them.
func loginUIDs(t *testing.T, jsonl []byte) map[string]bool {
	t.Helper()
	uids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		logs, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			t.Fatalf("records.jsonl: a line is not OTLP/JSON logs: %v", err)
		}
		for _, r := range flatten(logs) {
			if r.EventName == eventLogin {
				uids[r.str("log.record.uid")] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading records.jsonl: %v", err)
	}
	return uids
}
