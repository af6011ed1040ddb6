// Command cloudflare-sim serves a simulated Cloudflare API on loopback for
// demos and manual testing of the receiver.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cloudflare-sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("cloudflare-sim", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8787", "listen address")
	token := fs.String("token", "sim-token", "accepted API token")
	tokenKind := fs.String("token-kind", "user", "token owner: user or account")
	accounts := fs.Int("accounts", 2, "seeded accounts")
	members := fs.Int("members", 25, "seeded members per account")
	logins := fs.Int("logins", 200, "seeded login audit entries per account")
	accessUsers := fs.Int("access-users", 20, "seeded Zero Trust Access users per account")
	accessLogins := fs.Int("access-logins", 200, "seeded Access authentication log entries per account")
	span := fs.Duration("span", 24*time.Hour, "period the seeded logins and Access logins spread over, ending now")
	rateLimit := fs.Int("rate-limit", 1200, "requests per window per token (0 = unlimited)")
	window := fs.Duration("window", 5*time.Minute, "rate-limit window")
	dashboard := fs.Int("dashboard-requests", 0, "the token owner's own dashboard requests per window, counted against the rate limit")
	burst := fs.Int("dashboard-burst", 60, "the dashboard requests come in bursts of this many")
	seed := fs.Int64("seed", 1, "random seed for the generated data")
	live := fs.Duration("live-interval", 5*time.Second, "add logins and Access logins every interval and change a member every 6 (0 disables)")
	lateDelay := fs.Duration("late-delay", 0, "late arrivals: hold back one of the live logins every -late-every intervals, so that it shows in the "+
		"audit log this long after its time, after newer ones were served (0 disables; longer than -live-interval)")
	lateEvery := fs.Int("late-every", 3, "live intervals between held-back logins (with -late-delay)")
	_ = fs.Parse(args) // ExitOnError: exits on bad flags and -h
	kind, err := parseTokenKind(*tokenKind)
	if err != nil {
		return err
	}
	if *lateDelay != 0 && (*live <= 0 || *lateDelay <= *live || *lateEvery < 1) {
		return errors.New("-late-delay needs -live-interval > 0, must be longer than it (else the entry shows with its own interval), and -late-every >= 1")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim := cloudflaresim.New(cloudflaresim.Config{
		Token:             *token,
		TokenKind:         kind,
		Seed:              *seed,
		Accounts:          *accounts,
		MembersPerAccount: *members,
		LoginsPerAccount:  *logins,
		LoginSpan:         *span,

		AccessUsersPerAccount:    *accessUsers,
		AccessRequestsPerAccount: *accessLogins,
		RateLimit:                *rateLimit,
		RateWindow:               *window,

		DashboardRequestsPerWindow: *dashboard,
		DashboardBurst:             *burst,

		LiveLateDelay: *lateDelay,
		LiveLateEvery: *lateEvery,
	})
	if err := sim.Start(*addr); err != nil {
		return err
	}
	fmt.Printf("cloudflare-sim listening on %s (token %q, %d accounts)\n", sim.URL(), *token, *accounts)

	var liveDone sync.WaitGroup
	if *live > 0 {
		logger := log.New(os.Stderr, "cloudflare-sim: ", log.LstdFlags)
		liveDone.Go(func() { sim.RunLive(ctx, *live, logger.Printf) })
	}
	<-ctx.Done()
	liveDone.Wait()
	return sim.Close()
}

func parseTokenKind(s string) (cloudflaresim.TokenKind, error) {
	switch s {
	case "user":
		return cloudflaresim.UserToken, nil
	case "account":
		return cloudflaresim.AccountToken, nil
	}
	return 0, errors.New(`-token-kind must be "user" or "account"`)
}
