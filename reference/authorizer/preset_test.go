package authorizer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestEachPresetAllowsItsIdPsAccessTokenAndRefusesItsIDToken: under its preset, each IdP's
// access token, in the shape the IdP documents (no typ header at Cognito and Okta, scp a string
// at Entra ID and a list at Okta, Auth0's aud a list with /userinfo and its issuer's slash,
// Keycloak's encryption key in the JWKS), is allowed with the user's role; the same user's ID
// token, signed by the same key, is refused as wrong_token_type naming what marks access tokens.
func TestEachPresetAllowsItsIdPsAccessTokenAndRefusesItsIDToken(t *testing.T) {
	for _, c := range idpCases() {
		t.Run(c.preset, func(t *testing.T) {
			h := newHandIdP(t)
			a := h.presetAuthorizer(t, c)
			iat, exp := h.times()
			d, err := a.Decide(t.Context(), bearer(h.sign(t, c.accessTyp, c.access(iat, exp))))
			if err != nil || !d.Allow || d.RoleARN != acmeRole || d.Tenant != "acme" {
				t.Fatalf("the access token: allow %v, role %q, tenant %q (%s %s), %v; want acme's role", d.Allow, d.RoleARN, d.Tenant, d.Reason, d.Detail, err)
			}
			d, err = a.Decide(t.Context(), bearer(h.sign(t, c.idTyp, c.id(iat, exp))))
			if err != nil || d.Allow || d.Reason != authorizer.ReasonWrongTokenType || !strings.Contains(d.Detail, c.idMarker) {
				t.Fatalf("the ID token: allow %v, %s %q, %v; want %s naming %s", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonWrongTokenType, c.idMarker)
			}
		})
	}
}

func caseOf(t testing.TB, preset string) idpCase {
	t.Helper()
	i := slices.IndexFunc(idpCases(), func(c idpCase) bool { return c.preset == preset })
	if i < 0 {
		t.Fatalf("no case for %s", preset)
	}
	return idpCases()[i]
}

// TestCognitoAccessTokensProveTheirAudienceWithClientID: Cognito access tokens carry no aud
// unless the client asked for a resource, so client_id proves whom they are for: another app
// client's token is refused naming client_id; an aud, when present (RFC 8707 resource), must
// still be accepted.
func TestCognitoAccessTokensProveTheirAudienceWithClientID(t *testing.T) {
	h := newHandIdP(t)
	a := h.presetAuthorizer(t, caseOf(t, authorizer.PresetCognito))
	iat, exp := h.times()
	for _, tc := range []struct {
		name   string
		claims map[string]any
		allow  bool
		detail string
	}{
		{"without aud, for the configured app client", cognitoAccess(iat, exp, cognitoClient), true, ""},
		{"with the MCP server's resource as aud", with(cognitoAccess(iat, exp, cognitoClient), map[string]any{"aud": mcpURI}), true, ""},
		{"another app client's", cognitoAccess(iat, exp, cognitoOther), false, `client_id "` + cognitoOther + `" is none of the accepted app clients`},
		{"without client_id", with(cognitoAccess(iat, exp, cognitoClient), map[string]any{"client_id": nil}), false, `no "client_id" claim`},
		{"bound to another resource", with(cognitoAccess(iat, exp, cognitoClient), map[string]any{"aud": "https://other.example/mcp"}), false, "the resource the client asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := a.Decide(t.Context(), bearer(h.sign(t, "", tc.claims)))
			if err != nil || d.Allow != tc.allow || (!tc.allow && (d.Reason != authorizer.ReasonWrongAudience || !strings.Contains(d.Detail, tc.detail))) {
				t.Fatalf("allow %v, %s %q, %v; want allow %v naming %q", d.Allow, d.Reason, d.Detail, err, tc.allow, tc.detail)
			}
		})
	}
	if _, err := h.authorizer(t, idpStore(t), authorizer.WithIdPPreset(authorizer.PresetCognito), authorizer.WithIssuer(cognitoIssuer)); err == nil ||
		!strings.Contains(err.Error(), "WithClientIDs") || !strings.Contains(err.Error(), "client_id") {
		t.Errorf("the cognito preset without client ids: %v, want an error naming WithClientIDs and client_id", err)
	}
}

