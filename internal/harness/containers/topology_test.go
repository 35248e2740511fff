package containers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestTopology starts the reference topology once and checks, from the host and from the
// networks, what a deployment must and must not allow.
func TestTopology(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireDocker(t)
	ctx := context.Background()
	start := time.Now()
	topo, err := containers.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("topology up in %v (image %s)", time.Since(start).Round(time.Millisecond), topo.Image())

	t.Run("no token is a 401 with the MCP challenge", func(t *testing.T) {
		resp := callMCP(t, topo.MCPURL(), "")
		if resp.status != http.StatusUnauthorized || !strings.Contains(resp.header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Fatalf("got HTTP %d, WWW-Authenticate %q; want 401 with resource_metadata", resp.status, resp.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("alice lists her tenant's objects through the gateway", func(t *testing.T) {
		tok, err := topo.TokenFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		resp := callMCP(t, topo.MCPURL(), tok)
		if resp.status != http.StatusOK || strings.Contains(resp.body, `"isError":true`) || !strings.Contains(resp.body, "quilt-tenant-acme") {
			t.Fatalf("HTTP %d: %s\nmcp logs:\n%s", resp.status, resp.body, logsOf(topo, containers.AliasMCP))
		}
	})

	t.Run("a token for the MCP URL itself is accepted, one for another resource is a 401", func(t *testing.T) {
		for resource, want := range map[string]int{topo.MCPURL(): http.StatusOK, "https://other.example/mcp": http.StatusUnauthorized} {
			tok, err := topo.TokenForResource(ctx, "alice", resource)
			if err != nil {
				t.Fatal(err)
			}
			if resp := callMCP(t, topo.MCPURL(), tok); resp.status != want {
				t.Errorf("resource %s: HTTP %d, want %d: %s", resource, resp.status, want, resp.body)
			}
		}
	})

	t.Run("a forged token is signed as the IdP container signs, and refused", func(t *testing.T) {
		checkForgeries(t, topo)
	})

	t.Run("a browser-based client on the gateway's origin is served, another origin's preflight is refused", func(t *testing.T) {
		tok, err := topo.TokenFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(topo.MCPURL())
		withToken := http.Header{"Authorization": {"Bearer " + tok}, "Mcp-Protocol-Version": {"2025-11-25"}}
		whoami := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
		a, err := stack.BrowserPost(ctx, u.Scheme+"://"+u.Host, topo.MCPURL(), withToken, whoami)
		if err != nil {
			t.Fatal(err)
		}
		if a.Blocked != nil || a.Status != http.StatusOK || !strings.Contains(a.Body, "quilt-mcp-target-acme") {
			t.Fatalf("from the gateway's origin: blocked %v, HTTP %d %s\nmcp logs:\n%s", a.Blocked, a.Status, a.Body, logsOf(topo, containers.AliasMCP))
		}
		if a, err = stack.BrowserPost(ctx, "https://evil.example", topo.MCPURL(), withToken, whoami); err != nil || a.Blocked == nil || a.Preflight != http.StatusForbidden {
			t.Fatalf("from another origin: %v, preflight %d, blocked %v", err, a.Preflight, a.Blocked)
		}
	})

	t.Run("admin reaches the AWS emulator on its published port", func(t *testing.T) {
		cfg, err := topo.AdminAWSConfig("")
		if err != nil {
			t.Fatal(err)
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(*out.Arn, ":user/admin") {
			t.Fatalf("caller %s", *out.Arn)
		}
	})

	mcpAddr, err := topo.MCPServerAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the MCP server is unreachable from the host", func(t *testing.T) {
		// An HTTP exchange, not a TCP connect: some sandboxes accept every connection.
		req, _ := http.NewRequest(http.MethodPost, "http://"+mcpAddr+"/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("x-decided-role", topo.Fixture().RoleARN(topo.Fixture().Accounts[0].ID, "quilt-mcp-target-acme"))
		req.Header.Set("x-source-identity", "usr-alice")
		req.Header.Set("x-session-tags", `[{"Key":"tenant","Value":"acme"}]`)
		// The Host the server allows, so that its Host check cannot pass for isolation.
		req.Host = containers.AliasMCP + ":8080"
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			t.Logf("POST %s from the host: %v", mcpAddr, err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if fromMCPServer(string(b)) {
			t.Fatalf("the host reached the MCP server at %s: HTTP %d %s", mcpAddr, resp.StatusCode, b)
		}
		t.Logf("POST %s from the host: HTTP %d, not the MCP server", mcpAddr, resp.StatusCode)
	})

	t.Run("on the internal network the MCP server refuses forged headers without the authorizer's proof", func(t *testing.T) {
		if out := probeMCP(t, topo, mcpAddr, topo.InternalNetwork(), ""); !strings.Contains(out, "HTTP 403") || !strings.Contains(out, "missing_context_proof") {
			t.Fatalf("probe on the internal network: %s", out)
		}
	})
	t.Run("on the internal network the MCP server serves a context the authorizer proved", func(t *testing.T) {
		h := probeHeaders(topo)
		if err := topo.ProveContext(http.MethodPost, "/mcp", h); err != nil {
			t.Fatal(err)
		}
		if out := probeMCP(t, topo, mcpAddr, topo.InternalNetwork(), h.Get("X-Context-Proof")); !strings.Contains(out, "HTTP 200") || !strings.Contains(out, "quilt-mcp-target-acme/usr-alice") {
			t.Fatalf("proven probe on the internal network: %s\nmcp logs:\n%s", out, logsOf(topo, containers.AliasMCP))
		}
	})
	t.Run("the MCP server is unreachable from the public network", func(t *testing.T) {
		out := probeMCP(t, topo, mcpAddr, topo.PublicNetwork(), "")
		if fromMCPServer(out) {
			t.Fatalf("probe on the public network reached the MCP server: %s", out)
		}
		t.Logf("probe on the public network: %s", strings.TrimSpace(out))
	})
	t.Run("through the direct relay, as another service in the VPC, forged headers get 403 for want of a proof", func(t *testing.T) {
		url, err := topo.MCPDirectURL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := probeHeaders(topo)
		h.Set("X-Source-Identity", "usr-relay-probe")
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		req.Header = h
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "missing_context_proof") {
			t.Fatalf("POST %s with forged headers: HTTP %d %s", url, resp.StatusCode, b)
		}
	})
}

// fromMCPServer reports whether a probe's output is an answer only the MCP server gives: a
// JSON-RPC message, or its refusal for want of a context proof.
func fromMCPServer(out string) bool {
	return strings.Contains(out, "jsonrpc") || strings.Contains(out, "context_proof")
}

// probeHeaders are the decided headers the gateway would inject for alice.
func probeHeaders(topo *containers.Topology) http.Header {
	f := topo.Fixture()
	h := http.Header{}
	h.Set("X-Decided-Role", f.RoleARN(f.Accounts[0].ID, "quilt-mcp-target-acme"))
	h.Set("X-Source-Identity", "usr-alice")
	h.Set("X-Session-Tags", `[{"Key":"tenant","Value":"acme"}]`)
	return h
}

// probeMCP sends a tools/call to the MCP server's address from a container on network nw (`mcpsso
// vpc http`) with the headers the gateway would inject (and proof, when not "") and the Host
// the server allows, and returns what it printed: fromMCPServer tells the MCP server's answers
// — an HTTP exchange, not a TCP connect, since some networks accept every connection.
func probeMCP(t *testing.T, topo *containers.Topology, mcpAddr, nw, proof string) string {
	t.Helper()
	h := probeHeaders(topo)
	args := []string{"vpc", "http", "--method", "POST", "--url", "http://" + mcpAddr + "/mcp", "--timeout", "3s",
		"--header", "Host: " + containers.AliasMCP + ":8080",
		"--header", "Content-Type: application/json",
		"--header", "Accept: application/json, text/event-stream",
		"--header", "MCP-Protocol-Version: 2025-11-25",
		"--header", "x-decided-role: " + h.Get("X-Decided-Role"),
		"--header", "x-source-identity: " + h.Get("X-Source-Identity"),
		"--header", "x-session-tags: " + h.Get("X-Session-Tags"),
		"--data", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`}
	if proof != "" {
		args = append(args, "--header", "x-context-proof: "+proof)
	}
	c, err := testcontainers.Run(t.Context(), topo.Image(),
		testcontainers.WithCmd(args...),
		network.WithNetworkName(nil, nw),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(30*time.Second)))
	if c != nil {
		defer func() { _ = c.Terminate(context.Background()) }()
	}
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Logs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

type mcpResponse struct {
	status int
	header http.Header
	body   string
}

func callMCP(t *testing.T, url, token string) mcpResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_objects","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return mcpResponse{resp.StatusCode, resp.Header, string(b)}
}

// checkForgeries: a signature-valid forgery verifies with the IdP container's own JWKS (the
// topology forges with the container's key), and the deployment answers it and an expired one
// with 401.
func checkForgeries(t *testing.T, topo *containers.Topology) {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, topo.IssuerURL())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []mockidp.Forgery{mockidp.ForgeWrongAudience, mockidp.ForgeExpired} {
		tok, err := topo.Forge(ctx, f, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.Verifier(&oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true}).Verify(ctx, tok); err != nil {
			t.Errorf("%s: the forged token does not verify with the IdP container's JWKS: %v", f, err)
		}
		if resp := callMCP(t, topo.MCPURL(), tok); resp.status != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d %s; want 401", f, resp.status, resp.body)
		}
	}
}

func logsOf(topo *containers.Topology, name string) string {
	s, err := topo.ComponentLogs(context.Background(), name)
	if err != nil {
		return err.Error()
	}
	return s
}
