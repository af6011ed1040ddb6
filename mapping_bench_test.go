package cloudflareidentityreceiver

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflare"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim"
	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/cloudflaresim/simtest"
)

// loginPageBytes fetches one 1,000-entry audit log page from the simulator,
// in Cloudflare's wire format.
func loginPageBytes(b *testing.B) []byte {
	b.Helper()
	sim := simtest.Start(b, cloudflaresim.Config{Accounts: 1, MembersPerAccount: 50, LoginsPerAccount: 1000, LoginSpan: time.Hour,
		Now: newTestClock().Now})
	url := sim.URL() + "/accounts/" + sim.Accounts()[0].ID + "/audit_logs?action.type=login&direction=asc&per_page=1000"
	req, err := http.NewRequest(http.MethodGet, url, http.NoBody)
	require.NoError(b, err)
	req.Header.Set("Authorization", "Bearer "+simtest.Token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b, err)
	return body
}

// floorAuditEntry holds the fields the receiver maps, for the decode floor.
type floorAuditEntry struct {
	ID     string `json:"id"`
	Action struct {
		Result bool   `json:"result"`
		Type   string `json:"type"`
	} `json:"action"`
	Actor struct {
		Email string `json:"email"`
		ID    string `json:"id"`
		IP    string `json:"ip"`
		Type  string `json:"type"`
	} `json:"actor"`
	Interface string         `json:"interface"`
	Metadata  map[string]any `json:"metadata"`
	When      time.Time      `json:"when"`
}

func reportPerRecord(b *testing.B, records int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}

// BenchmarkLoginPageDecodeFloor only decodes a 1,000-entry page into plain
// structs with encoding/json: the floor the full path is compared with.
func BenchmarkLoginPageDecodeFloor(b *testing.B) {
	body := loginPageBytes(b)
	b.ReportAllocs()
	for b.Loop() {
		var page struct {
			Result []floorAuditEntry `json:"result"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			b.Fatal(err)
		}
	}
	reportPerRecord(b, 1000)
}

// BenchmarkLoginPageToPlog is the receiver's path for one page: decode as the
// client does, then map every entry to a log record.
func BenchmarkLoginPageToPlog(b *testing.B) {
	body := loginPageBytes(b)
	known := &cloudflare.Member{ID: "m", FirstName: "Ada", LastName: "Lovelace", Roles: []string{"Administrator"}}
	observed := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		entries, err := cloudflare.DecodeAuditPage(body)
		if err != nil {
			b.Fatal(err)
		}
		_, records := newAccountLogs(testAccount, "bench")
		records.EnsureCapacity(len(entries))
		for i := range entries {
			appendLoginRecord(records, &entries[i], known, observed)
		}
	}
	reportPerRecord(b, 1000)
}

// BenchmarkLoginPagePdataFloor copies the log records of a mapped page into
// new ones: what holding the same records in pdata costs, one allocation per
// attribute and Body value, without decoding or mapping anything.
func BenchmarkLoginPagePdataFloor(b *testing.B) {
	body := loginPageBytes(b)
	entries, err := cloudflare.DecodeAuditPage(body)
	require.NoError(b, err)
	known := &cloudflare.Member{ID: "m", FirstName: "Ada", LastName: "Lovelace", Roles: []string{"Administrator"}}
	_, mapped := newAccountLogs(testAccount, "bench")
	for i := range entries {
		appendLoginRecord(mapped, &entries[i], known, time.Now())
	}
	b.ReportAllocs()
	for b.Loop() {
		_, records := newAccountLogs(testAccount, "bench")
		records.EnsureCapacity(mapped.Len())
		for i := range mapped.Len() {
			mapped.At(i).CopyTo(records.AppendEmpty())
		}
	}
	reportPerRecord(b, 1000)
}
