package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/metadata"
)

const (
	defaultEndpoint           = "https://api.cloudflare.com/client/v4"
	defaultTimeout            = 30 * time.Second
	defaultUsersPollInterval  = 15 * time.Minute
	defaultSnapshotInterval   = 24 * time.Hour
	defaultLoginsPollInterval = time.Minute
	defaultInitialLookback    = 24 * time.Hour
	defaultLateArrivalWindow  = 10 * time.Minute
	defaultLateArrivalSweep   = 5 * time.Minute
	defaultPageSize           = 1000
	defaultAccessUsersPoll    = time.Hour
	defaultRequestsPerWindow  = 900
	defaultRateLimitWindow    = 5 * time.Minute
	defaultRateLimitReserve   = 0.2
	defaultDormantAfter       = 90 * 24 * time.Hour
	defaultNewAddressMemory   = 30 * 24 * time.Hour
	defaultIPv4Prefix         = 24
	defaultIPv6Prefix         = 56
)

// NewFactory creates the factory of the cloudflare_identity receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogsReceiver, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultEndpoint
	client.Timeout = defaultTimeout
	return &Config{
		ClientConfig: client,
		Users: UsersConfig{
			InventoryConfig: InventoryConfig{
				Enabled:          true,
				PollInterval:     defaultUsersPollInterval,
				SnapshotInterval: defaultSnapshotInterval,
			},
			DormantAfter: defaultDormantAfter,
		},
		Logins: LoginsConfig{
			WindowConfig:         defaultWindowConfig(true),
			Source:               loginSourceV1,
			NewAddressMemory:     defaultNewAddressMemory,
			NewAddressIPv4Prefix: defaultIPv4Prefix,
			NewAddressIPv6Prefix: defaultIPv6Prefix,
		},
		// Off by default: they need Access permissions the dashboard streams do not.
		AccessLogins: defaultWindowConfig(false),
		AccessUsers: InventoryConfig{
			PollInterval:     defaultAccessUsersPoll,
			SnapshotInterval: defaultSnapshotInterval,
		},
		RateLimit: RateLimitConfig{
			RequestsPerWindow: defaultRequestsPerWindow,
			Window:            defaultRateLimitWindow,
			Reserve:           defaultRateLimitReserve,
		},
		Format: formatOTel,
	}
}

// defaultWindowConfig is the default of the logins and access_logins streams.
func defaultWindowConfig(enabled bool) WindowConfig {
	return WindowConfig{
		Enabled:           enabled,
		PollInterval:      defaultLoginsPollInterval,
		InitialLookback:   defaultInitialLookback,
		LateArrivalWindow: defaultLateArrivalWindow,
		LateArrivalSweep:  defaultLateArrivalSweep,
		PageSize:          defaultPageSize,
	}
}

func createLogsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newIdentityReceiver(set, cfg.(*Config), next)
}
