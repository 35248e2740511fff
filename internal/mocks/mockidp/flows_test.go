package mockidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestDeviceGrantWithXOAuth2 is the device flow as a headless tool runs it: x/oauth2 asks for
// a code, the test approves it, x/oauth2 polls, go-oidc verifies the access token.
func TestDeviceGrantWithXOAuth2(t *testing.T) {
	p := startIdP(t)
	ctx := t.Context()
	conf, err := p.OAuth2Config(mockidp.PublicClientID, "", "openid", "email", "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.Interval != 1 || da.VerificationURI != p.DeviceVerificationURL() ||
		!strings.HasPrefix(da.VerificationURIComplete, p.DeviceVerificationURL()+"?user_code=") || da.Expiry.IsZero() {
		t.Fatalf("device authorization response %+v", da)
	}
	if err := p.ApproveDevice(da.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := apiVerifier(t, p, nil).Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("go-oidc rejects the access token: %v", err)
	}
	alice, _ := p.User("alice")
	if idt.Subject != alice.Subject || !slices.Equal(idt.Audience, []string{mockidp.DefaultAudience}) {
		t.Errorf("sub %q aud %v; want %q and [%s]", idt.Subject, idt.Audience, alice.Subject, mockidp.DefaultAudience)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Errorf("the device grant should return a refresh token and an ID token: %+v", tok)
	}
}

// TestAuthCodeWithPKCEForThePublicClient is what MCP clients do: auth code, PKCE S256, a
// loopback redirect URI on any port, and an RFC 8707 resource that becomes the audience.
func TestAuthCodeWithPKCEForThePublicClient(t *testing.T) {
	p := startIdP(t)
	ctx := t.Context()
	tok := pkceLogin(t, p, "bob", oidc.Nonce("n-123"))

	access, err := apiVerifier(t, p, nil).Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("go-oidc rejects the access token: %v", err)
	}
	var claims map[string]any
	if err := access.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	bob, _ := p.User("bob")
	want := map[string]any{"iss": p.IssuerURL(), "sub": bob.Subject, "aud": mockidp.DefaultAudience,
		"client_id": mockidp.PublicClientID, "scope": "openid profile email offline_access", "email": bob.Email,
		"tenant": "globex", "token_use": "access"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"exp", "iat", "nbf", "jti", "auth_time"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s is missing", k)
		}
	}
	if typ := headerOf(t, tok.AccessToken)["typ"]; typ != "at+jwt" {
		t.Errorf("access token typ %v, want at+jwt (RFC 9068)", typ)
	}
	if tok.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600 seconds", tok.ExpiresIn)
	}

	// The ID token is for the client, carries the nonce, and says it is an ID token.
	provider, err := oidc.NewProvider(ctx, p.IssuerURL())
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := provider.Verifier(&oidc.Config{ClientID: mockidp.PublicClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	idClaims := claimsOf(t, rawID)
	if id.Nonce != "n-123" || idClaims["token_use"] != "id" || idClaims["name"] != bob.Name || headerOf(t, rawID)["typ"] != "JWT" {
		t.Errorf("ID token claims %v", idClaims)
	}

	// The resource indicator is reflected in the audience.
	tok = pkceLogin(t, p, "alice", oauth2.SetAuthURLParam("resource", "http://127.0.0.1:9999/mcp"))
	if aud := claimsOf(t, tok.AccessToken)["aud"]; aud != "http://127.0.0.1:9999/mcp" {
		t.Errorf("aud = %v, want the requested resource", aud)
	}
}

// TestConfidentialClientAuthenticatesByBasicAndByForm covers both client_secret methods.
func TestConfidentialClientAuthenticatesByBasicAndByForm(t *testing.T) {
	p := startIdP(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		name := map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "HTTP Basic", oauth2.AuthStyleInParams: "form"}[style]
		t.Run("the demo client authenticates with "+name, func(t *testing.T) {
			conf, err := p.OAuth2Config(mockidp.DemoClientID, "http://localhost:8765/cb", "openid")
			if err != nil {
				t.Fatal(err)
			}
			conf.Endpoint.AuthStyle = style
			if err := p.QueueLogin("carol"); err != nil {
				t.Fatal(err)
			}
			q := authorize(t, conf.AuthCodeURL("s"))
			tok, err := conf.Exchange(t.Context(), q.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			claims := claimsOf(t, tok.AccessToken)
			if claims["client_id"] != mockidp.DemoClientID {
				t.Errorf("client_id claim %v", claims["client_id"])
			}
			if _, has := claims["tenant"]; has {
				t.Errorf("carol has no tenant mapping, yet the token has a tenant claim: %v", claims)
			}
		})
	}
}

// TestRefreshRotatesAndDetectsReuse: a refresh gives new tokens and a new refresh token; the
// old refresh token is then refused and its replay revokes the grant.
func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	p := startIdP(t)
	ctx := t.Context()
	tok := pkceLogin(t, p, "alice")
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "", "openid")

	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	refreshed, err := conf.TokenSource(ctx, stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken || refreshed.RefreshToken == "" {
		t.Fatal("a refresh should return a new access token and a new refresh token")
	}
	if _, err := apiVerifier(t, p, nil).Verify(ctx, refreshed.AccessToken); err != nil {
		t.Fatalf("go-oidc rejects the refreshed access token: %v", err)
	}
	if claimsOf(t, refreshed.AccessToken)["sub"] != claimsOf(t, tok.AccessToken)["sub"] {
		t.Error("the refreshed token is for another subject")
	}

	_, err = conf.TokenSource(ctx, stale).Token()
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reusing a rotated refresh token: %v, want invalid_grant", err)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
	if err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("after a replay the grant should be revoked: %v", err)
	}
}

