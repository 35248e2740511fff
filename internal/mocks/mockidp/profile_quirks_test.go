package mockidp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// What each profile refuses or does differently from the generic IdP, one test per quirk
// (the sources' tags in the comments; profiles_test.go checks the shapes).

// TestEntraV2RefusesTheResourceParameter: AADSTS901002 at authorization, device authorization
// and the token endpoint [E7][E8], and nothing is issued.
func TestEntraV2RefusesTheResourceParameter(t *testing.T) {
	p, _ := startProfile(t, "entra-v2")
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	v := authorizeParams(func(v url.Values) { v.Set("resource", "http://127.0.0.1:8480/mcp") })
	q := authorize(t, p.Endpoint().AuthURL+"?"+v.Encode())
	if q.Get("code") != "" || q.Get("error") != "invalid_request" || !strings.HasPrefix(q.Get("error_description"), "AADSTS901002:") {
		t.Errorf("authorize with resource: %v, want invalid_request AADSTS901002", q)
	}
	status, body := postForm(t, p.Endpoint().DeviceAuthURL, url.Values{"client_id": {mockidp.PublicClientID}, "resource": {"http://127.0.0.1:8480/mcp"}}, "", "")
	if status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS901002:") {
		t.Errorf("device authorization with resource: %d %v", status, body)
	}
	// Without it, the login works, and the token is for the API's client ID [E1].
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	tok := codeLogin(t, p)
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "", "openid")
	status, body = postForm(t, conf.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID},
		"refresh_token": {tok.RefreshToken}, "resource": {"http://127.0.0.1:8480/mcp"}}, "", "")
	if status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS901002:") {
		t.Errorf("refresh with resource: %d %v", status, body)
	}
}

// TestEntraV1WantsTheAppIDURIAsResource: a resource that names no app registration of the
// tenant is AADSTS500011 [E9][E12]; the App ID URI itself is the audience.
func TestEntraV1WantsTheAppIDURIAsResource(t *testing.T) {
	p, _ := startProfile(t, "entra-v1")
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	q := authorize(t, p.Endpoint().AuthURL+"?"+authorizeParams(func(v url.Values) { v.Set("resource", "http://127.0.0.1:8480/mcp") }).Encode())
	if q.Get("error") != "invalid_resource" || !strings.HasPrefix(q.Get("error_description"), "AADSTS500011:") {
		t.Errorf("authorize with another resource: %v", q)
	}
	tok := codeLogin(t, p, oauth2.SetAuthURLParam("resource", mockidp.DefaultAudience))
	if aud := claimsOf(t, tok.AccessToken)["aud"]; aud != mockidp.DefaultAudience {
		t.Errorf("aud %v", aud)
	}
}

// TestKeycloakRegistrationRefusesAResourceMember: Keycloak's DCR answers an unknown member,
// resource included, with 400 "Unrecognized field" [K11][K12]; without it the client registers.
func TestKeycloakRegistrationRefusesAResourceMember(t *testing.T) {
	p, _ := startProfile(t, "keycloak")
	body := `{"redirect_uris":["http://localhost:6274/cb"],"token_endpoint_auth_method":"none","client_name":"c"`
	for _, tc := range []struct {
		name, extra string
		status      int
	}{
		{"a resource member (mcp-go sends one) is refused", `,"resource":"http://127.0.0.1:8480/mcp"}`, 400},
		{"a misspelt member is refused", `,"client_nmae":"x"}`, 400},
		{"a member Keycloak knows beyond RFC 7591's is accepted", `,"backchannel_logout_uri":"https://app.example/logout"}`, 201},
		{"the same registration without it succeeds", `}`, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(p.RegistrationURL(), "application/json", strings.NewReader(body+tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, raw, tc.status)
			}
			if tc.status == 400 && !strings.Contains(string(raw), `Unrecognized field \"`) {
				t.Errorf("body %s, want Keycloak's Unrecognized field", raw)
			}
		})
	}
}

