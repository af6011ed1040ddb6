//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// The lease settings of config/kubernetes-ha.yaml, which bound the takeover.
const (
	haLeaseDuration = 15 * time.Second
	haRetryPeriod   = 2 * time.Second
)

// haCluster is config/kubernetes-ha.yaml run as Kubernetes runs it, on one
// machine: replicas of the built collector at the same time, each with the
// real k8s_leader_elector (client-go's leader election over HTTP to a
// Kubernetes API serving Leases) and redis_storage on a real redis-server,
// polling the simulator and exporting to an OTLP/HTTP sink.
type haCluster struct {
	t          *testing.T
	sim        *cloudflaresim.Server
	snk        *sink
	leases     *leaseServer
	redis      *redisServer // with persistence, as the config asks
	redisAddr  string
	kubeconfig string
	want       []cloudflaresim.LoginEvent
	health     map[string]string // each replica's healthcheckv2 address, by name
}

func newHACluster(t *testing.T, logins, members int) *haCluster {
	sim := simtest.Start(t, cloudflaresim.Config{Seed: 23, Accounts: 1, MembersPerAccount: members,
		LoginsPerAccount: logins, LoginSpan: 23 * time.Hour})
	// Slow pages: the backfill lasts long enough to be interrupted.
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultSlow, Endpoint: cloudflaresim.EndpointAuditLogs,
		Count: -1, Delay: 100 * time.Millisecond})
	leases := startLeaseServer(t)
	redis := startRedisServer(t, true)
	c := &haCluster{t: t, sim: sim, snk: startSink(t), leases: leases, redis: redis, redisAddr: redis.addr,
		kubeconfig: leases.kubeconfig(t), want: sim.Logins(sim.Accounts()[0].ID), health: map[string]string{}}
	c.snk.delay.Store(int64(200 * time.Millisecond))
	return c
}

