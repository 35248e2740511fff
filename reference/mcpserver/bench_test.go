package mcpserver_test

import (
	"context"
	"testing"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// BenchmarkToolCalls measures get_object calls through mcp-go's client against the embedded
// emulator, with a fresh AssumeRole for every call (the default) and with the session cache,
// in the same run. Each call is one HTTP request to the server; without the cache it makes an
// STS AssumeRole and an S3 GetObject, with it only the GetObject.
func BenchmarkToolCalls(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []mcpserver.Option
	}{
		{"fresh AssumeRole per call", nil},
		{"session cache", []mcpserver.Option{mcpserver.WithSessionCache(true)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := newWorld(b)
			_, url := w.serve(b, bc.opts...)
			c := connect(b, clients[0], url, modern, gateway("acme", "usr-bench")).(*mcpGoClient)
			args := map[string]any{"key": "data.csv"}
			for b.Loop() {
				r, err := c.callContext(context.Background(), "get_object", args)
				if err != nil || r.isError {
					b.Fatalf("get_object: %+v %v", r, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
