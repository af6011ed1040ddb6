//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/ocsfschema"
)

// siemBinary is the SIEM gateway distribution under test (builder-config-siem.yaml), from
// OTELCOL_SIEM_BINARY.
func siemBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_SIEM_BINARY")
	if bin == "" {
		t.Fatal("OTELCOL_SIEM_BINARY is not set: build the SIEM gateway (make build-siem) and run " +
			"OTELCOL_SIEM_BINARY=$PWD/_build-siem/otelcol-cloudflare-siem go test -tags e2e ./e2e/... (or just: make e2e)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// startSIEM runs the SIEM gateway binary like startCollectorIn runs the collector.
func startSIEM(t *testing.T, name string, env []string, args ...string) *collector {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(siemBinary(t), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
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
			c.dumpLog(40)
		}
	})
	return c
}

// splunkStandIn is the config of the SIEM gateway standing in for Splunk: its
// splunk_hec receiver takes HEC events and its file exporter writes them.
const splunkStandIn = `
receivers:
  splunk_hec:
    endpoint: %s
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [splunk_hec]
      exporters: [file]
`

// TestSplunkHEC sends the collector's records through the SIEM gateway's
// shipped config/splunk.yaml (splunk_hec exporter) to a second gateway process
// that receives them with the splunk_hec receiver and writes them to a file:
// every record the collector sent (a copy goes to the OTLP sink) arrives once,
// with its Body, its attributes and its resource's (as HEC fields: maps
// flattened), its EventName (otel.event.name), severity and time (ms); with
// format: ocsf the Body that arrives is still a valid OCSF 1.8.0 event.
func TestSplunkHEC(t *testing.T) {
	for _, format := range []string{"otel", "ocsf"} {
		t.Run(format, func(t *testing.T) { testSplunkHEC(t, format) })
	}
}

func testSplunkHEC(t *testing.T, format string) {
	sim := simtest.Start(t, cloudflaresim.Config{
		Seed: 31, Accounts: 2, MembersPerAccount: 3, LoginsPerAccount: 12, FailureRatio: 0.3,
		AccessUsersPerAccount: 2, AccessRequestsPerAccount: 4,
	})
	snk := startSink(t)

	hecAddr, out := freeAddr(t), filepath.Join(t.TempDir(), "splunk.json")
	standInConfig := filepath.Join(t.TempDir(), "splunk-stand-in.yaml")
	if err := os.WriteFile(standInConfig, fmt.Appendf(nil, splunkStandIn, hecAddr, out), 0o600); err != nil {
		t.Fatal(err)
	}
	splunk := startSIEM(t, "splunk", nil, "--config", standInConfig)

	gatewayAddr := freeAddr(t)
	shipped, err := filepath.Abs(filepath.Join(repoRoot, "config", "splunk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gateway := startSIEM(t, "gateway", []string{
		"SPLUNK_HEC_ENDPOINT=http://" + hecAddr + "/services/collector", "SPLUNK_HEC_TOKEN=e2e-hec-token",
		"SPLUNK_INDEX=cloudflare", "OTLP_LISTEN=" + gatewayAddr,
	}, "--config", shipped, "--set=service::telemetry::metrics::level=none")

	params := newCollectorParams(t, sim, snk)
	params.AccessLogins, params.AccessUsers = true, true
	col := startCollectorIn(t, "collector", "", nil, "--config", writeConfig(t, params),
		"--set=receivers::cloudflare_identity::format="+format,
		"--set=exporters::otlp_http/siem::endpoint=http://"+gatewayAddr,
		"--set=service::pipelines::logs::exporters=[otlp_http, otlp_http/siem]")

	wantLogins := len(wantedLogins(sim, "audit_logs"))
	var wantAccess int
	for _, a := range sim.Accounts() {
		wantAccess += len(sim.AccessRequests(a.ID))
	}
	waitFor(t, col, 60*time.Second, func() string { return fmt.Sprintf("all records at the sink (have %d)", len(snk.snapshot())) },
		func() bool {
			recs := snk.snapshot()
			return countEvent(recs, eventLogin) >= wantLogins && countEvent(recs, eventAccessLogin) >= wantAccess &&
				countEvent(recs, eventMember) >= 6 && countEvent(recs, eventAccessUser) >= 4
		})
	sent := snk.snapshot()
	var arrived []record
	waitFor(t, splunk, 60*time.Second, func() string {
		return fmt.Sprintf("%d records through Splunk HEC (have %d)", len(sent), len(arrived))
	}, func() bool {
		gateway.requireRunning()
		arrived = readFileExport(t, out)
		return len(arrived) >= len(sent)
	})
	if err := col.stop(15 * time.Second); err != nil {
		t.Errorf("collector: graceful shutdown: %v", err)
	}
	time.Sleep(time.Second) // anything sent twice would show by now
	arrived = readFileExport(t, out)

	var validator *ocsfschema.Validator
	if format == "ocsf" {
		if validator, err = ocsfschema.Load(ocsfSchemaDir); err != nil {
			t.Fatal(err)
		}
	}
	byKey := map[string][]record{}
	for _, r := range arrived {
		byKey[hecKey(r.str("otel.event.name"), r.Attrs, r.Attrs)] = append(byKey[hecKey(r.str("otel.event.name"), r.Attrs, r.Attrs)], r)
	}
	if len(arrived) != len(sent) {
		t.Errorf("%d records sent, %d arrived through Splunk HEC", len(sent), len(arrived))
	}
	for _, s := range sent {
		key := hecKey(s.EventName, s.Attrs, s.Resource)
		got := byKey[key]
		if len(got) != 1 {
			t.Errorf("%s: arrived %d times through Splunk HEC, want once", key, len(got))
			continue
		}
		h := got[0]
		if !sameJSON(s.Body, h.Body) {
			t.Errorf("%s: Body changed on the way:\nsent    %s\narrived %s", key, jsonText(s.Body), jsonText(h.Body))
		}
		for field, want := range hecFields(s) {
			if !sameJSON(want, h.Attrs[field]) {
				t.Errorf("%s: field %s = %s, want %s", key, field, jsonText(h.Attrs[field]), jsonText(want))
			}
		}
		if h.str("otel.event.name") != s.EventName {
			t.Errorf("%s: otel.event.name = %q, want the EventName", key, h.str("otel.event.name"))
		}
		if n, _ := h.Attrs["otel.log.severity.number"].(float64); int(n) != int(s.Severity) {
			t.Errorf("%s: otel.log.severity.number = %v, want %d", key, h.Attrs["otel.log.severity.number"], s.Severity)
		}
		if d := h.Timestamp.Sub(s.Timestamp); math.Abs(float64(d)) > float64(time.Millisecond) {
			t.Errorf("%s: time %v, want %v (HEC keeps milliseconds)", key, h.Timestamp, s.Timestamp)
		}
		if h.Resource["com.splunk.index"] != "cloudflare" || h.Resource["com.splunk.source"] != "cloudflare_identity" {
			t.Errorf("%s: HEC index/source %v/%v, want cloudflare/cloudflare_identity (config/splunk.yaml)",
				key, h.Resource["com.splunk.index"], h.Resource["com.splunk.source"])
		}
		if validator != nil {
			if _, err := validator.Validate(h.Body); err != nil {
				t.Errorf("%s: the OCSF event that arrived is not OCSF 1.8.0: %v", key, err)
			}
		}
	}
	t.Logf("format %s: %d records sent, %d arrived through Splunk HEC", format, len(sent), len(arrived))
}

