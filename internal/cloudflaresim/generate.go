package cloudflaresim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// generator produces deterministic, realistic-looking data from one seeded
// random source. It is not safe for concurrent use; the Server guards it.
type generator struct {
	rng          *rand.Rand
	failureRatio float64
	members      int // members generated so far; numbers the e-mail addresses
}

func newGenerator(seed int64, failureRatio float64) *generator {
	return &generator{
		rng:          rand.New(rand.NewPCG(uint64(seed), 0x5eed_c10d_f1a2e)),
		failureRatio: failureRatio,
	}
}

// hexID returns a Cloudflare-style identifier: 32 lowercase hex digits.
func (g *generator) hexID() string {
	var b [16]byte
	g.fill(b[:])
	return hex.EncodeToString(b[:])
}

// uuids returns n random (version 4) UUID strings. They are cut from one
// string, which saves an allocation per ID when seeding millions of entries.
func (g *generator) uuids(n int) []string {
	const size = 36
	buf := make([]byte, n*size)
	for i := range n {
		var b [16]byte
		g.fill(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		s := buf[i*size : (i+1)*size]
		hex.Encode(s[0:8], b[0:4])
		hex.Encode(s[9:13], b[4:6])
		hex.Encode(s[14:18], b[6:8])
		hex.Encode(s[19:23], b[8:10])
		hex.Encode(s[24:36], b[10:16])
		s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	}
	all := string(buf)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = all[i*size : (i+1)*size]
	}
	return ids
}

func (g *generator) fill(b []byte) {
	binary.LittleEndian.PutUint64(b[0:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:16], g.rng.Uint64())
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *generator, from []T) T { return from[g.rng.IntN(len(from))] }

func (g *generator) account(n int) Account {
	return Account{ID: g.hexID(), Name: fmt.Sprintf("Acme Corp %d", n)}
}

// createdOn returns a whole-second creation time up to three years before now.
func (g *generator) createdOn(now time.Time) time.Time {
	age := time.Duration(g.rng.Int64N(int64(3 * 365 * 24 * time.Hour)))
	return now.Add(-age).UTC().Truncate(time.Second)
}

func (g *generator) member() Member {
	g.members++
	first, last := pick(g, firstNames), pick(g, lastNames)
	status := "accepted"
	if !g.chance(0.85) {
		status = "pending"
	}
	return Member{
		ID:        g.hexID(),
		Email:     fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), g.members),
		Status:    status,
		UserID:    g.hexID(),
		FirstName: first,
		LastName:  last,
		TwoFactor: g.chance(0.7),
		Roles:     g.roles(),
	}
}

// roles grants one role, weighted towards the common administrator roles,
// and sometimes a second one.
func (g *generator) roles() []Role {
	candidates := roleCatalog
	if g.chance(0.5) {
		candidates = roleCatalog[:3] // the administrator roles
	}
	first := pick(g, candidates).Role
	roles := []Role{first}
	if second := pick(g, roleCatalog).Role; g.chance(0.15) && second != first {
		roles = append(roles, second)
	}
	return roles
}

// actor is someone who tries to log in, with the addresses they use.
type actor struct {
	id, email string
	ips       [2]string
}

// logins generates n login entries with When in [from, to), sorted by When.
// Successful logins come from accepted members; about half of the failures
// come from addresses that are not members at all.
func (g *generator) logins(members []Member, n int, from, to time.Time) []LoginEvent {
	var known []actor
	for _, m := range members {
		if m.Status == "accepted" {
			known = append(known, actor{id: m.UserID, email: m.Email, ips: [2]string{g.ip(), g.ip()}})
		}
	}
	strangers := make([]actor, 4)
	for i := range strangers {
		strangers[i] = g.stranger()
	}

	times, ids := g.loginTimes(n, from, to), g.uuids(n)
	events := make([]LoginEvent, n)
	for i, when := range times {
		success := !g.chance(g.failureRatio) && len(known) > 0
		var who actor
		if success || len(known) > 0 && g.chance(0.5) {
			who = pick(g, known)
		} else {
			who = pick(g, strangers)
		}
		iface, userAgent := g.client()
		events[i] = LoginEvent{
			ID:         ids[i],
			When:       when,
			Success:    success,
			ActorID:    who.id,
			ActorEmail: who.email,
			ActorIP:    who.ips[g.rng.IntN(2)],
			ActorType:  "user",
			Interface:  iface,
			UserAgent:  userAgent,
		}
	}
	return events
}