// TestEntraTokensOfTheOtherVersionAreRefusedNamingVer: Entra ID issues an API v1 or v2 tokens
// as the API's accessTokenAcceptedVersion says; a token of the other version is refused naming
// ver (and not only its issuer), and one without ver too.
func TestEntraTokensOfTheOtherVersionAreRefusedNamingVer(t *testing.T) {
	h := newHandIdP(t)
	iat, exp := h.times()
	v1, v2 := caseOf(t, authorizer.PresetEntraV1), caseOf(t, authorizer.PresetEntraV2)
	for _, tc := range []struct {
		name   string
		under  idpCase
		claims map[string]any
		detail string
	}{
		{"a v1 token under v2 settings", v2, entraV1Access(iat, exp), `ver "1.0": the entra-v2 preset accepts ver "2.0" tokens only`},
		{"a v2 token under v1 settings", v1, entraV2Access(iat, exp), `ver "2.0": the entra-v1 preset accepts ver "1.0" tokens only`},
		{"a v2 token without ver", v2, with(entraV2Access(iat, exp), map[string]any{"ver": nil}), `no ver claim`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := h.presetAuthorizer(t, tc.under).Decide(t.Context(), bearer(h.sign(t, "JWT", tc.claims)))
			if err != nil || d.Allow || d.Reason != authorizer.ReasonWrongTokenType || !strings.Contains(d.Detail, tc.detail) {
				t.Fatalf("allow %v, %s %q, %v; want %s naming %q", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonWrongTokenType, tc.detail)
			}
		})
	}
}

// TestIssuersAreComparedExactlyInTheIdPsForm: the configured issuer must have the preset's
// form (Auth0's and Entra v1's trailing slash, none at Cognito, Entra v2's /v2.0, Okta's custom
// authorization server, Keycloak's realm), or New refuses it naming the form; a token whose iss
// differs only by the slash is refused naming both forms.
func TestIssuersAreComparedExactlyInTheIdPsForm(t *testing.T) {
	for _, tc := range []struct{ preset, issuer, detail string }{
		{authorizer.PresetAuth0, "https://example-tenant.us.auth0.com", "Auth0's issuer ends with a slash"},
		{authorizer.PresetEntraV1, "https://sts.windows.net/" + entraTenant, "Entra ID v1's issuer ends with a slash"},
		{authorizer.PresetEntraV2, entraV2Issuer + "/", "Entra ID v2's issuer has no trailing slash"},
		{authorizer.PresetEntraV2, entraV1Issuer, "use the entra-v1 preset"},
		{authorizer.PresetCognito, cognitoIssuer + "/", "Cognito's issuer has no trailing slash"},
		{authorizer.PresetOkta, "https://example.okta.com", "org authorization server"},
		{authorizer.PresetKeycloak, "https://sso.example.com/auth", "realm-scoped"},
	} {
		t.Run(tc.preset+" "+tc.issuer, func(t *testing.T) {
			h := newHandIdP(t)
			_, err := h.authorizer(t, idpStore(t), authorizer.WithIdPPreset(tc.preset), authorizer.WithIssuer(tc.issuer), authorizer.WithClientIDs(cognitoClient))
			if err == nil || !strings.Contains(err.Error(), tc.detail) || !strings.Contains(err.Error(), "the "+tc.preset+" preset expects") {
				t.Fatalf("New: %v, want an error naming the %s preset's form and %q", err, tc.preset, tc.detail)
			}
		})
	}
	h := newHandIdP(t)
	a, err := h.authorizer(t, idpStore(t), authorizer.WithIssuer(strings.TrimSuffix(auth0Issuer, "/")), authorizer.WithAudience(mcpURI),
		authorizer.WithTokenType(authorizer.TokenType{Claim: "scope"}))
	if err != nil {
		t.Fatal(err)
	}
	iat, exp := h.times()
	d, err := a.Decide(t.Context(), bearer(h.sign(t, "JWT", auth0Access(iat, exp))))
	want := `iss "` + auth0Issuer + `" differs from the configured issuer "` + strings.TrimSuffix(auth0Issuer, "/") + `" only in the trailing slash`
	if err != nil || d.Allow || d.Reason != authorizer.ReasonWrongIssuer || !strings.Contains(d.Detail, want) {
		t.Fatalf("generic with Auth0's issuer without its slash: allow %v, %s %q, %v; want %s: %s", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonWrongIssuer, want)
	}
}