// hecKey names a record on both sides of Splunk: its EventName, account and
// identity (the audit id, else the member or user id).
func hecKey(eventName string, attrs, resource map[string]any) string {
	id, _ := attrs["log.record.uid"].(string)
	if id == "" {
		id, _ = attrs["cloudflare.member.id"].(string)
	}
	if id == "" {
		id, _ = attrs["user.id"].(string)
	}
	account, _ := resource["cloud.account.id"].(string)
	return eventName + " " + account + " " + id
}

// hecFields are the HEC fields the splunk_hec exporter makes of a record:
// the resource's and the record's attributes, maps flattened into dotted
// keys, arrays of arrays or maps as JSON text.
func hecFields(r record) map[string]any {
	fields := map[string]any{}
	var put func(key string, v any)
	put = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				put(key+"."+k, e)
			}
		case []any:
			for _, e := range v {
				switch e.(type) {
				case map[string]any, []any:
					b, _ := json.Marshal(v)
					fields[key] = string(b)
					return
				}
			}
			fields[key] = v
		default:
			fields[key] = v
		}
	}
	for k, v := range r.Resource {
		put(k, v)
	}
	for k, v := range r.Attrs {
		put(k, v)
	}
	return fields
}

// readFileExport reads the file exporter's output: one OTLP JSON request a line.
func readFileExport(t *testing.T, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 16<<20), 16<<20)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		logs, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			return out // a line being written
		}
		out = append(out, flatten(logs)...)
	}
	return out
}

// sameJSON compares two values as JSON sees them (numbers are numbers).
func sameJSON(a, b any) bool {
	var x, y any
	if json.Unmarshal([]byte(jsonText(a)), &x) != nil || json.Unmarshal([]byte(jsonText(b)), &y) != nil {
		return false
	}
	return jsonText(x) == jsonText(y)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// siemGatewayConfig reports a config/*.yaml of the SIEM gateway distribution
// (config/splunk.yaml, config/elasticsearch.yaml), which the collector does not run.
func siemGatewayConfig(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), "config of otelcol-cloudflare-siem")
}
