package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
)

// TestUpServesBrowserBasedClients runs `mcpsso up --allowed-origin ORIGIN` and sends what a
// browser-based MCP client's page sends (the CORS preflight from another origin, then the POST
// with Origin and the bearer token): from the gateway's own origin and from the added one the
// page gets its answer; from another origin the preflight is refused, and the request sent
// anyway (by something that is not a browser) gets 403 naming up's flag, each logged as a deny
// with the reason.
func TestUpServesBrowserBasedClients(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	const added, other = "http://localhost:5173", "https://evil.example"
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)), "--allowed-origin", added)
	u, _ := url.Parse(p.mcpURL)
	own := u.Scheme + "://" + u.Host
	if out := strings.Join(p.lines, "\n"); !strings.Contains(out, "Browser-based clients may call from "+own+" (the gateway's own origin), "+added) {
		t.Errorf("up does not say which origins may call:\n%s", out)
	}
	token := tokenFromCLI(t, bin, p.issuer, "alice")
	ctx := t.Context()
	withToken := http.Header{"Authorization": {"Bearer " + token}, "Mcp-Protocol-Version": {"2025-11-25"}}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

	for _, origin := range []string{own, added} {
		a, err := stack.BrowserPost(ctx, origin, p.mcpURL, withToken, call)
		if err != nil {
			t.Fatal(err)
		}
		if a.Blocked != nil || a.Status != http.StatusOK || !strings.Contains(a.Body, "quilt-mcp-target-acme") {
			t.Errorf("from %s: blocked %v, HTTP %d %s\n%s", origin, a.Blocked, a.Status, a.Body, p.stderr.String())
		}
		// Without a token: the page reads the challenge that leads it to the IdP.
		a, err = stack.BrowserPost(ctx, origin, p.mcpURL, nil, call)
		if err != nil {
			t.Fatal(err)
		}
		if a.Blocked != nil || a.Status != http.StatusUnauthorized || !strings.Contains(a.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Errorf("from %s without a token: blocked %v, HTTP %d, readable headers %v", origin, a.Blocked, a.Status, a.Header)
		}
	}

	a, err := stack.BrowserPost(ctx, other, p.mcpURL, withToken, call)
	if err != nil {
		t.Fatal(err)
	}
	if a.Blocked == nil || a.Preflight != http.StatusForbidden {
		t.Errorf("from %s: preflight %d, blocked %v; want the preflight refused", other, a.Preflight, a.Blocked)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.mcpURL, strings.NewReader(call))
	req.Header = withToken.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Origin", other)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct{ Error, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || refusal.Error != "origin_not_allowed" || !strings.Contains(refusal.Message, "listed with mcpsso up --allowed-origin") {
		t.Errorf("a POST from %s: HTTP %d %+v", other, resp.StatusCode, refusal)
	}

	p.interrupt(t)
	log := p.stderr.String()
	for _, want := range []string{
		`gateway        DENY  reason=Origin "` + other + `" is not allowed to call this API from a browser; add it with mcpsso up --allowed-origin`,
		`mcp-server     DENY  reason=origin_not_allowed: Origin "` + other + `" is not allowed; only origins listed with mcpsso up --allowed-origin`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the decision log lacks %q:\n%s", want, log)
		}
	}
}

// TestUpRejectsABadAllowedOrigin: an --allowed-origin that is not an origin, or one the seed
// profile could not serve, is refused before anything starts, naming the flag and the rule.
func TestUpRejectsABadAllowedOrigin(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention []string
	}{
		{[]string{"--allowed-origin", "http://localhost:5173/"}, []string{`--allowed-origin "http://localhost:5173/"`, "not even a trailing /"}},
		{[]string{"--allowed-origin", "http://localhost:5173,localhost:3000"}, []string{`--allowed-origin "localhost:3000"`, "scheme://host[:port]"}},
		{[]string{"--allowed-origin", "ftp://files.example"}, []string{`--allowed-origin "ftp://files.example"`, "http or https"}},
		{[]string{"--profile", "seed", "--allowed-origin", "http://localhost:5173"}, []string{"--allowed-origin with --profile seed", "no CORS preflight"}},
	} {
		code, stdout, stderr := execute(t, "", append([]string{"up", "--port-base", "1024"}, tc.args...)...)
		if code != exitInput || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q; want exit %d and nothing on stdout", tc.args, code, stdout, exitInput)
		}
		for _, m := range tc.mention {
			if !strings.Contains(stderr, m) {
				t.Errorf("%v: stderr %q does not mention %q", tc.args, stderr, m)
			}
		}
	}
}
