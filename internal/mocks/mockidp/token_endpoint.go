package mockidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// pendingCode is an authorization code between the redirect and its redemption. The code is
// also the name of the mockoidc session.
type pendingCode struct {
	client       string
	redirectURI  string
	redirectSent bool // the authorization request named redirect_uri, so the token request must too
	user         *User
	scopes       []string
	audience     []string
	nonce        string
	challenge    string
	method       string
	authTime     time.Time
	expires      time.Time
	redeemed     bool
	sid          string // the grant it became, revoked if the code is replayed
}

// grant is a login that refresh tokens extend.
type grant struct {
	code           string // the mockoidc session
	spec           tokenSpec
	mockRefresh    string
	refreshJTI     string // only the latest refresh token is valid (rotation)
	refreshExpires time.Time
	revoked        bool
}

const maxFormBytes = 64 << 10

// parseForm reads an application/x-www-form-urlencoded POST body, refusing a repeated
// parameter (RFC 6749 §3.1, §3.2) except those listed in repeatable.
func parseForm(w http.ResponseWriter, r *http.Request, repeatable ...string) (url.Values, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, &oauthError{Code: "invalid_request", Description: "method " + r.Method + ": this endpoint takes POST", Status: http.StatusMethodNotAllowed}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type %q: must be application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("body: not a valid form (at most %d bytes): %v", maxFormBytes, err)
	}
	if err := checkRepeats(r.PostForm, repeatable...); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

