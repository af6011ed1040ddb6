//go:build e2e

// Package e2e tests the built otelcol-cloudflare binary end to end: the
// Cloudflare API simulator runs in-process (simtest.Start), the collector runs
// as a subprocess, and its OTLP/HTTP exporter sends to a sink served by the
// test.
//
//	make e2e    # builds the collector, then:
//	OTELCOL_BINARY=$PWD/_build/otelcol-cloudflare OCB_BINARY=$PWD/bin/builder go test -tags e2e -count=1 -v ./e2e/...
//
// They also check the .md files (the YAML blocks of README.md and docs/, the
// PII redaction example of docs/pii.md, the ocb manifest of
// docs/collector-build.md) and the demo of `make run` (scripts/run-demo.sh).
package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// collectorBinary is the collector under test, from OTELCOL_BINARY.
func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_BINARY")
	if bin == "" {
		t.Fatal("OTELCOL_BINARY is not set: build the collector (make build) and run " +
			"OTELCOL_BINARY=$PWD/_build/otelcol-cloudflare go test -tags e2e ./e2e/... (or just: make e2e)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("OTELCOL_BINARY=%q: %v", bin, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("OTELCOL_BINARY=%q is not an executable file (err=%v)", bin, err)
	}
	return abs
}

// ---------------------------------------------------------------------------
// The OTLP/HTTP sink.

// record is one received log record, flattened with its resource and scope.
type record struct {
	Resource  map[string]any
	SchemaURL string
	Scope     string
	EventName string
	Severity  plog.SeverityNumber
	Timestamp time.Time
	Observed  time.Time
	Attrs     map[string]any
	BodyType  pcommon.ValueType
	Body      map[string]any
}

func (r record) str(key string) string {
	s, _ := r.Attrs[key].(string)
	return s
}

// sink is an OTLP/HTTP logs endpoint that keeps every record it receives.
type sink struct {
	t   *testing.T
	srv *http.Server
	url string

	// delay holds each response back after the records were stored, so a
	// crash can strike while a batch is delivered but not yet acknowledged.
	delay atomic.Int64
	// down makes the sink answer 503, as a backend that is down, keeping nothing.
	down atomic.Bool

	mu       sync.Mutex
	records  []record
	requests int
	errs     []error
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sink listen: %v", err)
	}
	s := &sink{t: t, url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/logs", s.handleLogs)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, err := range s.errs {
			t.Errorf("sink: %v", err)
		}
	})
	return s
}

func (s *sink) handleLogs(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "backend down", http.StatusServiceUnavailable)
		return
	}
	var reader io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" { // the shipped configs compress
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reader = gz
	}
	body, err := io.ReadAll(reader)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		s.fail(fmt.Errorf("unexpected Content-Type %q (want application/x-protobuf)", ct))
		http.Error(w, "want protobuf", http.StatusUnsupportedMediaType)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		s.fail(fmt.Errorf("decoding an ExportLogsServiceRequest: %w", err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	got := flatten(req.Logs())
	s.mu.Lock()
	s.records = append(s.records, got...)
	s.requests++
	s.mu.Unlock()
	if d := time.Duration(s.delay.Load()); d > 0 {
		time.Sleep(d)
	}

	out, err := plogotlp.NewExportResponse().MarshalProto()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (s *sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func flatten(logs plog.Logs) []record {
	var out []record
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		rl := logs.ResourceLogs().At(i)
		res := rl.Resource().Attributes().AsRaw()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				rec := record{
					Resource:  res,
					SchemaURL: rl.SchemaUrl(),
					Scope:     sl.Scope().Name(),
					EventName: lr.EventName(),
					Severity:  lr.SeverityNumber(),
					Timestamp: lr.Timestamp().AsTime(),
					Observed:  lr.ObservedTimestamp().AsTime(),
					Attrs:     lr.Attributes().AsRaw(),
					BodyType:  lr.Body().Type(),
				}
				if lr.Body().Type() == pcommon.ValueTypeMap {
					rec.Body = lr.Body().Map().AsRaw()
				}
				out = append(out, rec)
			}
		}
	}
	return out
}

