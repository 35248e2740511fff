package mockidp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oauth2-proxy/mockoidc"
)

// The IdP reaches mockoidc only through its exported handlers, with requests it builds
// itself after doing the checks mockoidc lacks (clients, redirect URIs, PKCE policy, scopes,
// resources). Every function here must run with p.mu held: mockoidc's session map has no
// lock, and its user queue must pair each pushed user with the authorize call that pops it.

// internalRedirect is where mockoidc's authorize handler sends its (captured) redirect.
const internalRedirect = "http://mockoidc.internal/callback"

// mockTokens are the tokens mockoidc minted for a session. They never leave the IdP: the
// refresh token is kept to redeem later, and the ID token's claims (built by our
// sessionUser) are re-issued under the IdP's own key.
type mockTokens struct {
	refresh  string
	idClaims map[string]any
}

// capture is a ResponseWriter that keeps what a mockoidc handler wrote.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newCapture() *capture                     { return &capture{header: http.Header{}, status: http.StatusOK} }
func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(status int)      { c.status = status }

// mockScope is what mockoidc is told: it accepts only its own four scopes (a package
// global, read here and never written), and the IdP always wants ID-token claims from it.
func mockScope(scopes []string) string {
	out := []string{"openid"}
	for _, s := range scopes {
		if s != "openid" && slices.Contains(mockoidc.ScopesSupported, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// mockAuthorize creates a mockoidc session for u through its authorize handler and returns
// the code naming it.
func (p *IdP) mockAuthorize(u *User, scopes []string, nonce, challenge, method string) (string, error) {
	q := url.Values{
		"client_id":     {p.mock.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {internalRedirect},
		"state":         {"internal"},
		"scope":         {mockScope(scopes)},
	}
	if nonce != "" {
		q.Set("nonce", nonce)
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", method)
	}
	req, err := http.NewRequest(http.MethodGet, "http://mockoidc.internal/oidc/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	p.mock.UserQueue.Push(sessionUser{user: u, tenantClaim: p.cfg.tenantClaim})
	rec := newCapture()
	p.mock.Authorize(rec, req)
	if rec.status != http.StatusFound {
		// Pop the user again so it cannot leak into the next session.
		p.mock.UserQueue.Pop()
		return "", fmt.Errorf("mockoidc authorize answered %d: %s", rec.status, rec.body.String())
	}
	loc, err := url.Parse(rec.header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("mockoidc authorize redirected to %q without a code", rec.header.Get("Location"))
	}
	return loc.Query().Get("code"), nil
}

// mockToken calls mockoidc's token handler with form (its own client credentials added).
// A mockoidc error comes back as an oauthError with mockoidc's code.
func (p *IdP) mockToken(form url.Values) (mockTokens, error) {
	form.Set("client_id", p.mock.ClientID)
	form.Set("client_secret", p.mock.ClientSecret)
	req, err := http.NewRequest(http.MethodPost, "http://mockoidc.internal/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return mockTokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := newCapture()
	p.mock.Token(rec, req)
	var body struct {
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
		Error        string `json:"error"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return mockTokens{}, fmt.Errorf("mockoidc token answered %d with a body that is not JSON", rec.status)
	}
	if rec.status != http.StatusOK {
		// mockoidc's descriptions echo codes and tokens back; keep only its error code.
		return mockTokens{}, &oauthError{Code: body.Error, Description: "the session was not found or was already redeemed", Status: http.StatusBadRequest}
	}
	out := mockTokens{refresh: body.RefreshToken}
	if body.IDToken != "" {
		// Minted by mockoidc in this process a moment ago: decoded, not re-verified.
		parsed, err := parseJWS(body.IDToken)
		if err != nil {
			return mockTokens{}, fmt.Errorf("mockoidc ID token: %w", err)
		}
		if err := json.Unmarshal(parsed.payload, &out.idClaims); err != nil {
			return mockTokens{}, fmt.Errorf("mockoidc ID token claims: %w", err)
		}
	}
	return out, nil
}

// mockExchange redeems a mockoidc code (the session is then granted and cannot be redeemed
// again). mockoidc re-checks PKCE when the session has a challenge.
func (p *IdP) mockExchange(code, verifier string) (mockTokens, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return p.mockToken(form)
}

// mockRefresh redeems mockoidc's own refresh token for the session, which rebuilds the ID
// token claims from the session's user and scopes.
func (p *IdP) mockRefresh(refresh string) (mockTokens, error) {
	t, err := p.mockToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	t.refresh = refresh // mockoidc does not rotate its refresh tokens
	return t, err
}

// mockForget drops a mockoidc session the IdP no longer needs.
func (p *IdP) mockForget(code string) {
	delete(p.mock.SessionStore.Store, code)
}
