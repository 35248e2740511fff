package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestDeclaredScopesReachEveryAnswerAClientDiscoversThemFrom: the reference REST API with
// scopes declared lists them in its protected resource metadata and its 401 challenge, and
// answers the authorizer's Deny with 403 and the insufficient_scope challenge naming them and
// the metadata, readable by a browser-based client; an Allow still reaches the MCP server, and
// the shipped config itself is left as it was.
func TestDeclaredScopesReachEveryAnswerAClientDiscoversThemFrom(t *testing.T) {
	base := shipped(t, "reference")
	c, err := DeclareScopes(base, []string{"mcp:tools", "files:read"})
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	g := startWith(t, c, WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", RESTAuthorizer(func(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			if ev.Headers["Authorization"] == "Bearer granted" {
				return policy("Allow", anyMethod, nil), nil
			}
			return policy("Deny", anyMethod, map[string]any{"authStatus": "insufficient_scope"}), nil
		})))

	r := call(t, "GET", g.ResourceMetadataURL(), nil)
	var prm struct {
		Scopes []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal([]byte(r.body), &prm); err != nil || strings.Join(prm.Scopes, " ") != "mcp:tools files:read" {
		t.Fatalf("protected resource metadata %s: scopes_supported %v, %v", r.body, prm.Scopes, err)
	}

	if got, want := call(t, "POST", g.MCPURL(), nil).header.Get("WWW-Authenticate"),
		`Bearer resource_metadata="`+g.ResourceMetadataURL()+`", error="invalid_token", scope="mcp:tools files:read"`; got != want {
		t.Errorf("401 challenge %q, want %q", got, want)
	}

	denied := call(t, "POST", g.MCPURL(), map[string]string{"Authorization": "Bearer lacking", "Origin": "https://app.example"})
	if denied.status != 403 {
		t.Fatalf("a Deny: %d %s, want 403", denied.status, denied.body)
	}
	if got, want := denied.header.Get("WWW-Authenticate"),
		`Bearer error="insufficient_scope", scope="mcp:tools files:read", resource_metadata="`+g.ResourceMetadataURL()+`"`; got != want {
		t.Errorf("403 challenge %q, want %q", got, want)
	}
	if denied.header.Get("Access-Control-Allow-Origin") != "https://app.example" || denied.header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" {
		t.Errorf("a browser-based client cannot read the 403's challenge: %v", denied.header)
	}
	if up.hits.Load() != 0 {
		t.Fatal("a denied request reached the MCP server")
	}
	if ok := call(t, "POST", g.MCPURL(), map[string]string{"Authorization": "Bearer granted"}); ok.status != 200 || up.hits.Load() != 1 {
		t.Errorf("an Allow: %d %s, integration hits %d", ok.status, ok.body, up.hits.Load())
	}

	for _, gr := range base.GatewayResponses {
		if gr.ResponseType == ResponseAccessDenied || strings.Contains(gr.ResponseParameters[challengeHeader], "scope=") {
			t.Errorf("DeclareScopes changed the config it was given: %+v", gr)
		}
	}
	for _, in := range base.Integrations {
		if in.ProtectedResourceMetadata != nil && len(in.ProtectedResourceMetadata.ScopesSupported) > 0 {
			t.Error("DeclareScopes changed the metadata of the config it was given")
		}
	}
}

func TestDeclareScopesRefusesWhatCannotCarryThem(t *testing.T) {
	withDenied, err := DeclareScopes(shipped(t, "reference"), []string{"mcp:tools"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		c      *Config
		scopes []string
		want   string
	}{
		{"an HTTP API has no gateway responses", shipped(t, "seed"), []string{"mcp:tools"}, "a http-api has no gateway responses"},
		{"at least one scope", shipped(t, "reference"), nil, "give at least one"},
		{"a scope without spaces", shipped(t, "reference"), []string{"mcp tools"}, `"mcp tools" must be a scope-token`},
		{"a scope without a quote that would end the static value", shipped(t, "reference"), []string{"mcp'tools"}, `must be a scope-token`},
		{"an ACCESS_DENIED response is not replaced", withDenied, []string{"files:read"}, "is an ACCESS_DENIED response already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DeclareScopes(tc.c, tc.scopes); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
}
