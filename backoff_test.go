package cloudflareidentityreceiver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFailureBackoff pins the wait after consecutive failed polls: the
// interval, doubled per failure after the first, capped at 5 minutes, and
// never shorter than the interval (a users stream polled every 15 minutes is
// not polled sooner because it failed).
// Mutations caught: the cap raised or lowered (maxFailureBackoff 5m -> 10m or
// 4m); the doubling started one failure early (`i < failures` -> `i <= failures`);
// the floor dropped (`max(interval, min(wait, cap))` -> `min(wait, cap)`).
func TestFailureBackoff(t *testing.T) {
	tests := []struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{interval: time.Minute, failures: 0, want: time.Minute},
		{interval: time.Minute, failures: 1, want: time.Minute},
		{interval: time.Minute, failures: 2, want: 2 * time.Minute},
		{interval: time.Minute, failures: 3, want: 4 * time.Minute},
		{interval: time.Minute, failures: 4, want: 5 * time.Minute}, // 8m, capped
		{interval: time.Minute, failures: 1000, want: 5 * time.Minute},
		{interval: 10 * time.Second, failures: 5, want: 160 * time.Second},
		{interval: 10 * time.Second, failures: 6, want: 5 * time.Minute}, // 320s, capped
		{interval: 3 * time.Minute, failures: 2, want: 5 * time.Minute},  // 6m, capped
		{interval: 5 * time.Minute, failures: 3, want: 5 * time.Minute},
		{interval: 15 * time.Minute, failures: 1, want: 15 * time.Minute}, // above the cap: never below the interval
		{interval: 15 * time.Minute, failures: 10, want: 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.interval, tt.failures), func(t *testing.T) {
			assert.Equal(t, tt.want, failureBackoff(tt.interval, tt.failures))
		})
	}
}
