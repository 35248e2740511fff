package mockidp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authzRequest is a validated authorization request (RFC 6749 §4.1.1).
type authzRequest struct {
	client       Client
	redirectURI  string
	redirectSent bool
	state        string
	scopes       []string
	audience     []string
	nonce        string
	challenge    string
	method       string
	loginHint    string
	prompt       string
}

// authzError is an authorization error; redirectable once the client and redirect URI are
// known to be good (before that the IdP must show the error itself, RFC 6749 §4.1.2.1).
type authzError struct {
	*oauthError
	redirectable bool
}

func (p *IdP) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		form, err := parseForm(w, r, "resource")
		if err != nil {
			renderMessage(w, http.StatusBadRequest, "Invalid authorization request", err.Description)
			return
		}
		params = form
	default:
		renderMessage(w, http.StatusMethodNotAllowed, "Invalid authorization request", "method "+r.Method+": use GET (or POST from the login page)")
		return
	}
	req, aerr := p.parseAuthorize(r.Context(), params)
	if aerr != nil {
		p.decision(r, "authorize", "deny", aerr.Error(), slog.String("client_id", params.Get("client_id")))
		if !aerr.redirectable {
			renderMessage(w, http.StatusBadRequest, "Invalid authorization request", aerr.Description)
			return
		}
		p.redirectError(w, r, req, aerr.oauthError)
		return
	}

	user, pageErr := p.chooseUser(r, params, req)
	switch {
	case r.Method == http.MethodPost && params.Get("deny") != "":
		p.decision(r, "authorize", "deny", "the user denied the request", slog.String("client_id", req.client.ID))
		p.redirectError(w, r, req, &oauthError{Code: "access_denied", Description: "the user denied the request"})
	case user != nil:
		p.completeAuthorize(w, r, req, user)
	case req.prompt == "none":
		p.redirectError(w, r, req, &oauthError{Code: "login_required", Description: "prompt=none, and no user was queued or named by login_hint"})
	default:
		status := http.StatusOK
		if pageErr != "" {
			status = http.StatusBadRequest
		}
		renderPage(w, status, "authorize", pageData{Title: "Sign in", Error: pageErr, Users: p.users,
			ClientID: req.client.ID, ClientName: clientName(req.client), Scopes: strings.Join(req.scopes, " "),
			Audience: strings.Join(req.audience, " "), Action: p.endpoint(p.profile.Endpoints.Authorize), Hidden: hiddenFields(params)})
	}
}

