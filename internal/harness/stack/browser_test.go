package stack

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const whoamiCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// TestBrowserBasedClients sends what a browser-based MCP client's page sends, preflight and
// all, through the reference stack: from the gateway's own origin (allowed in every stack) and
// from an added one, the call is served and the page may read it, the 401 challenge included;
// from any other origin the preflight is refused, the request never leaves the browser, and a
// client that sends it anyway gets 403 naming how to allow the origin, logged as a deny.
func TestBrowserBasedClients(t *testing.T) {
	const added = "http://localhost:6274"
	s := startStack(t, WithAllowedOrigins(added), WithOriginHint("mcpsso up --allowed-origin"))
	ctx := t.Context()
	if got := s.AllowedOrigins(); len(got) != 2 || got[0] != s.GatewayURL() || got[1] != added {
		t.Fatalf("AllowedOrigins %v, want the gateway's own origin %s and %s", got, s.GatewayURL(), added)
	}
	token, err := s.TokenFor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	withToken := http.Header{"Authorization": {"Bearer " + token}, "Mcp-Protocol-Version": {"2025-11-25"}}

	for _, origin := range []string{s.GatewayURL(), added} {
		t.Run("from "+origin, func(t *testing.T) {
			a, err := BrowserPost(ctx, origin, s.MCPURL(), withToken, whoamiCall)
			if err != nil {
				t.Fatal(err)
			}
			if a.Blocked != nil || a.Status != http.StatusOK || !strings.Contains(a.Body, "quilt-mcp-target-acme") {
				t.Fatalf("blocked %v, HTTP %d %s", a.Blocked, a.Status, a.Body)
			}
			if origin == added && a.Preflight != http.StatusOK {
				t.Errorf("preflight %d", a.Preflight)
			}
			if !exposes(a.Raw.Header, "Mcp-Session-Id") {
				t.Errorf("Mcp-Session-Id is not readable by the page: %v", a.Raw.Header)
			}
			// The challenge: a page must read WWW-Authenticate to find the IdP.
			a, err = BrowserPost(ctx, origin, s.MCPURL(), http.Header{"Mcp-Protocol-Version": {"2025-11-25"}}, whoamiCall)
			if err != nil {
				t.Fatal(err)
			}
			if a.Blocked != nil || a.Status != http.StatusUnauthorized || !strings.Contains(a.Header.Get("WWW-Authenticate"), "resource_metadata=") {
				t.Fatalf("401 as the page sees it: blocked %v, HTTP %d, headers %v", a.Blocked, a.Status, a.Header)
			}
		})
	}
	// Browsers send no preflight to their own origin, but one would be approved too.
	if a, err := BrowserPost(ctx, s.GatewayURL(), s.GatewayURL()+"/.well-known/oauth-protected-resource/mcp", nil, ""); err != nil || a.Blocked != nil {
		t.Fatalf("a same-origin request: %v %v", err, a.Blocked)
	}
	pre, err := http.NewRequestWithContext(ctx, http.MethodOptions, s.MCPURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", s.GatewayURL())
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type,mcp-protocol-version,mcp-session-id")
	resp, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if why := preflightRefusal(resp, s.GatewayURL(), []string{"authorization", "content-type", "mcp-protocol-version", "mcp-session-id"}); why != "" {
		t.Errorf("a preflight from the gateway's own origin: %s", why)
	}

	t.Run("from an origin not allowed", func(t *testing.T) {
		const evil = "https://evil.example"
		a, err := BrowserPost(ctx, evil, s.MCPURL(), withToken, whoamiCall)
		if err != nil {
			t.Fatal(err)
		}
		if a.Blocked == nil || a.Preflight != http.StatusForbidden || a.Raw.Request.Method != http.MethodOptions {
			t.Fatalf("preflight %d, blocked %v: the browser must not send the request", a.Preflight, a.Blocked)
		}
		// A client that is not a browser sends what it likes: the MCP server refuses the Origin.
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.MCPURL(), strings.NewReader(whoamiCall))
		req.Header = withToken.Clone()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Origin", evil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var refusal struct{ Error, Message string }
		_ = json.NewDecoder(resp.Body).Decode(&refusal)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || refusal.Error != "origin_not_allowed" || !strings.Contains(refusal.Message, "mcpsso up --allowed-origin") ||
			resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("HTTP %d %+v %v", resp.StatusCode, refusal, resp.Header)
		}
		var preflightDeny, serverDeny bool
		for _, line := range s.Logs() {
			var rec map[string]any
			_ = json.Unmarshal([]byte(line), &rec)
			reason, _ := rec["reason"].(string)
			preflightDeny = preflightDeny || rec["component"] == "gateway" && rec["decision"] == "deny" && rec["origin"] == evil && strings.Contains(reason, "mcpsso up --allowed-origin")
			serverDeny = serverDeny || rec["component"] == "mcp-server" && reason == "origin_not_allowed"
		}
		if !preflightDeny || !serverDeny {
			t.Errorf("the log lacks the gateway's deny of the preflight (%v) or the MCP server's refusal (%v):\n%s", preflightDeny, serverDeny, strings.Join(s.Logs(), "\n"))
		}
	})
}

func exposes(h http.Header, name string) bool {
	for _, list := range h.Values("Access-Control-Expose-Headers") {
		for _, n := range strings.Split(list, ",") {
			if strings.EqualFold(strings.TrimSpace(n), name) {
				return true
			}
		}
	}
	return false
}

// TestAllowedOriginsAreValidated: bad origins are refused naming the rule; the seed profile,
// whose API answers no preflight, takes none; every stack allows its gateway's own origin.
func TestAllowedOriginsAreValidated(t *testing.T) {
	for _, bad := range []string{"localhost:6274", "http://localhost:6274/", "file:///x"} {
		if _, err := Start(t.Context(), WithAllowedOrigins(bad)); err == nil || !strings.Contains(err.Error(), "WithAllowedOrigins") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := Start(t.Context(), WithProfile(ProfileSeed), WithAllowedOrigins("http://localhost:6274")); err == nil ||
		!strings.Contains(err.Error(), "seed profile") {
		t.Errorf("seed with an added origin: %v", err)
	}
	s := startStack(t, WithProfile(ProfileSeed))
	if got := s.AllowedOrigins(); !slices.Equal(got, []string{s.GatewayURL()}) {
		t.Errorf("seed's allowed origins %v, want the gateway's own", got)
	}
}