// snapshot returns a copy of the records received so far.
func (s *sink) snapshot() []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record(nil), s.records...)
}

// loginCounts returns the number of login records received and of distinct
// log.record.uid values among them.
func (s *sink) loginCounts() (total, unique int) { return s.eventCounts("cloudflare.user.login") }

// eventCounts returns the number of records of an event received and of
// distinct log.record.uid values among them.
func (s *sink) eventCounts(eventName string) (total, unique int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]struct{}, len(s.records))
	for _, r := range s.records {
		if r.EventName != eventName {
			continue
		}
		total++
		seen[r.str("log.record.uid")] = struct{}{}
	}
	return total, len(seen)
}

// ---------------------------------------------------------------------------
// The collector subprocess.

type collectorParams struct {
	SimURL      string
	Token       string
	SinkURL     string
	StorageDir  string
	HealthAddr  string
	PageSize    int
	LoginsPoll  time.Duration
	UsersPoll   time.Duration
	Lookback    time.Duration
	RequestsPer int
	Source      string // logins.source; "" leaves the default
	// AccessLogins enables the access_logins stream with the logins stream's
	// poll interval, lookback and page size.
	AccessLogins bool
	// AccessUsers enables the access_users stream.
	AccessUsers bool
	RedisAddr   string // checkpoints in this Redis (redis_storage) instead of StorageDir (file_storage)
}

// Storage is the storage extension of the receiver's checkpoints.
func (p collectorParams) Storage() string {
	if p.RedisAddr != "" {
		return "redis_storage"
	}
	return "file_storage"
}

// The pipeline has no batch processor and the exporter no sending queue, so
// ConsumeLogs returns only once the sink acknowledged the records: the
// receiver's checkpoint then means "delivered", which the crash test relies
// on. (An in-memory queue or batch processor acknowledges before delivery, so
// a SIGKILL would lose what they hold; config/cloudflare.yaml uses a
// persistent queue instead.)
var collectorConfig = template.Must(template.New("config").Parse(`
receivers:
  cloudflare_identity:
    endpoint: {{.SimURL}}
    api_token: {{.Token}}
    storage: {{.Storage}}
    users:
      poll_interval: {{.UsersPoll}}
      snapshot_interval: 0
    logins:
      poll_interval: {{.LoginsPoll}}
      initial_lookback: {{.Lookback}}
      page_size: {{.PageSize}}
{{- if .Source}}
      source: {{.Source}}
{{- end}}
{{- if .AccessLogins}}
    access_logins:
      enabled: true
      poll_interval: {{.LoginsPoll}}
      initial_lookback: {{.Lookback}}
      page_size: {{.PageSize}}
{{- end}}
{{- if .AccessUsers}}
    access_users:
      enabled: true
      poll_interval: 5m
      snapshot_interval: 0
{{- end}}
    rate_limit:
      requests_per_window: {{.RequestsPer}}
      window: 1m

exporters:
  otlp_http:
    endpoint: {{.SinkURL}}
    compression: none
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s

extensions:
{{- if .RedisAddr}}
  redis_storage:
    endpoint: {{.RedisAddr}}
    tls:
      insecure: true
{{- else}}
  file_storage:
    directory: {{.StorageDir}}
    create_directory: true
{{- end}}
  healthcheckv2:
    use_v2: true
    component_health:
      include_recoverable_errors: true
      recovery_duration: 1ms
    http:
      endpoint: {{.HealthAddr}}
      status:
        enabled: true
        path: /status

service:
  extensions: [{{.Storage}}, healthcheckv2]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
      encoding: json
  pipelines:
    logs:
      receivers: [cloudflare_identity]
      exporters: [otlp_http]
`))

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newCollectorParams fills in the defaults for a test: a fresh storage
// directory and health port.
func newCollectorParams(t *testing.T, sim *cloudflaresim.Server, snk *sink) collectorParams {
	return collectorParams{
		SimURL:      sim.URL(),
		Token:       simtest.Token,
		SinkURL:     snk.url,
		StorageDir:  filepath.Join(t.TempDir(), "storage"),
		HealthAddr:  freeAddr(t),
		PageSize:    1000,
		LoginsPoll:  10 * time.Second,
		UsersPoll:   time.Minute,
		Lookback:    24 * time.Hour,
		RequestsPer: 10000,
	}
}

