// Package monitoring tests the Prometheus alerting rules (alerts.yaml) and the
// Grafana dashboard (dashboard.json) against the metrics the built collector
// really serves: the rules are parsed with Prometheus's own rule parser, every
// PromQL expression of the rules and the dashboard with its PromQL parser, and
// each metric and label name they use must be among those Prometheus stores
// when it scrapes the collector, running on config/kubernetes-single.yaml and
// polling the Cloudflare API simulator.
//
//	make test-deploy    # or, after make build:
//	cd deploy && OTELCOL_BINARY=$PWD/../_build/otelcol-cloudflare go test ./monitoring/
package monitoring

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql/parser"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// prometheusAccept is the Accept header a Prometheus 3 scrape sends by default
// (scrape.acceptHeader of config.DefaultScrapeProtocols, with the UTF-8 name
// escaping of its default metric_name_validation_scheme): the collector answers
// it as Prometheus will see it.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
	"application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
	"text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = []string{"job", "instance"}

// grafanaRanges stand for Grafana's interval variables, which PromQL does not know.
var grafanaRanges = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// query is one PromQL expression and where it comes from.
type query struct {
	where, expr string
}

// TestAlertsAndDashboardUseServedMetrics parses alerts.yaml and dashboard.json,
// then each PromQL expression, and checks every metric they select against a
// scrape of the running collector: the metric is served, it has each label
// the expression matches it on or groups it by (job and instance come from
// Prometheus), and a le bound the expression names is one of its buckets.
func TestAlertsAndDashboardUseServedMetrics(t *testing.T) {
	queries := append(alertQueries(t, "alerts.yaml"), dashboardQueries(t, "dashboard.json")...)
	uses := make([]use, 0, len(queries))
	p := parser.NewParser(parser.Options{})
	for _, q := range queries {
		expr, err := p.ParseExpr(q.expr)
		if err != nil {
			t.Errorf("%s: PromQL does not parse: %v\n%s", q.where, err, q.expr)
			continue
		}
		uses = append(uses, usesOf(q.where, expr)...)
	}
	if t.Failed() {
		return
	}
	if len(uses) == 0 {
		t.Fatal("the rules and the dashboard select no metric")
	}

	scraped := scrapeCollector(t)
	names := make([]string, 0, len(scraped))
	for name := range scraped {
		names = append(names, name)
	}
	sort.Strings(names)
	checked := map[string]bool{}
	for _, u := range uses {
		labelsOf, ok := scraped[u.metric]
		if !ok {
			t.Errorf("%s: metric %s is not among those the collector serves:\n  %s", u.where, u.metric, strings.Join(names, "\n  "))
			continue
		}
		checked[u.metric] = true
		for _, l := range u.labels {
			if _, ok := labelsOf[l]; !ok && !slices.Contains(targetLabels, l) {
				t.Errorf("%s: %s has no label %q; it has %v (and Prometheus adds %v)", u.where, u.metric, l, sortedKeys(labelsOf), targetLabels)
			}
		}
		for l, v := range u.values {
			if _, ok := labelsOf[l][v]; !ok {
				t.Errorf("%s: %s{%s=%q} matches no series; its %s values are %v", u.where, u.metric, l, v, l, sortedKeys(labelsOf[l]))
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d queries (alerts.yaml, dashboard.json) use %d metrics, all served by the collector with the labels they use: %v",
			len(queries), len(checked), sortedKeys(checked))
	}
}

// alertQueries parses the rules with Prometheus's rule parser (which checks
// their structure, PromQL and templates) and returns their expressions.
func alertQueries(t *testing.T, path string) []query {
	t.Helper()
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, parser.NewParser(parser.Options{}),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, err := range errs {
		t.Errorf("%s: %v", path, err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	var out []query
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("%s: group %s: a rule is not an alert (record: %q)", path, g.Name, r.Record)
			}
			for _, key := range []string{"summary", "description"} {
				if r.Annotations[key] == "" {
					t.Errorf("%s: %s has no %s annotation", path, r.Alert, key)
				}
			}
			if r.Labels["severity"] == "" {
				t.Errorf("%s: %s has no severity label", path, r.Alert)
			}
			out = append(out, query{where: path + ": " + r.Alert, expr: r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no rule", path)
	}
	return out
}

// dashboardQueries returns the PromQL of every panel target and the metric
// selector of every label_values() variable of a Grafana dashboard, checking
// that each panel and target uses the dashboard's data source variable.
func dashboardQueries(t *testing.T, path string) []query {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type datasource struct{ Type, UID string }
	type panel struct {
		Title      string
		Type       string
		Datasource *datasource
		Targets    []struct {
			Datasource *datasource
			Expr       string
		}
		Panels []json.RawMessage // a collapsed row's panels
	}
	var dash struct {
		Templating struct {
			List []struct {
				Name, Type string
				Query      json.RawMessage
			}
		}
		Panels []json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var dsVar string
	var out []query
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*[^,()]+\)$`)
	for _, v := range dash.Templating.List {
		switch v.Type {
		case "datasource":
			var q string
			if json.Unmarshal(v.Query, &q) == nil && q == "prometheus" {
				dsVar = "${" + v.Name + "}"
			}
		case "query":
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("%s: variable %s: %v", path, v.Name, err)
				continue
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("%s: variable %s: %q is not label_values(selector, label)", path, v.Name, q.Query)
				continue
			}
			out = append(out, query{where: path + ": variable " + v.Name, expr: m[1]})
		}
	}
	if dsVar == "" {
		t.Fatalf("%s: no data source variable of type prometheus", path)
	}
	var walk func([]json.RawMessage)
	walk = func(panels []json.RawMessage) {
		for _, rawPanel := range panels {
			var p panel
			if err := json.Unmarshal(rawPanel, &p); err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != dsVar || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: want data source %s and at least one target", path, p.Title, dsVar)
			}
			for i, target := range p.Targets {
				if target.Datasource != nil && target.Datasource.UID != dsVar {
					t.Errorf("%s: panel %q, target %d: data source %q, want %s", path, p.Title, i, target.Datasource.UID, dsVar)
				}
				out = append(out, query{where: fmt.Sprintf("%s: panel %q", path, p.Title), expr: grafanaRanges.Replace(target.Expr)})
			}
		}
	}
	walk(dash.Panels)
	if len(out) == 0 {
		t.Fatalf("%s: no query", path)
	}
	return out
}

// use is a metric a query selects, with the label names it matches or groups
// by, and the values it requires of le (the bucket bounds Prometheus stores).
type use struct {
	where, metric string
	labels        []string
	values        map[string]string
}

// usesOf returns the metrics an expression selects, with the labels it
// matches them on; the labels of a by (...) or on (...) clause count as
// labels of every metric selected under it (le aside, the buckets' label).
func usesOf(where string, node parser.Node) []use {
	if vs, ok := node.(*parser.VectorSelector); ok {
		u := use{where: where, metric: vs.Name, values: map[string]string{}}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name == labels.MetricName:
				if m.Type == labels.MatchEqual {
					u.metric = m.Value
				}
			default:
				u.labels = append(u.labels, m.Name)
				if m.Name == "le" && m.Type == labels.MatchEqual {
					u.values[m.Name] = m.Value
				}
			}
		}
		return []use{u}
	}
	var below []use
	for child := range parser.ChildrenIter(node) {
		below = append(below, usesOf(where, child)...)
	}
	var grouping []string
	switch n := node.(type) {
	case *parser.AggregateExpr:
		if !n.Without {
			grouping = n.Grouping
		}
	case *parser.BinaryExpr:
		if n.VectorMatching != nil && n.VectorMatching.On {
			grouping = n.VectorMatching.MatchingLabels
		}
	}
	for _, l := range grouping {
		if l == "le" {
			continue
		}
		for i := range below {
			below[i].labels = append(below[i].labels, l)
		}
	}
	return below
}

// scrapeCollector runs the simulator and the built collector on
// config/kubernetes-single.yaml (its Prometheus reader moved to a free port;
// records also to a file), waits until a sweep of the late-arrival window
// found a login the simulator held back (which the lateness histogram
// records) and the client-side rate limit held requests back, then scrapes
// the collector as Prometheus would and returns the metric names stored, with
// their label names and values.
func scrapeCollector(t *testing.T) map[string]map[string]map[string]struct{} {
	t.Helper()
	bin := os.Getenv("OTELCOL_BINARY")
	if bin == "" {
		t.Fatal("OTELCOL_BINARY is not set: make build, then OTELCOL_BINARY=$PWD/../_build/otelcol-cloudflare go test ./... (or: make test-deploy)")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	sim := filepath.Join(dir, "cloudflare-sim")
	build := exec.Command("go", "build", "-o", sim, "./cmd/cloudflare-sim")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}
	simAddr := freeAddr(t)
	// Every second new logins; every second interval one held back 20 s: longer than a poll
	// interval (10 s) plus the polls' 5 s overlap, so that polls miss it and a sweep finds it.
	newProcess(dir, "cloudflare-sim", sim, "-addr", simAddr, "-seed", "11", "-accounts", "2", "-members", "5", "-logins", "20",
		"-access-users", "0", "-access-logins", "0", "-live-interval", "1s", "-late-delay", "20s", "-late-every", "2").begin(t)
	waitFor(t, 10*time.Second, "the simulator to listen on "+simAddr, func() bool { return listening(simAddr) })

	sink := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sink.Serve(ln) }()
	t.Cleanup(func() { _ = sink.Close() })

	configText, err := os.ReadFile(filepath.Join(repoRoot, "config", "kubernetes-single.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(configText), "port: 8888") != 1 {
		t.Fatal("config/kubernetes-single.yaml no longer has one \"port: 8888\" (its Prometheus reader), which this test moves")
	}
	metricsAddr := freeAddr(t)
	_, metricsPort, _ := net.SplitHostPort(metricsAddr)
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(strings.Replace(string(configText), "port: 8888", "port: "+metricsPort, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	records := filepath.Join(dir, "records.jsonl")
	col := newProcess(dir, "collector", bin, "--config", config,
		"--set=receivers::cloudflare_identity::endpoint=http://"+simAddr+"/client/v4",
		"--set=receivers::cloudflare_identity::logins::poll_interval=10s",
		"--set=receivers::cloudflare_identity::logins::late_arrival_window=1m",
		"--set=receivers::cloudflare_identity::logins::late_arrival_sweep=10s",
		// A budget this small makes the client-side limiter hold requests back at once.
		"--set=receivers::cloudflare_identity::rate_limit::requests_per_window=2",
		"--set=receivers::cloudflare_identity::rate_limit::window=1s",
		"--set=extensions::file_storage::directory="+filepath.Join(dir, "storage"),
		"--set=extensions::healthcheckv2::http::endpoint="+freeAddr(t),
		"--set=exporters::file::path="+records,
		"--set=service::pipelines::logs::exporters=[otlp_http, file]")
	col.env = []string{"CLOUDFLARE_API_TOKEN=sim-token", "OTLP_ENDPOINT=http://" + ln.Addr().String(), "GOMEMLIMIT=230MiB"}
	col.begin(t)

	waitFor(t, 3*time.Minute, "a login the simulator held back, in records.jsonl after a newer one (found by a sweep)", func() bool {
		col.requireRunning(t)
		return lateLogins(t, records) > 0
	})

	req, err := http.NewRequest(http.MethodGet, "http://"+metricsAddr+"/metrics", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", prometheusAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping the collector: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping the collector: HTTP %d, %v", resp.StatusCode, err)
	}
	contentType := resp.Header.Get("Content-Type")
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatalf("Prometheus's parser refuses the collector's %q: %v", contentType, err)
	}
	scraped := map[string]map[string]map[string]struct{}{} // metric -> label -> values
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parsing the scrape (%s): %v", contentType, err)
		}
		if entry != textparse.EntrySeries && entry != textparse.EntryHistogram {
			continue
		}
		var lset labels.Labels
		p.Labels(&lset)
		name := lset.Get(labels.MetricName)
		if scraped[name] == nil {
			scraped[name] = map[string]map[string]struct{}{}
		}
		lset.Range(func(l labels.Label) {
			if l.Name == labels.MetricName {
				return
			}
			if scraped[name][l.Name] == nil {
				scraped[name][l.Name] = map[string]struct{}{}
			}
			scraped[name][l.Name][l.Value] = struct{}{}
		})
	}
	t.Logf("scraped %d metrics (%s) after %d late login(s) were swept", len(scraped), contentType, lateLogins(t, records))
	return scraped
}

// lateLogins counts the logins of records.jsonl (the file exporter's OTLP/JSON
// lines) that came after a newer login of the same account.
func lateLogins(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	type attribute struct {
		Key   string
		Value struct{ StringValue string }
	}
	var line struct {
		ResourceLogs []struct {
			Resource  struct{ Attributes []attribute }
			ScopeLogs []struct {
				LogRecords []struct {
					TimeUnixNano string
					EventName    string
				}
			}
		}
	}
	newest := map[string]int64{}
	late := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line.ResourceLogs = nil
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue // a line being written
		}
		for _, rl := range line.ResourceLogs {
			var account string
			for _, a := range rl.Resource.Attributes {
				if a.Key == "cloud.account.id" {
					account = a.Value.StringValue
				}
			}
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					if lr.EventName != "cloudflare.user.login" {
						continue
					}
					when, _ := strconv.ParseInt(lr.TimeUnixNano, 10, 64)
					if when < newest[account] {
						late++
					} else {
						newest[account] = when
					}
				}
			}
		}
	}
	return late
}

// process is a subprocess killed when the test ends.
type process struct {
	name, bin string
	args, env []string
	log       string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error
}

// newProcess describes a run of bin in dir, logging to dir/name.log; begin
// starts it.
func newProcess(dir, name, bin string, args ...string) *process {
	return &process{name: name, bin: bin, args: args, log: filepath.Join(dir, name+".log")}
}

func (p *process) begin(t *testing.T) {
	t.Helper()
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Dir = filepath.Dir(p.log)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting %s: %v", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			t.Logf("the end of the %s's log:\n%s", p.name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
}

func (p *process) requireRunning(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("the %s exited: %v", p.name, p.err)
	default:
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
