package cloudflareidentityreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

func TestDormancyTransitions(t *testing.T) {
	const after = 90 * 24 * time.Hour
	day := func(n int) time.Time { return testPollTime.Add(time.Duration(n) * 24 * time.Hour) }
	members := []cloudflare.Member{
		{ID: "ada", Status: "accepted"},
		{ID: "bob", Status: "pending"},
	}
	tests := []struct {
		name        string
		lastLogin   time.Time // ada's
		knownSince  time.Time
		after       time.Duration
		previous    map[string]time.Time
		now         time.Time
		wantDormant map[string]time.Time
		wantEvents  []string
	}{
		{name: "logged in recently", lastLogin: day(-10), knownSince: day(-100), after: after, now: day(0),
			wantDormant: map[string]time.Time{}},
		{name: "no login for dormant_after", lastLogin: day(-90), knownSince: day(-100), after: after, now: day(0),
			wantDormant: map[string]time.Time{"ada": day(-90)}, wantEvents: []string{eventMemberDormant}},
		{name: "no login seen, watched for dormant_after", knownSince: day(-90), after: after, now: day(0),
			wantDormant: map[string]time.Time{"ada": day(-90)}, wantEvents: []string{eventMemberDormant}},
		{name: "no login seen, watched for less", knownSince: day(-89), after: after, now: day(0),
			wantDormant: map[string]time.Time{}},
		{name: "still dormant: reported once", lastLogin: day(-95), knownSince: day(-100), after: after, now: day(0),
			previous: map[string]time.Time{"ada": day(-95)}, wantDormant: map[string]time.Time{"ada": day(-95)}},
		{name: "logged in again", lastLogin: day(-1), knownSince: day(-100), after: after, now: day(0),
			previous: map[string]time.Time{"ada": day(-95)}, wantDormant: map[string]time.Time{}, wantEvents: []string{eventMemberReactivated}},
		{name: "dormant_after raised: forgotten without a record", lastLogin: day(-95), knownSince: day(-100), after: 2 * after, now: day(0),
			previous: map[string]time.Time{"ada": day(-95)}, wantDormant: map[string]time.Time{}},
		{name: "dormancy off", lastLogin: day(-95), knownSince: day(-100), now: day(0), previous: map[string]time.Time{"ada": day(-95)}},
		{name: "logins never watched", after: after, now: day(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lastLogins := map[string]time.Time{"ada": tt.lastLogin}
			dormant, changes := dormancyTransitions(members, lastLogins, tt.knownSince, tt.after, tt.previous, tt.now)
			assert.Equal(t, tt.wantDormant, dormant)
			var events []string
			for _, c := range changes {
				assert.Equal(t, "ada", c.member.ID, "only accepted members")
				events = append(events, c.eventName)
			}
			assert.Equal(t, tt.wantEvents, events)
		})
	}
}