// TestOktaRegistrationNeedsAnAdministratorsToken: the endpoint is advertised but refuses an
// MCP client, which has no SSWS token [O6][O7].
func TestOktaRegistrationNeedsAnAdministratorsToken(t *testing.T) {
	p, _ := startProfile(t, "okta")
	resp, err := http.Post(p.RegistrationURL(), "application/json", strings.NewReader(`{"redirect_uris":["http://localhost:1/cb"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || body["errorCode"] == nil {
		t.Errorf("registration: %d %v, want 401 with Okta's error", resp.StatusCode, body)
	}
}

// TestAuth0IssuesAnOpaqueTokenWithoutAnAudience: no audience, no API: an opaque token only
// userinfo takes [A8]; resource alone does not change that [A11]; audience gives a JWT.
func TestAuth0IssuesAnOpaqueTokenWithoutAnAudience(t *testing.T) {
	p, _ := startProfile(t, "auth0")
	for _, tc := range []struct {
		name string
		opts []oauth2.AuthCodeOption
		jwt  bool
	}{
		{"no audience", nil, false},
		{"a resource but no audience", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", "http://127.0.0.1:8480/mcp")}, false},
		{"an audience", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("audience", "https://api.example/mcp")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := codeLogin(t, p, tc.opts...)
			if isJWT(tok.AccessToken) != tc.jwt {
				t.Fatalf("JWT: %v, want %v", isJWT(tok.AccessToken), tc.jwt)
			}
			if tc.jwt {
				aud, _ := claimsOf(t, tok.AccessToken)["aud"].([]any)
				if len(aud) != 2 || aud[0] != "https://api.example/mcp" || aud[1] != p.IssuerURL()+"userinfo" {
					t.Errorf("aud %v", aud)
				}
			}
		})
	}
	// TokenFor is what the token endpoint gives a client that names the default audience.
	tok, err := p.TokenFor(t.Context(), "bob")
	if err != nil || !isJWT(tok) {
		t.Fatalf("TokenFor: %v %.20s", err, tok)
	}
}

// TestCognitoAccessTokensHaveAnAudienceOnlyForAResource: no aud by default; a resource becomes
// aud [C2] and stays on refresh [C3]; client_id is there either way [C1].
func TestCognitoAccessTokensHaveAnAudienceOnlyForAResource(t *testing.T) {
	p, _ := startProfile(t, "cognito")
	plain := claimsOf(t, codeLogin(t, p).AccessToken)
	if _, has := plain["aud"]; has || plain["client_id"] != mockidp.PublicClientID {
		t.Errorf("without a resource: aud %v client_id %v", plain["aud"], plain["client_id"])
	}
	tok := codeLogin(t, p, oauth2.SetAuthURLParam("resource", "https://mcp.example/mcp"))
	if c := claimsOf(t, tok.AccessToken); c["aud"] != "https://mcp.example/mcp" || c["client_id"] != mockidp.PublicClientID {
		t.Errorf("with a resource: aud %v client_id %v", c["aud"], c["client_id"])
	}
	status, out := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {tok.RefreshToken}}, "", "")
	if status != 200 || claimsOf(t, out["access_token"].(string))["aud"] != "https://mcp.example/mcp" {
		t.Errorf("refresh: %d %v", status, out)
	}
	direct, err := p.TokenFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, has := claimsOf(t, direct)["aud"]; has || p.Audience() != "" {
		t.Errorf("TokenFor: aud %v, Audience() %q; want neither", claimsOf(t, direct)["aud"], p.Audience())
	}
	// The ID token carries the client as aud and token_use id, and no client_id [C1].
	id := claimsOf(t, tok.Extra("id_token").(string))
	if id["aud"] != mockidp.PublicClientID || id["token_use"] != "id" || id["cognito:username"] != "alice" {
		t.Errorf("ID token %v", id)
	}
	// No device grant: tools sign in through the authorization endpoint with login_hint.
	if p.Endpoint().DeviceAuthURL != "" {
		t.Errorf("device endpoint %q", p.Endpoint().DeviceAuthURL)
	}
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "http://127.0.0.1/callback")
	signed, err := mockidp.SignInWithLoginHint(t.Context(), conf, "bob", oauth2.SetAuthURLParam("resource", "https://mcp.example/mcp"))
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, signed.AccessToken); c["username"] != "bob" || c["aud"] != "https://mcp.example/mcp" {
		t.Errorf("signed in with login_hint: %v", c)
	}
	if _, err := mockidp.SignInWithLoginHint(t.Context(), conf, "zed"); !errors.Is(err, mockidp.ErrUnknownUser) {
		t.Errorf("an unknown user: %v", err)
	}
}

// TestKeycloakRefreshTokensDoNotRotate: with "Revoke Refresh Token" off (its default [K9]) a
// refresh token stays good after use.
func TestKeycloakRefreshTokensDoNotRotate(t *testing.T) {
	p, _ := startProfile(t, "keycloak")
	tok := codeLogin(t, p)
	for i := range 2 {
		status, out := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {tok.RefreshToken}}, "", "")
		if status != 200 {
			t.Fatalf("refresh %d with the first refresh token: %d %v", i+1, status, out)
		}
	}
}

// TestTheDeviceGrantFollowsTheProfile: where the provider offers it, the device grant works
// through the profile's endpoints.
func TestTheDeviceGrantFollowsTheProfile(t *testing.T) {
	for _, name := range []string{"entra-v1", "okta"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, _ := startProfile(t, name)
			conf, _ := p.OAuth2Config(mockidp.PublicClientID, "", "openid")
			da, err := conf.DeviceAuth(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if da.VerificationURI != p.DeviceVerificationURL() {
				t.Errorf("verification URI %q, want %q", da.VerificationURI, p.DeviceVerificationURL())
			}
			if err := p.ApproveDevice(da.UserCode, "bob"); err != nil {
				t.Fatal(err)
			}
			tok, err := conf.DeviceAccessToken(t.Context(), da)
			if err != nil {
				t.Fatal(err)
			}
			if c := claimsOf(t, tok.AccessToken); c["sub"] != "5f0c9a8e-3b1d-4c27-9e6a-1d2b3c4d5e6f" {
				t.Errorf("claims %v", c)
			}
		})
	}
}

// TestAProfileSetsDefaultsExplicitOptionsOverride: options given with a profile win, whatever
// their order; an unknown profile is an error listing the profiles.
func TestAProfileSetsDefaultsExplicitOptionsOverride(t *testing.T) {
	for _, order := range []string{"profile first", "profile last"} {
		t.Run(order, func(t *testing.T) {
			opts := []mockidp.Option{mockidp.WithTenantClaim("org"), mockidp.WithTokenTTLs(2*time.Minute, time.Hour), mockidp.WithAudience("api://mine")}
			if order == "profile first" {
				opts = append([]mockidp.Option{mockidp.WithProfile("cognito")}, opts...)
			} else {
				opts = append(opts, mockidp.WithProfile("cognito"))
			}
			p, err := mockidp.New(append([]mockidp.Option{mockidp.WithIssuerURL("http://127.0.0.1:1"), mockidp.WithSigningKey(testKey())}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := p.TokenFor(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, tok)
			if c["org"] != "acme" || c["aud"] != "api://mine" || c["exp"].(float64)-c["iat"].(float64) != 120 || c["token_use"] != "access" {
				t.Errorf("claims %v", c)
			}
			if p.IssuerURL() != "http://127.0.0.1:1/us-east-1_McpSso001" {
				t.Errorf("issuer %q", p.IssuerURL())
			}
		})
	}
	_, err := mockidp.New(mockidp.WithIssuerURL("http://127.0.0.1:1"), mockidp.WithProfile("ping"))
	if err == nil || !strings.Contains(err.Error(), `"ping"`) || !strings.Contains(err.Error(), "generic, cognito, entra-v2, entra-v1, okta, auth0, keycloak, google") {
		t.Errorf("unknown profile: %v", err)
	}
	// An explicit issuer path wins over the profile's.
	p, err := mockidp.New(mockidp.WithIssuerURL("http://127.0.0.1:1/realms/other"), mockidp.WithProfile("keycloak"), mockidp.WithSigningKey(testKey()))
	if err != nil || p.IssuerURL() != "http://127.0.0.1:1/realms/other" {
		t.Errorf("issuer %q, %v", p.IssuerURL(), err)
	}
}

// TestForgeriesFollowTheProfile: a forged token is the profile's token with one thing wrong,
// so that an authorizer configured for the profile can only refuse it for that thing.
func TestForgeriesFollowTheProfile(t *testing.T) {
	p, _ := startProfile(t, "cognito")
	wrong, err := p.Forge(t.Context(), mockidp.ForgeWrongAudience, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, wrong); c["client_id"] != "another-app-client" || c["aud"] != nil {
		t.Errorf("cognito wrong-audience: %v", c)
	}
	id, err := p.Forge(t.Context(), mockidp.ForgeIDToken, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c, h := claimsOf(t, id), headerOf(t, id); c["token_use"] != "id" || c["aud"] != mockidp.PublicClientID || h["typ"] != nil {
		t.Errorf("cognito id-token: header %v claims %v", h, c)
	}
	a, _ := startProfile(t, "auth0")
	iss, err := a.Forge(t.Context(), mockidp.ForgeWrongIssuer, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := claimsOf(t, iss)["iss"]; got != a.IssuerURL()+"evil" {
		t.Errorf("auth0 wrong-issuer iss %v", got)
	}
}

// TestAProfileTellsWhereItsClaimsAre: what an authorizer configured for a provider reads:
// the scope claim and its type, the client's claim, the audience claim, the issuer's form.
func TestAProfileTellsWhereItsClaimsAre(t *testing.T) {
	for _, tc := range []struct {
		profile, scope string
		array          bool
		client, aud    string
		issuer         string
	}{
		{"generic", "scope", false, "client_id", "aud", "https://idp.example"},
		{"cognito", "scope", false, "client_id", "client_id", "https://idp.example/us-east-1_McpSso001"},          // [C1][C11]
		{"entra-v2", "scp", false, "azp", "aud", "https://idp.example/4a7d8e2c-6b1f-4c3e-9a5d-0f2e1b3c4d5e/v2.0"}, // [E1][E2]
		{"entra-v1", "scp", false, "appid", "aud", "https://idp.example/4a7d8e2c-6b1f-4c3e-9a5d-0f2e1b3c4d5e/"},   // [E1][E2]
		{"okta", "scp", true, "cid", "aud", "https://idp.example/oauth2/default"},                                 // [O1][O2]
		{"auth0", "scope", false, "azp", "aud", "https://idp.example/"},                                           // [A1]
		{"keycloak", "scope", false, "azp", "aud", "https://idp.example/realms/mcpsso"},                           // [K6][K16]
		{"google", "scope", false, "azp", "aud", "https://idp.example"},                                           // tokeninfo [G4]; [G1]
	} {
		p, err := mockidp.LookupProfile(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		scope, array := p.ScopeClaim()
		if scope != tc.scope || array != tc.array || p.ClientIDClaim() != tc.client || p.AudienceClaim != tc.aud ||
			p.Issuer("https://idp.example") != tc.issuer || !slices.Contains(p.AccessClaims(), tc.client) {
			t.Errorf("%s: scope %s (array %v), client %s, audience %s, issuer %s", tc.profile, scope, array, p.ClientIDClaim(),
				p.AudienceClaim, p.Issuer("https://idp.example"))
		}
	}
	for profile, want := range map[string]string{"generic": "/.well-known/jwks.json", "cognito": "/us-east-1_McpSso001/.well-known/jwks.json", // [C1]
		"keycloak": "/realms/mcpsso/protocol/openid-connect/certs", "okta": "/oauth2/default/v1/keys"} { // [X1]
		if p, _ := mockidp.LookupProfile(profile); p.JWKSPath() != want {
			t.Errorf("%s: JWKS at %s, want %s", profile, p.JWKSPath(), want)
		}
	}
}

// TestAuth0CompatibilityProfileTakesResourceAsAudience: with the tenant's Resource Parameter
// Compatibility Profile [A2], an MCP client's resource names the API as audience would; an
// audience sent beside it wins.
func TestAuth0CompatibilityProfileTakesResourceAsAudience(t *testing.T) {
	p, _ := startProfile(t, "auth0", mockidp.WithResourceParameterCompatibility())
	for _, tc := range []struct {
		name string
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"a resource", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", "http://127.0.0.1:8480/mcp")}, "http://127.0.0.1:8480/mcp"},
		{"a resource and an audience", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", "http://127.0.0.1:8480/mcp"),
			oauth2.SetAuthURLParam("audience", "https://api.example/mcp")}, "https://api.example/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := codeLogin(t, p, tc.opts...)
			if !isJWT(tok.AccessToken) {
				t.Fatalf("an opaque token: %.20s", tok.AccessToken)
			}
			if aud, _ := claimsOf(t, tok.AccessToken)["aud"].([]any); len(aud) == 0 || aud[0] != tc.want {
				t.Errorf("aud %v, want %s first", aud, tc.want)
			}
		})
	}
	if tok := codeLogin(t, p); isJWT(tok.AccessToken) {
		t.Error("neither resource nor audience: a JWT, want the opaque token")
	}
}

// TestCognitoAndEntraSendNoIss: RFC 9207 is not found for them, so the authorization
// response carries no iss and the metadata does not advertise it; the generic IdP does both.
func TestCognitoAndEntraSendNoIss(t *testing.T) {
	for _, profile := range []string{"generic", "cognito", "entra-v1", "entra-v2", "okta"} {
		t.Run(profile, func(t *testing.T) {
			p, _ := startProfile(t, profile)
			if err := p.QueueLogin("alice"); err != nil {
				t.Fatal(err)
			}
			q := authorize(t, p.Endpoint().AuthURL+"?"+authorizeParams(nil).Encode())
			resp, err := http.Get(p.DiscoveryURL())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var md map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
				t.Fatal(err)
			}
			sends := profile == "generic" || profile == "okta"
			if (q.Get("iss") != "") != sends || (md["authorization_response_iss_parameter_supported"] == true) != sends {
				t.Errorf("iss %q, advertised %v; want sent and advertised: %v", q.Get("iss"), md["authorization_response_iss_parameter_supported"], sends)
			}
		})
	}
}

// TestAuth0DiscoveryWithTheSlashAppended: a client appending the well-known path to Auth0's
// slash-ending issuer asks for //.well-known/openid-configuration, which is served, not
// redirected (the go-sdk follows no redirect into loopback).
func TestAuth0DiscoveryWithTheSlashAppended(t *testing.T) {
	p, _ := startProfile(t, "auth0")
	resp, err := noRedirects.Get(p.IssuerURL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&md) != nil || md["issuer"] != p.IssuerURL() {
		t.Fatalf("%s/.well-known/openid-configuration: %d %v", p.IssuerURL(), resp.StatusCode, md)
	}
}