// TestOpaqueAccessTokensAreRefusedWithTheReason: Google's access tokens and Auth0's without an
// audience are not JWTs; they are refused saying so and what would work, and the google preset
// is refused at configuration with the reason.
func TestOpaqueAccessTokensAreRefusedWithTheReason(t *testing.T) {
	h := newHandIdP(t)
	google := "ya29.a0AfB_byC1EXAMPLEopaqueTokenValue0123456789"
	auth0JWE := "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwiaXNzIjoiaHR0cHM6Ly9leGFtcGxlLXRlbmFudC51cy5hdXRoMC5jb20vIn0..X2p3Y2Zz.Y2lwaGVydGV4dA.dGFn"
	for _, tc := range []struct {
		name, preset, token, detail string
	}{
		{"Google's, under generic", authorizer.PresetGeneric, google, "opaque access token: this authorizer verifies JWTs only (a compact JWS: header.payload.signature); Google's access tokens need introspection (tokeninfo)"},
		{"Auth0's without an audience", authorizer.PresetAuth0, auth0JWE, "opaque access token (encrypted, a JWE of five parts): this authorizer verifies signed JWTs only; Auth0 issues an opaque access token when no audience is requested"},
		{"any other, under generic", authorizer.PresetGeneric, "2YotnFZFEjr1zCsicMWpAA", "needs the IdP's introspection (RFC 7662)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := caseOf(t, tc.preset)
			d, err := h.presetAuthorizer(t, c).Decide(t.Context(), bearer(tc.token))
			if err != nil || d.Allow || d.Reason != authorizer.ReasonMalformedToken || !strings.Contains(d.Detail, tc.detail) {
				t.Fatalf("allow %v, %s %q, %v; want %s: %s", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonMalformedToken, tc.detail)
			}
		})
	}
	if _, err := h.authorizer(t, idpStore(t), authorizer.WithIdPPreset(authorizer.PresetGoogle), authorizer.WithIssuer("https://accounts.google.com")); err == nil ||
		!strings.Contains(err.Error(), "Google's access tokens are opaque") || !strings.Contains(err.Error(), "tokeninfo") {
		t.Errorf("the google preset: %v, want the opaque-token reason", err)
	}
	if _, err := h.authorizer(t, idpStore(t), authorizer.WithIdPPreset("ping"), authorizer.WithIssuer(genericIssuer)); err == nil ||
		!strings.Contains(err.Error(), `"ping": unknown (choices: generic, cognito, entra-v1, entra-v2, okta, auth0, keycloak, google)`) {
		t.Errorf("an unknown preset: %v, want the choices", err)
	}
}

// TestExplicitSettingsOverrideThePresetWhateverTheOrder: WithTokenType and WithTenantClaim win
// over the preset's defaults, given before or after it (an Auth0 tenant on the RFC 9068 token
// profile sends typ at+jwt).
func TestExplicitSettingsOverrideThePresetWhateverTheOrder(t *testing.T) {
	h := newHandIdP(t)
	iat, exp := h.times()
	rfc9068 := authorizer.TokenType{Header: "at+jwt"}
	tok := h.sign(t, "at+jwt", with(auth0Access(iat, exp), map[string]any{"azp": nil, "client_id": auth0Client}))
	for name, opts := range map[string][]authorizer.Option{
		"before": {authorizer.WithTokenType(rfc9068), authorizer.WithTenantClaim(auth0TenantClaim), authorizer.WithIdPPreset(authorizer.PresetAuth0)},
		"after":  {authorizer.WithIdPPreset(authorizer.PresetAuth0), authorizer.WithTokenType(rfc9068), authorizer.WithTenantClaim(auth0TenantClaim)},
	} {
		a, err := h.authorizer(t, idpStore(t), append(opts, authorizer.WithIssuer(auth0Issuer), authorizer.WithAudience(mcpURI))...)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := a.Decide(t.Context(), bearer(tok)); err != nil || !d.Allow || d.Tenant != "acme" {
			t.Errorf("settings %s the preset: allow %v tenant %q (%s %s), %v", name, d.Allow, d.Tenant, d.Reason, d.Detail, err)
		}
	}
}