func TestTokensAreToldApartByTypeAndTokenUse(t *testing.T) {
	p := startIdP(t)
	tok := pkceLogin(t, p, "alice")
	id, _ := tok.Extra("id_token").(string)
	for _, tc := range []struct {
		name, token, typ, use string
	}{
		{"the access token is at+jwt and token_use access", tok.AccessToken, "at+jwt", "access"},
		{"the ID token is JWT and token_use id", id, "JWT", "id"},
		{"the refresh token is JWT and token_use refresh", tok.RefreshToken, "JWT", "refresh"},
	} {
		if typ, use := headerOf(t, tc.token)["typ"], claimsOf(t, tc.token)["token_use"]; typ != tc.typ || use != tc.use {
			t.Errorf("%s: got typ %v, token_use %v", tc.name, typ, use)
		}
	}
	if aud := claimsOf(t, tok.RefreshToken)["aud"]; aud != p.IssuerURL() {
		t.Errorf("refresh token aud = %v, want the IdP itself", aud)
	}
}

func TestUserinfoReturnsTheUsersClaims(t *testing.T) {
	p := startIdP(t)
	tok := pkceLogin(t, p, "dave")
	req, _ := http.NewRequest(http.MethodGet, p.UserinfoURL(), nil)
	req.Header.Set("Authorization", "bearer "+tok.AccessToken) // the scheme is case-insensitive
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&info)
	dave, _ := p.User("dave")
	if resp.StatusCode != 200 || info["sub"] != dave.Subject || info["email"] != dave.Email || info["tenant"] != "acme" {
		t.Fatalf("userinfo %d %v", resp.StatusCode, info)
	}

	id, _ := tok.Extra("id_token").(string)
	req.Header.Set("Authorization", "Bearer "+id)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("userinfo with an ID token: %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestDiscoveryServesOIDCAndRFC8414Metadata checks every URL a client may try, for an issuer
// at the root and for one with a path.
func TestDiscoveryServesOIDCAndRFC8414Metadata(t *testing.T) {
	for _, path := range []string{"", "/realms/test"} {
		p := startIdP(t, mockidp.WithIssuerPath(path))
		base := strings.TrimSuffix(p.IssuerURL(), path)
		urls := []string{p.IssuerURL() + "/.well-known/openid-configuration", base + "/.well-known/oauth-authorization-server" + path}
		if path != "" {
			urls = append(urls, base+"/.well-known/openid-configuration"+path)
		}
		for _, u := range urls {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var md map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&md)
			resp.Body.Close()
			if resp.StatusCode != 200 || md["issuer"] != p.IssuerURL() {
				t.Errorf("%s: %d, issuer %v", u, resp.StatusCode, md["issuer"])
				continue
			}
			if methods, _ := md["code_challenge_methods_supported"].([]any); len(methods) != 1 || methods[0] != "S256" {
				t.Errorf("%s: code_challenge_methods_supported %v, want [S256]", u, md["code_challenge_methods_supported"])
			}
			for _, k := range []string{"device_authorization_endpoint", "registration_endpoint", "jwks_uri", "token_endpoint"} {
				if s, _ := md[k].(string); !strings.HasPrefix(s, p.IssuerURL()+"/") {
					t.Errorf("%s: %s = %v", u, k, md[k])
				}
			}
		}
		if _, err := oidc.NewProvider(context.Background(), p.IssuerURL()); err != nil {
			t.Errorf("go-oidc discovery for issuer %s: %v", p.IssuerURL(), err)
		}
		pkceLogin(t, p, "alice")
	}
}

