package mockidp

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// metadata is the document served both as OIDC discovery and as RFC 8414 authorization
// server metadata.
type metadata struct {
	Issuer                             string   `json:"issuer"`
	AuthorizationEndpoint              string   `json:"authorization_endpoint"`
	TokenEndpoint                      string   `json:"token_endpoint"`
	UserinfoEndpoint                   string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                            string   `json:"jwks_uri"`
	RegistrationEndpoint               string   `json:"registration_endpoint,omitempty"`
	DeviceAuthorizationEndpoint        string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported                    []string `json:"scopes_supported"`
	ResponseTypesSupported             []string `json:"response_types_supported"`
	ResponseModesSupported             []string `json:"response_modes_supported"`
	GrantTypesSupported                []string `json:"grant_types_supported"`
	SubjectTypesSupported              []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported   []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported      []string `json:"code_challenge_methods_supported,omitempty"`
	ClaimsSupported                    []string `json:"claims_supported"`
	AuthorizationResponseIssParameter  bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	ClientIDMetadataDocumentSupported  bool     `json:"client_id_metadata_document_supported,omitempty"`
	ServiceDocumentation               string   `json:"service_documentation"`
	MCPSSOTestIdP                      bool     `json:"mcpsso_test_idp"`
	MCPSSODeviceVerificationAcceptJSON bool     `json:"mcpsso_device_verification_accepts_json"`
}

// Metadata extensions. mcpsso_test_idp tells `mcpsso token` it may approve device codes
// itself by posting to the verification page with Accept: application/json.
const serviceDocumentation = "https://github.com/mcpsso/mcpsso#the-mock-idp-mcpsso-idp-serve"

// metadata is the IdP's discovery document. A profile decides the endpoints, whether the
// device grant and registration are there, and code_challenge_methods_supported, which Cognito
// and Entra leave out (so strict MCP clients refuse them); the kit's own extensions stay, as
// `mcpsso token` needs them to sign in headlessly.
func (p *IdP) metadata() metadata {
	methods := p.profile.Discovery.CodeChallengeMethods
	if p.profile.Name == ProfileGeneric {
		// The generic profile advertises what it accepts.
		methods = []string{"S256"}
		if p.cfg.plainPKCE {
			methods = append(methods, "plain")
		}
	}
	claims := []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "azp", "client_id",
		"scope", "token_use", "email", "email_verified", "name", "preferred_username", "groups", p.cfg.tenantClaim}
	if p.profile.Name != ProfileGeneric {
		claims = append(p.profile.AccessClaims(), "nonce", p.cfg.tenantClaim)
		slices.Sort(claims)
		claims = slices.Compact(claims)
	}
	grants := []string{GrantAuthorizationCode, GrantRefreshToken}
	if p.profile.DeviceGrant {
		grants = append(grants, GrantDeviceCode)
	}
	return metadata{
		Issuer:                             p.issuer,
		AuthorizationEndpoint:              p.endpoint(p.profile.Endpoints.Authorize),
		TokenEndpoint:                      p.endpoint(p.profile.Endpoints.Token),
		UserinfoEndpoint:                   p.UserinfoURL(),
		JWKSURI:                            p.JWKSURL(),
		RegistrationEndpoint:               p.RegistrationURL(),
		DeviceAuthorizationEndpoint:        p.Endpoint().DeviceAuthURL,
		ScopesSupported:                    slices.Clone(p.cfg.scopes),
		ResponseTypesSupported:             []string{"code"},
		ResponseModesSupported:             []string{"query"},
		GrantTypesSupported:                grants,
		SubjectTypesSupported:              []string{"public"},
		IDTokenSigningAlgValuesSupported:   []string{RS256, ES256},
		TokenEndpointAuthMethodsSupported:  []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethodsSupported:      methods,
		ClaimsSupported:                    claims,
		AuthorizationResponseIssParameter:  !p.profile.Discovery.NoIssResponse,
		ClientIDMetadataDocumentSupported:  p.cfg.cimd,
		ServiceDocumentation:               serviceDocumentation,
		MCPSSOTestIdP:                      true,
		MCPSSODeviceVerificationAcceptJSON: true,
	}
}

func (p *IdP) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeOAuthError(w, &oauthError{Code: "invalid_request", Description: "method " + r.Method + ": use GET", Status: http.StatusMethodNotAllowed})
		return
	}
	writeJSON(w, http.StatusOK, p.metadata())
}

