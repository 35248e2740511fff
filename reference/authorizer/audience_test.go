package authorizer_test

import (
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestATokenIsForOneOfTheAcceptedAudiences: with the MCP server's canonical URI (RFC 8707, the
// resource its metadata advertises) and the tutorial's alias accepted, a token for either is
// allowed, one for any other resource is the confused deputy the MCP spec warns of and is
// refused, and so is one with no aud at all.
func TestATokenIsForOneOfTheAcceptedAudiences(t *testing.T) {
	const mcpURI = "https://mcp.example.com/mcp"
	e := newEnv(t, authorizer.WithAudience(mcpURI, authorizer.DefaultAudience))
	for _, tc := range []struct {
		name   string
		aud    any
		allow  bool
		detail string
	}{
		{"the MCP server's canonical URI", mcpURI, true, ""},
		{"the tutorial's alias", authorizer.DefaultAudience, true, ""},
		{"a list holding the MCP URI among others", []string{"https://other.example/mcp", mcpURI}, true, ""},
		{"another MCP server's URI", "https://other.example/mcp", false, `"https://other.example/mcp" is none of the accepted audiences`},
		{"the MCP URI with a trailing slash (compared exactly)", mcpURI + "/", false, "none of the accepted audiences"},
		{"no aud", nil, false, "the token has no aud"},
		{"an empty list", []string{}, false, "the token has no aud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.decide(t, bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"aud": tc.aud}))))
			if d.Allow != tc.allow {
				t.Fatalf("allow %v (%s %s), want %v", d.Allow, d.Reason, d.Detail, tc.allow)
			}
			if !tc.allow && (d.Reason != authorizer.ReasonWrongAudience || !strings.Contains(d.Detail, tc.detail)) {
				t.Fatalf("deny %s %q, want %s naming %q", d.Reason, d.Detail, authorizer.ReasonWrongAudience, tc.detail)
			}
		})
	}
}

func TestWithAudienceRejectsBadInput(t *testing.T) {
	for _, auds := range [][]string{nil, {""}, {"api://a b"}, {"api://a,api://b"}} {
		if _, err := authorizer.New(t.Context(), authorizer.WithIssuer("https://idp.example.com"), authorizer.WithAudience(auds...)); err == nil || !strings.Contains(err.Error(), "audience") {
			t.Errorf("WithAudience(%q): %v, want an error naming the audience", auds, err)
		}
	}
}

// The Lambda's MCPSSO_AUTHORIZER_AUDIENCE is a comma-separated list: a token for the second
// audience is allowed, one for neither refused.
func TestTheLambdaTakesACommaSeparatedAudienceList(t *testing.T) {
	e := newEnv(t)
	_, a := fromEnv(t, e, "MCPSSO_AUTHORIZER_AUDIENCE=api://quilt-mcp, https://mcp.example.com/mcp")
	for aud, allow := range map[string]bool{"https://mcp.example.com/mcp": true, "https://other.example/mcp": false} {
		d, err := a.Decide(t.Context(), bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"aud": aud}))))
		if err != nil || d.Allow != allow {
			t.Errorf("aud %s: allow %v (%s %s), %v; want %v", aud, d.Allow, d.Reason, d.Detail, err, allow)
		}
	}
}
