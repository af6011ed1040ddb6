// Written by hand in the shape mdatagen generates.

package cloudflareidentityreceiver

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
