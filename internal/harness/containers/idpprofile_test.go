package containers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestTopologyWithAnIdPProfile runs the IdP container with Cognito's profile: the issuer the
// topology hands the gateway has the profile's form, and tokens come by login_hint (Cognito
// has no device grant) with Cognito's claims: no aud unless a resource was asked for [C1][C2].
func TestTopologyWithAnIdPProfile(t *testing.T) {
	t.Parallel()
	containers.RequireDocker(t)
	ctx := context.Background()
	topo, err := containers.Run(ctx, containers.WithIdPProfile("cognito"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	if !strings.HasSuffix(topo.IssuerURL(), "/us-east-1_McpSso001") {
		t.Fatalf("issuer %q, want Cognito's form", topo.IssuerURL())
	}
	resp, err := http.Get(topo.IssuerURL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md["issuer"] != topo.IssuerURL() || md["device_authorization_endpoint"] != nil {
		t.Fatalf("discovery %v", md)
	}
	tok, err := topo.TokenFor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c := payload(t, tok); c["aud"] != nil || c["client_id"] != "mcpsso-cli" || c["token_use"] != "access" {
		t.Errorf("claims %v", c)
	}
	tok, err = topo.TokenForResource(ctx, "alice", topo.MCPURL())
	if err != nil {
		t.Fatal(err)
	}
	if c := payload(t, tok); c["aud"] != topo.MCPURL() {
		t.Errorf("with a resource: aud %v", c["aud"])
	}
	// The gateway's authorizer is configured for Cognito (IDP_PRESET, CLIENT_IDS): the access
	// token passes, bound to the resource or not; the ID token does not.
	for name, user := range map[string]string{"the access token": "", "the ID token": "id"} {
		bearer := tok
		if user == "id" {
			if bearer, err = topo.Forge(ctx, mockidp.ForgeIDToken, "alice"); err != nil {
				t.Fatal(err)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, topo.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[string]int{"": http.StatusOK, "id": http.StatusUnauthorized}[user]; resp.StatusCode != want {
			t.Errorf("%s through the gateway: HTTP %d, want %d", name, resp.StatusCode, want)
		}
	}
	if _, err := containers.Run(ctx, containers.WithIdPProfile("ping")); err == nil || !strings.Contains(err.Error(), "generic, cognito") {
		t.Errorf("an unknown profile: %v", err)
	}
}

func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.30q", token)
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