// start runs a replica named as its pod would be. The config is the shipped
// file; the overrides only point it at this machine: the simulator, the
// test's API server through a kubeconfig instead of the pod's service
// account, a Redis without TLS, and ports of its own.
func (c *haCluster) start(name string) *collector {
	config, err := filepath.Abs(filepath.Join(repoRoot, "config", "kubernetes-ha.yaml"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.health[name] = freeAddr(c.t)
	args := []string{"--config", config,
		"--set=receivers::cloudflare_identity::endpoint=" + c.sim.URL(),
		"--set=extensions::k8s_leader_elector::auth_type=kubeConfig",
		// A Redis without TLS: the shipped tls block names the CA file of a mounted Secret.
		"--set=extensions::redis_storage::tls::ca_file=",
		"--set=extensions::redis_storage::tls::insecure=true",
		"--set=extensions::healthcheckv2::http::endpoint=" + c.health[name],
		"--set=service::telemetry::metrics::level=none",
	}
	env := []string{"CLOUDFLARE_API_TOKEN=" + simtest.Token, "OTLP_ENDPOINT=" + c.snk.url,
		"REDIS_ENDPOINT=" + c.redisAddr, "REDIS_PASSWORD=", "POD_NAME=" + name, "POD_NAMESPACE=default",
		"KUBECONFIG=" + c.kubeconfig}
	return startCollectorIn(c.t, name, c.t.TempDir(), env, args...)
}

// leading reports whether a replica has logged that it leads.
func leading(c *collector) bool {
	return strings.Contains(c.log(), "Leading: polling starts")
}

// waitForLeader waits until one of two replicas leads and returns it first.
func (c *haCluster) waitForLeader(a, b *collector) (leader, standby *collector) {
	waitFor(c.t, a, 60*time.Second, func() string { return "a replica to lead" },
		func() bool { b.requireRunning(); return leading(a) || leading(b) })
	if leading(b) {
		a, b = b, a
	}
	if leading(b) {
		c.t.Fatalf("both %s and %s lead at once", a.name, b.name)
	}
	return a, b
}

// uniqueLogins counts the distinct logins the backend has.
func (c *haCluster) uniqueLogins() int {
	_, unique := c.snk.loginCounts()
	return unique
}

// waitForLogins waits until the backend has n distinct logins.
func (c *haCluster) waitForLogins(col *collector, n int, timeout time.Duration) {
	waitFor(c.t, col, timeout, func() string {
		total, unique := c.snk.loginCounts()
		return fmt.Sprintf("%d distinct logins at the backend (have %d records, %d distinct)", n, total, unique)
	}, func() bool { return c.uniqueLogins() >= n })
}

// checkDelivered checks that every login and member reached the backend and
// that no login arrived more than allowedTwice times beyond once.
func (c *haCluster) checkDelivered(members, allowedTwice int) {
	total, unique := c.snk.loginCounts()
	if unique != len(c.want) {
		c.t.Errorf("%d distinct logins reached the backend, want %d", unique, len(c.want))
	}
	if total-unique > allowedTwice {
		c.t.Errorf("%d logins arrived twice, want at most %d (the page in flight at each handover)", total-unique, allowedTwice)
	}
	c.t.Logf("logins: %d records, %d distinct of %d, %d twice", total, unique, len(c.want), total-unique)
	memberIDs := map[string]bool{}
	for _, r := range c.snk.snapshot() {
		if r.EventName == "cloudflare.account.member" {
			memberIDs[r.str("cloudflare.member.id")] = true
		}
	}
	if len(memberIDs) != members {
		c.t.Errorf("%d distinct members in inventory records, want %d", len(memberIDs), members)
	}
}

// storedHighWater reads the login checkpoint's high-water mark from Redis.
func (c *haCluster) storedHighWater() time.Time {
	keys := redisCommand(c.t, c.redisAddr, "KEYS", "*logins."+c.sim.Accounts()[0].ID)
	if len(keys) != 1 {
		c.t.Fatalf("login checkpoint keys in Redis: %q, want one", keys)
	}
	value := redisCommand(c.t, c.redisAddr, "GET", keys[0])
	var cursor struct {
		HighWater time.Time `json:"high_water"`
	}
	if len(value) != 1 || json.Unmarshal([]byte(value[0]), &cursor) != nil {
		c.t.Fatalf("login checkpoint in Redis: %q", value)
	}
	return cursor.HighWater
}

// newestLogin is the time of the newest login in the simulator.
func (c *haCluster) newestLogin() time.Time {
	var newest time.Time
	for _, e := range c.want {
		if e.When.After(newest) {
			newest = e.When
		}
	}
	return newest
}

// TestHAFailover runs two replicas of config/kubernetes-ha.yaml at once and
// takes the leader away mid-backfill, while the backend is down or by
// freezing it past its lease: every login and member reaches the backend,
// at most the page in flight twice, and the checkpoint never moves back.
func TestHAFailover(t *testing.T) {
	const logins, members, pageSize = 20000, 40, 1000 // the shipped page size
	t.Run("leader SIGKILLed while the backend is down", func(t *testing.T) {
		c := newHACluster(t, logins, members)
		a, b := c.start("otelcol-cloudflare-a"), c.start("otelcol-cloudflare-b")
		leader, standby := c.waitForLeader(a, b)
		c.waitForLogins(leader, logins/4, 90*time.Second)
		c.snk.down.Store(true)
		time.Sleep(3 * time.Second) // the leader's exporter retries; the receiver waits for its result
		delivered := c.uniqueLogins()
		verifies := c.sim.Stats().Requests[cloudflaresim.EndpointUserTokenVerify]
		leader.kill()
		killed := time.Now()
		t.Logf("SIGKILL of %s with the backend down, %d of %d logins delivered", leader.name, delivered, logins)
		if delivered >= logins {
			t.Fatal("the backfill finished before the kill")
		}

		// A new leader checks the token first: its first request.
		waitFor(t, standby, 60*time.Second, func() string { return standby.name + " to take over" }, func() bool {
			return c.sim.Stats().Requests[cloudflaresim.EndpointUserTokenVerify] > verifies
		})
		gap := time.Since(killed)
		limit := haLeaseDuration + 22*haRetryPeriod/10
		t.Logf("takeover: %s from the kill to %s's first request (lease_duration + 2.2 x retry_period = %s)",
			gap.Round(100*time.Millisecond), standby.name, limit)
		if gap > limit+5*time.Second { // the leader renewed at most retry_period before the kill; 5 s for a loaded machine
			t.Errorf("takeover took %s, want at most %s", gap, limit)
		}
		time.Sleep(2 * time.Second)
		c.snk.down.Store(false)
		c.waitForLogins(standby, logins, 180*time.Second)
		time.Sleep(time.Second) // a straggler
		c.checkDelivered(members, pageSize)
		if hw := c.storedHighWater(); !hw.Equal(c.newestLogin()) {
			t.Errorf("stored high_water %s, want the newest login's time %s", hw, c.newestLogin())
		}
	})

	t.Run("leader frozen past its lease, then resumed", func(t *testing.T) {
		c := newHACluster(t, logins, members)
		a, b := c.start("otelcol-cloudflare-a"), c.start("otelcol-cloudflare-b")
		leader, standby := c.waitForLeader(a, b)
		c.waitForLogins(leader, logins/4, 90*time.Second)
		if err := leader.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Logf("SIGSTOP of %s with %d of %d logins delivered", leader.name, c.uniqueLogins(), logins)
		waitFor(t, standby, 60*time.Second, func() string { return standby.name + " to take over" },
			func() bool { return leading(standby) })
		c.waitForLogins(standby, logins, 180*time.Second)
		time.Sleep(time.Second)
		before, _ := c.snk.loginCounts()
		if err := leader.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		waitFor(t, leader, 30*time.Second, func() string { return leader.name + " to notice it no longer leads" }, func() bool {
			log := leader.log()
			return strings.Contains(log, "Another replica leads now") || strings.Contains(log, "Lost leadership")
		})
		time.Sleep(3 * time.Second) // what it might still send
		after, _ := c.snk.loginCounts()
		if after != before {
			t.Errorf("the resumed old leader emitted %d login records after it was replaced", after-before)
		}
		c.checkDelivered(members, pageSize)
		if hw := c.storedHighWater(); !hw.Equal(c.newestLogin()) {
			t.Errorf("stored high_water %s after the old leader resumed, want the newest login's time %s (moved back?)",
				hw, c.newestLogin())
		}
		t.Logf("lease writes refused with 409 Conflict (created twice, or a stale resourceVersion): %d", c.leases.refused())
	})

	t.Run("Redis restarted, then down for a minute", func(t *testing.T) {
		c := newHACluster(t, logins, members)
		a, b := c.start("otelcol-cloudflare-a"), c.start("otelcol-cloudflare-b")
		leader, _ := c.waitForLeader(a, b)
		c.waitForLogins(leader, logins/4, 90*time.Second)
		c.redis.stop()
		c.redis.start() // from its append-only file
		t.Logf("Redis restarted with %d of %d logins delivered", c.uniqueLogins(), logins)

		c.waitForLogins(leader, logins/2, 180*time.Second)
		c.redis.stop()
		down := time.Now()
		t.Logf("Redis down with %d of %d logins delivered", c.uniqueLogins(), logins)
		// The poll fails at its next page; /status turns once recovery_duration (30s) has passed.
		var code int
		waitFor(t, leader, 90*time.Second, func() string { return fmt.Sprintf("%s's /status to answer 500 (last: %d)", leader.name, code) },
			func() bool { code, _, _ = receiverHealth(c.health[leader.name]); return code == 500 })
		t.Logf("/status of %s answered 500 %s after Redis went down", leader.name, time.Since(down).Round(100*time.Millisecond))
		if elapsed := time.Since(down); elapsed > 60*time.Second {
			t.Errorf("the outage showed on /status after %s, want within a logins poll (1m)", elapsed)
		}
		stalled := c.uniqueLogins()
		time.Sleep(time.Until(down.Add(time.Minute)))
		if got := c.uniqueLogins(); got != stalled {
			t.Errorf("%d logins delivered while Redis was down, whose checkpoints could not be stored", got-stalled)
		}
		c.redis.start()
		c.waitForLogins(leader, logins, 180*time.Second)
		time.Sleep(time.Second)
		c.checkDelivered(members, 2*pageSize) // the page in flight when Redis went away, each time
		if hw := c.storedHighWater(); !hw.Equal(c.newestLogin()) {
			t.Errorf("stored high_water %s, want the newest login's time %s", hw, c.newestLogin())
		}
		if !leading(leader) || leading(c.other(leader, a, b)) {
			t.Errorf("the lease moved during the Redis outage")
		}
	})
}

// other returns the one of a and b that is not c.
func (c *haCluster) other(col, a, b *collector) *collector {
	if col == a {
		return b
	}
	return a
}

// redisCommand sends one command to the Redis at addr and returns its reply:
// a bulk string as one element, an array of bulk strings as its elements,
// nil for a null reply.
func redisCommand(t *testing.T, addr string, args ...string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatalf("redis: %v", err)
	}
	r := bufio.NewReader(conn)
	readLine := func() string {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		return strings.TrimSuffix(line, "\r\n")
	}
	readBulk := func(header string) (string, bool) {
		n, err := strconv.Atoi(header[1:])
		if err != nil || header[0] != '$' {
			t.Fatalf("redis: unexpected reply %q", header)
		}
		if n < 0 {
			return "", false
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("redis: %v", err)
		}
		return string(buf[:n]), true
	}
	header := readLine()
	switch header[0] {
	case '$':
		if value, ok := readBulk(header); ok {
			return []string{value}
		}
		return nil
	case '*':
		n, _ := strconv.Atoi(header[1:])
		out := make([]string, 0, n)
		for range n {
			value, _ := readBulk(readLine())
			out = append(out, value)
		}
		return out
	default:
		t.Fatalf("redis %v: %q", args, header)
		return nil
	}
}
