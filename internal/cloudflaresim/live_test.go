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
