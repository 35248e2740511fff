package stack

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

// TestAFixtureThatDeclaresScopesGetsThemEnforcedAndAdvertised: the stack deploys the fixture's
// mcp.scopes end to end: the metadata lists them, the 401 names them, the IdP grants them,
// TokenFor's tokens carry them and work, and a valid token without them gets 403 with the
// insufficient_scope challenge, before the MCP server is reached.
func TestAFixtureThatDeclaresScopesGetsThemEnforcedAndAdvertised(t *testing.T) {
	f, err := fixture.Default().WithMCPScopes("mcp:tools")
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, WithFixture(f))
	ctx := t.Context()
	if got := strings.Join(s.Scopes(), " "); got != "mcp:tools" {
		t.Fatalf("Scopes() = %q", got)
	}

	post := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	metadataURL := strings.Replace(s.MCPURL(), "/mcp", "/.well-known/oauth-protected-resource/mcp", 1)
	if ch := post("").Header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="mcp:tools"`) {
		t.Errorf("401 challenge %q names no scope", ch)
	}
	resp, err := http.Get(metadataURL)
	if err != nil {
		t.Fatal(err)
	}
	var prm struct {
		Scopes []string `json:"scopes_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&prm)
	resp.Body.Close()
	if err != nil || strings.Join(prm.Scopes, " ") != "mcp:tools" {
		t.Errorf("protected resource metadata: scopes_supported %v, %v", prm.Scopes, err)
	}

	alice, err := s.MCPClient(ctx, "alice")
	if err != nil {
		t.Fatalf("TokenFor's token carries the scope and connects: %v", err)
	}
	defer alice.Close()
	if who, isErr, err := mcpcall.CallTool(ctx, alice, "whoami", nil); err != nil || isErr {
		t.Fatalf("whoami: %q %v %v", who, isErr, err)
	}

	lacking, err := s.IdP().TokenFor(ctx, "alice") // the IdP's own default: openid profile email
	if err != nil {
		t.Fatal(err)
	}
	denied := post(lacking)
	want := `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="` + metadataURL + `"`
	if denied.StatusCode != http.StatusForbidden || denied.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("a valid token without mcp:tools: %d %q, want 403 %q", denied.StatusCode, denied.Header.Get("WWW-Authenticate"), want)
	}
}

// TestWithSessionsTheMCPServerIssuesSessionIDs: stateless by default, the MCP server issues a
// session id to an initialize of protocol 2025-11-25 when the stack runs it WithSessions.
func TestWithSessionsTheMCPServerIssuesSessionIDs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []Option
		sessions bool
	}{
		{"stateless by default", nil, false},
		{"stateful WithSessions", []Option{WithSessions()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, tc.opts...)
			if s.Sessions() != tc.sessions {
				t.Fatalf("Sessions() = %v", s.Sessions())
			}
			tok, err := s.TokenFor(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.MCPURL(), strings.NewReader(
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stack-test","version":"1"}}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-11-25")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if sid := resp.Header.Get("Mcp-Session-Id"); resp.StatusCode != http.StatusOK || (sid != "") != tc.sessions {
				t.Fatalf("initialize: %d, Mcp-Session-Id %q; want a session id: %v", resp.StatusCode, sid, tc.sessions)
			}
		})
	}
}
