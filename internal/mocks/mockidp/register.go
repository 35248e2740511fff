package mockidp

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Dynamic Client Registration (RFC 7591), so MCP clients that register themselves can log in.

// registrationRequest lists every client metadata field RFC 7591 §2 and OpenID Connect
// Dynamic Registration define. A field outside this list is ignored, as RFC 7591 §2 requires
// ("MUST ignore any client metadata … it does not understand"; mcp-go sends "resource"), and
// named in the decision log so a client author still sees a misspelt field. A known field of
// the wrong type is an error naming it.
type registrationRequest struct {
	RedirectURIs             []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod  *string         `json:"token_endpoint_auth_method"`
	GrantTypes               []string        `json:"grant_types"`
	ResponseTypes            []string        `json:"response_types"`
	ClientName               string          `json:"client_name"`
	ClientURI                string          `json:"client_uri"`
	LogoURI                  string          `json:"logo_uri"`
	Scope                    string          `json:"scope"`
	Contacts                 []string        `json:"contacts"`
	TOSURI                   string          `json:"tos_uri"`
	PolicyURI                string          `json:"policy_uri"`
	JWKSURI                  string          `json:"jwks_uri"`
	JWKS                     json.RawMessage `json:"jwks"`
	SoftwareID               string          `json:"software_id"`
	SoftwareVersion          string          `json:"software_version"`
	SoftwareStatement        string          `json:"software_statement"`
	ApplicationType          string          `json:"application_type"`
	SubjectType              string          `json:"subject_type"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg"`
	DefaultMaxAge            *int64          `json:"default_max_age"`
	RequireAuthTime          *bool           `json:"require_auth_time"`
	PostLogoutRedirectURIs   []string        `json:"post_logout_redirect_uris"`
}

type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
}

// keycloakClientFields are members Keycloak's client representation knows beyond those of
// registrationRequest (so a strict registration does not refuse them): RFC 7591's response
// members and OpenID Connect registration's logout, request-object and encryption settings.
var keycloakClientFields = []string{"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
	"registration_client_uri", "registration_access_token", "sector_identifier_uri", "request_uris",
	"request_object_signing_alg", "request_object_encryption_alg", "request_object_encryption_enc",
	"userinfo_signed_response_alg", "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc",
	"id_token_encrypted_response_alg", "id_token_encrypted_response_enc", "token_endpoint_auth_signing_alg",
	"frontchannel_logout_uri", "frontchannel_logout_session_required", "backchannel_logout_uri",
	"backchannel_logout_session_required", "backchannel_logout_revoke_offline_tokens", "tls_client_certificate_bound_access_tokens",
	"require_pushed_authorization_requests", "authorization_signed_response_alg", "initiate_login_uri"}

// regError is an RFC 7591 §3.2.2 error.
func regError(code, format string, args ...any) *oauthError {
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// decodeRegistration reads a registration request: one JSON object, known fields typed as
// RFC 7591 defines them; it returns the names of the unknown fields it ignored.
func decodeRegistration(body []byte) (registrationRequest, []string, error) {
	var req registrationRequest
	ignored, err := decodeClientMetadata(body, &req)
	if err != nil {
		return registrationRequest{}, nil, regError("invalid_client_metadata", "request body: %v", err)
	}
	return req, ignored, nil
}

// decodeClientMetadata decodes one JSON object into the struct v points to, ignoring (and
// returning, sorted) the fields v does not know, and refusing a known field of the wrong type.
func decodeClientMetadata(body []byte, v any) ([]string, error) {
	var fields map[string]json.RawMessage
	if err := decodeStrictJSON(body, &fields); err != nil {
		return nil, err
	}
	known := jsonFieldNames(reflect.TypeOf(v).Elem())
	var ignored []string
	for name := range fields {
		if !known[name] {
			ignored = append(ignored, name)
			delete(fields, name)
		}
	}
	slices.Sort(ignored)
	cleaned, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return ignored, decodeStrictJSON(cleaned, v)
}

// jsonFieldNames are the JSON names of a struct's fields, those of embedded structs included.
func jsonFieldNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFieldNames(f.Type))
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// clientFromRegistration applies the IdP's rules to the requested metadata and returns the
// client to register (without ID or secret yet).
func (p *IdP) clientFromRegistration(req registrationRequest) (Client, registrationResponse, error) {
	method := "client_secret_basic" // RFC 7591 §2 default
	if req.TokenEndpointAuthMethod != nil {
		method = *req.TokenEndpointAuthMethod
	}
	switch method {
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return Client{}, registrationResponse{}, regError("invalid_client_metadata", "token_endpoint_auth_method %q: must be none, client_secret_basic or client_secret_post", method)
	}
	grants := req.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode} // RFC 7591 §2 default
	}
	for i, g := range grants {
		if g != GrantAuthorizationCode && g != GrantRefreshToken && g != GrantDeviceCode {
			return Client{}, registrationResponse{}, regError("invalid_client_metadata", "grant_types[%d] %q: must be %s, %s or %s", i, g, GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode)
		}
	}
	responses := req.ResponseTypes
	if len(responses) == 0 {
		responses = []string{"code"}
	}
	for i, rt := range responses {
		if rt != "code" {
			return Client{}, registrationResponse{}, regError("invalid_client_metadata", "response_types[%d] %q: only code is supported", i, rt)
		}
	}
	if slices.Contains(grants, GrantAuthorizationCode) && len(req.RedirectURIs) == 0 {
		return Client{}, registrationResponse{}, regError("invalid_redirect_uri", "redirect_uris: required for the authorization_code grant")
	}
	if len(req.RedirectURIs) > 20 {
		return Client{}, registrationResponse{}, regError("invalid_redirect_uri", "redirect_uris: at most 20, got %d", len(req.RedirectURIs))
	}
	for i, u := range req.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return Client{}, registrationResponse{}, regError("invalid_redirect_uri", "redirect_uris[%d]: %v", i, err)
		}
	}
	if req.Scope != "" {
		if _, err := p.parseScopes(req.Scope); err != nil {
			return Client{}, registrationResponse{}, regError("invalid_client_metadata", "scope: %s", err.Description)
		}
	}
	if len(req.ClientName) > 200 || strings.ContainsFunc(req.ClientName, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Client{}, registrationResponse{}, regError("invalid_client_metadata", "client_name: at most 200 characters, no control characters")
	}
	c := Client{Name: req.ClientName, RedirectURIs: slices.Clone(req.RedirectURIs), GrantTypes: slices.Clone(grants)}
	resp := registrationResponse{RedirectURIs: c.RedirectURIs, TokenEndpointAuthMethod: method, GrantTypes: grants,
		ResponseTypes: responses, ClientName: req.ClientName, Scope: req.Scope}
	if resp.RedirectURIs == nil {
		resp.RedirectURIs = []string{}
	}
	if method != "none" {
		c.Secret = randomToken()
		resp.ClientSecret = c.Secret
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	return c, resp, nil
}

