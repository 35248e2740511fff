package framework

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseChallengeReadsTheFirstChallengesParams(t *testing.T) {
	for _, tc := range []struct {
		name, header, scheme string
		params               map[string]string
	}{
		{"an MCP challenge with quoted values", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token"`,
			"Bearer", map[string]string{"resource_metadata": "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", "error": "invalid_token"}},
		{"token values, names in any case", `bearer Error=invalid_token,Scope=openid`, "bearer", map[string]string{"error": "invalid_token", "scope": "openid"}},
		{"an escaped quote in a quoted value", `Bearer error_description="a \"bad\" token"`, "Bearer", map[string]string{"error_description": `a "bad" token`}},
		{"a scheme alone", `Bearer`, "Bearer", map[string]string{}},
		{"a second challenge ends the first", `Bearer realm="a", Basic realm="b"`, "Bearer", map[string]string{"realm": "a"}},
		{"a token68 ends it", `Negotiate abc123==`, "Negotiate", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := ParseChallenge(tc.header)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Scheme != tc.scheme || !maps.Equal(ch.Params, tc.params) {
				t.Errorf("ParseChallenge(%q) = %s %v, want %s %v", tc.header, ch.Scheme, ch.Params, tc.scheme, tc.params)
			}
		})
	}
	for _, bad := range []string{``, `"Bearer"`, `Bearer error="unterminated`} {
		if ch, err := ParseChallenge(bad); err == nil {
			t.Errorf("ParseChallenge(%q) = %+v, want an error", bad, ch)
		}
	}
}

func TestDiscoveryURLsAreTheOnesAnMCPClientTries(t *testing.T) {
	prm, err := ProtectedResourceMetadataURLs("https://mcp.example.com/v1/mcp/")
	if want := []string{"https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp",
		"https://mcp.example.com/.well-known/oauth-protected-resource"}; err != nil || !slices.Equal(prm, want) {
		t.Errorf("ProtectedResourceMetadataURLs = %v, %v; want %v", prm, err, want)
	}
	root, err := AuthServerMetadataURLs("https://idp.example.com")
	if want := []string{"https://idp.example.com/.well-known/oauth-authorization-server",
		"https://idp.example.com/.well-known/openid-configuration"}; err != nil || !slices.Equal(root, want) {
		t.Errorf("AuthServerMetadataURLs(root) = %v, %v; want %v", root, err, want)
	}
	path, err := AuthServerMetadataURLs("https://idp.example.com/realms/test")
	if want := []string{"https://idp.example.com/.well-known/oauth-authorization-server/realms/test",
		"https://idp.example.com/.well-known/openid-configuration/realms/test",
		"https://idp.example.com/realms/test/.well-known/openid-configuration"}; err != nil || !slices.Equal(path, want) {
		t.Errorf("AuthServerMetadataURLs(path) = %v, %v; want %v", path, err, want)
	}
	for _, bad := range []string{"", "/mcp", "mcp.example.com/mcp", "ftp://mcp.example.com/", "http://%zz/"} {
		if _, err := ProtectedResourceMetadataURLs(bad); err == nil || !strings.Contains(err.Error(), "MCP URL") {
			t.Errorf("ProtectedResourceMetadataURLs(%q): %v, want an error naming the MCP URL", bad, err)
		}
		if _, err := AuthServerMetadataURLs(bad); err == nil || !strings.Contains(err.Error(), "issuer") {
			t.Errorf("AuthServerMetadataURLs(%q): %v, want an error naming the issuer", bad, err)
		}
	}
}
