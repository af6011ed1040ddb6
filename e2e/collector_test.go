//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

const (
	eventLogin       = "cloudflare.user.login"
	eventAccessLogin = "cloudflare.access.login"
	eventMember      = "cloudflare.account.member"
	eventAccessUser  = "cloudflare.access.user"
	scopeName        = "github.com/otel-cloudflare/cloudflareidentityreceiver"
)

// TestDataModel runs the collector on a small tenant and checks that users and
// logins arrive over OTLP/HTTP in the shape the spec promises, from each
// login source.
func TestDataModel(t *testing.T) {
	for _, source := range []string{"audit_logs", "audit_logs_v2"} {
		t.Run(source, func(t *testing.T) { testDataModel(t, source) })
	}
}

func testDataModel(t *testing.T, source string) {
	const accounts, members, logins = 2, 4, 30
	sim := simtest.Start(t, cloudflaresim.Config{
		Seed: 7, Accounts: accounts, MembersPerAccount: members, LoginsPerAccount: logins,
		LoginSpan: 23 * time.Hour, FailureRatio: 0.3,
	})
	snk := startSink(t)
	params := newCollectorParams(t, sim, snk)
	params.Source = source
	col := startCollector(t, "collector", writeConfig(t, params))

	want := wantedLogins(sim, source)
	waitFor(t, col, 30*time.Second, func() string {
		total, unique := snk.loginCounts()
		return fmt.Sprintf("%d logins and %d member records (have %d login records, %d unique; %d member records)",
			len(want), accounts*members, total, unique, countEvent(snk.snapshot(), eventMember))
	}, func() bool {
		_, unique := snk.loginCounts()
		return unique >= len(want) && countEvent(snk.snapshot(), eventMember) >= accounts*members
	})

	accountIDs := map[string]bool{}
	for _, a := range sim.Accounts() {
		accountIDs[a.ID] = true
	}
	var successes, failures int
	for _, r := range snk.snapshot() {
		// Resource, scope, schema: the same for every record.
		if r.Resource["cloud.provider"] != "cloudflare" {
			t.Errorf("%s: resource cloud.provider = %v, want cloudflare", r.EventName, r.Resource["cloud.provider"])
		}
		accountID, _ := r.Resource["cloud.account.id"].(string)
		if !accountIDs[accountID] {
			t.Errorf("%s: resource cloud.account.id = %q, not one of the simulator's accounts", r.EventName, accountID)
		}
		if name, _ := r.Resource["cloudflare.account.name"].(string); name == "" {
			t.Errorf("%s: resource cloudflare.account.name is missing", r.EventName)
		}
		if r.Scope != scopeName {
			t.Errorf("%s: scope name %q, want %q", r.EventName, r.Scope, scopeName)
		}
		if !strings.HasSuffix(r.SchemaURL, "/1.43.0") {
			t.Errorf("%s: schema URL %q, want semconv 1.43.0", r.EventName, r.SchemaURL)
		}
		if r.BodyType != pcommon.ValueTypeMap || len(r.Body) == 0 {
			t.Errorf("%s: body type %s (%d keys), want a non-empty map", r.EventName, r.BodyType, len(r.Body))
		}
		if _, ok := r.Attrs["event.name"]; ok {
			t.Errorf("%s: has a deprecated event.name attribute; EventName must be used", r.EventName)
		}
		if r.Timestamp.IsZero() || r.Observed.IsZero() {
			t.Errorf("%s: Timestamp %v / ObservedTimestamp %v must be set", r.EventName, r.Timestamp, r.Observed)
		}

		switch r.EventName {
		case eventLogin:
			uid := r.str("log.record.uid")
			exp, ok := want[uid]
			if !ok {
				t.Errorf("login record with log.record.uid %q that the simulator never served", uid)
				continue
			}
			if exp.account != accountID {
				t.Errorf("login %s arrived under account %s, want %s", uid, accountID, exp.account)
			}
			if r.Body["id"] != uid {
				t.Errorf("login %s: Body.id = %v, want the audit id", uid, r.Body["id"])
			}
			if !r.Timestamp.Equal(exp.event.When) {
				t.Errorf("login %s: Timestamp %v, want the entry's when %v", uid, r.Timestamp, exp.event.When)
			}
			checkAttr(t, r, "cloudflare.audit.action.type", "login")
			checkAttr(t, r, "user.id", exp.event.ActorID)
			checkAttr(t, r, "user.email", exp.event.ActorEmail)
			checkAttr(t, r, "client.address", exp.event.ActorIP)
			if source == "audit_logs_v2" {
				// v2 names its fields apart: actor.context, raw.cf_ray_id, action.time.
				if r.str("cloudflare.ray_id") == "" {
					t.Errorf("v2 login %s: cloudflare.ray_id is missing (attributes: %v)", uid, r.Attrs)
				}
				if ctx := r.str("cloudflare.audit.interface"); ctx != "dash" && ctx != "api_token" {
					t.Errorf("v2 login %s: cloudflare.audit.interface = %q, want actor.context (dash or api_token)", uid, ctx)
				}
				if action, _ := r.Body["action"].(map[string]any); action == nil || action["time"] == nil {
					t.Errorf("v2 login %s: Body.action.time missing; the Body must be the v2 entry as sent: %v", uid, r.Body)
				}
			} else if _, ok := r.Attrs["cloudflare.ray_id"]; ok {
				t.Errorf("v1 login %s has cloudflare.ray_id, which v1 does not send", uid)
			}
			if exp.event.Success {
				successes++
				if r.Severity != plog.SeverityNumberInfo {
					t.Errorf("successful login %s: severity %d, want INFO (9)", uid, r.Severity)
				}
				checkAttr(t, r, "cloudflare.audit.action.result", "success")
				if _, ok := r.Attrs["error.type"]; ok {
					t.Errorf("successful login %s has error.type", uid)
				}
			} else {
				failures++
				if r.Severity != plog.SeverityNumberWarn {
					t.Errorf("failed login %s: severity %d, want WARN (13)", uid, r.Severity)
				}
				checkAttr(t, r, "cloudflare.audit.action.result", "failure")
				checkAttr(t, r, "error.type", "login_failed")
			}
		case eventMember:
			if r.Severity != plog.SeverityNumberInfo {
				t.Errorf("member record: severity %d, want INFO (9)", r.Severity)
			}
			for _, key := range []string{"user.id", "user.email", "cloudflare.member.id", "cloudflare.member.status"} {
				if r.str(key) == "" {
					t.Errorf("member record: attribute %s is missing (attributes: %v)", key, r.Attrs)
				}
			}
			if _, ok := r.Attrs["user.roles"].([]any); !ok {
				t.Errorf("member record: user.roles = %#v, want a string array", r.Attrs["user.roles"])
			}
			if _, ok := r.Attrs["cloudflare.user.two_factor_authentication_enabled"].(bool); !ok {
				t.Errorf("member record: cloudflare.user.two_factor_authentication_enabled = %#v, want a bool",
					r.Attrs["cloudflare.user.two_factor_authentication_enabled"])
			}
		default:
			t.Errorf("unexpected EventName %q on the first run of a fresh state (want %s or %s)", r.EventName, eventLogin, eventMember)
		}
	}
	if successes == 0 || failures == 0 {
		t.Errorf("want both successful and failed logins, got %d and %d", successes, failures)
	}
	t.Logf("received %d successful and %d failed logins, %d member records", successes, failures, countEvent(snk.snapshot(), eventMember))

	// The token must not appear in the collector's own log.
	if strings.Contains(col.log(), params.Token) {
		t.Errorf("the collector log contains the API token %q", params.Token)
	}
	if err := col.stop(15 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// crashStream is a stream whose backfill TestCrashSafety interrupts.
type crashStream struct {
	name      string
	eventName string
	endpoint  cloudflaresim.Endpoint // the endpoint slowed down
	// seed fills a simulator config with perAccount entries for every account.
	seed      func(cfg *cloudflaresim.Config, perAccount int)
	configure func(p *collectorParams)
	// want is the log.record.uid of every entry of the simulator.
	want func(sim *cloudflaresim.Server) map[string]bool
}

var crashStreams = []crashStream{
	{
		name: "logins", eventName: eventLogin, endpoint: cloudflaresim.EndpointAuditLogs,
		seed:      func(cfg *cloudflaresim.Config, perAccount int) { cfg.LoginsPerAccount = perAccount },
		configure: func(*collectorParams) {},
		want: func(sim *cloudflaresim.Server) map[string]bool {
			want := map[string]bool{}
			for uid := range wantedLogins(sim, "audit_logs") {
				want[uid] = true
			}
			return want
		},
	},
	{
		name: "access_logins", eventName: eventAccessLogin, endpoint: cloudflaresim.EndpointAccessRequests,
		seed: func(cfg *cloudflaresim.Config, perAccount int) {
			cfg.AccessUsersPerAccount, cfg.AccessRequestsPerAccount = 20, perAccount
		},
		configure: func(p *collectorParams) { p.AccessLogins = true },
		want:      wantedAccessLogins,
	},
}

// TestCrashSafety SIGKILLs the collector in the middle of a long backfill of
// a login stream, restarts it on the same file_storage, and checks that every
// login arrives and that duplicates stay within the one batch in flight.
func TestCrashSafety(t *testing.T) {
	for _, stream := range crashStreams {
		t.Run(stream.name, func(t *testing.T) { crashMidBackfill(t, stream, func(*collectorParams) {}) })
	}
}

// TestFailoverOnRedis is the checkpoint handover through a real Redis: two
// collector processes of the test's config (no leader elector, no exporter
// queue) keep their checkpoints in redis_storage; the first is SIGKILLed
// part-way through a backfill, the second, started then, finishes it from the
// checkpoint in Redis. TestHAFailover runs the shipped config/kubernetes-ha.yaml
// with two replicas at once and the real leader elector.
func TestFailoverOnRedis(t *testing.T) {
	redisAddr := startRedis(t)
	crashMidBackfill(t, crashStreams[0], func(p *collectorParams) { p.RedisAddr = redisAddr })
}

// crashMidBackfill runs a long backfill of stream on the collector of the
// config that params (after with) describe, SIGKILLs it part-way, runs a
// second collector on the same config, and checks that every entry arrives
// and that duplicates stay within the one batch in flight.
func crashMidBackfill(t *testing.T, stream crashStream, with func(*collectorParams)) {
	const accounts, loginsPerAccount, pageSize = 2, 20000, 500
	simCfg := cloudflaresim.Config{
		Seed: 11, Accounts: accounts, MembersPerAccount: 5,
		// Inside the receiver's 24h initial_lookback even when the restart comes a minute later.
		LoginSpan: 23 * time.Hour,
	}
	stream.seed(&simCfg, loginsPerAccount)
	sim := simtest.Start(t, simCfg)
	// Slow every page down, and the sink's acknowledgements too, so the
	// 80-page backfill takes several seconds and the kill most likely strikes
	// while a page is delivered but not acknowledged (so not checkpointed).
	sim.InjectFault(cloudflaresim.Fault{Kind: cloudflaresim.FaultSlow, Endpoint: stream.endpoint,
		Count: -1, Delay: 50 * time.Millisecond})
	snk := startSink(t)
	snk.delay.Store(int64(100 * time.Millisecond))
	params := newCollectorParams(t, sim, snk)
	params.PageSize = pageSize
	stream.configure(&params)
	with(&params)
	config := writeConfig(t, params)
	want := stream.want(sim)
	if len(want) != accounts*loginsPerAccount {
		t.Fatalf("the simulator holds %d logins, want %d", len(want), accounts*loginsPerAccount)
	}
	counts := func() (total, unique int) { return snk.eventCounts(stream.eventName) }

	first := startCollector(t, "collector-1", config)
	started := time.Now()
	waitFor(t, first, 60*time.Second, func() string {
		total, unique := counts()
		return fmt.Sprintf("a quarter of the backfill (have %d login records, %d unique)", total, unique)
	}, func() bool {
		_, unique := counts()
		return unique >= len(want)/4
	})
	first.kill() // SIGKILL: no shutdown, no final checkpoint write
	totalAtKill, uniqueAtKill := counts()
	t.Logf("SIGKILL after %s with %d login records received (%d unique of %d)",
		time.Since(started).Round(time.Millisecond), totalAtKill, uniqueAtKill, len(want))
	if uniqueAtKill >= len(want) {
		t.Fatalf("the backfill finished before the kill (%d of %d): the test did not crash it mid-way", uniqueAtKill, len(want))
	}
	if !strings.Contains(first.err.Error(), "killed") {
		t.Fatalf("collector-1 exit: %v, want killed", first.err)
	}

	second := startCollector(t, "collector-2", config)
	restarted := time.Now()
	waitFor(t, second, 90*time.Second, func() string {
		total, unique := counts()
		return fmt.Sprintf("all %d logins after the restart (have %d login records, %d unique)", len(want), total, unique)
	}, func() bool {
		_, unique := counts()
		return unique >= len(want)
	})
	t.Logf("backfill completed %s after the restart", time.Since(restarted).Round(time.Millisecond))

	// Let a possible straggler arrive before counting duplicates.
	time.Sleep(500 * time.Millisecond)
	perUID := map[string]int{}
	for _, r := range snk.snapshot() {
		if r.EventName == stream.eventName {
			perUID[r.str("log.record.uid")]++
		}
	}
	var missing []string
	for uid := range want {
		if perUID[uid] == 0 {
			missing = append(missing, uid)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d seeded logins never arrived, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	total, unique := 0, 0
	for uid, n := range perUID {
		if !want[uid] {
			t.Errorf("login %s arrived but was never seeded", uid)
		}
		total += n
		unique++
	}
	dups := total - unique
	t.Logf("login records: %d total, %d unique, %d duplicates (limit: one page of %d)", total, unique, dups, pageSize)
	// The receiver polls accounts one after the other, so one page is in flight at a time.
	if dups > pageSize {
		t.Errorf("%d duplicate login records after one crash, want at most one batch (%d)", dups, pageSize)
	}
	if err := second.stop(15 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// wantedAccessLogins is the log.record.uid of every Access login of the simulator.
func wantedAccessLogins(sim *cloudflaresim.Server) map[string]bool {
	want := map[string]bool{}
	for _, a := range sim.Accounts() {
		for _, r := range sim.AccessRequests(a.ID) {
			want[accessKey(r)] = true
		}
	}
	return want
}

// accessKey is the log.record.uid of an Access login of the simulator, which
// sends created_at in RFC 3339 with nanoseconds.
func accessKey(r cloudflaresim.AccessRequest) string {
	return cloudflare.AccessRequestKey(r.RayID, r.CreatedAt.UTC().Format(time.RFC3339Nano), r.UserEmail, r.AppUID, r.Action)
}

// TestHealthFollowsToken revokes the receiver's token in the simulator and
// checks that healthcheckv2 reports the receiver unhealthy, then healthy again
// once the token works again.
func TestHealthFollowsToken(t *testing.T) {
	sim := simtest.Start(t, cloudflaresim.Config{Seed: 3, Accounts: 1, MembersPerAccount: 3, LoginsPerAccount: 5})
	snk := startSink(t)
	params := newCollectorParams(t, sim, snk)
	col := startCollector(t, "collector", writeConfig(t, params))

	var (
		code int
		st   *healthStatus
		err  error
	)
	poll := func() { code, st, err = receiverHealth(params.HealthAddr) }
	last := func() string { return describeHealth(code, st, err) }

	// Healthy once the first polls succeeded. The service reports StatusOK as
	// soon as Start returns, before any poll: wait for both streams' records
	// too, or a revocation could fail the users stream's first poll, which
	// is next tried a users poll_interval later.
	waitFor(t, col, 30*time.Second, func() string { return "the receiver to report StatusOK after its first polls; last: " + last() },
		func() bool {
			poll()
			_, logins := snk.loginCounts()
			_, members := snk.eventCounts("cloudflare.account.member")
			return err == nil && st != nil && st.Status == "StatusOK" && st.Healthy && logins > 0 && members > 0
		})
	if code != http.StatusOK {
		t.Errorf("/status answered HTTP %d while every component is OK", code)
	}
	_, unique := snk.loginCounts()
	t.Logf("healthy: %s (%d logins received)", last(), unique)

	// Revoke: the next login poll (every 10s) gets 401.
	revoked := time.Now()
	sim.SetToken("rotated")
	waitFor(t, col, 45*time.Second, func() string { return "the receiver to report unhealthy after the token was revoked; last: " + last() },
		func() bool {
			poll()
			return err == nil && st != nil && st.Status == "StatusRecoverableError" && !st.Healthy
		})
	t.Logf("unhealthy %s after the revocation: %s", time.Since(revoked).Round(time.Millisecond), last())
	if code != http.StatusInternalServerError {
		t.Errorf("/status answered HTTP %d with the receiver failing past recovery_duration, want 500", code)
	}
	if st.Error == "" {
		t.Errorf("the receiver's error status carries no error message")
	}
	if strings.Contains(st.Error, params.Token) || strings.Contains(col.log(), params.Token) {
		t.Errorf("the token %q leaked into the status or the log", params.Token)
	}
	if !logHas(col, "error", "Cloudflare") {
		t.Errorf("no ERROR log line about Cloudflare after the token was refused")
	}

	// Restore: healthy again by itself.
	restored := time.Now()
	sim.SetToken(params.Token)
	waitFor(t, col, 45*time.Second, func() string { return "the receiver to recover after the token was restored; last: " + last() },
		func() bool { poll(); return err == nil && st != nil && st.Status == "StatusOK" && st.Healthy })
	t.Logf("healthy again %s after the token was restored: %s", time.Since(restored).Round(time.Millisecond), last())
	if code != http.StatusOK {
		t.Errorf("/status answered HTTP %d after recovery, want 200", code)
	}
	if err := col.stop(15 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// ---------------------------------------------------------------------------

type wantedLogin struct {
	account string
	event   cloudflaresim.LoginEvent
}

// wantedLogins indexes every login the simulator holds by audit id.
// wantedLogins are the simulator's logins by the id the source gives them.
func wantedLogins(sim *cloudflaresim.Server, source string) map[string]wantedLogin {
	out := map[string]wantedLogin{}
	for _, a := range sim.Accounts() {
		for _, e := range sim.Logins(a.ID) {
			id := e.ID
			if source == "audit_logs_v2" {
				id = cloudflaresim.V2ID(id)
			}
			out[id] = wantedLogin{account: a.ID, event: e}
		}
	}
	return out
}

func countEvent(records []record, name string) int {
	n := 0
	for _, r := range records {
		if r.EventName == name {
			n++
		}
	}
	return n
}

func checkAttr(t *testing.T, r record, key, want string) {
	t.Helper()
	if want == "" {
		return
	}
	if got := r.str(key); got != want {
		t.Errorf("%s %s: attribute %s = %q, want %q", r.EventName, r.str("log.record.uid"), key, got, want)
	}
}

// logHas reports whether the collector logged a line at level whose message contains text.
func logHas(c *collector, level, text string) bool {
	for _, e := range c.logEntries() {
		if e["level"] == level {
			if msg, _ := e["msg"].(string); strings.Contains(msg, text) {
				return true
			}
		}
	}
	return false
}