// TestWithClientIDsRestrictsThePresetsClientClaim: outside Cognito, client ids are optional and
// checked against the preset's client claim (Okta's cid).
func TestWithClientIDsRestrictsThePresetsClientClaim(t *testing.T) {
	h := newHandIdP(t)
	iat, exp := h.times()
	tok := h.sign(t, "", oktaAccess(iat, exp))
	for ids, allow := range map[string]bool{oktaClient: true, "0oaOTHERCLIENT00000": false} {
		a := h.presetAuthorizer(t, caseOf(t, authorizer.PresetOkta), authorizer.WithClientIDs(ids))
		d, err := a.Decide(t.Context(), bearer(tok))
		if err != nil || d.Allow != allow || (!allow && !strings.Contains(d.Detail, `cid "`+oktaClient+`" is none of the accepted app clients`)) {
			t.Errorf("client ids %s: allow %v, %s %q, %v; want %v", ids, d.Allow, d.Reason, d.Detail, err, allow)
		}
	}
	for _, ids := range [][]string{nil, {""}, {"a b"}, {"a,b"}} {
		if _, err := h.authorizer(t, idpStore(t), authorizer.WithIssuer(genericIssuer), authorizer.WithClientIDs(ids...)); err == nil || !strings.Contains(err.Error(), "client id") {
			t.Errorf("WithClientIDs(%q): %v, want an error naming the client id", ids, err)
		}
	}
}

