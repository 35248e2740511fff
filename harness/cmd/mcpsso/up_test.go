package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

// freePortBase finds six consecutive free loopback ports.
func freePortBase(t *testing.T) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(40000)
		ok := true
		var held []net.Listener
		for p := base; p < base+6; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no six consecutive free ports")
	return 0
}

// upProcess is `mcpsso up` running as a subprocess, ready.
type upProcess struct {
	*serveProcess
	mcpURL string
	issuer string
}

// startUp runs `mcpsso up` with args and waits for its ready line and IdP issuer.
func startUp(t *testing.T, bin string, args ...string) *upProcess {
	t.Helper()
	p := &upProcess{serveProcess: startServe(t, bin, nil, "ready ", append([]string{"up"}, args...)...)}
	p.stopWithin = 15 * time.Second
	p.mcpURL, p.issuer = p.printed("ready "), strings.TrimSpace(p.printed("IdP issuer"))
	if p.mcpURL == "" || p.issuer == "" {
		t.Fatalf("no ready line or issuer; stderr:\n%s", p.stderr.String())
	}
	return p
}

func tokenFromCLI(t *testing.T, bin, issuer, user string, extra ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"token", "--user", user, "--issuer", issuer}, extra...)...).Output()
	if err != nil {
		t.Fatalf("mcpsso token %v: %v", extra, err)
	}
	return strings.TrimSpace(string(out))
}

// TestUpAsASubprocess drives `mcpsso up` as a developer would: wait for ready, get a token for
// alice with `mcpsso token`, call whoami and list_objects through the gateway, stop with SIGINT.
func TestUpAsASubprocess(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	token := tokenFromCLI(t, bin, p.issuer, "alice")
	ctx := t.Context()
	c, err := mcpcall.Connect(ctx, p.mcpURL, map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	defer c.Close()
	for tool, want := range map[string]string{"whoami": "quilt-mcp-target-acme", "list_objects": "README.md"} {
		text, isErr, err := mcpcall.CallTool(ctx, c, tool, map[string]any{})
		if err != nil || isErr || !strings.Contains(text, want) {
			t.Errorf("%s: %q %v %v", tool, text, isErr, err)
		}
	}

	// A spec-following client asks for a token for the MCP URL itself (RFC 8707 resource): the
	// gateway accepts it; one for another resource is a 401.
	for resource, want := range map[string]int{p.mcpURL: http.StatusOK, "https://other.example/mcp": http.StatusUnauthorized} {
		tok := tokenFromCLI(t, bin, p.issuer, "alice", "--resource", resource)
		if got := postWhoami(t, p.mcpURL, tok); got != want {
			t.Errorf("a token for resource %s: HTTP %d, want %d\n%s", resource, got, want, p.stderr.String())
		}
	}

	p.interrupt(t)
	if log := p.stderr.String(); !strings.Contains(log, "authorizer     ALLOW") || !strings.Contains(log, "tool=whoami") || strings.Contains(log, token[:30]) {
		t.Errorf("the decision log lacks the allow or the tool call, or shows the token:\n%s", log)
	}
}

// postWhoami calls whoami with a bearer token and returns the HTTP status.
func postWhoami(t *testing.T, mcpURL, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUpOnMoto runs `mcpsso up --aws-backend moto`: moto_server serves AWS behind the enforcing
// proxy, alice works as usual and cannot read globex's plan, the log shows the proxy's
// decision, and SIGINT stops it cleanly.
func TestUpOnMoto(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	if _, err := exec.LookPath("moto_server"); err != nil && os.Getenv(moto.EnvRequireMoto) != "1" {
		t.Skipf("moto_server is not installed (set %s=1 to fail instead)", moto.EnvRequireMoto)
	}
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)), "--aws-backend", "moto")
	if !strings.Contains(strings.Join(p.lines, "\n"), "AWS moto behind the enforcing proxy") {
		t.Errorf("up does not say which AWS it runs: %q", p.lines)
	}
	ctx := t.Context()
	c, err := mcpcall.Connect(ctx, p.mcpURL, map[string]string{"Authorization": "Bearer " + tokenFromCLI(t, bin, p.issuer, "alice")})
	if err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	defer c.Close()
	if text, isErr, err := mcpcall.CallTool(ctx, c, "whoami", nil); err != nil || isErr || !strings.Contains(text, "quilt-mcp-target-acme") {
		t.Errorf("whoami: %q %v %v", text, isErr, err)
	}
	if text, isErr, err := mcpcall.CallTool(ctx, c, "get_object", map[string]any{"bucket": "quilt-tenant-globex", "key": "plans/secret-plan.txt"}); err != nil || !isErr || !strings.Contains(text, "AccessDenied") {
		t.Errorf("alice's read of globex's plan: %q %v %v", text, isErr, err)
	}
	p.interrupt(t)
	if log := p.stderr.String(); !strings.Contains(log, "aws-enforce    DENY") {
		t.Errorf("the decision log lacks the enforcing proxy's deny:\n%s", log)
	}
}

