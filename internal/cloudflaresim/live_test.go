package cloudflaresim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunLive(t *testing.T) {
	s := New(Config{Seed: 4, Accounts: 2, MembersPerAccount: 5, LoginsPerAccount: 10})
	var (
		mu    sync.Mutex
		lines []string
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}
	memberChanges := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range lines {
			if strings.Contains(l, "member") {
				n++
			}
		}
		return n
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunLive(ctx, 5*time.Millisecond, logf)
	}()
	require.Eventually(t, func() bool { return memberChanges() > 0 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	<-done

	for _, a := range s.Accounts() {
		logins := s.Logins(a.ID)
		assert.Greater(t, len(logins), 10+memberChangeEvery-1, "a login or two per interval")
		assert.WithinDuration(t, time.Now(), logins[len(logins)-1].When, 10*time.Second)
	}
}

// TestLiveLateLogin checks Config.LiveLateDelay: every LiveLateEvery
// intervals one live login is held back, so that a poller reading the audit
// log as the receiver does sees it after newer entries, older than they are,
// and not before its time plus the delay. The accounts take turns.
func TestLiveLateLogin(t *testing.T) {
	const delay = 30 * time.Second
	clock := NewManualClock(testStart)
	s := startServer(t, Config{Seed: 7, Accounts: 2, MembersPerAccount: 3, Now: clock.Now,
		LiveLateDelay: delay, LiveLateEvery: 2})
	newestServed := map[string]time.Time{} // per account: the newest entry served so far
	seen := map[string]bool{}
	late := map[string]int{} // per account: entries served older than one served by an earlier poll
	poll := func() {
		for _, a := range s.Accounts() {
			newest := newestServed[a.ID]
			for _, e := range auditPage(t, s, a.ID, map[string]string{"direction": "asc", "per_page": "1000"}) {
				if seen[e.ID] {
					continue
				}
				seen[e.ID] = true
				if e.When.Before(newestServed[a.ID]) {
					late[a.ID]++
					assert.False(t, clock.Now().Before(e.When.Add(delay)), "entry %s served before its time plus the delay", e.ID)
				}
				if e.When.After(newest) {
					newest = e.When
				}
			}
			newestServed[a.ID] = newest
		}
	}

	var lines []string
	last := clock.Now()
	for tick := 1; tick <= 12; tick++ {
		clock.Advance(5 * time.Second)
		lines = append(lines, s.liveStep(tick, last, clock.Now())...)
		last = clock.Now()
		poll()
	}
	held := 0
	for _, l := range lines {
		if strings.Contains(l, "held back") {
			held++
		}
	}
	assert.Equal(t, 6, held, "one held-back login every second interval:\n%s", strings.Join(lines, "\n"))
	// Held back at ticks 2, 4 and 6 (at most 30 s in), shown by tick 12 (60 s).
	assert.Equal(t, 3, late[s.Accounts()[0].ID]+late[s.Accounts()[1].ID], "late entries seen by the 12th interval")

	// One more interval (no held-back login in it) gives each account entries
	// newer than its last held-back one, which shows up after them.
	clock.Advance(5 * time.Second)
	lines = append(lines, s.liveStep(13, last, clock.Now())...)
	poll()
	clock.Advance(time.Minute)
	poll()
	for _, a := range s.Accounts() {
		assert.Equal(t, 3, late[a.ID], "account %s: the accounts take turns:\n%s", a.Name, strings.Join(lines, "\n"))
	}
}