func writeConfig(t *testing.T, p collectorParams) string {
	t.Helper()
	var buf bytes.Buffer
	if err := collectorConfig.Execute(&buf, p); err != nil {
		t.Fatalf("rendering the collector config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "otelcol.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// collector is one run of the binary.
type collector struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // set when done is closed
}

// startCollector runs the binary on config; the process is killed when the
// test ends, whatever happened.
func startCollector(t *testing.T, name, config string) *collector {
	t.Helper()
	return startCollectorIn(t, name, "", nil, "--config", config)
}

// startCollectorIn runs the binary with args in directory dir ("": the
// test's), with env added to the environment; the process is killed when the
// test ends, whatever happened.
func startCollectorIn(t *testing.T, name, dir string, env []string, args ...string) *collector {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(collectorBinary(t), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "CLOUDFLARE_API_TOKEN=") // nothing may leak in from the environment
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &collector{t: t, name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		_ = logFile.Close()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			c.dumpLog(60)
		}
	})
	return c
}

func (c *collector) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (to the whole process group) and waits for the exit.
func (c *collector) kill() {
	if c.exited() {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// stop asks for a graceful shutdown (SIGINT) and returns the exit error.
func (c *collector) stop(timeout time.Duration) error {
	if c.exited() {
		return c.err
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.kill()
		return fmt.Errorf("%s did not stop within %s after SIGINT", c.name, timeout)
	}
}

func (c *collector) log() string {
	data, _ := os.ReadFile(c.logPath)
	return string(data)
}

func (c *collector) dumpLog(lines int) {
	all := strings.Split(strings.TrimRight(c.log(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	c.t.Logf("last %d lines of the %s log (%s):\n%s", len(all), c.name, c.logPath, strings.Join(all, "\n"))
}

// logEntries parses the collector's JSON log lines.
func (c *collector) logEntries() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(c.log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var entry map[string]any
		if json.Unmarshal(sc.Bytes(), &entry) == nil {
			out = append(out, entry)
		}
	}
	return out
}

// requireRunning fails the test when the collector has exited.
func (c *collector) requireRunning() {
	c.t.Helper()
	if c.exited() {
		c.dumpLog(60)
		c.t.Fatalf("%s exited: %v", c.name, c.err)
	}
}

// ---------------------------------------------------------------------------
// Waiting.

// waitFor polls cond every interval until it holds, the collector exits, or
// the timeout passes; it fails the test with what(), the state last seen.
func waitFor(t *testing.T, c *collector, timeout time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if c != nil {
			c.requireRunning()
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Health.

type healthStatus struct {
	Healthy    bool                     `json:"healthy"`
	Status     string                   `json:"status"`
	Error      string                   `json:"error"`
	Components map[string]*healthStatus `json:"components"`
}

// find returns the status of the component named key anywhere in the tree.
func (h *healthStatus) find(key string) *healthStatus {
	if h == nil {
		return nil
	}
	if c, ok := h.Components[key]; ok {
		return c
	}
	for _, c := range h.Components {
		if found := c.find(key); found != nil {
			return found
		}
	}
	return nil
}

// receiverHealth reads /status?verbose and returns the HTTP code and the
// status of receiver:cloudflare_identity (nil when not listed yet).
func receiverHealth(addr string) (int, *healthStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/status?verbose", http.NoBody)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var st healthStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("decoding /status: %w", err)
	}
	return resp.StatusCode, st.find("receiver:cloudflare_identity"), nil
}

var errNotListed = errors.New("receiver:cloudflare_identity not listed")

// describeHealth renders the last health answer for failure messages.
func describeHealth(code int, st *healthStatus, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case st == nil:
		return fmt.Sprintf("HTTP %d, %v", code, errNotListed)
	}
	return fmt.Sprintf("HTTP %d, receiver status %s healthy=%v error=%q", code, st.Status, st.Healthy, st.Error)
}
