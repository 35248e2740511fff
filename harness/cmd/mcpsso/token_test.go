package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func startTestIdP(t *testing.T) *mockidp.Server {
	t.Helper()
	s, err := mockidp.Start(context.Background(), mockidp.WithSigningAlgorithm(mockidp.ES256))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestTokenFromTheEmbeddedIdPPrintsOnlyTheToken(t *testing.T) {
	t.Setenv("MCPSSO_ISSUER", "")
	code, stdout, stderr := execute(t, "", "token", "--user", "dave", "--issuer", "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout should be the token and a newline, for $(...): %q", stdout)
	}
	c := jwtClaims(t, strings.TrimSpace(stdout))
	if c["sub"] != "auth0|65f0c0ffee1234567890abcd" || c["aud"] != mockidp.DefaultAudience || c["tenant"] != "acme" {
		t.Errorf("claims %v", c)
	}
}

func TestTokenJSONFromARunningIdPVerifies(t *testing.T) {
	idp := startTestIdP(t)
	t.Setenv("MCPSSO_ISSUER", idp.IssuerURL()) // --issuer defaults to it
	code, stdout, stderr := execute(t, "", "token", "--user", "bob@globex.example", "--json", "--resource", "http://127.0.0.1:9/mcp")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out tokenOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if out.ExpiresIn != 3600 || out.IDToken == "" || out.RefreshToken == "" || out.TokenType != "Bearer" || !strings.Contains(out.Scope, "openid") {
		t.Errorf("token response %+v", out)
	}
	provider, err := oidc.NewProvider(t.Context(), idp.IssuerURL())
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "http://127.0.0.1:9/mcp"}).Verify(t.Context(), out.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := idp.User("bob")
	if idt.Subject != bob.Subject {
		t.Errorf("sub %s, want bob's", idt.Subject)
	}
}

func TestTokenForAConfidentialClient(t *testing.T) {
	idp := startTestIdP(t)
	code, stdout, stderr := execute(t, "", "token", "--user", "alice", "--issuer", idp.IssuerURL(),
		"--client-id", mockidp.DemoClientID, "--client-secret", mockidp.DemoClientSecret)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if c := jwtClaims(t, strings.TrimSpace(stdout)); c["client_id"] != mockidp.DemoClientID {
		t.Errorf("client_id claim %v", c["client_id"])
	}
}

// TestTokenWaitsForABrowserApprovalWhenAutoApprovalIsOff follows the path a real IdP takes:
// the code on stderr, then the wait.
func TestTokenWaitsForABrowserApprovalWhenAutoApprovalIsOff(t *testing.T) {
	idp := startTestIdP(t)
	for _, tc := range []struct {
		name     string
		approve  bool
		wantCode int
	}{
		{"an approved code prints the token", true, 0},
		{"a denied code fails with exit 1", false, exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errR, errW := io.Pipe()
			var stdout bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run([]string{"token", "--user", "carol", "--issuer", idp.IssuerURL(), "--no-auto-approve"}, strings.NewReader(""), &stdout, errW)
				errW.Close()
			}()
			userCode := regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)
			lines := bufio.NewScanner(errR)
			var code string
			for lines.Scan() {
				if m := userCode.FindStringSubmatch(lines.Text()); m != nil {
					code = m[1]
					break
				}
			}
			if code == "" {
				t.Fatal("no code printed on stderr")
			}
			go func() { _, _ = io.Copy(io.Discard, errR) }()
			var err error
			if tc.approve {
				err = idp.ApproveDevice(code, "carol")
			} else {
				err = idp.DenyDevice(code)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := <-done; got != tc.wantCode {
				t.Fatalf("exit %d, want %d", got, tc.wantCode)
			}
			if tc.approve && jwtClaims(t, strings.TrimSpace(stdout.String()))["email"] != "carol@example.com" {
				t.Errorf("token %q is not carol's", stdout.String())
			}
		})
	}
}

func TestTokenRejectsBadInput(t *testing.T) {
	idp := startTestIdP(t)
	t.Setenv("MCPSSO_ISSUER", "")
	dir := t.TempDir()
	t.Setenv(envUpState, filepath.Join(dir, "none.json"))
	noUp := []string{"--user", "alice"}
	// A state file whose up is gone: the pid of a process that has exited.
	gone := exec.Command(os.Args[0], "-test.run=^$")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.json")
	if err := os.WriteFile(stale, []byte(fmt.Sprintf(`{"pid": %d, "issuer": %q}`, gone.Process.Pid, idp.IssuerURL())), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("with no up running, no --issuer is an input error saying how to start one", func(t *testing.T) {
		code, stdout, stderr := execute(t, "", append([]string{"token"}, noUp...)...)
		if code != exitInput || stdout != "" || !strings.Contains(stderr, "no mcpsso up is running") || !strings.Contains(stderr, "start one with `mcpsso up`") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying how to start mcpsso up", code, stdout, stderr)
		}
	})
	t.Run("a state file whose up is gone is detected as stale", func(t *testing.T) {
		t.Setenv(envUpState, stale)
		code, stdout, stderr := execute(t, "", append([]string{"token"}, noUp...)...)
		if code != exitInput || stdout != "" || !strings.Contains(stderr, "is no longer running") || !strings.Contains(stderr, "start one with `mcpsso up`") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming the stale up and the fix", code, stdout, stderr)
		}
	})
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		mention  string
	}{
		{"a missing --user is an input error", nil, exitInput, "--user"},
		{"an unknown user of the embedded IdP is named with the known ones", []string{"--user", "zed", "--issuer", ""}, exitInput, "alice"},
		{"an unknown user of a running mock IdP is an input error", []string{"--user", "zed", "--issuer", idp.IssuerURL()}, exitInput, `--user "zed"`},
		{"a scope the IdP refuses is an input error", []string{"--user", "alice", "--issuer", idp.IssuerURL(), "--scope", "openid admin"}, exitInput, "invalid_scope"},
		{"an unknown client is an input error", []string{"--user", "alice", "--issuer", idp.IssuerURL(), "--client-id", "ghost"}, exitInput, "invalid_client"},
		{"a wrong client secret is an input error", []string{"--user", "alice", "--issuer", idp.IssuerURL(), "--client-id", mockidp.DemoClientID, "--client-secret", "wrong"}, exitInput, "wrong client_secret"},
		{"a relative --resource is an input error", []string{"--user", "alice", "--issuer", "", "--resource", "mcp"}, exitInput, "--resource"},
		{"an --issuer that is not a URL is an input error", []string{"--user", "alice", "--issuer", "idp.example"}, exitInput, "--issuer"},
		{"an unreachable IdP is a failure", []string{"--user", "alice", "--issuer", "http://127.0.0.1:1"}, exitFailure, "discovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, "", append([]string{"token"}, tc.args...)...)
			if code != tc.wantCode || stdout != "" || !strings.Contains(stderr, tc.mention) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q", code, stdout, stderr, tc.wantCode, tc.mention)
			}
		})
	}
}