func checkRepeats(form url.Values, repeatable ...string) *oauthError {
	for k, v := range form {
		if len(v) > 1 && !slices.Contains(repeatable, k) {
			return invalidRequest("%s: sent %d times; each parameter may appear once (RFC 6749 §3.1)", k, len(v))
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		oe = &oauthError{Code: "server_error", Description: err.Error(), Status: http.StatusInternalServerError}
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="mcpsso-idp"`)
	}
	writeJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
}

// authenticateClient identifies and authenticates the client of a token or device request.
func (p *IdP) authenticateClient(r *http.Request, form url.Values) (Client, error) {
	cred, err := parseClientCredentials(r.Header.Get("Authorization"), form)
	if err != nil {
		return Client{}, err
	}
	c, lerr := p.lookupClient(r.Context(), cred.ID)
	if lerr != nil {
		return Client{}, lerr
	}
	if err := c.authenticate(cred); err != nil {
		return Client{}, err
	}
	return c, nil
}

func (p *IdP) handleToken(w http.ResponseWriter, r *http.Request) {
	form, ferr := parseForm(w, r, "resource")
	if ferr != nil {
		writeOAuthError(w, ferr)
		return
	}
	grantType := form.Get("grant_type")
	client, err := p.authenticateClient(r, form)
	if err != nil {
		p.decision(r, "token", "deny", err.Error(), slog.String("grant_type", grantType), slog.String("client_id", form.Get("client_id")))
		writeOAuthError(w, err)
		return
	}
	var tr tokenResponse
	var sub string
	switch grantType {
	case "":
		err = invalidRequest("grant_type: required")
	case GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode:
		if !client.allowsGrant(grantType) {
			err = &oauthError{Code: "unauthorized_client", Description: fmt.Sprintf("client %s may not use grant_type %s", client.ID, grantType), Status: 400}
			break
		}
		switch grantType {
		case GrantAuthorizationCode:
			tr, sub, err = p.codeGrant(client, form)
		case GrantRefreshToken:
			tr, sub, err = p.refreshGrant(client, form)
		default:
			tr, sub, err = p.deviceGrant(client, form)
		}
	default:
		err = &oauthError{Code: "unsupported_grant_type", Description: fmt.Sprintf("grant_type %q: must be %s, %s or %s", grantType, GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode), Status: 400}
	}
	attrs := []any{slog.String("grant_type", grantType), slog.String("client_id", client.ID), slog.String("sub", sub)}
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) && (oe.Code == "authorization_pending" || oe.Code == "slow_down") {
			p.log.Debug("token", append(attrs, slog.String("request_id", requestID(r)), slog.String("reason", oe.Code))...)
		} else {
			p.decision(r, "token", "deny", err.Error(), attrs...)
		}
		writeOAuthError(w, err)
		return
	}
	p.decision(r, "token", "allow", "tokens issued", attrs...)
	writeJSON(w, http.StatusOK, tr)
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (p *IdP) codeGrant(client Client, form url.Values) (tokenResponse, string, error) {
	code, verifier, redirectURI := form.Get("code"), form.Get("code_verifier"), form.Get("redirect_uri")
	if code == "" {
		return tokenResponse{}, "", invalidRequest("code: required")
	}
	now := p.cfg.now()
	p.mu.Lock()
	pc := p.codes[code]
	switch {
	case pc == nil:
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("code: unknown or expired")
	case pc.redeemed:
		// RFC 6749 §4.1.2: a replayed code revokes what it granted.
		if g := p.grants[pc.sid]; g != nil {
			g.revoked = true
		}
		p.mu.Unlock()
		return tokenResponse{}, pc.user.Subject, invalidGrant("code: already redeemed; the refresh token it produced is now revoked")
	case !now.Before(pc.expires):
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("code: expired")
	case pc.client != client.ID:
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("code: issued to another client")
	case redirectURI != pc.redirectURI && (pc.redirectSent || redirectURI != ""):
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("redirect_uri: must be the one of the authorization request (RFC 6749 §4.1.3)")
	}
	audience, aerr := p.narrowAudience(pc.audience, form["resource"])
	if aerr != nil {
		p.mu.Unlock()
		return tokenResponse{}, pc.user.Subject, aerr
	}
	pc.redeemed = true // whatever happens next, a code is tried once
	if err := checkVerifier(pc.challenge, pc.method, verifier); err != nil {
		p.mu.Unlock()
		return tokenResponse{}, pc.user.Subject, err
	}
	mt, err := p.mockExchange(code, verifier)
	if err != nil {
		p.mu.Unlock()
		return tokenResponse{}, pc.user.Subject, err
	}
	spec := tokenSpec{user: pc.user, clientID: client.ID, scopes: pc.scopes, audience: pc.audience, authTime: pc.authTime}
	g := p.newGrantLocked(code, spec, mt.refresh, now)
	pc.sid = g.spec.sid
	p.mu.Unlock()
	spec = g.spec
	spec.audience = audience
	tr, err := p.issue(spec, mt.idClaims, g.refreshJTI, g.refreshExpires)
	return tr, pc.user.Subject, err
}

// newGrantLocked records a login whose refresh tokens the IdP will accept.
func (p *IdP) newGrantLocked(code string, spec tokenSpec, mockRefresh string, now time.Time) *grant {
	p.pruneLocked(now)
	spec.sid = randomToken()
	g := &grant{code: code, spec: spec, mockRefresh: mockRefresh, refreshJTI: randomToken(), refreshExpires: now.Add(p.cfg.refreshTTL)}
	p.grants[spec.sid] = g
	return g
}

// checkVerifier applies PKCE (RFC 7636 §4.6): a verifier iff a challenge was sent, and it
// must hash to the challenge.
func checkVerifier(challenge, method, verifier string) error {
	if challenge == "" {
		if verifier != "" {
			return invalidGrant("code_verifier: sent, but the authorization request had no code_challenge")
		}
		return nil
	}
	if verifier == "" {
		return invalidGrant("code_verifier: required, the authorization request sent a code_challenge")
	}
	if err := checkPKCEValue("code_verifier", verifier); err != nil {
		return invalidGrant("%s", err.Error())
	}
	computed := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		computed = b64.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return invalidGrant("code_verifier: does not match the code_challenge (%s)", method)
	}
	return nil
}

// checkPKCEValue applies RFC 7636 §4.1's syntax: 43 to 128 unreserved characters.
func checkPKCEValue(field, v string) error {
	if len(v) < 43 || len(v) > 128 {
		return fmt.Errorf("%s: must be 43 to 128 characters, got %d (RFC 7636 §4.1)", field, len(v))
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return fmt.Errorf("%s: may contain only letters, digits and -._~ (RFC 7636 §4.1)", field)
		}
	}
	return nil
}

// refreshGrant redeems a refresh token (RFC 6749 §6), rotating it: the old one stops working,
// and presenting it again revokes the grant.
func (p *IdP) refreshGrant(client Client, form url.Values) (tokenResponse, string, error) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return tokenResponse{}, "", invalidRequest("refresh_token: required")
	}
	_, claims, err := p.keys.verify(raw, true)
	if err != nil {
		return tokenResponse{}, "", invalidGrant("refresh_token: %v", err)
	}
	now := p.cfg.now()
	if use, _ := claims["token_use"].(string); use != TokenUseRefresh {
		return tokenResponse{}, "", invalidGrant("refresh_token: token_use is %q, not %q", use, TokenUseRefresh)
	}
	if iss, _ := claims["iss"].(string); iss != p.issuer {
		return tokenResponse{}, "", invalidGrant("refresh_token: issued by %q, not this IdP", iss)
	}
	if exp, _ := claims["exp"].(float64); !now.Before(time.Unix(int64(exp), 0)) {
		return tokenResponse{}, "", invalidGrant("refresh_token: expired")
	}
	if cid, _ := claims["client_id"].(string); cid != client.ID {
		return tokenResponse{}, "", invalidGrant("refresh_token: issued to another client")
	}
	sid, _ := claims["sid"].(string)
	jti, _ := claims["jti"].(string)
	p.mu.Lock()
	g := p.grants[sid]
	switch {
	case g == nil:
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("refresh_token: its grant is unknown or has expired")
	case g.revoked:
		p.mu.Unlock()
		return tokenResponse{}, g.spec.user.Subject, invalidGrant("refresh_token: its grant was revoked")
	case jti != g.refreshJTI && p.profile.RefreshRotation:
		g.revoked = true
		p.mu.Unlock()
		return tokenResponse{}, g.spec.user.Subject, invalidGrant("refresh_token: already used (refresh tokens rotate); the grant is now revoked")
	}
	spec := g.spec
	if raw := form.Get("scope"); raw != "" {
		narrowed := strings.Fields(raw)
		for _, s := range narrowed {
			if !slices.Contains(spec.scopes, s) {
				p.mu.Unlock()
				return tokenResponse{}, spec.user.Subject, &oauthError{Code: "invalid_scope", Description: fmt.Sprintf("scope %q: not granted originally", s), Status: 400}
			}
		}
		spec.scopes = narrowed
	}
	var aerr *oauthError
	if spec.audience, aerr = p.narrowAudience(spec.audience, form["resource"]); aerr != nil {
		p.mu.Unlock()
		return tokenResponse{}, spec.user.Subject, aerr
	}
	mt, err := p.mockRefresh(g.mockRefresh)
	if err != nil {
		p.mu.Unlock()
		return tokenResponse{}, spec.user.Subject, err
	}
	g.refreshJTI = randomToken()
	next, expires := g.refreshJTI, g.refreshExpires
	p.mu.Unlock()
	tr, err := p.issue(spec, mt.idClaims, next, expires)
	return tr, spec.user.Subject, err
}

// narrowAudience applies RFC 8707 §2.2 at the token endpoint: the resources asked for must
// have been granted, and the token is then for them alone. A profile that refuses or ignores
// resource does so here too.
func (p *IdP) narrowAudience(granted, requested []string) ([]string, *oauthError) {
	if len(requested) == 0 {
		return granted, nil
	}
	switch {
	case p.profile.AudienceParameter:
		return granted, nil // Auth0 ignores resource [A11]
	case p.profile.Resource == ResourceRefused:
		return nil, entraResourceUnsupported()
	case p.profile.Resource == ResourceMustBeAudience:
		if _, err := p.requestedAudience(requested, nil); err != nil {
			return nil, err
		}
		return granted, nil
	case p.profile.Resource == ResourceIgnored:
		return granted, nil
	}
	for _, r := range requested {
		if !slices.Contains(granted, r) {
			return nil, &oauthError{Code: "invalid_target", Description: fmt.Sprintf("resource %q: not granted in the authorization (RFC 8707 §2.2)", r), Status: 400}
		}
	}
	return slices.Compact(slices.Clone(requested)), nil
}

// pruneLocked forgets expired codes, device codes and grants (and their mockoidc sessions),
// so a long-running IdP or a benchmark does not grow without bound.
// The threshold doubles with what survives, so sweeping stays amortised O(1) per insert.
func (p *IdP) pruneLocked(now time.Time) {
	if len(p.codes)+len(p.grants)+len(p.devices) < max(p.pruneAt, 512) {
		return
	}
	defer func() { p.pruneAt = 2 * (len(p.codes) + len(p.grants) + len(p.devices)) }()
	for code, pc := range p.codes {
		if !now.Before(pc.expires) {
			delete(p.codes, code)
			if pc.sid == "" {
				p.mockForget(code)
			}
		}
	}
	for sid, g := range p.grants {
		if g.revoked || !now.Before(g.refreshExpires) {
			delete(p.grants, sid)
			p.mockForget(g.code)
		}
	}
	for dc, d := range p.devices {
		if !now.Before(d.expires) {
			delete(p.devices, dc)
			delete(p.userCodes, d.userCode)
		}
	}
}
