// Code written by hand from metadata.yaml, in the shape mdatagen generates
// (mdatagen v0.165 is not obtainable; see README "Development").

package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("cloudflare_identity")
	ScopeName = "github.com/otel-cloudflare/cloudflareidentityreceiver"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
