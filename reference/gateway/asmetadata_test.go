package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// cognitoLikeMetadata is an IdP's discovery document without code_challenge_methods_supported
// and with RFC 9207 advertised, as JSON decodes it.
func cognitoLikeMetadata(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"issuer":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mpLe1",
		"authorization_endpoint":"https://example.auth.us-east-1.amazoncognito.com/oauth2/authorize",
		"token_endpoint":"https://example.auth.us-east-1.amazoncognito.com/oauth2/token",
		"jwks_uri":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mpLe1/.well-known/jwks.json",
		"authorization_response_iss_parameter_supported":true}`), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOwnAuthorizationServerMetadata follows an MCP client from the protected resource
// metadata to the authorization server's: the deployment is listed, and its metadata is the
// IdP's with S256 advertised, the deployment as issuer and no RFC 9207 claim.
func TestOwnAuthorizationServerMetadata(t *testing.T) {
	c, err := ServeAuthorizationServerMetadata(shipped(t, "reference"), cognitoLikeMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	g := startWith(t, c, WithIntegrationURL(up.URL), WithIssuerURL("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mpLe1"),
		WithAuthorizer("", RESTAuthorizer(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return events.APIGatewayCustomAuthorizerResponse{}, nil
		})))
	var prm struct {
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if r := call(t, "GET", g.ResourceMetadataURL(), nil); r.status != 200 || json.Unmarshal([]byte(r.body), &prm) != nil ||
		len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != g.URL() {
		t.Fatalf("the protected resource metadata does not list the deployment %s alone: %d %s", g.URL(), r.status, r.body)
	}
	r := call(t, "GET", g.URL()+ASMetadataPath, nil)
	var asm map[string]any
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(r.body), &asm) != nil {
		t.Fatalf("%s: %d %s", ASMetadataPath, r.status, r.body)
	}
	if asm["issuer"] != g.URL() {
		t.Errorf("issuer %v, want the deployment %s", asm["issuer"], g.URL())
	}
	if m, _ := asm["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Errorf("code_challenge_methods_supported %v, want [S256]", asm["code_challenge_methods_supported"])
	}
	if _, ok := asm["authorization_response_iss_parameter_supported"]; ok {
		t.Error("authorization_response_iss_parameter_supported kept: the IdP's iss would not match this issuer")
	}
	if !strings.HasPrefix(asm["authorization_endpoint"].(string), "https://example.auth.us-east-1.amazoncognito.com/") {
		t.Errorf("authorization_endpoint %v: not the IdP's", asm["authorization_endpoint"])
	}
}

func TestOwnAuthorizationServerMetadataRefusals(t *testing.T) {
	onStage := shipped(t, "reference")
	onStage.CustomDomain = false
	if _, err := ServeAuthorizationServerMetadata(onStage, cognitoLikeMetadata(t)); err == nil || !strings.Contains(err.Error(), "customDomain") {
		t.Errorf("a stage not at the root: %v", err)
	}
	if _, err := ServeAuthorizationServerMetadata(shipped(t, "reference"), map[string]any{}); err == nil || !strings.Contains(err.Error(), "no issuer") {
		t.Errorf("metadata without issuer: %v", err)
	}
	bad := shipped(t, "reference")
	bad.Integrations = append(bad.Integrations, IntegrationConfig{Name: "asm", IntegrationType: "MOCK",
		AuthorizationServerMetadata: map[string]any{"issuer": "not a url", "token_endpoint": "https://idp.example/token"}})
	_, err := New(WithConfig(bad), WithPublicURL("https://mcp.example.com"), WithIntegrationURL("http://127.0.0.1:1"), WithIssuerURL("https://idp.example"))
	for _, want := range []string{"authorizationServerMetadata.issuer", "authorizationServerMetadata.authorization_endpoint"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("an invalid document: %v, want a problem naming %s", err, want)
		}
	}
}
