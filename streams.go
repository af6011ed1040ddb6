package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

// allStreams are the streams, in the order they are reported.
var allStreams = []*streamDescriptor{&usersStream, &loginsStream, &accessLoginsStream, &accessUsersStream}
