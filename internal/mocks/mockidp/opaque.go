package mockidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"
)

// Opaque access tokens (Google's always, Auth0's without an audience): random strings whose
// claims only the IdP knows, so a resource server must ask it (userinfo, Google's tokeninfo).

type opaqueToken struct {
	claims  map[string]any
	expires time.Time
}

// maxOpaqueTokens bounds the store; the oldest-expiring tokens go first past it.
const maxOpaqueTokens = 100_000

// mintOpaque stores claims under a fresh opaque token and returns the token.
func (p *IdP) mintOpaque(claims map[string]any, expires time.Time) string {
	token := p.profile.OpaquePrefix + randomToken()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.now()
	if len(p.opaque) >= maxOpaqueTokens {
		for k, t := range p.opaque {
			if !now.Before(t.expires) || len(p.opaque) >= maxOpaqueTokens {
				delete(p.opaque, k)
			}
		}
	}
	p.opaque[token] = &opaqueToken{claims: claims, expires: expires}
	return token
}

// opaqueClaims returns the claims of an opaque token this IdP issued and that has not expired.
func (p *IdP) opaqueClaims(token string) (map[string]any, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.opaque[token]
	if !ok {
		return nil, false
	}
	if !p.cfg.now().Before(t.expires) {
		delete(p.opaque, token)
		return nil, false
	}
	return maps.Clone(t.claims), true
}

// handleTokeninfo is Google's tokeninfo for access tokens [G3][G4]: GET or POST with
// access_token; the token's azp, aud, sub, scope, exp, expires_in, email, email_verified and
// access_type, or 400 invalid_token.
func (p *IdP) handleTokeninfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := r.FormValue("access_token")
	claims, ok := p.opaqueClaims(token)
	if !ok {
		p.decision(r, "tokeninfo", "deny", "unknown or expired access token")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "Invalid Value"})
		return
	}
	exp, _ := claims["exp"].(int64)
	claims["expires_in"] = max(exp-p.cfg.now().Unix(), 0)
	sub, _ := claims["sub"].(string)
	p.decision(r, "tokeninfo", "allow", "valid access token", slog.String("sub", sub))
	writeJSON(w, http.StatusOK, claims)
}

// encryptionKey is the key behind Keycloak's use:enc JWK. The IdP never decrypts anything,
// so one key for the whole process will do, and its generation is paid once.
var encryptionKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// encryptionJWK is Keycloak's encryption key as its JWKS lists it: RSA-OAEP, use enc [X1].
func encryptionJWK() (jwk, error) {
	key, err := encryptionKey()
	if err != nil {
		return jwk{}, err
	}
	pub, err := publicJWK(&key.PublicKey)
	if err != nil {
		return jwk{}, err
	}
	kid, err := thumbprint(&key.PublicKey)
	if err != nil {
		return jwk{}, err
	}
	pub.Kid, pub.Alg, pub.Use = kid, "RSA-OAEP", "enc"
	return pub, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of pub.
func thumbprint(pub crypto.PublicKey) (string, error) { return kidFunc(KidThumbprint)(pub) }