// TestTheLambdaSelectsAPresetFromItsEnvironment: MCPSSO_AUTHORIZER_IDP_PRESET sets the
// defaults the other variables override; an unknown preset, google, a cognito preset without
// client ids or an issuer not in the preset's form are errors naming the variable.
func TestTheLambdaSelectsAPresetFromItsEnvironment(t *testing.T) {
	h := newHandIdP(t)
	roles := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(roles, []byte("mappings:\n  - {sub: "+cognitoSub+", roleArn: \""+acmeRole+"\", tags: {}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"MCPSSO_AUTHORIZER_ROLE_STORE=file:" + roles, "MCPSSO_AUTHORIZER_JWKS_URL=" + h.jwks.URL + "/jwks.json", "MCPSSO_AUTHORIZER_LOG_LEVEL=error"}
	cognito := append(slices.Clone(base), "MCPSSO_AUTHORIZER_IDP_PRESET=cognito", "MCPSSO_AUTHORIZER_ISSUER="+cognitoIssuer,
		"MCPSSO_AUTHORIZER_CLIENT_IDS="+cognitoClient+", "+cognitoOther)
	c, err := authorizer.ConfigFromEnv(cognito)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenType.Header != "" || c.TokenType.Claim != "token_use" || !slices.Equal(c.TokenType.Values, []string{"access"}) ||
		c.TenantClaim != "custom:tenant" || !slices.Equal(c.ClientIDs, []string{cognitoClient, cognitoOther}) {
		t.Errorf("the cognito preset's defaults: %+v", c)
	}
	opts, err := c.Options(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authorizer.New(t.Context(), append(opts, authorizer.WithClock(h.clock.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	iat, exp := h.times()
	if d, err := a.Decide(t.Context(), bearer(h.sign(t, "", cognitoAccess(iat, exp, cognitoOther)))); err != nil || !d.Allow || d.Tenant != "acme" {
		t.Errorf("a Cognito access token of the second client: allow %v tenant %q (%s %s), %v", d.Allow, d.Tenant, d.Reason, d.Detail, err)
	}

	okta, err := authorizer.ConfigFromEnv(append(slices.Clone(base), "MCPSSO_AUTHORIZER_IDP_PRESET=okta", "MCPSSO_AUTHORIZER_ISSUER="+oktaIssuer,
		"MCPSSO_AUTHORIZER_TOKEN_TYPE_CLAIM=uid", "MCPSSO_AUTHORIZER_TENANT_CLAIM=org"))
	if err != nil {
		t.Fatal(err)
	}
	if okta.TokenType.Claim != "uid" || len(okta.TokenType.Values) != 0 || okta.TenantClaim != "org" {
		t.Errorf("variables override the okta preset: %+v", okta)
	}

	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"an unknown preset", []string{"MCPSSO_AUTHORIZER_IDP_PRESET=ping", "MCPSSO_AUTHORIZER_ISSUER=" + genericIssuer},
			`MCPSSO_AUTHORIZER_IDP_PRESET: "ping" is not a preset (choices: generic, cognito, entra-v1, entra-v2, okta, auth0, keycloak, google)`},
		{"google", []string{"MCPSSO_AUTHORIZER_IDP_PRESET=google", "MCPSSO_AUTHORIZER_ISSUER=https://accounts.google.com"},
			"MCPSSO_AUTHORIZER_IDP_PRESET: google cannot work with this authorizer: Google's access tokens are opaque"},
		{"cognito without client ids", []string{"MCPSSO_AUTHORIZER_IDP_PRESET=cognito", "MCPSSO_AUTHORIZER_ISSUER=" + cognitoIssuer},
			"MCPSSO_AUTHORIZER_CLIENT_IDS: required with MCPSSO_AUTHORIZER_IDP_PRESET=cognito"},
		{"empty client ids", []string{"MCPSSO_AUTHORIZER_ISSUER=" + genericIssuer, "MCPSSO_AUTHORIZER_CLIENT_IDS= , "},
			"MCPSSO_AUTHORIZER_CLIENT_IDS: empty"},
		{"Auth0's issuer without its slash", []string{"MCPSSO_AUTHORIZER_IDP_PRESET=auth0", "MCPSSO_AUTHORIZER_ISSUER=https://example-tenant.us.auth0.com"},
			`MCPSSO_AUTHORIZER_ISSUER: issuer "https://example-tenant.us.auth0.com": the auth0 preset expects https://{tenant}.auth0.com/`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authorizer.ConfigFromEnv(append(slices.Clone(base), tc.env...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEachPresetReadsScopesFromItsClaim: with a scope required, each preset reads the granted
// scopes from its IdP's claim, as the type the IdP writes: scope strings at Cognito (custom
// scopes prefixed by their resource server), Auth0 and Keycloak, scp a string at Entra ID and a
// list at Okta; a scope claim the IdP does not use grants nothing.
func TestEachPresetReadsScopesFromItsClaim(t *testing.T) {
	h := newHandIdP(t)
	iat, exp := h.times()
	for _, tc := range []struct {
		name, preset, typ, scope string
		claims                   map[string]any
		allow                    bool
	}{
		{"Cognito's custom scope", authorizer.PresetCognito, "", "https://mcp.example.com/tools.read", cognitoAccess(iat, exp, cognitoClient), true},
		{"Entra v1's scp string", authorizer.PresetEntraV1, "JWT", "mcp.write", entraV1Access(iat, exp), true},
		{"Entra v2's scp string", authorizer.PresetEntraV2, "JWT", "mcp.write", entraV2Access(iat, exp), true},
		{"Okta's scp list", authorizer.PresetOkta, "", "mcp.read", oktaAccess(iat, exp), true},
		{"Auth0's scope string", authorizer.PresetAuth0, "JWT", "mcp:read", auth0Access(iat, exp), true},
		{"Keycloak's scope string", authorizer.PresetKeycloak, "JWT", "email", keycloakAccess(iat, exp), true},
		{"a scope claim at Okta, which writes scp", authorizer.PresetOkta, "", "mcp.write",
			with(oktaAccess(iat, exp), map[string]any{"scope": "mcp.write"}), false},
		{"an scp claim at Auth0, which writes scope", authorizer.PresetAuth0, "JWT", "mcp:write",
			with(auth0Access(iat, exp), map[string]any{"scp": []string{"mcp:write"}}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.presetAuthorizer(t, caseOf(t, tc.preset), authorizer.WithRequiredScopes(tc.scope))
			d, err := a.Decide(t.Context(), bearer(h.sign(t, tc.typ, tc.claims)))
			if err != nil || d.Allow != tc.allow || (!tc.allow && d.Reason != authorizer.ReasonInsufficientScope) {
				t.Fatalf("scope %s required: allow %v, %s %q, %v; want allow %v", tc.scope, d.Allow, d.Reason, d.Detail, err, tc.allow)
			}
		})
	}
}

// TestAuth0TokensWithoutScopeAreNotAccessTokens: an Auth0 ID token may carry azp, the marker
// of its access tokens; it never carries the granted scopes, so the auth0 preset wants those too.
func TestAuth0TokensWithoutScopeAreNotAccessTokens(t *testing.T) {
	h := newHandIdP(t)
	iat, exp := h.times()
	c := caseOf(t, authorizer.PresetAuth0)
	id := with(c.id(iat, exp), map[string]any{"azp": auth0Client, "aud": []string{auth0Client, mcpURI}})
	d, err := h.presetAuthorizer(t, c).Decide(t.Context(), bearer(h.sign(t, "JWT", id)))
	if err != nil || d.Allow || d.Reason != authorizer.ReasonWrongTokenType || !strings.Contains(d.Detail, `no "scope" claim`) {
		t.Fatalf("an Auth0 ID token with azp, for the API too: allow %v, %s %q, %v; want %s naming scope", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonWrongTokenType)
	}
}