func (p *IdP) handleRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, &oauthError{Code: "invalid_request", Description: "method " + r.Method + ": register with POST", Status: http.StatusMethodNotAllowed})
		return
	}
	if p.profile.DCR == DCRAdminToken {
		// Okta's endpoint wants an administrator's SSWS or OAuth token [O6][O7], which no MCP
		// client has, so the mock accepts none; the body is Okta's API error format.
		p.decision(r, "register", "deny", "registration needs an administrator's token (Okta)")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errorCode": "E0000011", "errorSummary": "Invalid token provided",
			"errorLink": "E0000011", "errorId": "oae" + randomHex(11), "errorCauses": []any{}})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeOAuthError(w, regError("invalid_client_metadata", "Content-Type %q: must be application/json", r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		writeOAuthError(w, regError("invalid_client_metadata", "request body: unreadable or over %d bytes", maxFormBytes))
		return
	}
	req, ignored, err := decodeRegistration(body)
	if err == nil && p.profile.DCR == DCRStrict {
		if unknown := slices.DeleteFunc(ignored, func(f string) bool { return slices.Contains(keycloakClientFields, f) }); len(unknown) > 0 {
			// Keycloak decodes the body into its client representation, which refuses any
			// member it does not know — "resource" included [K11][K12] — in Jackson's words.
			p.decision(r, "register", "deny", "unrecognized field "+unknown[0]+" (Keycloak)")
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf(
				"Unrecognized field %q (class org.keycloak.representations.oidc.OIDCClientRepresentation), not marked as ignorable", unknown[0])})
			return
		}
	}
	var c Client
	var resp registrationResponse
	if err == nil {
		c, resp, err = p.clientFromRegistration(req)
	}
	if err == nil {
		err = p.register(&c)
	}
	if err != nil {
		p.decision(r, "register", "deny", err.Error())
		writeOAuthError(w, err)
		return
	}
	resp.ClientID = c.ID
	resp.ClientIDIssuedAt = p.cfg.now().Unix()
	p.decision(r, "register", "allow", "client registered", slog.String("client_id", c.ID),
		slog.String("token_endpoint_auth_method", resp.TokenEndpointAuthMethod), slog.Any("ignored_metadata", ignored))
	writeJSON(w, http.StatusCreated, resp)
}

// register adds a dynamically registered client under a fresh ID.
func (p *IdP) register(c *Client) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.registered >= p.cfg.maxClients {
		return &oauthError{Code: "temporarily_unavailable", Description: fmt.Sprintf("this IdP holds at most %d registered clients", p.cfg.maxClients), Status: http.StatusServiceUnavailable}
	}
	c.ID = "dcr-" + randomHex(12)
	p.clients[c.ID] = *c
	p.registered++
	return nil
}

// RegisterClient adds a client at run time, as Dynamic Client Registration would.
func (p *IdP) RegisterClient(c Client) error {
	if err := validateClient(c); err != nil {
		return fmt.Errorf("mockidp: RegisterClient: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.clients[c.ID]; taken {
		return fmt.Errorf("mockidp: RegisterClient: client ID %q is already registered", c.ID)
	}
	p.clients[c.ID] = c
	return nil
}
