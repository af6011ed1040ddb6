// Command cloudflare-identity-check is the preflight check of the
// cloudflare_identity receiver: run once against a real account, with the
// token the receiver will use, it reports what the token can read, which
// login source (Audit Logs v1 or v2) carries the account's logins, and
// whether they show the logins of members other than the token owner. It
// uses the receiver's own client and limiter and spends at most 60 requests.
//
//	CLOUDFLARE_API_TOKEN=... cloudflare-identity-check [-since 24h|7d] [-json] [-endpoint URL]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
)

const tokenEnv = "CLOUDFLARE_API_TOKEN"

// Exit codes, for a CI job to gate on.
const (
	exitOK         = 0 // the token works and the logins of an account are readable
	exitUnreadable = 1 // the token is refused, or no account's logins are readable
	exitUsage      = 2 // bad flags, no token, or an endpoint the token must not go to
)

const usage = `Usage: CLOUDFLARE_API_TOKEN=... cloudflare-identity-check [flags]

Reports what the API token of the cloudflare_identity receiver can read, which
login source carries the accounts' logins, and whether the account audit logs
show the logins of members other than the token owner. Only reads; sends at
most %d requests.

Flags:
`

const exitCodes = `
Exit status:
  0  the token works and the logins of at least one account are readable
     (even when the window holds none)
  1  the token is refused, or no account's logins are readable
  2  bad usage: an unknown flag or bad value, no CLOUDFLARE_API_TOKEN, or an
     -endpoint that is not https:// (http:// only to localhost or 127.0.0.0/8, ::1)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now)
	stop()
	os.Exit(code)
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("cloudflare-identity-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, maxRequests)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), exitCodes)
	}
	sinceFlag := fs.String("since", "24h", "how far back to count logins: a duration such as 24h, or days such as 7d")
	endpoint := fs.String("endpoint", defaultEndpoint, "Cloudflare API base URL: https://, or http:// to a loopback host only")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK // asked for the usage, which was printed
		}
		return exitUsage
	}
	since, err := parseSince(*sinceFlag)
	if err != nil {
		fmt.Fprintf(stderr, "cloudflare-identity-check: -since: %v\n", err)
		return exitUsage
	}
	if err := checkEndpoint(*endpoint); err != nil {
		fmt.Fprintf(stderr, "cloudflare-identity-check: -endpoint: %v\n", err)
		return exitUsage
	}
	token := getenv(tokenEnv)
	if token == "" {
		fmt.Fprintf(stderr, "cloudflare-identity-check: %s is not set; set it to the API token the receiver will use\n", tokenEnv)
		return exitUsage
	}
	rep := check(ctx, checkOptions{endpoint: *endpoint, token: token, since: since, now: now(),
		httpClient: &http.Client{Timeout: 30 * time.Second}})
	var out string
	if *asJSON {
		data, _ := json.MarshalIndent(rep, "", "  ")
		out = string(data) + "\n"
	} else {
		out = rep.text()
	}
	// The report is built from what Cloudflare answered; a server echoing the
	// token back must not put it on the screen.
	_, _ = io.WriteString(stdout, strings.ReplaceAll(out, token, "[REDACTED]"))
	return rep.exitCode()
}

// checkEndpoint applies the receiver's rule for its endpoint (cloudflare.CheckEndpoint).
func checkEndpoint(raw string) error {
	err := cloudflare.CheckEndpoint(raw)
	if errors.Is(err, cloudflare.ErrEndpointNotHTTPURL) {
		return fmt.Errorf("%w, such as %s; got %q", err, defaultEndpoint, raw)
	}
	return err
}

// exitCode is exitOK when an account's logins could be read, which takes a
// working token, else exitUnreadable.
func (r *report) exitCode() int {
	for _, a := range r.Accounts {
		if a.V1.Read || a.V2.Read {
			return exitOK
		}
	}
	return exitUnreadable
}

// parseSince reads a Go duration, or a number of days such as 7d.
func parseSince(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a positive number of days, such as 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New(strconv.Quote(s) + ": want a positive duration such as 24h, or days such as 7d")
	}
	return d, nil
}
