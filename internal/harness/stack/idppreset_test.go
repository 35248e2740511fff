package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestUnderCognitosProfileTheAuthorizerTakesCognitosAccessTokens: with the mock IdP as Cognito,
// the stack's authorizer is configured as for Cognito: the token mcpsso token hands out has no
// aud, has client_id and token_use access, and is accepted through the gateway; the same user's
// ID token is refused with a reason naming token_use.
func TestUnderCognitosProfileTheAuthorizerTakesCognitosAccessTokens(t *testing.T) {
	s := startStack(t, WithIdPProfile(mockidp.ProfileCognito))
	ctx := t.Context()
	tok, err := s.IdP().TokenFor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := strings.Cut(tok, ".")
	payload, _, _ = strings.Cut(payload, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if _, hasAud := claims["aud"]; hasAud || claims["client_id"] == nil || claims["token_use"] != "access" {
		t.Fatalf("Cognito's access token: aud %v, client_id %v, token_use %v; want no aud, a client_id, access", claims["aud"], claims["client_id"], claims["token_use"])
	}
	alice, err := s.MCPClient(ctx, "alice")
	if err != nil {
		t.Fatalf("the gateway refuses Cognito's access token: %v", err)
	}
	defer alice.Close()
	if who, isErr, err := mcpcall.CallTool(ctx, alice, "whoami", nil); err != nil || isErr || !strings.Contains(who, "acme") {
		t.Fatalf("whoami: %q %v %v", who, isErr, err)
	}

	id, err := s.IdP().Forge(ctx, mockidp.ForgeIDToken, "alice")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d, err := s.Authorizer().Decide(ctx, authorizer.Request{RequestID: "id-token", Authorization: []string{"Bearer " + id}})
	if resp.StatusCode != http.StatusUnauthorized || err != nil || d.Reason != authorizer.ReasonWrongTokenType || !strings.Contains(d.Detail, `"token_use" is "id"`) {
		t.Fatalf("Cognito's ID token: HTTP %d, decision %s %q, %v; want 401 and wrong_token_type naming token_use", resp.StatusCode, d.Reason, d.Detail, err)
	}
}

// TestUnderGooglesProfileTheStackSaysWhyItCannotStart: Google's access tokens are opaque, so no
// authorizer that verifies JWTs can be configured for them, and the stack says so.
func TestUnderGooglesProfileTheStackSaysWhyItCannotStart(t *testing.T) {
	s, err := Start(context.Background(), WithIdPProfile(mockidp.ProfileGoogle))
	if err == nil {
		_ = s.Close()
		t.Fatal("the stack started under Google's profile")
	}
	if !strings.Contains(err.Error(), "Google's access tokens are opaque") {
		t.Fatalf("error %v, want the opaque-token reason", err)
	}
}
