package mockidp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// What each provider does, written from the sources (their tags in the comments; the list is
// in docs/components/mock-idp.md) and not read from the profiles, so that a profile that
// drifts from its provider fails here. "n/f" rows hold the kit's documented choice where the
// sources are silent.
type providerFacts struct {
	// issuer is the exact issuer for an IdP served at origin.
	issuer *regexp.Regexp
	// rfc8414 lists the RFC 8414 URLs that answer (from the issuer's path and origin), and
	// noRFC8414 those that must not.
	rfc8414, noRFC8414 func(origin, path string) []string
	methods            []string // code_challenge_methods_supported; nil: absent
	registration       bool     // registration_endpoint advertised
	device             bool     // device_authorization_endpoint advertised
	typ                string   // access token header typ; "" absent
	kid                *regexp.Regexp
	opaque             bool                      // the access token is not a JWT (without an API audience)
	audience           []oauth2.AuthCodeOption   // what to ask for to get a JWT, if anything
	claims             map[string]*regexp.Regexp // present, the value's JSON matching
	absent             []string
	lifetime           [2]time.Duration // min and max of exp - iat (and expires_in)
	tenant             string           // the claim alice's tenant "acme" is in
	keysCarryIssuer    bool
	encryptionKey      bool
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

const (
	guidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	b64url = `[A-Za-z0-9_-]`
)

func none(string, string) []string { return nil }

var facts = map[string]providerFacts{
	"generic": { // today's behaviour (docs/components/mock-idp.md)
		issuer: re(`^ORIGIN$`),
		rfc8414: func(o, _ string) []string {
			return []string{o + "/.well-known/oauth-authorization-server"}
		},
		noRFC8414: none, methods: []string{"S256"}, registration: true, device: true,
		typ: "at+jwt", kid: re(`^` + b64url + `{43}$`),
		claims: map[string]*regexp.Regexp{"aud": re(`^"api://quilt-mcp"$`), "client_id": re(`^"mcpsso-cli"$`),
			"token_use": re(`^"access"$`), "scope": re(`^"openid profile email offline_access"$`), "nbf": re(`^\d+$`)},
		lifetime: [2]time.Duration{time.Hour, time.Hour}, tenant: "tenant",
	},
	"cognito": {
		issuer:  re(`^ORIGIN/[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]+$`), // https://cognito-idp.{region}.amazonaws.com/{userPoolId} [C1]
		rfc8414: none,                                           // no RFC 8414 document [C8]
		noRFC8414: func(o, path string) []string {
			return []string{o + "/.well-known/oauth-authorization-server" + path, o + path + "/.well-known/oauth-authorization-server"}
		},
		methods:      nil,                        // absent [C7][C12]
		registration: false,                      // DCR none [C10]
		device:       false,                      // n/f: not offered
		typ:          "",                         // header kid + alg only [C1]
		kid:          re(`^[A-Za-z0-9+/]{43}=$`), // 1234example= [C1]
		claims: map[string]*regexp.Regexp{ // [C1]
			"client_id": re(`^"mcpsso-cli"$`), "token_use": re(`^"access"$`), "username": re(`^"alice"$`),
			"version": re(`^2$`), "scope": re(`^"[^"]+"$`), "origin_jti": re(`^"` + guidRE + `"$`),
			"event_id": re(`^"` + guidRE + `"$`), "jti": re(`^"` + guidRE + `"$`), "auth_time": re(`^\d+$`),
			"cognito:groups": re(`^\["acme-analysts"\]$`),
		},
		absent:   []string{"aud", "nbf", "cid", "scp", "azp"}, // aud only with a resource [C1]
		lifetime: [2]time.Duration{time.Hour, time.Hour},      // [C4][C1]
		tenant:   "custom:tenant",                             // [C14][C5]
	},
	"entra-v2": {
		issuer:       re(`^ORIGIN/` + guidRE + `/v2\.0$`), // …/{tid}/v2.0 [E2]
		rfc8414:      none,                                // n/f
		noRFC8414:    func(o, path string) []string { return []string{o + "/.well-known/oauth-authorization-server" + path} },
		methods:      nil,                        // absent [X1][E3]
		registration: false,                      // [E8][E11]
		device:       true,                       // [X1]
		typ:          "JWT",                      // [E1][E2]
		kid:          re(`^` + b64url + `{27}$`), // thumbprint, e.g. i6lGk3FZzxRcUb2C3nEQ7syHJlY [E1]
		claims: map[string]*regexp.Regexp{ // [E1]
			"aud": re(`^"` + guidRE + `"$`), "azp": re(`^"mcpsso-cli"$`), "azpacr": re(`^"0"$`), "scp": re(`^"[^"]+"$`),
			"tid": re(`^"` + guidRE + `"$`), "oid": re(`^"` + guidRE + `"$`), "ver": re(`^"2\.0"$`), "uti": re(`^"` + b64url + `+"$`),
			"nbf": re(`^\d+$`), "preferred_username": re(`^"alice@acme\.example"$`),
		},
		absent:          []string{"client_id", "scope", "token_use", "appid", "cid"},
		lifetime:        [2]time.Duration{60 * time.Minute, 90 * time.Minute}, // [E2]
		tenant:          "tenant",                                             // n/f (tid is the directory [E1])
		keysCarryIssuer: true,                                                 // [E2][X1]
	},
	"entra-v1": {
		issuer:       re(`^ORIGIN/` + guidRE + `/$`), // sts.windows.net/{tid}/ [E2]
		rfc8414:      none,
		noRFC8414:    func(o, path string) []string { return []string{o + "/.well-known/oauth-authorization-server" + path} },
		methods:      nil,
		registration: false,
		device:       true,
		typ:          "JWT",
		kid:          re(`^` + b64url + `{27}$`),
		claims: map[string]*regexp.Regexp{ // [E1]
			"aud": re(`^"api://quilt-mcp"$`), "appid": re(`^"mcpsso-cli"$`), "appidacr": re(`^"0"$`), "scp": re(`^"[^"]+"$`),
			"tid": re(`^"` + guidRE + `"$`), "oid": re(`^"` + guidRE + `"$`), "ver": re(`^"1\.0"$`), "upn": re(`^"alice@acme\.example"$`),
		},
		absent:          []string{"client_id", "scope", "token_use", "azp", "azpacr"},
		lifetime:        [2]time.Duration{60 * time.Minute, 90 * time.Minute},
		tenant:          "tenant",
		keysCarryIssuer: true,
	},
	"okta": {
		issuer: re(`^ORIGIN/oauth2/[A-Za-z0-9]+$`), // https://{domain}/oauth2/{authServerId} [O1]
		rfc8414: func(o, path string) []string { // under the issuer [O1]
			return []string{o + path + "/.well-known/oauth-authorization-server"}
		},
		noRFC8414:    func(o, path string) []string { return []string{o + "/.well-known/oauth-authorization-server" + path} }, // [O8]
		methods:      []string{"S256"},                                                                                        // [X1]
		registration: true,                                                                                                    // exists, admin token [X1][O6]
		device:       true,                                                                                                    // [X1]
		typ:          "",                                                                                                      // alg + kid only [O2]
		kid:          re(`^` + b64url + `+$`),
		claims: map[string]*regexp.Regexp{ // [O2]
			"ver": re(`^1$`), "jti": re(`^"AT\.[^"]+"$`), "cid": re(`^"mcpsso-cli"$`), "uid": re(`^"00u[A-Za-z0-9]+"$`),
			"scp": re(`^\["openid","profile","email","offline_access"\]$`), "aud": re(`^"api://default"$`), // [O5]
			"auth_time": re(`^\d+$`),
		},
		absent:   []string{"client_id", "scope", "token_use", "groups"},
		lifetime: [2]time.Duration{time.Hour, time.Hour}, // [O3]
		tenant:   "tenant",                               // a custom claim [O2]
	},
	"auth0": {
		issuer:       re(`^ORIGIN/$`), // trailing slash [A1][X1]
		rfc8414:      none,            // n/f
		noRFC8414:    func(o, _ string) []string { return []string{o + "/.well-known/oauth-authorization-server"} },
		methods:      []string{"S256", "plain"}, // [X1]
		registration: true,                      // open when on [A3]
		device:       true,                      // [X1]
		typ:          "JWT",                     // Auth0 token profile [A1]
		kid:          re(`^[A-Za-z0-9]{21}$`),   // tMQzailSAdaW4nojXxES9 [X1]
		opaque:       true,                      // without an audience [A8]
		audience:     []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("audience", "api://quilt-mcp")},
		claims: map[string]*regexp.Regexp{ // [A1][A13]
			"aud": re(`^\["api://quilt-mcp","ORIGIN/userinfo"\]$`), "azp": re(`^"mcpsso-cli"$`), "scope": re(`^"[^"]+"$`),
		},
		absent:   []string{"client_id", "token_use", "cid", "scp"},
		lifetime: [2]time.Duration{86400 * time.Second, 86400 * time.Second}, // [A6][X1]
		tenant:   "https://mcpsso.example/tenant",                            // namespaced [A7]
	},
	"keycloak": {
		issuer: re(`^ORIGIN/realms/[a-z0-9-]+$`), // [K16]
		rfc8414: func(o, path string) []string { // under the realm and path-inserted [K3]
			return []string{o + path + "/.well-known/oauth-authorization-server", o + "/.well-known/oauth-authorization-server" + path}
		},
		noRFC8414:    none,
		methods:      []string{"plain", "S256"}, // [K2]
		registration: true,                      // [K1]
		device:       true,                      // [X1]
		typ:          "JWT",                     // [K7]
		kid:          re(`^` + b64url + `+$`),   // [X1]
		claims: map[string]*regexp.Regexp{ // [K6][K17][K5]
			"aud": re(`^"account"$`), "typ": re(`^"Bearer"$`), "azp": re(`^"mcpsso-cli"$`), "sid": re(`^"[^"]+"$`),
			"realm_access": re(`^\{"roles":\[[^\]]*\]\}$`), "resource_access": re(`^\{"account":`), "scope": re(`^"[^"]+"$`),
			"jti": re(`^"[^"]+"$`),
		},
		absent:        []string{"client_id", "token_use", "cid", "scp"},
		lifetime:      [2]time.Duration{300 * time.Second, 300 * time.Second}, // [K9]
		tenant:        "tenant",
		encryptionKey: true, // [X1]
	},
	"google": {
		issuer: re(`^ORIGIN$`), // https://accounts.google.com [G1]
		rfc8414: func(o, _ string) []string { // [G5]
			return []string{o + "/.well-known/oauth-authorization-server"}
		},
		noRFC8414:    none,
		methods:      []string{"plain", "S256"}, // [X1]
		registration: false,                     // [G7]
		device:       true,                      // [X1]
		kid:          re(`^[0-9a-f]{40}$`),      // [X1]
		opaque:       true,                      // [G3]
		lifetime:     [2]time.Duration{time.Hour, time.Hour},
		tenant:       "hd", // the Workspace domain, in the ID token [G2]
	},
}

