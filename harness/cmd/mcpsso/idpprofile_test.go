package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestEveryCommandThatRunsTheIdPTakesAProfile: --idp-profile is on idp serve, up and conform,
// each --help says what a profile is and lists them, and an unknown one is an input error
// naming them all.
func TestEveryCommandThatRunsTheIdPTakesAProfile(t *testing.T) {
	all := "generic, cognito, entra-v2, entra-v1, okta, auth0, keycloak, google"
	for _, cmd := range [][]string{{"idp", "serve"}, {"up"}, {"conform"}} {
		code, help, _ := execute(t, "", append(cmd, "--help")...)
		if code != 0 || !strings.Contains(help, "--idp-profile makes the mock IdP issue tokens as a real provider does") ||
			!strings.Contains(help, "Amazon Cognito user pools") || !strings.Contains(help, all) {
			t.Errorf("%v --help: exit %d, does not explain --idp-profile:\n%s", cmd, code, help)
		}
		code, stdout, stderr := execute(t, "", append(cmd, "--idp-profile", "ping")...)
		if code != exitInput || stdout != "" || !strings.Contains(stderr, `--idp-profile: IdP profile "ping": unknown (profiles: `+all+")") {
			t.Errorf("%v --idp-profile ping: exit %d, stdout %q, stderr %q", cmd, code, stdout, stderr)
		}
	}
	targetFile := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(targetFile, []byte("name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := execute(t, "", "conform", "--target", targetFile, "--idp-profile", "okta")
	if code != exitInput || !strings.Contains(stderr, "--idp-profile applies to kit-made targets") {
		t.Errorf("conform --target FILE --idp-profile okta: exit %d %q", code, stderr)
	}
}

// TestTokenSignsInWhereTheProfileHasNoDeviceGrant: against a mock IdP with Cognito's profile,
// which has no device grant, `mcpsso token` signs the user in through the authorization
// endpoint, and prints Cognito's access token: no aud, client_id, token_use access [C1].
func TestTokenSignsInWhereTheProfileHasNoDeviceGrant(t *testing.T) {
	idp, err := mockidp.Start(context.Background(), mockidp.WithProfile("cognito"))
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	code, out, errOut := execute(t, "", "token", "--user", "alice", "--issuer", idp.IssuerURL())
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	parts := strings.Split(strings.TrimSpace(out), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", out)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if _, has := c["aud"]; has || c["client_id"] != mockidp.PublicClientID || c["token_use"] != "access" || c["custom:tenant"] != "acme" {
		t.Errorf("claims %v", c)
	}
	code, _, errOut = execute(t, "", "token", "--user", "zed", "--issuer", idp.IssuerURL())
	if code != exitInput || !strings.Contains(errOut, `--user "zed"`) {
		t.Errorf("an unknown user: exit %d %q", code, errOut)
	}
	code, _, errOut = execute(t, "", "token", "--user", "alice", "--issuer", idp.IssuerURL(), "--no-auto-approve")
	if code != exitFailure || !strings.Contains(errOut, "no device_authorization_endpoint") {
		t.Errorf("--no-auto-approve without a device grant: exit %d %q", code, errOut)
	}
}

// TestIdPServeWithAProfile runs `mcpsso idp serve --idp-profile auth0`: the issuer ends in a
// slash [A1], the ready output names the profile, and a token from it without an audience is
// opaque [A8]; an explicit --tenant-claim overrides the profile's.
func TestIdPServeWithAProfile(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, nil, "export ", "idp", "serve", "--addr", "127.0.0.1:0", "--idp-profile", "auth0", "--tenant-claim", "org")
	issuer := p.require(t, "ready ")
	out := strings.Join(p.lines, "\n")
	if !strings.HasSuffix(issuer, "/") || !strings.Contains(out, "profile auth0 (Auth0)") || !strings.Contains(out, `(tenant claim "org")`) {
		t.Errorf("ready output:\n%s", out)
	}
	if tok := tokenFromCLI(t, bin, issuer, "alice"); strings.Count(tok, ".") == 2 || tok == "" {
		t.Errorf("an Auth0 token without an audience should be opaque: %q", tok)
	}
	p.interrupt(t)
}

// TestUpWithTheCognitoProfileAsTheIssueShows is issue 23's acceptance as a user types it:
// `mcpsso up --idp-profile cognito`, then `mcpsso token --user alice`. The access token has no
// aud, has client_id and token_use access, and the gateway serves it; alice's ID token is
// refused, the decision log naming token_use.
func TestUpWithTheCognitoProfileAsTheIssueShows(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--idp-profile", "cognito", "--port-base", fmt.Sprint(freePortBase(t)))
	defer p.interrupt(t)
	access := tokenFromCLI(t, bin, p.issuer, "alice")
	claims := jwtClaims(t, access)
	if _, has := claims["aud"]; has || claims["client_id"] != "mcpsso-cli" || claims["token_use"] != "access" {
		t.Fatalf("a Cognito access token: aud %v, client_id %v, token_use %v; want no aud, client_id mcpsso-cli, token_use access", claims["aud"], claims["client_id"], claims["token_use"])
	}
	if status := postWhoami(t, p.mcpURL, access); status != http.StatusOK {
		t.Fatalf("the gateway answered alice's Cognito access token with %d", status)
	}
	var resp struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tokenFromCLI(t, bin, p.issuer, "alice", "--json")), &resp); err != nil || resp.IDToken == "" {
		t.Fatalf("mcpsso token --json gave no ID token: %v", err)
	}
	if status := postWhoami(t, p.mcpURL, resp.IDToken); status != http.StatusUnauthorized {
		t.Fatalf("the gateway answered alice's ID token with %d, want 401", status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), `reason=wrong_token_type detail="claim \"token_use\" is \"id\"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the decision log does not name token_use for the refused ID token:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