func clientName(c Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// chooseUser picks who logs in: the button pressed on the page, else a queued login, else
// the user login_hint names. It returns nil to show the page, with a message if a button
// named an unknown user.
func (p *IdP) chooseUser(r *http.Request, params url.Values, req authzRequest) (*User, string) {
	if r.Method == http.MethodPost {
		if params.Get("deny") != "" {
			return nil, ""
		}
		if name := params.Get("login_as"); name != "" {
			u, err := p.lookupUser(name)
			if err != nil {
				return nil, err.Error()
			}
			return u, ""
		}
	}
	p.mu.Lock()
	if len(p.logins) > 0 {
		u := p.logins[0]
		p.logins = p.logins[1:]
		p.mu.Unlock()
		return u, ""
	}
	p.mu.Unlock()
	if req.loginHint != "" {
		if u, err := p.lookupUser(req.loginHint); err == nil {
			return u, ""
		}
	}
	return nil, ""
}

// parseAuthorize validates the request in the order RFC 6749 §4.1.2.1 needs: client and
// redirect URI first (errors shown here), then the rest (errors sent to the client).
func (p *IdP) parseAuthorize(ctx context.Context, params url.Values) (authzRequest, *authzError) {
	fatal := func(format string, args ...any) (authzRequest, *authzError) {
		return authzRequest{}, &authzError{oauthError: invalidRequest(format, args...)}
	}
	if err := checkRepeats(params, "resource"); err != nil {
		return fatal("%s", err.Description)
	}
	id := params.Get("client_id")
	if id == "" {
		return fatal("client_id: required")
	}
	client, cerr := p.lookupClient(ctx, id)
	if cerr != nil {
		return authzRequest{}, &authzError{oauthError: cerr}
	}
	req := authzRequest{client: client, redirectURI: params.Get("redirect_uri"), state: params.Get("state"),
		nonce: params.Get("nonce"), loginHint: params.Get("login_hint"), prompt: params.Get("prompt")}
	req.redirectSent = req.redirectURI != ""
	if !req.redirectSent {
		if len(client.RedirectURIs) != 1 || client.AnyLoopbackRedirect {
			return fatal("redirect_uri: required (client %s has no single registered redirect URI)", id)
		}
		req.redirectURI = client.RedirectURIs[0]
	} else if !client.redirectAllowed(req.redirectURI) {
		return fatal("redirect_uri %q: not registered for client %s (exact match; loopback http URIs on any port)", req.redirectURI, id)
	}

	bad := func(code, format string, args ...any) (authzRequest, *authzError) {
		return req, &authzError{oauthError: &oauthError{Code: code, Description: fmt.Sprintf(format, args...), Status: 400}, redirectable: true}
	}
	if rt := params.Get("response_type"); rt != "code" {
		return bad("unsupported_response_type", "response_type %q: only code is supported", rt)
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return bad("invalid_request", "response_mode %q: only query is supported", rm)
	}
	if !client.allowsGrant(GrantAuthorizationCode) {
		return bad("unauthorized_client", "client %s may not use the authorization code grant", id)
	}
	if len(req.state) > 2048 || len(req.nonce) > 2048 || len(req.loginHint) > 512 {
		return bad("invalid_request", "state, nonce or login_hint: too long (at most 2048, 2048 and 512 bytes)")
	}
	var err *oauthError
	if req.scopes, err = p.parseScopes(params.Get("scope")); err != nil {
		return req, &authzError{oauthError: err, redirectable: true}
	}
	if req.audience, err = p.requestedAudience(params["resource"], params["audience"]); err != nil {
		return req, &authzError{oauthError: err, redirectable: true}
	}
	req.challenge, req.method = params.Get("code_challenge"), params.Get("code_challenge_method")
	if err := p.checkChallenge(client, req.challenge, req.method); err != nil {
		return req, &authzError{oauthError: err, redirectable: true}
	}
	if req.challenge != "" && req.method == "" {
		req.method = "plain" // RFC 7636 §4.3 default, allowed only with WithPlainPKCE
	}
	return req, nil
}

// checkChallenge applies the PKCE policy: public clients must send a challenge; S256 only,
// unless WithPlainPKCE.
func (p *IdP) checkChallenge(client Client, challenge, method string) *oauthError {
	if challenge == "" {
		if method != "" {
			return invalidRequest("code_challenge_method: sent without code_challenge")
		}
		if client.Public() {
			return invalidRequest("code_challenge: required, client %s is public and must use PKCE with S256 (RFC 7636)", client.ID)
		}
		return nil
	}
	switch method {
	case "S256":
		if len(challenge) != 43 {
			return invalidRequest("code_challenge: an S256 challenge is 43 base64url characters, got %d", len(challenge))
		}
	case "plain", "":
		if !p.cfg.plainPKCE {
			if method == "" {
				return invalidRequest("code_challenge_method: missing, which means plain (RFC 7636 §4.3); this IdP requires S256")
			}
			return invalidRequest("code_challenge_method plain: refused; this IdP requires S256")
		}
	default:
		return invalidRequest("code_challenge_method %q: must be S256", method)
	}
	if err := checkPKCEValue("code_challenge", challenge); err != nil {
		return invalidRequest("%s", err.Error())
	}
	return nil
}

// parseScopes splits a scope parameter and refuses scopes the IdP does not know.
func (p *IdP) parseScopes(raw string) ([]string, *oauthError) {
	var out []string
	for _, s := range strings.Fields(raw) {
		if !slices.Contains(p.cfg.scopes, s) {
			return nil, &oauthError{Code: "invalid_scope", Description: fmt.Sprintf("scope %q: not supported (supported: %s)", s, strings.Join(p.cfg.scopes, " ")), Status: 400}
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// requestedAudience turns a request's RFC 8707 resource parameters (and, for a profile that
// takes it, Auth0's audience parameter) into the token's audience, as the profile does: the
// resources themselves, or the default audience, or an error in the provider's own words.
func (p *IdP) requestedAudience(resources, audience []string) ([]string, *oauthError) {
	if p.profile.AudienceParameter {
		// Auth0: audience names the API; resource is ignored [A2][A11]; no audience, no API
		// (the token is then opaque [A8]); with the compatibility profile, resource is taken
		// as audience when no audience is sent [A2].
		if (len(audience) == 0 || audience[0] == "") && p.cfg.resourceAsAudience && len(resources) > 0 {
			audience = resources[:1]
		}
		if len(audience) == 0 || audience[0] == "" {
			return nil, nil
		}
		if err := checkResource(audience[0]); err != nil {
			return nil, &oauthError{Code: "invalid_request", Description: "audience " + err.Error(), Status: 400}
		}
		return []string{audience[0]}, nil
	}
	switch p.profile.Resource {
	case ResourceRefused:
		if len(resources) > 0 {
			return nil, entraResourceUnsupported()
		}
	case ResourceMustBeAudience:
		for _, r := range resources {
			if r != p.cfg.audience {
				return nil, entraResourceNotFound(r)
			}
		}
	case ResourceAudience, ResourceAudienceOnly:
		if len(resources) > 0 {
			return p.parseResources(resources)
		}
	}
	return p.defaultAudience(), nil
}

// defaultAudience is the audience of a token whose client named no resource: none where the
// profile has none (Cognito) and no WithAudience gave one.
func (p *IdP) defaultAudience() []string {
	if p.cfg.audience == "" {
		return nil
	}
	return []string{p.cfg.audience}
}

// parseResources checks RFC 8707 resource parameters and returns them as the audience.
func (p *IdP) parseResources(resources []string) ([]string, *oauthError) {
	var out []string
	for _, r := range resources {
		if err := checkResource(r); err != nil {
			return nil, &oauthError{Code: "invalid_target", Description: "resource " + err.Error(), Status: 400}
		}
		if len(p.cfg.resources) > 0 && !slices.Contains(p.cfg.resources, r) {
			return nil, &oauthError{Code: "invalid_target", Description: fmt.Sprintf("resource %q: not served by this IdP (allowed: %s)", r, strings.Join(p.cfg.resources, " ")), Status: 400}
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// entraResourceUnsupported is Entra's answer to a resource parameter at its v2 endpoints
// [E7][E8]; the error code is the one its request validation uses (n/f in the sources).
func entraResourceUnsupported() *oauthError {
	return &oauthError{Code: "invalid_request", Description: "AADSTS901002: The 'resource' request parameter is not supported.", Status: 400}
}

// entraResourceNotFound is Entra's answer to a resource that names no app registration of the
// tenant [E9][E12].
func entraResourceNotFound(resource string) *oauthError {
	return &oauthError{Code: "invalid_resource", Status: 400, Description: fmt.Sprintf(
		"AADSTS500011: The resource principal named %s was not found in the tenant named %s.", resource, entraTenantID)}
}

// completeAuthorize creates the session in mockoidc and sends the code to the client.
func (p *IdP) completeAuthorize(w http.ResponseWriter, r *http.Request, req authzRequest, u *User) {
	now := p.cfg.now()
	p.mu.Lock()
	p.pruneLocked(now)
	code, err := p.mockAuthorize(u, req.scopes, req.nonce, req.challenge, req.method)
	if err == nil {
		p.codes[code] = &pendingCode{client: req.client.ID, redirectURI: req.redirectURI, redirectSent: req.redirectSent, user: u, scopes: req.scopes,
			audience: req.audience, nonce: req.nonce, challenge: req.challenge, method: req.method, authTime: now,
			expires: now.Add(p.cfg.codeTTL)}
	}
	p.mu.Unlock()
	if err != nil {
		p.decision(r, "authorize", "deny", err.Error(), slog.String("client_id", req.client.ID), slog.String("sub", u.Subject))
		p.redirectError(w, r, req, &oauthError{Code: "server_error", Description: "could not create the session"})
		return
	}
	p.decision(r, "authorize", "allow", "user logged in", slog.String("client_id", req.client.ID), slog.String("sub", u.Subject))
	p.redirect(w, r, req, url.Values{"code": {code}})
}

func (p *IdP) redirectError(w http.ResponseWriter, r *http.Request, req authzRequest, e *oauthError) {
	p.redirect(w, r, req, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

// redirect sends the authorization response to the client's redirect URI, keeping its own
// query, with state and the issuer (RFC 9207).
func (p *IdP) redirect(w http.ResponseWriter, r *http.Request, req authzRequest, values url.Values) {
	u, err := url.Parse(req.redirectURI)
	if err != nil { // checked by parseAuthorize; cannot happen
		renderMessage(w, http.StatusBadRequest, "Invalid authorization request", "redirect_uri: "+err.Error())
		return
	}
	q := u.Query()
	for k, v := range values {
		q[k] = v
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	if !p.profile.Discovery.NoIssResponse {
		q.Set("iss", p.issuer)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the browser must not re-post the login form (OAuth 2.1 §7.5.2)
	}
	http.Redirect(w, r, u.String(), status)
}
