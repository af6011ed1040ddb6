package cloudflareidentityreceiver

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// BenchmarkLoginHistorySize measures the new-address state at its bound:
// 10,000 members of one account, each with maxNetworksPerUser networks (a
// quarter of them IPv6), built by the receiver's own judgeAddress and put,
// and written as the login checkpoint's companion writes. It reports the
// bytes written to storage (keys and values) and the live heap it holds.
func BenchmarkLoginHistorySize(b *testing.B) {
	const members = 10_000
	const memory = 30 * 24 * time.Hour
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		histories := newLoginHistories(&checkpointStore{client: storage.NewNopClient()})
		for m := range members {
			var hist loginHistory
			for n := range maxNetworksPerUser {
				addr := fmt.Sprintf("10.%d.%d.7", m%250, n)
				if n%4 == 0 {
					addr = fmt.Sprintf("2001:db8:%x:%x00::7", m, n)
				}
				when := testPollTime.Add(time.Duration(n) * time.Minute)
				hist.LastLogin = when
				network, _ := networkKey(addr, defaultIPv4Prefix, defaultIPv6Prefix)
				hist.judgeAddress(network, when, testPollTime.Add(-memory), memory)
			}
			histories.put(testAccount.ID, fmt.Sprintf("%032x", m), hist)
		}
		ops, stored := histories.writes(testAccount.ID)
		storageBytes := 0
		for _, op := range ops {
			storageBytes += len(op.Key) + len(op.Value)
		}
		stored()

		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(storageBytes), "storage_bytes")
		b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap_bytes")
		b.ReportMetric(float64(storageBytes)/members, "storage_bytes/member")
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/members, "heap_bytes/member")
		runtime.KeepAlive(histories)
	}
}