// TestDecisionsAreLoggedWithoutTokens checks the log's stable keys, and that no token,
// code or secret reaches it.
func TestDecisionsAreLoggedWithoutTokens(t *testing.T) {
	var logs logBuffer
	p := startIdP(t, mockidp.WithLogger(logs.logger()))
	tok := pkceLogin(t, p, "alice")
	conf, _ := p.OAuth2Config(mockidp.DemoClientID, "", "openid")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	conf.ClientSecret = "wrong"
	_, _ = conf.Exchange(t.Context(), "nonsense-code")

	_, err := conf.DeviceAuth(t.Context(), oauth2.SetAuthURLParam("client_secret", "wrong"))
	if err == nil {
		t.Fatal("device authorization with a wrong secret succeeded")
	}
	public, _ := p.OAuth2Config(mockidp.PublicClientID, "", "openid")
	da, err := public.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = p.ApproveDevice(da.UserCode, "bob")
	if err := p.ApproveDevice(da.UserCode, "bob"); err == nil {
		t.Fatal("a second approval succeeded")
	}
	resp, err := http.PostForm(p.DeviceVerificationURL(), url.Values{"user_code": {da.UserCode}, "login_as": {"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var sawAllow, sawDeny bool
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "token" && rec["decision"] == "allow" && rec["sub"] != "" && rec["client_id"] == mockidp.PublicClientID && rec["request_id"] != "" {
			sawAllow = true
		}
		if rec["msg"] == "token" && rec["decision"] == "deny" && strings.Contains(rec["reason"].(string), "wrong client_secret") {
			sawDeny = true
		}
	}
	if !sawAllow || !sawDeny {
		t.Errorf("want an allow and a deny token decision with sub, client_id, request_id and reason:\n%s", logs.String())
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok.Extra("id_token").(string), mockidp.DemoClientSecret,
		"nonsense-code", da.DeviceCode, da.UserCode, strings.ReplaceAll(da.UserCode, "-", "")} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a token, code or secret: %.20s...", secret)
		}
	}
}

// TestTheIdPIsAnHTTPHandler mounts New's IdP on an httptest server, with an issuer path, as
// go-oidc's oidctest is used.
func TestTheIdPIsAnHTTPHandler(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	p, err := mockidp.New(mockidp.WithIssuerURL("http://"+srv.Listener.Addr().String()+"/tenants/a"), mockidp.WithSigningKey(testKey()))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()
	token, err := p.TokenFor(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(t.Context(), p.IssuerURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: mockidp.DefaultAudience}).Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
}
