//go:build e2e

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// logLineStart is how every line the collector logs in its console encoding
// begins; a Go stack trace appended to an ERROR line does not.
var logLineStart = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`)

// redisClientLine is a line of the Redis client of redis_storage, which logs
// on its own (e.g. "auto mode fallback" with a Redis older than 8), not
// through the collector.
var redisClientLine = regexp.MustCompile(`^redis: \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} `)

// TestShippedConfigsLogOneLineErrors runs the collector on each config/*.yaml
// with a token the simulator refuses, and checks that the ERROR it logs is one
// line: the configs turn off the stack traces the collector appends to ERROR
// lines by default (service::telemetry::logs::disable_stacktrace). It also
// checks that each serves the collector's metrics for Prometheus on port 8888
// (service::telemetry::metrics; moved to a free port here), the receiver's
// among them, and that its host is the one documented: 127.0.0.1, or 0.0.0.0
// for the Kubernetes configs, whose pods are scraped at their IP.
func TestShippedConfigsLogOneLineErrors(t *testing.T) {
	configs, err := filepath.Glob(filepath.Join(repoRoot, "config", "*.yaml"))
	if err != nil || len(configs) == 0 {
		t.Fatalf("no config/*.yaml found (err=%v)", err)
	}
	for _, config := range configs {
		t.Run(filepath.Base(config), func(t *testing.T) {
			if siemGatewayConfig(t, config) {
				t.Skip("a config of the SIEM gateway (otelcol-cloudflare-siem), run by TestSplunkHEC and make validate-configs")
			}
			abs, metricsAddr := withMetricsPort(t, config)
			sim := simtest.Start(t, cloudflaresim.Config{Seed: 5, Accounts: 1, MembersPerAccount: 2, LoginsPerAccount: 2})
			env := []string{"OTLP_ENDPOINT=http://" + freeAddr(t), "KAFKA_BROKERS=" + freeAddr(t)}
			args := []string{"--config", abs,
				"--set=receivers::cloudflare_identity::endpoint=" + sim.URL(),
				"--set=receivers::cloudflare_identity::api_token=not-the-simulator-token",
				"--set=extensions::healthcheckv2::http::endpoint=" + freeAddr(t)}
			switch filepath.Base(config) {
			case "kubernetes-ha.yaml":
				env, args = append(env, outsideKubernetesEnv(t)...), append(args, outsideKubernetesArgs...)
			case "kubernetes-single.yaml": // the volume's absolute path
				args = append(args, "--set=extensions::file_storage::directory="+t.TempDir())
			}
			col := startCollectorIn(t, "collector", t.TempDir(), env, args...) // relative storage paths land in a temporary directory
			waitFor(t, col, 30*time.Second, func() string { return "an ERROR line about the refused token" },
				func() bool { return strings.Contains(col.log(), "\terror\t") })
			// The refused calls are counted by the receiver's own metrics.
			if body := httpGet(t, "http://"+metricsAddr+"/metrics"); !strings.Contains(body, `otelcol_receiver_cloudflare_api_requests{`) {
				t.Errorf("the metrics of the config's Prometheus reader (moved to %s) have no otelcol_receiver_cloudflare_api_requests:\n%.1500s",
					metricsAddr, body)
			}
			if err := col.stop(15 * time.Second); err != nil {
				t.Errorf("graceful shutdown: %v", err)
			}
			var others []string
			for _, line := range strings.Split(strings.TrimRight(col.log(), "\n"), "\n") {
				if !logLineStart.MatchString(line) && !redisClientLine.MatchString(line) {
					others = append(others, line)
				}
			}
			if len(others) > 0 {
				t.Errorf("%d lines of the collector's output are not log lines (a stack trace?), e.g.:\n%s",
					len(others), strings.Join(others[:min(6, len(others))], "\n"))
			}
		})
	}
}

// outsideKubernetesArgs run config/kubernetes-ha.yaml where there is no
// Kubernetes API: without its leader elector (the receiver then polls at
// once), on a Redis without TLS (so without the mounted CA file).
var outsideKubernetesArgs = []string{
	"--set=receivers::cloudflare_identity::k8s_leader_elector=null",
	"--set=service::extensions=[redis_storage, healthcheckv2]",
	"--set=extensions::redis_storage::tls::ca_file=",
	"--set=extensions::redis_storage::tls::insecure=true",
}

// outsideKubernetesEnv starts the Redis of config/kubernetes-ha.yaml and
// returns the environment the config reads, as the Deployment sets it.
func outsideKubernetesEnv(t *testing.T) []string {
	return []string{"REDIS_ENDPOINT=" + startRedis(t), "REDIS_PASSWORD=", "POD_NAME=otelcol-cloudflare-0", "POD_NAMESPACE=default"}
}

// withMetricsPort checks that the config's service::telemetry::metrics has a
// Prometheus pull reader on port 8888 with the documented host, and returns a
// copy of the config (in a temporary directory) with that port moved to a free
// one, and the address to scrape it at.
func withMetricsPort(t *testing.T, config string) (path, metricsAddr string) {
	t.Helper()
	raw, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Service struct {
			Telemetry struct {
				Metrics struct {
					Readers []struct {
						Pull struct {
							Exporter struct {
								Prometheus *struct {
									Host string `yaml:"host"`
									Port int    `yaml:"port"`
								} `yaml:"prometheus"`
							} `yaml:"exporter"`
						} `yaml:"pull"`
					} `yaml:"readers"`
				} `yaml:"metrics"`
			} `yaml:"telemetry"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	wantHost := "127.0.0.1"
	if strings.HasPrefix(filepath.Base(config), "kubernetes-") {
		wantHost = "0.0.0.0"
	}
	readers := parsed.Service.Telemetry.Metrics.Readers
	if len(readers) != 1 || readers[0].Pull.Exporter.Prometheus == nil {
		t.Fatalf("%s: service::telemetry::metrics::readers is not one Prometheus pull reader (%d readers)", config, len(readers))
	}
	if p := readers[0].Pull.Exporter.Prometheus; p.Host != wantHost || p.Port != 8888 {
		t.Fatalf("%s: the Prometheus reader listens on %s:%d, want %s:8888", config, p.Host, p.Port, wantHost)
	}
	if n := strings.Count(string(raw), "port: 8888"); n != 1 {
		t.Fatalf("%s: %d lines \"port: 8888\", want the reader's only", config, n)
	}
	metricsAddr = freeAddr(t)
	_, port, _ := net.SplitHostPort(metricsAddr)
	path = filepath.Join(t.TempDir(), filepath.Base(config))
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), "port: 8888", "port: "+port, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, metricsAddr
}
