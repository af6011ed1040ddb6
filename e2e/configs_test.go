//go:build e2e

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
// lines by default (service::telemetry::logs::disable_stacktrace).
func TestShippedConfigsLogOneLineErrors(t *testing.T) {
	configs, err := filepath.Glob(filepath.Join(repoRoot, "config", "*.yaml"))
	if err != nil || len(configs) == 0 {
		t.Fatalf("no config/*.yaml found (err=%v)", err)
	}
	for _, config := range configs {
		t.Run(filepath.Base(config), func(t *testing.T) {
			abs, err := filepath.Abs(config)
			if err != nil {
				t.Fatal(err)
			}
			if siemGatewayConfig(t, abs) {
				t.Skip("a config of the SIEM gateway (otelcol-cloudflare-siem), run by TestSplunkHEC and make validate-configs")
			}
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
