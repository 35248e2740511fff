package mockidp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Token-use markers (the token_use claim; Cognito's name for it): an authorizer must accept
// only "access" as a bearer token.
const (
	TokenUseAccess  = "access"
	TokenUseID      = "id"
	TokenUseRefresh = "refresh"
)

// tokenSpec is what every token of one grant is made from.
type tokenSpec struct {
	user     *User
	clientID string
	scopes   []string
	audience []string
	authTime time.Time
	sid      string // the grant, for refresh tokens
	ttl      time.Duration
	extra    map[string]any
}

// audienceClaim writes one audience as a string and several as an array (RFC 7519 §4.1.3).
func audienceClaim(aud []string) any {
	if len(aud) == 1 {
		return aud[0]
	}
	return slices.Clone(aud)
}

// accessClaims are an access token's claims as the profile issues them (for the generic
// profile, RFC 9068's), plus what the authorizer maps users by: the tenant, agent and extra
// claims.
func (p *IdP) accessClaims(s tokenSpec, now time.Time) map[string]any {
	ttl := s.ttl
	if ttl == 0 {
		ttl = p.cfg.accessTTL
	}
	c := map[string]any{}
	claimContext{p: p, spec: s, audience: p.tokenAudience(s), now: now, ttl: ttl}.apply(c, p.profile.access)
	s.user.addIdentityClaims(c, p.cfg.tenantClaim)
	maps.Copy(c, s.extra)
	return c
}

// tokenAudience is the aud of an access token: the spec's, with Auth0's {issuer}userinfo
// added when openid was granted [A13].
func (p *IdP) tokenAudience(s tokenSpec) []string {
	if p.profile.UserinfoAudience && len(s.audience) > 0 && slices.Contains(s.scopes, "openid") {
		return append(slices.Clone(s.audience), p.issuer+"userinfo")
	}
	return s.audience
}

// opaqueAccess reports whether the access token for s is opaque: always (Google), or when no
// API was named (Auth0 without an audience).
func (p *IdP) opaqueAccess(s tokenSpec) bool {
	switch p.profile.AccessToken {
	case AccessOpaque:
		return true
	case AccessOpaqueWithoutAudience:
		return len(s.audience) == 0
	}
	return false
}

// accessToken mints the access token for s: signed under the profile's header, or opaque.
func (p *IdP) accessToken(s tokenSpec, now time.Time) (string, error) {
	claims := p.accessClaims(s, now)
	if p.opaqueAccess(s) {
		exp, _ := claims["exp"].(int64)
		return p.mintOpaque(claims, time.Unix(exp, 0)), nil
	}
	return p.keys.signWith(p.accessHeader, claims)
}

// accessHeader shapes an access token's JOSE header as the profile does: its typ (or none),
// and x5t beside the kid for Entra's v1 tokens.
func (p *IdP) accessHeader(h *jwsHeader) {
	h.Typ = p.profile.AccessTokenTyp
	if p.profile.X5T {
		h.X5t = h.Kid
	}
}

// lifetime is the lifetime of one access token: the configured one, or for a profile with a
// range (Entra's 60 to 90 minutes [E2]) a random whole number of seconds in it.
func (p *IdP) lifetime() time.Duration {
	lo, hi := p.cfg.accessTTL, p.profile.AccessTTLMax
	if p.cfg.accessTTLSet || hi <= lo {
		return lo
	}
	span := int64((hi - lo) / time.Second)
	return lo + time.Duration(randomInt(span+1))*time.Second
}

// idClaims re-issues the claims mockoidc built for the ID token (nonce and the user's
// scoped claims) under the IdP's issuer, clock and key.
func (p *IdP) idClaims(s tokenSpec, fromMock map[string]any, now time.Time) map[string]any {
	c := maps.Clone(fromMock)
	if c == nil {
		c = s.user.profileClaims(s.scopes, p.cfg.tenantClaim)
	}
	maps.Copy(c, map[string]any{
		"iss":       p.issuer,
		"sub":       s.user.Subject,
		"aud":       s.clientID,
		"azp":       s.clientID,
		"exp":       now.Add(p.cfg.accessTTL).Unix(),
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"jti":       randomToken(),
		"auth_time": s.authTime.Unix(),
		"token_use": TokenUseID,
	})
	if c["nonce"] == "" {
		delete(c, "nonce")
	}
	if !p.profile.TokenUse {
		delete(c, "token_use")
	}
	claimContext{p: p, spec: s, now: now, ttl: p.cfg.accessTTL}.apply(c, p.profile.idExtra)
	return c
}

// refreshClaims are a refresh token's claims: its audience is the IdP itself.
func (p *IdP) refreshClaims(s tokenSpec, jti string, expires, now time.Time) map[string]any {
	return map[string]any{
		"iss":       p.issuer,
		"sub":       s.user.Subject,
		"aud":       p.issuer,
		"exp":       expires.Unix(),
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"jti":       jti,
		"client_id": s.clientID,
		"sid":       s.sid,
		"scope":     strings.Join(s.scopes, " "),
		"token_use": TokenUseRefresh,
	}
}

// TokenOption shapes a token minted by TokenFor.
type TokenOption func(*tokenSpec) error

// WithTokenAudience sets the token's audience (default: the IdP's audience).
func WithTokenAudience(aud ...string) TokenOption {
	return func(s *tokenSpec) error {
		if len(aud) == 0 {
			return fmt.Errorf("WithTokenAudience: at least one audience is required")
		}
		s.audience = slices.Clone(aud)
		return nil
	}
}

// WithTokenScopes sets the scope claim (default: openid profile email).
func WithTokenScopes(scopes ...string) TokenOption {
	return func(s *tokenSpec) error { s.scopes = slices.Clone(scopes); return nil }
}

// WithTokenTTL sets the token's lifetime (default: the IdP's access-token TTL).
func WithTokenTTL(d time.Duration) TokenOption {
	return func(s *tokenSpec) error {
		if d < time.Second {
			return fmt.Errorf("WithTokenTTL %v: must be at least 1s", d)
		}
		s.ttl = d
		return nil
	}
}

// WithTokenClientID sets the client_id claim (default: the public client).
func WithTokenClientID(id string) TokenOption {
	return func(s *tokenSpec) error { s.clientID = id; return nil }
}

// WithTokenClaims adds or overrides claims, reserved ones included: this is for tests that
// need a token shaped in a particular way.
func WithTokenClaims(claims map[string]any) TokenOption {
	return func(s *tokenSpec) error {
		if s.extra == nil {
			s.extra = map[string]any{}
		}
		maps.Copy(s.extra, claims)
		return nil
	}
}

// TokenFor mints a valid access token for a user (by username, email or subject) directly,
// without an OAuth flow: the fast path for scenarios. The token is exactly what the token
// endpoint would issue to a client that named no resource (Auth0: the default audience, as
// if the client had named it; Google: opaque).
func (p *IdP) TokenFor(ctx context.Context, user string, opts ...TokenOption) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s, err := p.specFor(user, opts)
	if err != nil {
		return "", err
	}
	return p.accessToken(s, p.cfg.now())
}

