package stack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

func startStack(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	s, err := Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestTheReferenceStackEndToEnd(t *testing.T) {
	s := startStack(t)
	ctx := t.Context()

	alice, err := s.MCPClient(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	who, isErr, err := mcpcall.CallTool(ctx, alice, "whoami", nil)
	if err != nil || isErr || !strings.Contains(who, "assumed-role/quilt-mcp-target-acme/") {
		t.Fatalf("whoami: %q %v %v", who, isErr, err)
	}
	list, isErr, err := mcpcall.CallTool(ctx, alice, "list_objects", map[string]any{})
	if err != nil || isErr || !strings.Contains(list, "reports/2026-q3.csv") {
		t.Fatalf("list_objects: %q %v %v", list, isErr, err)
	}
	denied, isErr, err := mcpcall.CallTool(ctx, alice, "get_object", map[string]any{"bucket": "quilt-tenant-globex", "key": "plans/secret-plan.txt"})
	if err != nil || !isErr || !strings.Contains(denied, "AccessDenied") {
		t.Fatalf("cross-tenant get_object: %q %v %v", denied, isErr, err)
	}

	// Dave's Auth0 subject becomes a valid source identity.
	dave, err := s.MCPClient(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	defer dave.Close()
	if who, isErr, err := mcpcall.CallTool(ctx, dave, "whoami", nil); err != nil || isErr || !strings.Contains(who, "usr-") {
		t.Fatalf("dave's whoami: %q %v %v", who, isErr, err)
	}

	// No token: 401 with the MCP challenge.
	resp, err := http.Post(s.MCPURL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Carol has a valid token and no mapping: 403.
	carol, err := s.TokenFor(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+carol)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("carol: %d, want 403", resp.StatusCode)
	}
	// The AssumeRole is in CloudTrail with alice's source identity; no token is in the logs.
	token, _ := s.TokenFor(ctx, "alice")
	for _, line := range s.Logs() {
		if strings.Contains(line, token[:40]) {
			t.Fatal("a token prefix is in the logs")
		}
	}
}

// directWhoami POSTs whoami to the MCP server's own port with globex's decided headers and no
// token, as a process on the host could, adding the stack's proof when prove is set.
func directWhoami(t *testing.T, s *Stack, prove bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.MCPDirectURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-globex")
	req.Header.Set("X-Source-Identity", "usr-mallory")
	req.Header.Set("X-Session-Tags", `[{"Key":"tenant","Value":"globex"}]`)
	if prove {
		if err := s.ProveContext(http.MethodPost, "/mcp", req.Header); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The reference stack's MCP server takes the decided headers only with the authorizer's proof;
// WithoutContextProof puts the tutorial's weakness back, and the same request acts as globex.
func TestTheMCPServersOwnPortServesOnlyProvenContexts(t *testing.T) {
	s := startStack(t)
	if status, body := directWhoami(t, s, false); status != http.StatusForbidden || !strings.Contains(body, "missing_context_proof") {
		t.Errorf("reference, no proof: %d %s", status, body)
	}
	if status, body := directWhoami(t, s, true); status != http.StatusOK || !strings.Contains(body, "quilt-mcp-target-globex/usr-mallory") {
		t.Errorf("reference, proven: %d %s", status, body)
	}
	weak := startStack(t, WithoutContextProof())
	if status, body := directWhoami(t, weak, false); status != http.StatusOK || !strings.Contains(body, "quilt-mcp-target-globex/usr-mallory") {
		t.Errorf("without context proofs, no proof: %d %s; want the weakness, globex's session", status, body)
	}
}

func TestTheSeedStackFailsWhereTheTutorialWould(t *testing.T) {
	s := startStack(t, WithProfile(ProfileSeed))
	ctx := t.Context()
	// The HTTP API cannot send the challenge: a bare 401.
	resp, err := http.Post(s.MCPURL(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("seed, no token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// Alice gets in the door but no tool works: the tutorial's context keys do not map and its
	// trust policy denies the per-request AssumeRole.
	c, err := s.MCPClient(ctx, "alice")
	if err == nil {
		defer c.Close()
		if who, isErr, err := mcpcall.CallTool(ctx, c, "whoami", nil); err == nil && !isErr {
			t.Fatalf("the seed stack let alice act: %q", who)
		}
	}
}

// TestStartAndCloseTenTimes: the whole stack, with one MCP call through the gateway each
// round, leaves no goroutine behind. Ten rounds, not a hundred: each component has its own
// hundred-round check in its package, so this one checks how the stack starts and closes
// them; a round starts seven servers, seeds the fixture and logs a user in (0.2 s under -race
// here, so a hundred would add 20 s to every run of this package on a two-core machine).
func TestStartAndCloseTenTimes(t *testing.T) {
	servetest.StartAndClose(t, 10, func(ctx context.Context, _ *http.Client) (servetest.Started, error) {
		s, err := Start(ctx)
		if err != nil {
			return servetest.Started{}, err
		}
		c, err := s.MCPClient(ctx, "alice")
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		_, _, err = mcpcall.CallTool(ctx, c, "whoami", nil)
		_ = c.Close()
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		return servetest.Started{URL: s.GatewayURL(), Close: s.Close}, nil
	})
}

// BenchmarkStartAndClose: the whole embedded stack, ready and stopped (target: under 300 ms).
func BenchmarkStartAndClose(b *testing.B) {
	for b.Loop() {
		s, err := Start(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}

// WithSessions configures the reference server; with a handler of the user's own it would
// claim sessions nobody issues.
func TestWithSessionsAndYourOwnHandlerAreRefusedTogether(t *testing.T) {
	_, err := Start(context.Background(), WithSessions(),
		WithMCPHandler(func(MCPEnv) (http.Handler, error) { return http.NotFoundHandler(), nil }))
	if err == nil || !strings.Contains(err.Error(), "WithSessions configures the reference MCP server") {
		t.Fatalf("got %v, want the refusal", err)
	}
}

// A WithMCPHandler function that fails, or returns no handler, fails Start and says whose it is.
func TestYourHandlerFailingToBuildFailsStart(t *testing.T) {
	for _, build := range []func(MCPEnv) (http.Handler, error){
		func(MCPEnv) (http.Handler, error) { return nil, errors.New("no config") },
		func(MCPEnv) (http.Handler, error) { return nil, nil },
	} {
		_, err := Start(context.Background(), WithMCPHandler(build))
		if err == nil || !strings.Contains(err.Error(), "your MCP handler") {
			t.Errorf("got %v, want an error naming your MCP handler", err)
		}
	}
	if _, err := Start(context.Background(), WithMCPHandler(nil)); err == nil {
		t.Error("WithMCPHandler(nil): want an error")
	}
}
