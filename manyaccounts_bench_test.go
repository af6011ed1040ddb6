package cloudflareidentityreceiver

import (
	"testing"
	"time"
)

// BenchmarkManyAccounts is one token reaching CFI_BENCH_ACCOUNTS accounts
// (1,000) of 50 members, each with CFI_BENCH_LOGINS_PER_MINUTE logins a
// minute (5), for a simulated hour at the default config, while the token
// owner uses CFI_BENCH_PERSON requests per 5 minutes (0): the polls need far
// more requests than the budget, so every account waits its turn. The users
// and logins loops run side by side, as in the collector, on an injected
// clock (manyAccounts, eventClock); the simulator enforces Cloudflare's
// 1,200 requests per 5 minutes. It reports the worst and median login
// latency against the floor, the best any schedule could do with the same
// budget, and the WARN's expected_login_latency.
func BenchmarkManyAccounts(b *testing.B) {
	scenario := manyAccounts{accounts: envInt("CFI_BENCH_ACCOUNTS", 1000), loginsPerMinute: envInt("CFI_BENCH_LOGINS_PER_MINUTE", 5),
		ownerPerWindow: envInt("CFI_BENCH_PERSON", 0), duration: time.Hour}
	var result manyAccountsResult
	for range b.N {
		result = scenario.run(b)
	}
	b.ReportMetric(float64(scenario.accounts), "accounts")
	b.ReportMetric(float64(result.logins), "logins")
	b.ReportMetric(float64(scenario.ownerPerWindow), "owner_requests_per_window")
	b.ReportMetric(float64(result.http429), "http_429")
	b.ReportMetric(float64(result.maxInWindow), "max_requests_per_window")
	b.ReportMetric(result.budgetPerWindow, "budget_per_window")
	b.ReportMetric(result.requestsPerMinute, "requests/min")
	b.ReportMetric(result.worst.Minutes(), "worst_latency_min")
	b.ReportMetric(result.median.Minutes(), "median_latency_min")
	b.ReportMetric(result.floorWorst.Minutes(), "floor_worst_latency_min")
	b.ReportMetric(result.floorMedian.Minutes(), "floor_median_latency_min")
	b.ReportMetric(result.expectedLatency.Minutes(), "warn_expected_latency_min")
}
