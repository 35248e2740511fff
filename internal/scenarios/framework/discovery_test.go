package framework

import (
	"slices"
	"testing"
)

func TestParseChallengeReadsTheFirstBearerChallenge(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		scheme   string
		params   map[string]string
	}{
		{"quoted and token values, names lower-cased", `Bearer Resource_Metadata="https://m.example/.well-known/oauth-protected-resource/mcp", error=invalid_token`,
			"Bearer", map[string]string{"resource_metadata": "https://m.example/.well-known/oauth-protected-resource/mcp", "error": "invalid_token"}},
		{"a scope list in one quoted value", `Bearer error="insufficient_scope", scope="mcp:tools files:read"`,
			"Bearer", map[string]string{"error": "insufficient_scope", "scope": "mcp:tools files:read"}},
		{"an escaped quote inside a quoted value", `Bearer error_description="a \"quoted\" word"`,
			"Bearer", map[string]string{"error_description": `a "quoted" word`}},
		{"a second challenge ends the first", `Bearer realm="a", Basic realm="b"`, "Bearer", map[string]string{"realm": "a"}},
		{"a scheme alone", "Bearer", "Bearer", map[string]string{}},
		{"a token68 with = padding ends it, read as no param", `Negotiate abc123==`, "Negotiate", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := ParseChallenge(tc.in)
			if err != nil || ch.Scheme != tc.scheme || len(ch.Params) != len(tc.params) {
				t.Fatalf("%+v, %v", ch, err)
			}
			for k, v := range tc.params {
				if ch.Params[k] != v {
					t.Errorf("%s = %q, want %q", k, ch.Params[k], v)
				}
			}
		})
	}
	for _, bad := range []string{"", `"Bearer"`, `Bearer error="unterminated`} {
		if ch, err := ParseChallenge(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, ch)
		}
	}
}

func TestDiscoveryURLsAreTheOnesMCPClientsTry(t *testing.T) {
	for _, tc := range []struct {
		got  func() ([]string, error)
		want []string
	}{
		{func() ([]string, error) { return ProtectedResourceMetadataURLs("https://m.example/tenant/mcp/") },
			[]string{"https://m.example/.well-known/oauth-protected-resource/tenant/mcp", "https://m.example/.well-known/oauth-protected-resource"}},
		{func() ([]string, error) { return ProtectedResourceMetadataURLs("https://m.example") },
			[]string{"https://m.example/.well-known/oauth-protected-resource"}},
		{func() ([]string, error) { return AuthorizationServerMetadataURLs("https://idp.example/realms/q") },
			[]string{"https://idp.example/.well-known/oauth-authorization-server/realms/q", "https://idp.example/.well-known/openid-configuration/realms/q",
				"https://idp.example/realms/q/.well-known/openid-configuration"}},
		{func() ([]string, error) { return AuthorizationServerMetadataURLs("https://idp.example") },
			[]string{"https://idp.example/.well-known/oauth-authorization-server", "https://idp.example/.well-known/openid-configuration"}},
	} {
		got, err := tc.got()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
}

// The scopes a client is asked to request: the challenge's, else the metadata's.
func TestDeclaredScopesPreferTheChallenge(t *testing.T) {
	withBoth := Discovery{Challenge: Challenge{Params: map[string]string{"scope": "a b"}}, Metadata: map[string]any{"scopes_supported": []any{"c"}}}
	metadataOnly := Discovery{Challenge: Challenge{Params: map[string]string{}}, Metadata: map[string]any{"scopes_supported": []any{"c", 7, ""}}}
	for _, tc := range []struct {
		d    Discovery
		want []string
	}{{withBoth, []string{"a", "b"}}, {metadataOnly, []string{"c"}}, {Discovery{}, nil}} {
		if got := tc.d.DeclaredScopes(); !slices.Equal(got, tc.want) {
			t.Errorf("DeclaredScopes() = %q, want %q", got, tc.want)
		}
	}
}