// loginTimes returns n sorted UTC instants in [from, to). A quarter is whole
// seconds and a quarter whole milliseconds, the rest carry nanoseconds, and
// about one in 25 starts a run of 2-4 entries sharing one instant, so clients
// meet the precisions and ties seen in real audit logs.
func (g *generator) loginTimes(n int, from, to time.Time) []time.Time {
	base := from.UTC()
	start, span := base.UnixNano(), int64(to.Sub(from))
	offsets := make([]int64, n)
	for i := range offsets {
		off := g.rng.Int64N(span)
		if unit := timePrecisions[g.rng.IntN(len(timePrecisions))]; unit > 1 {
			if rounded := (start+off)/unit*unit - start; rounded >= 0 {
				off = rounded
			}
		}
		offsets[i] = off
	}
	slices.Sort(offsets)
	for i := 0; i < n; i++ {
		if g.rng.IntN(25) != 0 {
			continue
		}
		end := min(i+2+g.rng.IntN(3), n)
		for j := i + 1; j < end; j++ {
			offsets[j] = offsets[i]
		}
		i = end - 1
	}
	times := make([]time.Time, n)
	for i, off := range offsets {
		times[i] = base.Add(time.Duration(off))
	}
	return times
}

// stranger is someone who is not a member; Cloudflare may or may not know
// their user id.
func (g *generator) stranger() actor {
	a := actor{
		email: fmt.Sprintf("%s.%s@example.net", strings.ToLower(pick(g, firstNames)), strings.ToLower(pick(g, lastNames))),
		ips:   [2]string{g.ip(), g.ip()},
	}
	if g.chance(0.5) {
		a.id = g.hexID()
	}
	return a
}

// ip returns an address from the documentation ranges, one in four IPv6.
func (g *generator) ip() string {
	if g.chance(0.25) {
		return fmt.Sprintf("2001:db8:%x:%x::%x", g.rng.IntN(0x10000), g.rng.IntN(0x10000), 1+g.rng.IntN(0xfffe))
	}
	return fmt.Sprintf("%s.%d", pick(g, ipv4Nets), 1+g.rng.IntN(254))
}

// client returns the login interface and, for dashboard logins, a browser
// user agent.
func (g *generator) client() (iface, userAgent string) {
	switch r := g.rng.IntN(10); {
	case r < 7:
		return "UI", pick(g, userAgents)
	case r < 9:
		return "API", ""
	default:
		return "", ""
	}
}

var (
	// timePrecisions weights the units login times are rounded to; 1 keeps
	// nanoseconds.
	timePrecisions = [...]int64{int64(time.Second), int64(time.Millisecond), 1, 1}

	firstNames = []string{
		"Alice", "Bob", "Carla", "Deepak", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kemi", "Liam", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
		"Uma", "Victor", "Wen", "Yara", "Zoe",
	}
	lastNames = []string{
		"Anders", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
		"Ivanova", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel",
		"Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Young", "Zhang",
	}
	// ipv4Nets are the RFC 5737 documentation networks.
	ipv4Nets   = []string{"192.0.2", "198.51.100", "203.0.113"}
	userAgents = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	}
)

// shuffleTies reorders each run of events that share one When.
func (g *generator) shuffleTies(events []LoginEvent) {
	for start := 0; start < len(events); {
		end := start + 1
		for end < len(events) && events[end].When.Equal(events[start].When) {
			end++
		}
		run := events[start:end]
		g.rng.Shuffle(len(run), func(i, j int) { run[i], run[j] = run[j], run[i] })
		start = end
	}
}
