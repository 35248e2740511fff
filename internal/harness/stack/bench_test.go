package stack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// processCPU is this process's CPU time so far (user and system).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the process's CPU per operation since cpu0, in microseconds: on a shared
// machine the wall clock also counts other processes' turns, the CPU time does not.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkToolCall is one get_object tool call through the whole embedded stack, one client
// after another: the MCP client, the gateway with the authorizer (a cached decision after the
// first call), the MCP server, STS AssumeRole (or the session cache) and S3 GetObject in the
// emulator. Every part runs in this process, so cpu-µs/op is the whole call's CPU, client
// included. "loopback round trip" is the floor under each of the call's HTTP hops: a kept-alive
// request to a handler that writes 2 bytes.
func BenchmarkToolCall(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"AssumeRole per call", nil},
		{"session cache", []Option{WithMCPServerOptions(mcpserver.WithSessionCache(true))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := fixture.Default()
			f.Mappings = slices.Clone(f.Mappings)
			for i := range f.Mappings {
				f.Mappings[i].Limits.RequestsPerMinute = 0 // no 429s in a benchmark
			}
			s, err := Start(context.Background(), append([]Option{WithFixture(f)}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			c, err := s.MCPClient(ctx, "alice")
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			args := map[string]any{"key": "README.md"}
			call := func() {
				text, isErr, err := mcpcall.CallTool(ctx, c, "get_object", args)
				if err != nil || isErr || text == "" {
					b.Fatalf("get_object: %q %v %v", text, isErr, err)
				}
			}
			call() // the authorizer's keys, the first session, the connections
			cpu0 := processCPU(b)
			for b.Loop() {
				call()
			}
			reportCPU(b, cpu0)
		})
	}
	b.Run("loopback round trip", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
		defer srv.Close()
		client := srv.Client()
		cpu0 := processCPU(b)
		for b.Loop() {
			resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{}`))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		reportCPU(b, cpu0)
	})
}
