package authorizer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// nlb stands for the MCP server behind the gateway: it records the headers it receives.
type nlb struct {
	mu   sync.Mutex
	last http.Header
	hits int
}

func startNLB(t *testing.T) (*nlb, string) {
	n := &nlb{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.last, n.hits = r.Header.Clone(), n.hits+1
		n.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return n, srv.URL
}

func (n *nlb) seen() (http.Header, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last, n.hits
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestThroughTheReferenceRESTGateway runs the authorizer in the gateway emulator's shipped
// reference REST API: 401 with the challenge for missing and bad tokens, 403 for a valid token
// without a mapping, 500 when the IdP is down, and the headers the MCP server needs on an allow.
func TestThroughTheReferenceRESTGateway(t *testing.T) {
	e := newEnv(t)
	cfg, err := gateway.ShippedConfig("reference")
	if err != nil {
		t.Fatal(err)
	}
	up, upURL := startNLB(t)
	gw, err := gateway.Start(context.Background(), gateway.WithConfig(cfg), gateway.WithAuthorizer("", gateway.RESTAuthorizer(e.az.REST)),
		gateway.WithIntegrationURL(upURL), gateway.WithIssuerURL(e.idp.IssuerURL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	mcp := gw.URL() + "/mcp"
	tests := []struct {
		name      string
		header    map[string]string
		status    int
		challenge bool
	}{
		{"a request without a token gets 401 with the challenge", nil, 401, true},
		{"an expired token gets 401 with the challenge", map[string]string{"Authorization": "Bearer " + e.forge(t, mockidp.ForgeExpired, "alice")}, 401, true},
		{"an alg-none token gets 401", map[string]string{"Authorization": "Bearer " + e.forge(t, mockidp.ForgeAlgNone, "alice")}, 401, true},
		{"an ID token gets 401", map[string]string{"Authorization": "Bearer " + e.forge(t, mockidp.ForgeIDToken, "alice")}, 401, true},
		{"two credentials get 401", map[string]string{"Authorization": "Bearer a Bearer b"}, 401, true},
		{"carol's valid token without a mapping gets 403", map[string]string{"Authorization": "Bearer " + e.token(t, "carol")}, 403, false},
		{"alice's token reaches the MCP server", map[string]string{"Authorization": "Bearer " + e.token(t, "alice"), "X-Decided-Role": "arn:aws:iam::111122223333:role/admin"}, 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, before := up.seen()
			resp := get(t, mcp, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); tc.challenge != strings.Contains(got, "resource_metadata=") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			h, after := up.seen()
			if (after > before) != (tc.status == 200) {
				t.Fatalf("the MCP server was reached %d times", after-before)
			}
			if tc.status != 200 {
				return
			}
			want := map[string]string{
				"X-Decided-Role":    "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
				"X-Source-Identity": "usr-00u8c2d9qkL4mT7xw5d7",
				"X-Session-Tags":    `[{"Key":"tenant","Value":"acme"}]`,
				"X-Limits":          `{"requestsPerMinute":120,"sessionSeconds":900}`,
			}
			for k, v := range want {
				if got := h.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("the MCP server got %s %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("an unreachable IdP gets 500, never an allow", func(t *testing.T) {
		tok := e.token(t, "bob")
		a := e.authorizer(t, authorizer.WithJWKSURL(e.idp.IssuerURL()+"/no-such-jwks"))
		gw2, err := gateway.Start(context.Background(), gateway.WithConfig(cfg), gateway.WithAuthorizer("", gateway.RESTAuthorizer(a.REST)),
			gateway.WithIntegrationURL(upURL), gateway.WithIssuerURL(e.idp.IssuerURL()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gw2.Close() })
		if resp := get(t, gw2.URL()+"/mcp", map[string]string{"Authorization": "Bearer " + tok}); resp.StatusCode != 500 {
			t.Fatalf("status %d, want 500", resp.StatusCode)
		}
	})
}

// TestThroughAnHTTPAPIGateway shows the HTTP API's limitation with the same authorizer: every
// denial, an expired token included, is 403; only a missing header is 401.
func TestThroughAnHTTPAPIGateway(t *testing.T) {
	e := newEnv(t)
	up, upURL := startNLB(t)
	cfg, err := gateway.ParseConfig("http.yaml", []byte(fmt.Sprintf(`type: http-api
authorizers:
  - name: auth
    type: REQUEST
    authorizerPayloadFormatVersion: "2.0"
    enableSimpleResponses: true
    identitySource: [$request.header.Authorization]
    authorizerResultTtlInSeconds: 0
integrations:
  - name: nlb
    integrationType: HTTP_PROXY
    integrationUri: %s
    requestParameters:
      overwrite:header.x-decided-role: $context.authorizer.decidedRole
      overwrite:header.x-source-identity: $context.authorizer.sourceIdentity
      overwrite:header.x-session-tags: $context.authorizer.sessionTags
      overwrite:header.x-limits: $context.authorizer.limits
routes:
  - routeKey: ANY /{proxy+}
    authorizationType: CUSTOM
    authorizer: auth
    integration: nlb
`, upURL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), gateway.WithConfig(cfg), gateway.WithAuthorizer("", gateway.HTTPAPIAuthorizer(e.az.HTTPAPI)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"a request without a token gets 401 without invoking the authorizer", nil, 401},
		{"an expired token gets 403, as HTTP APIs answer every denial", map[string]string{"Authorization": "Bearer " + e.forge(t, mockidp.ForgeExpired, "alice")}, 403},
		{"carol without a mapping gets 403", map[string]string{"Authorization": "Bearer " + e.token(t, "carol")}, 403},
		{"bob reaches the MCP server", map[string]string{"Authorization": "Bearer " + e.token(t, "bob")}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if resp := get(t, gw.URL()+"/mcp", tc.header); resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	h, _ := up.seen()
	if h.Get("X-Decided-Role") != "arn:aws:iam::111122223333:role/quilt-mcp-target-globex" || h.Get("X-Session-Tags") != `[{"Key":"tenant","Value":"globex"}]` {
		t.Errorf("the MCP server got %v", h)
	}
}
