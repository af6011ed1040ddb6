package cloudflare

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimiterKeepsWithinBudget(t *testing.T) {
	l := NewLimiter(3, 200*time.Millisecond)
	start := time.Now()
	var sent []time.Time
	for range 7 {
		_, err := l.Wait(context.Background(), nil)
		require.NoError(t, err)
		sent = append(sent, time.Now())
	}
	// Any 4 consecutive sends span at least one window.
	for i := 3; i < len(sent); i++ {
		assert.GreaterOrEqual(t, sent[i].Sub(sent[i-3]), 200*time.Millisecond)
	}
	assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
}

func TestLimiterPause(t *testing.T) {
	l := NewLimiter(100, time.Minute)
	assert.True(t, l.PauseUntil(time.Now().Add(150*time.Millisecond)), "a new pause is reported")
	assert.False(t, l.PauseUntil(time.Now().Add(100*time.Millisecond)), "a shorter pause changes nothing")
	assert.False(t, l.PauseUntil(time.Now().Add(160*time.Millisecond)), "extending a pause in force is not a new lockout")
	waited, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	assert.Greater(t, waited, 100*time.Millisecond)
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	_, err := l.Wait(context.Background(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = l.Wait(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
