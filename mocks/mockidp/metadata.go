package mockidp

import (
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
	UserinfoEndpoint                   string   `json:"userinfo_endpoint"`
	JWKSURI                            string   `json:"jwks_uri"`
	RegistrationEndpoint               string   `json:"registration_endpoint,omitempty"`
	DeviceAuthorizationEndpoint        string   `json:"device_authorization_endpoint"`
	ScopesSupported                    []string `json:"scopes_supported"`
	ResponseTypesSupported             []string `json:"response_types_supported"`
	ResponseModesSupported             []string `json:"response_modes_supported"`
	GrantTypesSupported                []string `json:"grant_types_supported"`
	SubjectTypesSupported              []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported   []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported      []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                    []string `json:"claims_supported"`
	AuthorizationResponseIssParameter  bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported  bool     `json:"client_id_metadata_document_supported,omitempty"`
	ServiceDocumentation               string   `json:"service_documentation"`
	MCPSSOTestIdP                      bool     `json:"mcpsso_test_idp"`
	MCPSSODeviceVerificationAcceptJSON bool     `json:"mcpsso_device_verification_accepts_json"`
}

// Metadata extensions. mcpsso_test_idp tells `mcpsso token` it may approve device codes
// itself by posting to the verification page with Accept: application/json.
const serviceDocumentation = "https://github.com/mcpsso/mcpsso#the-mock-idp-mcpsso-idp-serve"

func (p *IdP) metadata() metadata {
	methods := []string{"S256"}
	if p.cfg.plainPKCE {
		methods = append(methods, "plain")
	}
	claims := []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "azp", "client_id",
		"scope", "token_use", "email", "email_verified", "name", "preferred_username", "groups", p.cfg.tenantClaim}
	return metadata{
		Issuer:                             p.issuer,
		AuthorizationEndpoint:              p.issuer + pathAuthorize,
		TokenEndpoint:                      p.issuer + pathToken,
		UserinfoEndpoint:                   p.issuer + pathUserinfo,
		JWKSURI:                            p.issuer + pathJWKS,
		RegistrationEndpoint:               p.RegistrationURL(),
		DeviceAuthorizationEndpoint:        p.issuer + pathDeviceAuth,
		ScopesSupported:                    slices.Clone(p.cfg.scopes),
		ResponseTypesSupported:             []string{"code"},
		ResponseModesSupported:             []string{"query"},
		GrantTypesSupported:                []string{GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode},
		SubjectTypesSupported:              []string{"public"},
		IDTokenSigningAlgValuesSupported:   []string{RS256, ES256},
		TokenEndpointAuthMethodsSupported:  []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethodsSupported:      methods,
		ClaimsSupported:                    claims,
		AuthorizationResponseIssParameter:  true,
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
	body, err := p.keys.jwks()
	if err != nil {
		writeOAuthError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "no-store") // rotation tests must see the current set
	_, _ = w.Write(body)
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
	if err != nil || u.Subject != sub {
		p.decision(r, "userinfo", "deny", "the token's subject is not a user of this IdP", slog.String("sub", sub))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the token's subject is not a user of this IdP"})
		return
	}
	scope, _ := claims["scope"].(string)
	clientID, _ := claims["client_id"].(string)
	p.decision(r, "userinfo", "allow", "valid access token", slog.String("sub", sub), slog.String("client_id", clientID))
	writeJSON(w, http.StatusOK, u.profileClaims(strings.Fields(scope), p.cfg.tenantClaim))
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
	header, claims, err := p.keys.verify(token, false)
	if err != nil {
		return nil, err.Error()
	}
	now := p.cfg.now()
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	switch {
	case header.Typ != typAccessToken || claims["token_use"] != TokenUseAccess:
		return nil, "not an access token (typ at+jwt, token_use access)"
	case claims["iss"] != p.issuer:
		return nil, "issued by another issuer"
	case !now.Before(time.Unix(int64(exp), 0)):
		return nil, "the token has expired"
	case now.Before(time.Unix(int64(nbf), 0)):
		return nil, "the token is not valid yet"
	}
	return claims, ""
}
