// Command cloudflare-identity-check is the preflight check of the
// cloudflare_identity receiver: run once against a real account, with the
// token the receiver will use, it reports what the token can read and which
// login source (Audit Logs v1 or v2) carries the account's logins. It uses
// the receiver's own client and limiter and spends at most 60 requests.
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
)

const tokenEnv = "CLOUDFLARE_API_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now)
	stop()
	os.Exit(code)
}

// run is the command: 0 when the check ran (whatever it found), 2 on bad
// usage or a missing token.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("cloudflare-identity-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sinceFlag := fs.String("since", "24h", "how far back to count logins: a duration such as 24h, or days such as 7d")
	endpoint := fs.String("endpoint", defaultEndpoint, "Cloudflare API base URL")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	since, err := parseSince(*sinceFlag)
	if err != nil {
		fmt.Fprintf(stderr, "cloudflare-identity-check: -since: %v\n", err)
		return 2
	}
	token := getenv(tokenEnv)
	if token == "" {
		fmt.Fprintf(stderr, "cloudflare-identity-check: %s is not set; set it to the API token the receiver will use\n", tokenEnv)
		return 2
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
	return 0
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