func (p *IdP) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeOAuthError(w, &oauthError{Code: "invalid_request", Description: "method " + r.Method + ": use GET", Status: http.StatusMethodNotAllowed})
		return
	}
	body, err := p.jwks()
	if err != nil {
		writeOAuthError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "no-store") // rotation tests must see the current set
	_, _ = w.Write(body)
}

// jwks renders the published keys as the profile shows them: Entra's issuer member and x5t,
// and Keycloak's encryption key beside the signing keys.
func (p *IdP) jwks() ([]byte, error) {
	keys, err := p.keys.jwks()
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if p.profile.KeyIssuer != "" {
			keys[i].Issuer = strings.ReplaceAll(p.profile.KeyIssuer, "{host}", p.origin)
		}
		if p.profile.X5T {
			keys[i].X5t = keys[i].Kid
		}
	}
	if p.profile.EncryptionKey {
		enc, err := encryptionJWK()
		if err != nil {
			return nil, err
		}
		keys = append(keys, enc)
	}
	return json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{keys})
}

// handleUserinfo answers OIDC userinfo for a bearer access token this IdP issued: the
// user's claims released by the token's scopes.
func (p *IdP) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	claims, reason := p.bearerClaims(r)
	if reason != "" {
		p.decision(r, "userinfo", "deny", reason)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+strings.ReplaceAll(reason, `"`, `'`)+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": reason})
		return
	}
	sub, _ := claims["sub"].(string)
	u, err := p.lookupUser(sub)
	if err == nil && u.Subject != sub {
		err = errors.New("not a subject")
	}
	if err != nil {
		p.decision(r, "userinfo", "deny", "the token's subject is not a user of this IdP", slog.String("sub", sub))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the token's subject is not a user of this IdP"})
		return
	}
	scopes := scopesOf(claims)
	clientID, _ := claims[p.profile.ClientIDClaim()].(string)
	p.decision(r, "userinfo", "allow", "valid access token", slog.String("sub", sub), slog.String("client_id", clientID))
	writeJSON(w, http.StatusOK, u.profileClaims(scopes, p.cfg.tenantClaim))
}

// scopesOf reads the granted scopes from an access token's claims, whichever claim and type
// the profile uses.
func scopesOf(claims map[string]any) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			var out []string
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

// bearerClaims verifies the request's bearer token (RFC 6750 §2.1: header only, one
// credential) as an access token of this IdP, returning a reason when it is not one.
func (p *IdP) bearerClaims(r *http.Request) (map[string]any, string) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return nil, "send exactly one Authorization header with a Bearer token"
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return nil, "the Authorization header must be \"Bearer <token>\""
	}
	if claims, ok := p.opaqueClaims(token); ok {
		return claims, ""
	}
	header, claims, err := p.keys.verify(token, false)
	if err != nil {
		return nil, err.Error()
	}
	now := p.cfg.now()
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	switch {
	case !p.isAccessToken(header, claims):
		return nil, p.notAccessToken()
	case claims["iss"] != p.issuer:
		return nil, "issued by another issuer"
	case !now.Before(time.Unix(int64(exp), 0)):
		return nil, "the token has expired"
	case now.Before(time.Unix(int64(nbf), 0)):
		return nil, "the token is not valid yet"
	}
	return claims, ""
}

// isAccessToken tells this profile's access tokens from its ID and refresh tokens, which the
// same key signs.
func (p *IdP) isAccessToken(h jwsHeader, claims map[string]any) bool {
	m := p.profile.marker
	if use, _ := claims["token_use"].(string); use == TokenUseID || use == TokenUseRefresh {
		return false
	}
	if h.Typ != m.typ && m.typ != "" {
		return false
	}
	v, present := claims[m.claim]
	return m.claim == "" || present && (m.value == "" || v == m.value)
}

// notAccessToken says what an access token of this profile is marked by.
func (p *IdP) notAccessToken() string {
	m := p.profile.marker
	if p.profile.Name == ProfileGeneric {
		return "not an access token (typ at+jwt, token_use access)"
	}
	var marks []string
	if m.typ != "" {
		marks = append(marks, "typ "+m.typ)
	}
	if m.claim != "" && m.value != "" {
		marks = append(marks, m.claim+" "+m.value)
	} else if m.claim != "" {
		marks = append(marks, "a "+m.claim+" claim")
	}
	return "not an access token (" + strings.Join(marks, ", ") + ")"
}
