package authorizer_test

import (
	"maps"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// The IdPs' access and ID tokens as their documentation shows them (docs/idps.md), built by
// hand. Values are made up in each IdP's format.
const (
	acmeRole = "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"
	mcpURI   = "https://mcp.example.com/mcp"

	cognitoIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mpLe1"
	cognitoClient = "5n1lqrtmvqblk3e8examplecl"
	cognitoOther  = "7o2mrsunwrcml4f9examplexx"
	cognitoSub    = "3f0b6a52-8d1c-4b7e-9a61-0c5e2f7d9b14"

	entraTenant   = "9a3c5b1e-4f2d-4c8a-9e7b-1d2f3a4b5c6d"
	entraV1Issuer = "https://sts.windows.net/" + entraTenant + "/"
	entraV2Issuer = "https://login.microsoftonline.com/" + entraTenant + "/v2.0"
	entraAPI      = "6e74172b-be56-4843-9ff4-e66a39bb12e3" // the API's client-id GUID (v2 aud)
	entraAppIDURI = "api://" + entraAPI                    // its App ID URI (v1 aud)
	entraClient   = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" // the calling app
	entraSub      = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"

	oktaIssuer   = "https://example.okta.com/oauth2/default"
	oktaAudience = "api://default"
	oktaClient   = "0oa1b2c3d4e5f6g7h8i9"
	oktaSub      = "alice@example.com"

	auth0Issuer      = "https://example-tenant.us.auth0.com/"
	auth0Client      = "yJ6b9TqLq3cEXAMPLEclientid0"
	auth0Sub         = "auth0|65f0c0ffee1234567890abcd"
	auth0TenantClaim = "https://mcp.example.com/tenant"

	keycloakIssuer   = "https://sso.example.com/realms/acme"
	keycloakAudience = "mcp-server" // an Audience mapper's value
	keycloakSub      = "b4c1e0a6-2f3d-4e5a-8b9c-7d6e5f4a3b21"

	genericIssuer = "https://idp.example.com"
	genericSub    = "alice"
)

// idpCase is one preset with its IdP's tokens.
type idpCase struct {
	preset string
	issuer string
	opts   []authorizer.Option // beyond the preset and issuer: audience, client ids, tenant claim
	// accessTyp and access are the access token's typ header ("" for none) and claims.
	accessTyp string
	access    func(iat, exp int64) map[string]any
	// idTyp and id are the same user's ID token; idMarker is the claim its refusal names.
	idTyp    string
	id       func(iat, exp int64) map[string]any
	idMarker string
}

func idpCases() []idpCase {
	return []idpCase{
		{
			preset: authorizer.PresetGeneric, issuer: genericIssuer,
			accessTyp: "at+jwt",
			access: func(iat, exp int64) map[string]any {
				return map[string]any{"iss": genericIssuer, "sub": genericSub, "aud": authorizer.DefaultAudience, "client_id": "mcp-client",
					"token_use": "access", "scope": "openid mcp:read", "iat": iat, "exp": exp, "jti": "g-1"}
			},
			idTyp: "JWT",
			id: func(iat, exp int64) map[string]any {
				return map[string]any{"iss": genericIssuer, "sub": genericSub, "aud": authorizer.DefaultAudience, "iat": iat, "exp": exp, "email": "alice@example.com"}
			},
			idMarker: "typ header",
		},
		{
			preset: authorizer.PresetCognito, issuer: cognitoIssuer,
			opts:   []authorizer.Option{authorizer.WithClientIDs(cognitoClient), authorizer.WithAudience(mcpURI)},
			access: func(iat, exp int64) map[string]any { return cognitoAccess(iat, exp, cognitoClient) },
			id: func(iat, exp int64) map[string]any {
				return map[string]any{"iss": cognitoIssuer, "sub": cognitoSub, "aud": cognitoClient, "token_use": "id", "cognito:username": "alice",
					"email": "alice@example.com", "email_verified": true, "custom:tenant": "acme", "auth_time": iat, "iat": iat, "exp": exp,
					"event_id": "0f5b6e7c-1d2a-4b3c-8e9f-a0b1c2d3e4f5", "origin_jti": "5c1e9a2b-3d4f-4a6b-8c7d-9e0f1a2b3c4d", "jti": "c-id-1"}
			},
			idMarker: `"token_use"`,
		},
		{
			preset: authorizer.PresetEntraV1, issuer: entraV1Issuer,
			opts:      []authorizer.Option{authorizer.WithAudience(entraAppIDURI)},
			accessTyp: "JWT",
			access:    entraV1Access,
			idTyp:     "JWT",
			id:        func(iat, exp int64) map[string]any { return entraID(iat, exp, entraV1Issuer, "1.0") },
			idMarker:  `"scp"`,
		},
		{
			preset: authorizer.PresetEntraV2, issuer: entraV2Issuer,
			opts:      []authorizer.Option{authorizer.WithAudience(entraAPI)},
			accessTyp: "JWT",
			access:    entraV2Access,
			idTyp:     "JWT",
			id:        func(iat, exp int64) map[string]any { return entraID(iat, exp, entraV2Issuer, "2.0") },
			idMarker:  `"scp"`,
		},
		{
			preset: authorizer.PresetOkta, issuer: oktaIssuer,
			opts:   []authorizer.Option{authorizer.WithAudience(oktaAudience)},
			access: oktaAccess,
			id: func(iat, exp int64) map[string]any {
				return map[string]any{"ver": 1, "iss": oktaIssuer, "sub": "00u8c2d9qkL4mT7xw5d7", "aud": oktaClient, "iat": iat, "exp": exp,
					"jti": "ID.4eAWJOCMB3SX8XewDfVR", "amr": []string{"pwd"}, "idp": "00o1b2c3d4e5f6g7h8i9", "auth_time": iat, "at_hash": "preview_at_hash"}
			},
			idMarker: `"scp"`,
		},
		{
			preset: authorizer.PresetAuth0, issuer: auth0Issuer,
			opts:      []authorizer.Option{authorizer.WithAudience(mcpURI), authorizer.WithTenantClaim(auth0TenantClaim)},
			accessTyp: "JWT",
			access:    auth0Access,
			idTyp:     "JWT",
			id: func(iat, exp int64) map[string]any {
				return map[string]any{"iss": auth0Issuer, "sub": auth0Sub, "aud": auth0Client, "iat": iat, "exp": exp, "nickname": "alice",
					"email": "alice@example.com", "sid": "Ghk8f0a1-sid", "nonce": "n-0S6_WzA2Mj"}
			},
			idMarker: `"azp"`,
		},
		{
			preset: authorizer.PresetKeycloak, issuer: keycloakIssuer,
			opts:      []authorizer.Option{authorizer.WithAudience(keycloakAudience)},
			accessTyp: "JWT",
			access:    keycloakAccess,
			idTyp:     "JWT",
			id: func(iat, exp int64) map[string]any {
				c := keycloakAccess(iat, exp)
				c["typ"], c["aud"] = "ID", "mcp-client"
				delete(c, "scope")
				return c
			},
			idMarker: `"typ"`,
		},
	}
}

// cognitoAccess is a Cognito access token of an app client; custom:tenant is there because a
// pre-token-generation trigger (V2) adds it.
func cognitoAccess(iat, exp int64, client string) map[string]any {
	return map[string]any{"iss": cognitoIssuer, "sub": cognitoSub, "client_id": client, "token_use": "access", "version": 2,
		"scope": "openid email https://mcp.example.com/tools.read", "cognito:groups": []string{"acme-users"}, "username": "alice",
		"custom:tenant": "acme", "auth_time": iat, "iat": iat, "exp": exp, "jti": "b2f1e0d9-8c7b-4a6f-9e5d-4c3b2a1f0e9d",
		"event_id": "0f5b6e7c-1d2a-4b3c-8e9f-a0b1c2d3e4f5", "origin_jti": "5c1e9a2b-3d4f-4a6b-8c7d-9e0f1a2b3c4d"}
}

func entraV1Access(iat, exp int64) map[string]any {
	return map[string]any{"iss": entraV1Issuer, "aud": entraAppIDURI, "sub": entraSub, "iat": iat, "nbf": iat, "exp": exp,
		"appid": entraClient, "appidacr": "0", "scp": "mcp.read mcp.write", "oid": "f3a9c1d2-5b6e-4f7a-8c9d-0e1f2a3b4c5d",
		"tid": entraTenant, "ver": "1.0", "upn": "alice@example.com", "unique_name": "alice@example.com", "idp": entraV1Issuer, "uti": "Qd0l1XkZ1Ee0"}
}

func entraV2Access(iat, exp int64) map[string]any {
	return map[string]any{"iss": entraV2Issuer, "aud": entraAPI, "sub": entraSub, "iat": iat, "nbf": iat, "exp": exp,
		"azp": entraClient, "azpacr": "0", "scp": "mcp.read mcp.write", "oid": "f3a9c1d2-5b6e-4f7a-8c9d-0e1f2a3b4c5d",
		"tid": entraTenant, "ver": "2.0", "preferred_username": "alice@example.com", "name": "Alice", "uti": "Qd0l1XkZ1Ee0", "rh": "0.AAAA"}
}

// entraID is an Entra ID token: aud is the signing-in app, and it has no scp.
func entraID(iat, exp int64, issuer, ver string) map[string]any {
	return map[string]any{"iss": issuer, "aud": entraAPI, "sub": entraSub, "iat": iat, "nbf": iat, "exp": exp,
		"oid": "f3a9c1d2-5b6e-4f7a-8c9d-0e1f2a3b4c5d", "tid": entraTenant, "ver": ver, "preferred_username": "alice@example.com", "nonce": "n-1"}
}

func oktaAccess(iat, exp int64) map[string]any {
	return map[string]any{"ver": 1, "jti": "AT.6wF0CkR9n5Qm3Jr6mDe3FIxbWlUo2fX7aRu8vPl0W1Y", "iss": oktaIssuer, "aud": oktaAudience,
		"sub": oktaSub, "iat": iat, "exp": exp, "cid": oktaClient, "uid": "00u8c2d9qkL4mT7xw5d7",
		"scp": []string{"openid", "mcp.read"}, "auth_time": iat}
}

func auth0Access(iat, exp int64) map[string]any {
	return map[string]any{"iss": auth0Issuer, "sub": auth0Sub, "aud": []string{mcpURI, "https://example-tenant.us.auth0.com/userinfo"},
		"iat": iat, "exp": exp, "azp": auth0Client, "scope": "openid profile mcp:read", "permissions": []string{"mcp:read"},
		auth0TenantClaim: "acme"}
}

func keycloakAccess(iat, exp int64) map[string]any {
	return map[string]any{"exp": exp, "iat": iat, "auth_time": iat, "jti": "onrtac:7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
		"iss": keycloakIssuer, "aud": keycloakAudience, "sub": keycloakSub, "typ": "Bearer", "azp": "mcp-client",
		"sid": "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "acr": "1", "allowed-origins": []string{"https://mcp.example.com"},
		"realm_access": map[string]any{"roles": []string{"default-roles-acme"}}, "scope": "openid profile email",
		"email_verified": true, "preferred_username": "alice"}
}

// with returns claims changed: a nil value removes the claim.
func with(claims map[string]any, changes map[string]any) map[string]any {
	out := maps.Clone(claims)
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// idpStore maps every IdP's user to acme's role. Cognito's mapping has no tenant tag, so that
// the token's custom:tenant decides the tenant.
func idpStore(t testing.TB) *authorizer.StaticStore {
	t.Helper()
	acme := authorizer.Mapping{RoleARN: acmeRole, Tags: map[string]string{"tenant": "acme"}}
	var entries []authorizer.StoreEntry
	for _, sub := range []string{genericSub, entraSub, oktaSub, auth0Sub, keycloakSub} {
		entries = append(entries, authorizer.StoreEntry{Sub: sub, Mapping: acme})
	}
	entries = append(entries, authorizer.StoreEntry{Sub: cognitoSub, Mapping: authorizer.Mapping{RoleARN: acmeRole, Tags: map[string]string{}}})
	s, err := authorizer.NewStaticStore(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// presetAuthorizer builds the authorizer of c's preset, issuer and options, plus extra.
func (h *handIdP) presetAuthorizer(t testing.TB, c idpCase, extra ...authorizer.Option) *authorizer.Authorizer {
	t.Helper()
	opts := append([]authorizer.Option{authorizer.WithIdPPreset(c.preset), authorizer.WithIssuer(c.issuer)}, c.opts...)
	a, err := h.authorizer(t, idpStore(t), append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
