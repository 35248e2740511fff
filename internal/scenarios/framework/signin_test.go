package framework_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	"github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

// claims reads a JWT's payload without verifying it.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
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

// TestSignInIsWhatASpecFollowingClientGets: against the kit's stack with a scope declared,
// SignIn discovers the metadata, asks for its resource and its declared scopes, and gets a
// token for them; asked for another resource or other scopes, it gets exactly those; and a
// refusal of the IdP is an *OAuthError naming its code.
func TestSignInIsWhatASpecFollowingClientGets(t *testing.T) {
	f, err := fixture.Default().WithMCPScopes("mcp:tools")
	if err != nil {
		t.Fatal(err)
	}
	target, err := targets.StartEmbedded(t.Context(), stack.ProfileReference, stack.WithFixture(f))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	fw.SetCurrent(target)
	ctx := t.Context()

	got, err := fw.SignIn(ctx, fw.SignInOptions{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, got.AccessToken)
	if got.Resource != target.MCPURL() || c["aud"] != target.MCPURL() || c["scope"] != "mcp:tools" || c["email"] != "alice@acme.example" {
		t.Errorf("a spec-following sign-in: resource %s, claims aud %v scope %v email %v", got.Resource, c["aud"], c["scope"], c["email"])
	}
	if got.Discovery.MetadataURL != strings.Replace(target.MCPURL(), "/mcp", "/.well-known/oauth-protected-resource/mcp", 1) {
		t.Errorf("the metadata came from %s, not the URL the challenge names", got.Discovery.MetadataURL)
	}

	got, err = fw.SignIn(ctx, fw.SignInOptions{User: "bob", Resource: "https://another-mcp.example/mcp", Scopes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, got.AccessToken); c["aud"] != "https://another-mcp.example/mcp" || c["scope"] != nil || c["email"] != "bob@globex.example" {
		t.Errorf("another resource, no scope: claims aud %v scope %v email %v", c["aud"], c["scope"], c["email"])
	}

	_, err = fw.SignIn(ctx, fw.SignInOptions{User: "alice", Scopes: []string{"files:write"}})
	var oe *fw.OAuthError
	if !errors.As(err, &oe) || oe.Endpoint != "authorization" || oe.Code != "invalid_scope" {
		t.Errorf("a scope the IdP does not know: %v, want the authorization endpoint's invalid_scope", err)
	}
	if _, err = fw.SignIn(ctx, fw.SignInOptions{User: "nobody"}); err == nil || !strings.Contains(err.Error(), "not a redirect back") {
		t.Errorf("signing in as a user the IdP does not know: %v, want the IdP's login page instead of a redirect", err)
	}
}
