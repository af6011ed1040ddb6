package cloudflaresim

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestManualClock(t *testing.T) {
	clock := NewManualClock(testStart)
	assert.Equal(t, testStart, clock.Now())
	clock.Advance(time.Minute)
	assert.Equal(t, testStart.Add(time.Minute), clock.Now())
	clock.Set(testStart.Add(-time.Hour))
	assert.Equal(t, testStart.Add(-time.Hour), clock.Now(), "Set may move it back")

	// Safe for concurrent use: run with -race.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				clock.Advance(time.Second)
				_ = clock.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, testStart.Add(-time.Hour+400*time.Second), clock.Now())
}
