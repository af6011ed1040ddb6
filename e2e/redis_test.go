//go:build e2e

package e2e

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startRedis runs Debian's redis-server on a free loopback port, without
// persistence, until the test ends, and returns its address. A missing
// redis-server fails the test: .ci/run installs it.
func startRedis(t *testing.T) string {
	return startRedisServer(t, false).addr
}

// redisServer is a redis-server the test can stop and start again on the
// same address and directory.
type redisServer struct {
	t       *testing.T
	addr    string
	dir     string
	persist bool // append-only file, fsync'd on every write
	cmd     *exec.Cmd
	exited  chan error
}

// startRedisServer runs a redis-server on a free loopback port until the
// test ends; with persist it keeps its data in an append-only file, as
// config/kubernetes-ha.yaml asks of the Redis it uses.
func startRedisServer(t *testing.T, persist bool) *redisServer {
	t.Helper()
	r := &redisServer{t: t, addr: freeAddr(t), dir: t.TempDir(), persist: persist}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start runs the server and waits until it answers.
func (r *redisServer) start() {
	r.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		r.t.Fatalf("redis-server is not installed (apt-get install redis-server; .ci/run installs it): %v", err)
	}
	host, port, _ := net.SplitHostPort(r.addr)
	appendOnly := "no"
	if r.persist {
		appendOnly = "yes"
	}
	r.cmd = exec.Command(bin, "--bind", host, "--port", port, "--save", "", "--appendonly", appendOnly,
		"--appendfsync", "always", "--dir", r.dir, "--logfile", "")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	exited := make(chan error, 1)
	r.exited = exited
	go func() { exited <- r.cmd.Wait() }()
	waitFor(r.t, nil, 10*time.Second, func() string { return "redis-server on " + r.addr + " to answer PING" },
		func() bool {
			select {
			case err := <-exited:
				r.t.Fatalf("redis-server exited: %v", err)
			default:
			}
			return redisPing(r.addr)
		})
}

// stop shuts the server down (SIGTERM: it writes its data first) and waits.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
	}
	r.cmd = nil
}

// redisPing reports whether the Redis at addr answers PING.
func redisPing(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.TrimSpace(reply) == "+PONG"
}
