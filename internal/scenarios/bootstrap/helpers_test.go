package bootstrap

import "testing"

// TestPlainHTTPOffLoopback shows the HTTPS spec can fail: plain HTTP to any host but loopback
// is flagged, and an unparsable URL is never waved through.
func TestPlainHTTPOffLoopback(t *testing.T) {
	for url, want := range map[string]bool{
		"https://mcp.example.com/mcp":    false,
		"http://127.0.0.1:8080/mcp":      false,
		"http://127.8.9.10/mcp":          false,
		"http://[::1]:8080/mcp":          false,
		"http://localhost:8080/mcp":      false,
		"http://mcp.localhost/mcp":       false,
		"HTTPS://MCP.EXAMPLE.COM/mcp":    false,
		"http://mcp.example.com/mcp":     true,
		"http://10.0.0.5:8080/mcp":       true,
		"http://[2001:db8::1]/mcp":       true,
		"http://localhost.example.com/x": true,
		"http://%zz/mcp":                 true,
	} {
		if got := plainHTTPOffLoopback(url); got != want {
			t.Errorf("plainHTTPOffLoopback(%q) = %v, want %v", url, got, want)
		}
	}
}
