package mockidp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

func register(t *testing.T, p *mockidp.Server, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(p.RegistrationURL(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// TestAClientThatRegistersItselfCanLogIn registers as an MCP client does (the TypeScript
// SDK's metadata), then logs in with auth code + PKCE from another loopback port.
func TestAClientThatRegistersItselfCanLogIn(t *testing.T) {
	p := startIdP(t)
	status, reg := register(t, p, `{"redirect_uris":["http://localhost:6274/oauth/callback"],
		"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],
		"response_types":["code"],"client_name":"MCP Inspector","client_uri":"https://github.com/modelcontextprotocol/inspector",
		"software_id":"inspector","software_version":"1.0"}`)
	if status != http.StatusCreated {
		t.Fatalf("registration: %d %v", status, reg)
	}
	id, _ := reg["client_id"].(string)
	if !strings.HasPrefix(id, "dcr-") || reg["client_secret"] != nil || reg["token_endpoint_auth_method"] != "none" {
		t.Fatalf("a public registration: %v", reg)
	}

	conf, err := p.OAuth2Config(id, "http://localhost:6275/oauth/callback", "openid")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.QueueLogin("bob"); err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", "http://localhost:3000/mcp")))
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.AccessToken); c["client_id"] != id || c["aud"] != "http://localhost:3000/mcp" {
		t.Errorf("claims %v", c)
	}

	status, reg = register(t, p, `{"redirect_uris":["https://app.example/cb"],"client_name":"web app"}`)
	if status != http.StatusCreated || reg["client_secret"] == nil || reg["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Fatalf("a registration without an auth method gets a secret for client_secret_basic (RFC 7591 §2): %d %v", status, reg)
	}
	if c, ok := p.Client(reg["client_id"].(string)); !ok || c.Secret != reg["client_secret"] {
		t.Errorf("the registered confidential client is not usable: %+v", c)
	}
}

// TestUnknownRegistrationMetadataIsIgnoredAndLogged: RFC 7591 §2 makes the server ignore
// metadata it does not understand (mcp-go sends "resource"); the decision log names it.
func TestUnknownRegistrationMetadataIsIgnoredAndLogged(t *testing.T) {
	var logs logBuffer
	p := startIdP(t, mockidp.WithLogger(logs.logger()))
	status, reg := register(t, p, `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","resource":"http://127.0.0.1:1/mcp","redirect_uri":"x"}`)
	if status != http.StatusCreated || reg["resource"] != nil {
		t.Fatalf("%d %v: want 201, the unknown fields left out of the registered metadata", status, reg)
	}
	if !strings.Contains(logs.String(), `"ignored_metadata":["redirect_uri","resource"]`) {
		t.Errorf("the decision log does not name the ignored fields:\n%s", logs.String())
	}
}

func TestRegistrationIsStrict(t *testing.T) {
	p := startIdP(t)
	for _, tc := range []struct {
		name, body, wantErr, wantIn string
	}{
		{"a wrong type is refused", `{"redirect_uris":"http://127.0.0.1/cb"}`, "invalid_client_metadata", "redirect_uris"},
		{"trailing data is refused", `{"redirect_uris":["http://127.0.0.1/cb"]} {}`, "invalid_client_metadata", "exactly one"},
		{"an http redirect URI off loopback is refused", `{"redirect_uris":["http://app.example/cb"]}`, "invalid_redirect_uri", "loopback"},
		{"a javascript redirect URI is refused", `{"redirect_uris":["javascript:alert(1)"]}`, "invalid_redirect_uri", "javascript"},
		{"the code grant without redirect URIs is refused", `{"token_endpoint_auth_method":"none"}`, "invalid_redirect_uri", "required"},
		{"an unsupported auth method is refused", `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata", "private_key_jwt"},
		{"the implicit grant is refused", `{"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["implicit"]}`, "invalid_client_metadata", "implicit"},
		{"an unknown scope is refused", `{"redirect_uris":["http://127.0.0.1/cb"],"scope":"openid root"}`, "invalid_client_metadata", "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := register(t, p, tc.body)
			desc, _ := body["error_description"].(string)
			if status != 400 || body["error"] != tc.wantErr || !strings.Contains(desc, tc.wantIn) {
				t.Fatalf("got %d %v; want %s mentioning %q", status, body, tc.wantErr, tc.wantIn)
			}
		})
	}
}

func TestRegistrationCanBeTurnedOff(t *testing.T) {
	p := startIdP(t, mockidp.WithoutDynamicRegistration())
	if p.RegistrationURL() != "" {
		t.Fatal("RegistrationURL should be empty")
	}
	resp, err := http.Post(p.IssuerURL()+"/register", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /register: %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get(p.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if _, ok := md["registration_endpoint"]; ok {
		t.Error("metadata still advertises registration_endpoint")
	}
}
