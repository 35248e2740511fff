package main

import (
	"strings"
	"testing"
)

// TestConformPassesUnderEveryIdPProfile runs conform on the reference under each IdP profile:
// each passes, with the provider's quirks met by the setup docs/idps.md documents (the
// deployment's own authorization server metadata, the IdP's audience set to the MCP URL,
// Auth0's compatibility profile), and what the provider makes impossible skipped with the
// reason; Google, whose access tokens no Lambda authorizer can verify, is refused at start.
func TestConformPassesUnderEveryIdPProfile(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	for _, c := range []struct {
		profile string
		passed  []string // specs that must pass: the quirk's fix works
		says    []string // what the output must say: the quirk's precise reason
	}{
		{profile: "cognito",
			passed: []string{"makes its authorization server's metadata discoverable the MCP way, advertising S256 PKCE",
				"refreshes a pre-registered public client"},
			says: []string{"offers no Dynamic Client Registration (its metadata has no registration_endpoint"}},
		{profile: "entra-v1",
			passed: []string{"makes its authorization server's metadata discoverable the MCP way, advertising S256 PKCE",
				"accepts a token obtained as a spec-following MCP client obtains it", "refreshes a pre-registered public client"},
			says: []string{"AADSTS500011"}},
		{profile: "entra-v2",
			passed: []string{"makes its authorization server's metadata discoverable the MCP way, advertising S256 PKCE",
				"answers a valid token lacking the scopes it declares with 403"},
			says: []string{"refuses the RFC 8707 resource parameter itself", "AADSTS901002", "{App ID URI}/.default"}},
		{profile: "okta",
			passed: []string{"refreshes a pre-registered public client"},
			says:   []string{"refuses a registration without a token (401", "the IdP ignored the resource parameter"}},
		{profile: "auth0",
			passed: []string{"refreshes a pre-registered public client", "refreshes Dynamic Client Registration (RFC 7591)",
				"a token its own IdP signed for another resource, had by signing in with that resource (RFC 8707; MCP authorization: token audience binding): another MCP server's URL"}},
		{profile: "keycloak",
			passed: []string{"refreshes Dynamic Client Registration (RFC 7591)", "refreshes a pre-registered public client"},
			says:   []string{"refuses the resource member mcp-go sends", "the IdP ignored the resource parameter"}},
	} {
		t.Run(c.profile, func(t *testing.T) {
			t.Parallel()
			code, out := runConformBin(t, bin, nil, "--idp-profile", c.profile)
			if code != 0 || !strings.Contains(out, "PASS:") {
				t.Fatalf("conform --idp-profile %s: exit %d\n%s", c.profile, code, out)
			}
			for _, spec := range c.passed {
				if !passedLine(out, spec) {
					t.Errorf("conform --idp-profile %s: %q did not pass\n%s", c.profile, spec, out)
				}
			}
			for _, s := range c.says {
				if !strings.Contains(out, s) {
					t.Errorf("conform --idp-profile %s does not say %q\n%s", c.profile, s, out)
				}
			}
		})
	}
	t.Run("google", func(t *testing.T) {
		t.Parallel()
		code, out := runConformBin(t, bin, nil, "--idp-profile", "google")
		if code != 2 || !strings.Contains(out, "--idp-profile google") || !strings.Contains(out, "opaque") || !strings.Contains(out, "introspection") {
			t.Fatalf("conform --idp-profile google: exit %d, want 2 with the reason (opaque access tokens need introspection)\n%s", code, out)
		}
	})
}