// startProfile serves a profile's IdP on an httptest listener whose origin the test knows.
func startProfile(t *testing.T, profile string, opts ...mockidp.Option) (*mockidp.IdP, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://" + srv.Listener.Addr().String()
	p, err := mockidp.New(append([]mockidp.Option{mockidp.WithIssuerURL(origin), mockidp.WithSigningKey(testKey()),
		mockidp.WithProfile(profile)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return p, origin
}

// getJSON GETs a URL and decodes a JSON object, returning the status.
func getJSON(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// codeLogin runs auth code + PKCE for the public client as alice.
func codeLogin(t *testing.T, p *mockidp.IdP, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	conf, err := p.OAuth2Config(mockidp.PublicClientID, "http://127.0.0.1:53682/callback", "openid", "profile", "email", "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, conf.AuthCodeURL("s", append(opts, oauth2.S256ChallengeOption(verifier))...))
	if q.Get("error") != "" {
		t.Fatalf("authorize error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// TestEachProfileIssuesTokensAsItsProviderDoes starts every profile, discovers it, logs in
// and checks the issuer's form, the metadata, the keys and the access token against the facts.
func TestEachProfileIssuesTokensAsItsProviderDoes(t *testing.T) {
	if got, want := mockidp.ProfileNames(), []string{"generic", "cognito", "entra-v2", "entra-v1", "okta", "auth0", "keycloak", "google"}; !slices.Equal(got, want) {
		t.Fatalf("profiles %v, want %v", got, want)
	}
	for _, name := range mockidp.ProfileNames() {
		f, ok := facts[name]
		if !ok {
			t.Fatalf("profile %s has no facts in this test", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, origin := startProfile(t, name)
			if !f.issuer.MatchString(strings.ReplaceAll(p.IssuerURL(), origin, "ORIGIN")) {
				t.Fatalf("issuer %q, want the form %s", p.IssuerURL(), f.issuer)
			}
			issuer := p.IssuerURL()
			path := strings.TrimSuffix(strings.TrimPrefix(issuer, origin), "/")

			// Discovery: the document at the issuer (OpenID Connect Discovery §4), its issuer exact.
			status, md := getJSON(t, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
			if status != 200 || md["issuer"] != issuer {
				t.Fatalf("discovery: %d, issuer %v, want %q", status, md["issuer"], issuer)
			}
			for _, u := range f.rfc8414(origin, path) {
				if status, as := getJSON(t, u); status != 200 || as["issuer"] != issuer {
					t.Errorf("RFC 8414 metadata at %s: %d, issuer %v", u, status, as["issuer"])
				}
			}
			for _, u := range f.noRFC8414(origin, path) {
				if status, _ := getJSON(t, u); status != http.StatusNotFound {
					t.Errorf("RFC 8414 metadata at %s: %d, want 404 (the provider serves none there)", u, status)
				}
			}
			methods, has := md["code_challenge_methods_supported"]
			switch {
			case f.methods == nil && has:
				t.Errorf("code_challenge_methods_supported %v, want the field absent", methods)
			case f.methods != nil && !sameStrings(methods, f.methods):
				t.Errorf("code_challenge_methods_supported %v, want %v", methods, f.methods)
			}
			if _, has := md["registration_endpoint"]; has != f.registration {
				t.Errorf("registration_endpoint advertised: %v, want %v", has, f.registration)
			}
			if _, has := md["device_authorization_endpoint"]; has != f.device {
				t.Errorf("device_authorization_endpoint advertised: %v, want %v", has, f.device)
			}

			// Keys.
			jwksURI, _ := md["jwks_uri"].(string)
			status, set := getJSON(t, jwksURI)
			keys, _ := set["keys"].([]any)
			if status != 200 || len(keys) == 0 {
				t.Fatalf("JWKS at %s: %d %v", jwksURI, status, set)
			}
			var sig, enc int
			for _, k := range keys {
				k := k.(map[string]any)
				switch k["use"] {
				case "sig":
					sig++
					if kid, _ := k["kid"].(string); !f.kid.MatchString(kid) {
						t.Errorf("signing key kid %q, want the form %s", kid, f.kid)
					}
					if _, has := k["issuer"]; has != f.keysCarryIssuer {
						t.Errorf("key has an issuer member: %v, want %v", has, f.keysCarryIssuer)
					}
				case "enc":
					enc++
					if k["alg"] != "RSA-OAEP" || k["kty"] != "RSA" {
						t.Errorf("encryption key %v, want RSA-OAEP", k)
					}
				}
			}
			if sig != 1 || (enc == 1) != f.encryptionKey {
				t.Errorf("JWKS has %d signing and %d encryption keys", sig, enc)
			}

			// A login through the endpoints the metadata names.
			endpoint := p.Endpoint()
			if endpoint.AuthURL != md["authorization_endpoint"] || endpoint.TokenURL != md["token_endpoint"] {
				t.Errorf("Endpoint() %+v does not match the metadata %v %v", endpoint, md["authorization_endpoint"], md["token_endpoint"])
			}
			tok := codeLogin(t, p)
			if isJWT(tok.AccessToken) == f.opaque {
				t.Fatalf("access token is a JWT: %v, want %v: %.40s…", isJWT(tok.AccessToken), !f.opaque, tok.AccessToken)
			}
			checkIDToken(t, p, tok, f)
			if f.opaque {
				checkOpaque(t, p, md, tok, f)
				if f.audience == nil {
					return
				}
				tok = codeLogin(t, p, f.audience...)
			}
			checkAccessToken(t, p, origin, tok, f)
		})
	}
}

func sameStrings(v any, want []string) bool {
	list, _ := v.([]any)
	var got []string
	for _, s := range list {
		if s, ok := s.(string); ok {
			got = append(got, s)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	return slices.Equal(got, want)
}

// checkAccessToken verifies a JWT access token as an authorizer would (go-oidc, discovery,
// exact issuer) and checks its header and claims.
func checkAccessToken(t *testing.T, p *mockidp.IdP, origin string, tok *oauth2.Token, f providerFacts) {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), p.IssuerURL())
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	if _, err := provider.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(t.Context(), tok.AccessToken); err != nil {
		t.Fatalf("go-oidc rejects the access token: %v", err)
	}
	h := headerOf(t, tok.AccessToken)
	if typ, has := h["typ"]; (f.typ == "") == has || has && typ != f.typ {
		t.Errorf("header typ %v (present %v), want %q", typ, has, f.typ)
	}
	if kid, _ := h["kid"].(string); !f.kid.MatchString(kid) {
		t.Errorf("header kid %q, want the form %s", kid, f.kid)
	}
	c := claimsOf(t, tok.AccessToken)
	if c["iss"] != p.IssuerURL() || c["sub"] != "00u8c2d9qkL4mT7xw5d7" {
		t.Errorf("iss %v sub %v", c["iss"], c["sub"])
	}
	for name, want := range f.claims {
		raw, _ := json.Marshal(c[name])
		if _, has := c[name]; !has || !want.MatchString(strings.ReplaceAll(string(raw), origin, "ORIGIN")) {
			t.Errorf("claim %s = %s, want %s", name, raw, want)
		}
	}
	for _, name := range f.absent {
		if v, has := c[name]; has {
			t.Errorf("claim %s = %v, want it absent", name, v)
		}
	}
	if c[f.tenant] != "acme" || p.TenantClaim() != f.tenant || p.Profile().TenantClaim != f.tenant {
		t.Errorf("tenant claim %q = %v (IdP says %q), want acme", f.tenant, c[f.tenant], p.TenantClaim())
	}
	life := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second
	if life < f.lifetime[0] || life > f.lifetime[1] || time.Duration(tok.Extra("expires_in").(float64))*time.Second != life {
		t.Errorf("the token lives %v (expires_in %v), want %v to %v", life, tok.Extra("expires_in"), f.lifetime[0], f.lifetime[1])
	}
	if h["x5t"] != nil && h["x5t"] != h["kid"] {
		t.Errorf("x5t %v differs from kid %v", h["x5t"], h["kid"])
	}
}

// checkIDToken: every profile's ID token is a JWT for the client that go-oidc accepts.
func checkIDToken(t *testing.T, p *mockidp.IdP, tok *oauth2.Token, f providerFacts) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	provider, err := oidc.NewProvider(t.Context(), p.IssuerURL())
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	id, err := provider.Verifier(&oidc.Config{ClientID: mockidp.PublicClientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	var c map[string]any
	_ = id.Claims(&c)
	if f.tenant == "hd" && c["hd"] != "acme" {
		t.Errorf("the ID token's hd = %v, want acme", c["hd"])
	}
}

// checkOpaque: an opaque access token is good at the IdP's userinfo (and tokeninfo, where the
// provider has one [G3][G4]).
func checkOpaque(t *testing.T, p *mockidp.IdP, md map[string]any, tok *oauth2.Token, f providerFacts) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, md["userinfo_endpoint"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || info["sub"] != "00u8c2d9qkL4mT7xw5d7" {
		t.Errorf("userinfo with the opaque token: %d %v", resp.StatusCode, info)
	}
	if p.TokeninfoURL() == "" {
		return
	}
	status, ti := getJSON(t, p.TokeninfoURL()+"?"+url.Values{"access_token": {tok.AccessToken}}.Encode())
	for _, k := range []string{"azp", "aud", "sub", "scope", "exp", "expires_in", "email", "email_verified", "access_type"} { // [G4]
		if _, has := ti[k]; !has || status != 200 {
			t.Errorf("tokeninfo: %d, %s missing: %v", status, k, ti)
		}
	}
	if in := ti["expires_in"].(float64); in <= 0 || time.Duration(in)*time.Second > f.lifetime[1] {
		t.Errorf("tokeninfo expires_in %v", in)
	}
	if status, bad := getJSON(t, p.TokeninfoURL()+"?access_token=nonsense"); status != 400 || bad["error"] != "invalid_token" {
		t.Errorf("tokeninfo of an unknown token: %d %v", status, bad)
	}
}
