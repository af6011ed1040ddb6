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
// interval a member is added, removed or changed. With Config.LiveLateDelay,
// every Config.LiveLateEvery intervals one of the new logins is held back
// (a late arrival). logf gets one short line per change.
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
		for _, c := range s.liveStep(tick, last, now) {
			logf("%s", c)
		}
		last = now
	}
}

// liveStep makes the changes of RunLive's tick-th interval, [from, to), and
// describes them.
func (s *Server) liveStep(tick int, from, to time.Time) []string {
	late := s.cfg.LiveLateDelay > 0 && tick%s.cfg.LiveLateEvery == 0
	changes := s.addLiveLogins(from, to, late)
	changes = append(changes, s.addLiveAccess(from, to)...)
	if tick%memberChangeEvery == 0 {
		changes = append(changes, s.changeLiveMember()...)
	}
	return changes
}

// addLiveLogins gives every account one or two logins in [from, to), right
// after the previous batch, so cursors that only move forward see them all.
// With late, one account's first new login shows up only LiveLateDelay after
// its time; the accounts take turns.
func (s *Server) addLiveLogins(from, to time.Time, late bool) []string {
	if !to.After(from) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changes := make([]string, 0, len(s.accounts)+1)
	var lateAccount *accountState
	if late && len(s.accounts) > 0 {
		lateAccount = s.accounts[s.liveLate%len(s.accounts)]
		s.liveLate++
	}
	for _, a := range s.accounts {
		events := s.gen.logins(a.members, 1+s.gen.rng.IntN(2), from, to)
		if a != lateAccount {
			a.logins.merge(events)
			changes = append(changes, fmt.Sprintf("%s: %d new login(s)", a.Name, len(events)))
			continue
		}
		held := events[0]
		held.VisibleAt = held.When.Add(s.cfg.LiveLateDelay)
		a.logins.merge(events[1:])
		a.logins.insert(held, to)
		changes = append(changes, fmt.Sprintf("%s: %d new login(s); the one of %s at %s is held back: it shows in the audit log at %s, after newer ones (a late arrival)",
			a.Name, len(events), held.ActorEmail, held.When.Format(time.TimeOnly), held.VisibleAt.Format(time.TimeOnly)))
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
