package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"
)

// TestRelayCommandsServeUntilTheirContextEnds: `vpc metrics-relay` and `vpc relay` print ready,
// relay, and once their context ends return nil, leaving no server goroutine behind. (The
// upstream is closed before the check: the relays' client connections end with their process.)
func TestRelayCommandsServeUntilTheirContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func() *cobra.Command
		args func(upstream string) []string
		path string
	}{
		{"metrics-relay", newVPCMetricsRelayCommand, func(u string) []string { return []string{"--addr", "127.0.0.1:0", "--upstream", u + "/metrics"} }, "/metrics"},
		{"relay", newVPCRelayCommand, func(u string) []string { return []string{"--addr", "127.0.0.1:0", "--upstream", u} }, "/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "upstream") }))
			client := &http.Client{Transport: &http.Transport{}}
			for i := range 10 {
				ctx, cancel := context.WithCancel(context.Background())
				readyR, readyW := io.Pipe()
				cmd := tc.cmd()
				cmd.SetArgs(tc.args(upstream.URL))
				cmd.SetOut(readyW)
				cmd.SetErr(io.Discard)
				returned := make(chan error, 1)
				go func() { returned <- cmd.ExecuteContext(ctx) }()
				line, err := bufio.NewReader(readyR).ReadString('\n')
				url, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
				if err != nil || !ok {
					cancel()
					t.Fatalf("round %d: first line %q (%v), want ready URL", i, line, err)
				}
				resp, err := client.Get(strings.TrimSuffix(url, tc.path) + tc.path)
				if err != nil {
					cancel()
					t.Fatalf("round %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if string(body) != "upstream" {
					t.Errorf("round %d: relayed %d %q", i, resp.StatusCode, body)
				}
				cancel()
				if err := <-returned; err != nil {
					t.Fatalf("round %d: the command ended with %v", i, err)
				}
				client.CloseIdleConnections()
			}
			upstream.Close()
			goleak.VerifyNone(t, before)
		})
	}
}
