package cloudflareidentityreceiver // import "github.com/otel-cloudflare/cloudflareidentityreceiver"

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/otel-cloudflare/cloudflareidentityreceiver/internal/jsonappend"
)

// The checkpoints written with every page of logins encode themselves: a
// login cursor holds the ids of a whole late-arrival window, and a page
// changes the login history of up to a page of users. encoding/json would
// reflect over each of them, sort the ids, and scan the output of a
// MarshalJSON once more; these write the same JSON directly.

// checkpointAppender is a checkpoint that appends its own JSON encoding.
type checkpointAppender interface {
	appendJSON(out []byte) ([]byte, error)
}

// encodeCheckpoint encodes a checkpoint as JSON.
func encodeCheckpoint(value any) ([]byte, error) {
	if appender, ok := value.(checkpointAppender); ok {
		return appender.appendJSON(nil)
	}
	return json.Marshal(value)
}

// appendJSON writes the cursor as encoding/json would from its field tags
// (the ids in any order).
func (c *loginCursor) appendJSON(out []byte) ([]byte, error) {
	var err error
	out = append(out, '{')
	if !c.Start.IsZero() {
		if out, err = appendTimeField(out, "start", c.Start); err != nil {
			return nil, err
		}
		out = append(out, ',')
	}
	if out, err = appendTimeField(out, "high_water", c.HighWater); err != nil {
		return nil, err
	}
	if !c.LastSweep.IsZero() {
		if out, err = appendTimeField(append(out, ','), "last_sweep", c.LastSweep); err != nil {
			return nil, err
		}
	}
	if !c.SweepFrom.IsZero() {
		if out, err = appendTimeField(append(out, ','), "sweep_from", c.SweepFrom); err != nil {
			return nil, err
		}
	}
	out = append(out, `,"emitted":`...)
	if c.Emitted == nil {
		return append(out, "null}"...), nil
	}
	out = append(out, '{')
	first := true
	for id, when := range c.Emitted {
		if !first {
			out = append(out, ',')
		}
		first = false
		if out, err = appendTimeField(out, id, when); err != nil {
			return nil, err
		}
	}
	return append(out, "}}"...), nil
}

// appendJSON writes the history as encoding/json would from its field tags.
func (h *loginHistory) appendJSON(out []byte) ([]byte, error) {
	out, err := appendTimeField(append(out, '{'), "last_login", h.LastLogin)
	if err != nil {
		return nil, err
	}
	if len(h.Networks) > 0 {
		out = append(out, `,"networks":[`...)
		for i, network := range h.Networks {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"n":`...)
			out = jsonappend.String(out, network.Network)
			out = append(out, `,"t":`...)
			out = strconv.AppendInt(out, network.Seen, 10)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	return append(out, '}'), nil
}

// appendTimeField appends "key":"time", the time as time.Time encodes it
// (RFC 3339 with nanoseconds; a year it cannot write is an error).
func appendTimeField(out []byte, key string, t time.Time) ([]byte, error) {
	out = append(jsonappend.String(out, key), ':', '"')
	out, err := t.AppendText(out)
	if err != nil {
		return nil, err
	}
	return append(out, '"'), nil
}