// envRequireNode, set to 1 (CI sets it), makes the tests that need Node.js fail without it.
const envRequireNode = "MCPSSO_REQUIRE_NODE"

// TestUpWithAScopedFixtureAndSessions runs `mcpsso up` on a fixture whose MCP resource requires a
// scope, with --sessions: the printed token command asks for the scope and its token is served,
// `mcpsso token` without it gets a token refused with 403 insufficient_scope, and an initialize
// of protocol 2025-11-25 with the printed command's token gets a session id.
func TestUpWithAScopedFixtureAndSessions(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	fixturePath := filepath.Join(t.TempDir(), "fixture.yaml")
	scoped := strings.Replace(string(fixture.DefaultYAML()), "# mcp:\n#   scopes: [mcp:tools]", "mcp:\n  scopes: [mcp:tools]", 1)
	if !strings.Contains(scoped, "\nmcp:\n") {
		t.Fatal("the default fixture no longer shows the mcp section commented out")
	}
	if err := os.WriteFile(fixturePath, []byte(scoped), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)), "--config", fixturePath, "--sessions")
	var printed string
	for _, s := range printedSnippets(p.lines) {
		if text := s.text(); strings.HasPrefix(text, "TOKEN=$(") {
			printed = text
		}
	}
	if !strings.Contains(printed, "--scope 'openid profile email offline_access mcp:tools')") {
		t.Fatalf("the printed token command does not ask for the scope: %q", printed)
	}
	// Run as printed, in the shell a user pastes into (mcpsso on PATH).
	cmd := exec.CommandContext(t.Context(), "bash", "-c", "set -euo pipefail\n"+printed+"\nprintf '%s' \"$TOKEN\"")
	cmd.Env = userEnv(filepath.Dir(bin))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", printed, err)
	}
	// A stateful server serves no request of 2025-11-25 but initialize without a session id.
	if got := postWhoami(t, p.mcpURL, tokenFromCLI(t, bin, p.issuer, "alice")); got != http.StatusForbidden {
		t.Errorf("a token without mcp:tools: HTTP %d, want 403", got)
	}
	req, err := http.NewRequest(http.MethodPost, p.mcpURL, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"up-test","version":"1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(out)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
		t.Errorf("initialize with the printed command's token and --sessions: HTTP %d, Mcp-Session-Id %q\n%s",
			resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), p.stderr.String())
	}
	p.interrupt(t)
}

// TestTheTextLogSaysWhyInWords: a deny's detail (which claim, which value) follows its reason
// code in up's text log, as in the JSON one.
func TestTheTextLogSaysWhyInWords(t *testing.T) {
	line := readable([]byte(`{"time":"2026-12-07T03:25:14Z","component":"authorizer","decision":"deny","reason":"wrong_token_type","detail":"claim \"token_use\" is \"id\", not \"access\": it is not an access token","sub":""}`))
	want := `authorizer     DENY  reason=wrong_token_type detail="claim \"token_use\" is \"id\", not \"access\": it is not an access token"`
	if !strings.HasSuffix(line, want) {
		t.Fatalf("readable = %q\nwant it to end %q", line, want)
	}
	if line := readable([]byte(`{"component":"authorizer","decision":"allow","sub":"alice"}`)); strings.Contains(line, "detail") {
		t.Fatalf("an allow without detail shows one: %q", line)
	}
}

// Every kind of line the text log shows still shows once lines without a decision are skipped
// before decoding; lines without one stay hidden.
func TestTheTextLogShowsEveryKindOfDecision(t *testing.T) {
	shown := []string{
		`{"component":"authorizer","decision":"deny","reason":"expired","sub":"alice"}`,
		`{"component":"mcpserver","msg":"tool call","tool":"get_object","outcome":"ok","user":"alice"}`,
		`{"component":"mcpserver","msg":"request refused","reason":"no_context","error":"missing header"}`,
		`{"component":"gateway","msg":"access","status":403,"httpMethod":"POST","path":"/mcp"}`,
		`{"component":"aws","msg":"aws request","decision":"allow","caller":"arn:aws:sts::111122223333:assumed-role/r/usr-alice"}`,
	}
	for _, l := range shown {
		if readable([]byte(l)) == "" {
			t.Errorf("readable(%s) is empty; want a decision line", l)
		}
	}
	hidden := []string{
		`{"component":"gateway","msg":"access","status":200,"httpMethod":"POST","path":"/mcp"}`,
		`{"component":"mockidp","msg":"token issued","sub":"alice"}`,
		`{"component":"aws","msg":"aws request","decision":"allow","caller":"arn:aws:iam::111122223333:user/admin"}`,
		`not json`,
	}
	for _, l := range hidden {
		if got := readable([]byte(l)); got != "" {
			t.Errorf("readable(%s) = %q; want nothing", l, got)
		}
	}
}
