package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mcpsso/mcpsso/mocks/mockidp"
)

// TestIdPServeAsASubprocess runs `mcpsso idp serve` as a script would: wait for the ready
// line, get a token from it with `mcpsso token`, verify it, stop the IdP with SIGINT.
func TestIdPServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, nil, "export ", "idp", "serve", "--addr", "127.0.0.1:0")
	issuer := p.require(t, "ready ")
	out := strings.Join(p.lines, "\n")
	for _, want := range []string{"user alice sub=00u8c2d9qkL4mT7xw5d7", "tenant=(none)", "client mcpsso-cli public",
		"client mcpsso-demo confidential, secret mcpsso-demo-secret", "export MCPSSO_ISSUER=" + issuer} {
		if !strings.Contains(out, want) {
			t.Errorf("the ready output lacks %q:\n%s", want, out)
		}
	}

	code, token, errOut := execute(t, "", "token", "--user", "alice", "--issuer", issuer)
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: mockidp.DefaultAudience}).Verify(t.Context(), strings.TrimSpace(token))
	if err != nil {
		t.Fatalf("the token from the served IdP does not verify: %v", err)
	}
	if idt.Subject != "00u8c2d9qkL4mT7xw5d7" {
		t.Errorf("sub %q, want alice's", idt.Subject)
	}

	p.interrupt(t)
	stderr := p.stderr.String()

	var sawAllow bool
	for line := range strings.Lines(stderr) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		if rec["msg"] == "token" && rec["decision"] == "allow" && rec["sub"] == "00u8c2d9qkL4mT7xw5d7" && rec["client_id"] == "mcpsso-cli" {
			sawAllow = true
		}
	}
	if !sawAllow {
		t.Errorf("no token decision for alice in the log:\n%s", stderr)
	}
	if strings.Contains(stderr, strings.TrimSpace(token)) {
		t.Error("the log contains the access token")
	}
}

func TestIdPServeRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"--addr", "nohost"}, "nohost"},
		{[]string{"--alg", "PS256"}, "PS256"},
		{[]string{"--audience", "quilt"}, "absolute URI"},
		{[]string{"--tenant-claim", "sub"}, "sub"},
		{[]string{"--issuer-url", "ftp://idp"}, "http or https"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--issuer-path", "realms"}, "start with /"},
	} {
		code, stdout, stderr := execute(t, "", append([]string{"idp", "serve"}, tc.args...)...)
		if code != exitInput || stdout != "" || !strings.Contains(stderr, tc.mention) {
			t.Errorf("idp serve %v: exit %d, stdout %q, stderr %q; want exit 2 naming %s", tc.args, code, stdout, stderr, tc.mention)
		}
	}
}

// TestIdPServeTakesItsUsersFromAFixture: a user only the fixture declares can log in, and a
// scope its MCP resource requires can be asked for.
func TestIdPServeTakesItsUsersFromAFixture(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	fx := strings.Replace(string(fixtureDefaultYAML(t)), "  - username: carol", "  - username: zoe\n    sub: zoe-0001\n    email: zoe@acme.example\n    tenant: acme\n  - username: carol", 1)
	fx = strings.Replace(fx, "# mcp:\n#   scopes: [mcp:tools]", "mcp:\n  scopes: [mcp:tools]", 1)
	path := filepath.Join(dir, "fixture.yaml")
	if err := os.WriteFile(path, []byte(fx), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, nil, "ready ", "idp", "serve", "--addr", "127.0.0.1:0", "--config", path)
	issuer := p.require(t, "ready ")
	if tok := tokenFromCLI(t, bin, issuer, "zoe"); strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q", tok)
	}
	code, out, errOut := execute(t, "", "token", "--user", "zoe", "--issuer", issuer, "--scope", "openid mcp:tools", "--json")
	if code != 0 || !strings.Contains(out, `"scope": "openid mcp:tools"`) {
		t.Fatalf("a token with the fixture's MCP scope: exit %d %s %s", code, out, errOut)
	}
}

func fixtureDefaultYAML(t *testing.T) []byte {
	t.Helper()
	code, stdout, stderr := execute(t, "", "fixture", "print")
	if code != 0 {
		t.Fatalf("fixture print: %d %s", code, stderr)
	}
	return []byte(stdout)
}
