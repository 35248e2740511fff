package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestProtectedResourceMetadataDiscovery follows an MCP client: call the MCP URL without a
// token, take resource_metadata from the challenge, fetch it without a token, and check its
// resource is exactly the MCP URL; the root well-known URL serves the same document.
func TestProtectedResourceMetadataDiscovery(t *testing.T) {
	up := newUpstream(t)
	g := startWith(t, shipped(t, "reference"), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example/realms/quilt"),
		WithAuthorizer("", RESTAuthorizer(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return events.APIGatewayCustomAuthorizerResponse{}, nil
		})))
	if g.MCPURL() != g.URL()+"/mcp" {
		t.Fatalf("MCPURL %s", g.MCPURL())
	}
	challenge := call(t, "POST", g.MCPURL(), nil).header.Get("WWW-Authenticate")
	_, rest, ok := strings.Cut(challenge, `resource_metadata="`)
	metadataURL, _, _ := strings.Cut(rest, `"`)
	if !ok || metadataURL != g.ResourceMetadataURL() {
		t.Fatalf("challenge %q does not point at %s", challenge, g.ResourceMetadataURL())
	}
	for _, u := range []string{metadataURL, g.URL() + "/.well-known/oauth-protected-resource"} {
		r := call(t, "GET", u, nil)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", u, r.status, r.body)
		}
		var prm struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			BearerMethods        []string `json:"bearer_methods_supported"`
		}
		if err := json.Unmarshal([]byte(r.body), &prm); err != nil {
			t.Fatal(err)
		}
		if prm.Resource != g.MCPURL() || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != "https://issuer.example/realms/quilt" {
			t.Errorf("%s: %+v", u, prm)
		}
	}
	if up.hits.Load() != 0 {
		t.Error("metadata requests reached the integration")
	}
}

// TestPublicURLSetsTheResource: behind a custom domain the resource is the public URL's.
func TestPublicURLSetsTheResource(t *testing.T) {
	g := startWith(t, shipped(t, "reference"), WithPublicURL("https://mcp.example.com"), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", RESTAuthorizer(nil)))
	r := call(t, "GET", g.URL()+"/.well-known/oauth-protected-resource/mcp", nil)
	if !strings.Contains(r.body, `"resource":"https://mcp.example.com/mcp"`) {
		t.Errorf("metadata %s", r.body)
	}
	if g.ResourceMetadataURL() != "https://mcp.example.com/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("ResourceMetadataURL %s", g.ResourceMetadataURL())
	}
	if c := call(t, "GET", g.URL()+"/mcp", nil).header.Get("WWW-Authenticate"); !strings.Contains(c, `"https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("challenge %q", c)
	}
}

// TestAccessLogHasTheContextShapeAndNoToken checks the access log: one JSON line per request in
// the $context shape, numbers as numbers, the authorizer's failure named, the token never.
func TestAccessLogHasTheContextShapeAndNoToken(t *testing.T) {
	up := newUpstream(t)
	var logs logBuffer
	g := startGateway(t, httpAPIConfig(up.URL, "", ""), WithLogger(logs.logger()),
		WithAuthorizer("", HTTPAPIAuthorizer(func(_ context.Context, r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: r.Headers["authorization"] == "Bearer secret-token-1"}, nil
		})))
	ok := call(t, "GET", g.URL()+"/mcp?x=1", map[string]string{"Authorization": "Bearer secret-token-1"})
	call(t, "GET", g.URL()+"/mcp", nil)
	call(t, "GET", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer secret-token-2"})
	_ = g.Close()                            // waits for the handlers, which log after answering
	byStatus := map[float64]map[string]any{} // handlers log after answering, so not necessarily in order
	for _, l := range logs.lines(t) {
		if l["msg"] == "access" {
			byStatus[l["status"].(float64)] = l
		}
	}
	if len(byStatus) != 3 {
		t.Fatalf("access lines for statuses %v, want 200, 401 and 403:\n%s", byStatus, logs.String())
	}
	for k, want := range map[string]any{"requestId": ok.header.Get("Apigw-Requestid"), "httpMethod": "GET", "routeKey": "ANY /{proxy+}",
		"path": "/mcp", "integrationStatus": "200", "authorizerStatus": "200", "ip": "127.0.0.1", "protocol": "HTTP/1.1"} {
		if byStatus[200][k] != want {
			t.Errorf("the 200's %s = %#v, want %#v", k, byStatus[200][k], want)
		}
	}
	if e, _ := byStatus[401]["authorizerError"].(string); !strings.Contains(e, "$request.header.Authorization is missing") {
		t.Errorf("the 401's line: %v", byStatus[401])
	}
	if byStatus[403]["errorMessage"] != "Forbidden" {
		t.Errorf("the 403's line: %v", byStatus[403])
	}
	if strings.Contains(logs.String(), "secret-token") {
		t.Errorf("a token reached the logs:\n%s", logs.String())
	}
}

// TestCustomAccessLogFormat: the stage's format decides the keys.
func TestCustomAccessLogFormat(t *testing.T) {
	up := newUpstream(t)
	var logs logBuffer
	yaml := httpAPIConfig(up.URL, "", "") + `accessLogSettings:
  format: '{"id":"$context.requestId","st":$context.status,"who":"${context.authorizer.tenant}@$context.stage"}'
`
	g := startGateway(t, yaml, WithLogger(logs.logger()), WithAuthorizer("", HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"tenant": "acme"}}, nil
	})))
	call(t, "GET", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"})
	_ = g.Close()
	lines := logs.lines(t)
	if len(lines) != 1 || lines[0]["st"] != float64(200) || lines[0]["who"] != "acme@$default" || lines[0]["id"] == "" || len(lines[0]) != 6 {
		t.Errorf("%v", lines)
	}
}
