package cloudflaresim

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// memberChangeEvery is how many live intervals pass between membership
// changes; logins arrive every interval.
const memberChangeEvery = 6

// RunLive keeps the simulated tenant busy until ctx ends, so a demo has fresh
// records to collect: every interval each account gets one or two new logins
// (and Access logins, when it has Access applications), and every sixth
// interval a member is added, removed or changed. logf gets
// one short line per change.
func (s *Server) RunLive(ctx context.Context, every time.Duration, logf func(format string, args ...any)) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	last := s.cfg.Now()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := s.cfg.Now()
		changes := s.addLiveLogins(last, now)
		changes = append(changes, s.addLiveAccess(last, now)...)
		last = now
		if tick%memberChangeEvery == 0 {
			changes = append(changes, s.changeLiveMember()...)
		}
		for _, c := range changes {
			logf("%s", c)
		}
	}
}

// addLiveLogins gives every account one or two logins in [from, to), right
// after the previous batch, so cursors that only move forward see them all.
func (s *Server) addLiveLogins(from, to time.Time) []string {
	if !to.After(from) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changes := make([]string, 0, len(s.accounts))
	for _, a := range s.accounts {
		events := s.gen.logins(a.members, 1+s.gen.rng.IntN(2), from, to)
		a.logins.merge(events)
		changes = append(changes, fmt.Sprintf("%s: %d new login(s)", a.Name, len(events)))
	}
	return changes
}

// changeLiveMember adds, removes or edits one member of a random account.
func (s *Server) changeLiveMember() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.accounts) == 0 {
		return nil
	}
	a := pick(s.gen, s.accounts)
	switch op := s.gen.rng.IntN(3); {
	case op == 0 || len(a.members) < 2: // never empty an account
		m := s.gen.member()
		a.members = append(a.members, m)
		return []string{fmt.Sprintf("%s: added member %s (%s)", a.Name, m.Email, m.Status)}
	case op == 1:
		i := s.gen.rng.IntN(len(a.members))
		email := a.members[i].Email
		a.members = slices.Delete(a.members, i, i+1)
		return []string{fmt.Sprintf("%s: removed member %s", a.Name, email)}
	default:
		m := &a.members[s.gen.rng.IntN(len(a.members))]
		if m.Status == "pending" {
			m.Status = "accepted"
			return []string{fmt.Sprintf("%s: member %s accepted the invitation", a.Name, m.Email)}
		}
		m.TwoFactor = !m.TwoFactor
		return []string{fmt.Sprintf("%s: member %s turned two-factor authentication %s", a.Name, m.Email, onOff(m.TwoFactor))}
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