func (p *IdP) specFor(user string, opts []TokenOption) (tokenSpec, error) {
	u, err := p.lookupUser(user)
	if err != nil {
		return tokenSpec{}, fmt.Errorf("mockidp: %w", err)
	}
	s := tokenSpec{user: u, clientID: p.ClientID(), scopes: []string{"openid", "profile", "email"},
		audience: p.defaultAudience(), authTime: p.cfg.now(), ttl: p.lifetime()}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return tokenSpec{}, fmt.Errorf("mockidp: %w", err)
		}
	}
	return s, nil
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1); expires_in is in seconds.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// issue signs the tokens of one grant: an access token, a refresh token when refreshJTI is
// set, and an ID token when openid was granted.
func (p *IdP) issue(s tokenSpec, fromMock map[string]any, refreshJTI string, refreshExpires time.Time) (tokenResponse, error) {
	now := p.cfg.now()
	s.ttl = p.lifetime()
	access, err := p.accessToken(s, now)
	if err != nil {
		return tokenResponse{}, err
	}
	tr := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.ttl / time.Second),
		Scope: strings.Join(s.scopes, " ")}
	if refreshJTI != "" {
		if tr.RefreshToken, err = p.keys.sign(typJWT, p.refreshClaims(s, refreshJTI, refreshExpires, now)); err != nil {
			return tokenResponse{}, err
		}
	}
	if slices.Contains(s.scopes, "openid") {
		if tr.IDToken, err = p.keys.sign(p.profile.IDTokenTyp, p.idClaims(s, fromMock, now)); err != nil {
			return tokenResponse{}, err
		}
	}
	return tr, nil
}
