package authorizer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of the key set.
const (
	maxJWKSBytes = 1 << 20
	minRSABits   = 2048
	// failedRetryInterval bounds fetch attempts after a failed one (the IdP down, or restarting
	// with a new key), so that recovery is quick without hammering the IdP.
	failedRetryInterval = time.Second
)

// keySet is the go-oidc KeySet of the authorizer: the IdP's JWKS, fetched on first use and
// again when a token names a kid it does not hold, but at most once per minInterval however
// many tokens with unknown kids arrive (go-oidc's RemoteKeySet refetches on every unknown kid,
// so random kids would amplify into IdP requests). Concurrent refetches are shared. Keys older
// than maxAge are refreshed on use, best effort: a failed refresh keeps the cached keys.
type keySet struct {
	url         string
	client      *http.Client
	algs        []jose.SignatureAlgorithm
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration
	log         *slog.Logger
	metrics     *metrics

	cur atomic.Pointer[keyCache]

	mu        sync.Mutex
	attemptAt time.Time     // the last fetch attempt, successful or not
	inflight  chan struct{} // closed when the running fetch ends
	lastErr   error         // the last attempt's error
}

type keyCache struct {
	byKID   map[string][]jose.JSONWebKey
	all     []jose.JSONWebKey
	fetched time.Time
}

// has reports whether the cache can try to verify a token with this kid.
func (c *keyCache) has(kid string) bool {
	if kid == "" {
		return len(c.all) > 0
	}
	return len(c.byKID[kid]) > 0
}

// candidates are the keys that may have signed a token with this kid and alg.
func (c *keyCache) candidates(kid, alg string) []jose.JSONWebKey {
	keys := c.all
	if kid != "" {
		keys = c.byKID[kid]
	}
	fits := func(k jose.JSONWebKey) bool {
		return (k.Algorithm == "" || k.Algorithm == alg) && keyFitsAlg(k.Key, alg)
	}
	if len(keys) == 1 && fits(keys[0]) { // the usual case: one key per kid, shared as it is
		return keys[:1:1]
	}
	out := make([]jose.JSONWebKey, 0, len(keys))
	for _, k := range keys {
		if fits(k) {
			out = append(out, k)
		}
	}
	return out
}

func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve.Params().Name == "P-256"
		case "ES384":
			return k.Curve.Params().Name == "P-384"
		case "ES512":
			return k.Curve.Params().Name == "P-521"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// probe collects, for one verification, what go-oidc's errors do not carry: the header, how
// far the key set got, and whether a dependency failed. Decide puts one in the context.
type probe struct {
	typ         string // the JWS typ header
	verified    bool   // the signature verified
	kid         string // the kid of the key that verified it
	payload     []byte // the verified payload
	keyErr      error  // why no key verified the signature
	unavailable error  // the JWKS could not be fetched
}

type probeKey struct{}

func withProbe(ctx context.Context, p *probe) context.Context {
	return context.WithValue(ctx, probeKey{}, p)
}

// holds reports whether the last fetched JWKS still has a key with this kid.
func (ks *keySet) holds(kid string) bool {
	c := ks.cur.Load()
	return c != nil && len(c.byKID[kid]) > 0
}

// errRefreshLimited says a refetch was due but suppressed by the rate limit.
var errRefreshLimited = errors.New("the JWKS was fetched too recently to fetch again")

// VerifySignature implements oidc.KeySet.
func (ks *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	p, _ := ctx.Value(probeKey{}).(*probe)
	if p == nil {
		p = &probe{}
	}
	jws, err := jose.ParseSignedCompact(raw, ks.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("the JWS must have exactly one signature")
	}
	h := jws.Signatures[0].Protected
	p.typ, _ = h.ExtraHeaders[jose.HeaderType].(string)
	keys, err := ks.keysFor(ctx, p, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if payload, err := jws.Verify(k); err == nil {
			p.verified, p.payload, p.kid = true, payload, k.KeyID
			return payload, nil
		}
	}
	p.keyErr = fmt.Errorf("the signature does not verify with the JWKS key %s", quote(h.KeyID))
	return nil, p.keyErr
}

// verifyCompact is VerifySignature for a token parseCompact read: the same keys, fetched under
// the same rules, and the signature checked with the standard library.
func (ks *keySet) verifyCompact(ctx context.Context, p *probe, t *compactJWS) ([]byte, error) {
	keys, err := ks.keysFor(ctx, p, t.kid, t.alg)
	if err != nil {
		return nil, err
	}
	var sum *[sha256.Size]byte
	if t.summed {
		sum = &t.inputSum
	}
	for _, k := range keys {
		if verifyJWS(k.Key, t.alg, t.signingInput, t.sig, sum) == nil {
			p.verified, p.payload, p.kid = true, t.payload, k.KeyID
			return t.payload, nil
		}
	}
	p.keyErr = fmt.Errorf("the signature does not verify with the JWKS key %s", quote(t.kid))
	return nil, p.keyErr
}

// keysFor returns the keys that may have signed a token with this kid and alg, fetching the
// JWKS first when the kid is unknown or the keys are older than maxAge (refresh bounds how
// often). It records in p why none can be tried.
func (ks *keySet) keysFor(ctx context.Context, p *probe, kid, alg string) ([]jose.JSONWebKey, error) {
	cache := ks.cur.Load()
	now := ks.now()
	unknown := cache == nil || !cache.has(kid)
	if unknown || now.Sub(cache.fetched) >= ks.maxAge {
		fresh, ferr := ks.refresh(ctx, now)
		if fresh != nil {
			cache = fresh
		}
		if ferr != nil {
			switch {
			case cache == nil:
				// No key was ever loaded: nothing can be verified.
				p.unavailable = ferr
				return nil, ferr
			case !unknown:
				// Stale but holding the kid: keep verifying with the cached keys (refresh
				// logged the failure).
			case errors.Is(ferr, errRefreshLimited) && !errors.Is(ferr, errLastFetchFailed):
				// An unknown kid while the JWKS is fresh: an invalid token, not an outage.
			default:
				// The kid may be a newly rotated key that could not be fetched: we cannot
				// tell, so the verification fails as unavailable (never as allowed).
				p.unavailable = ferr
				return nil, ferr
			}
		}
	}
	keys := cache.candidates(kid, alg)
	if len(keys) == 0 {
		if kid == "" {
			p.keyErr = fmt.Errorf("the token names no kid and no %s key in the JWKS fits", alg)
		} else {
			p.keyErr = fmt.Errorf("no %s key in the JWKS has kid %s", alg, quote(kid))
		}
		return nil, p.keyErr
	}
	return keys, nil
}

// errLastFetchFailed marks a suppressed refetch whose previous attempt failed.
var errLastFetchFailed = errors.New("the last JWKS fetch failed")

// refresh fetches the JWKS unless a fetch is running (then it waits for that one) or the last
// attempt was less than minInterval ago. It returns the key cache afterwards (nil when no
// fetch ever succeeded) and the error of the fetch, or errRefreshLimited.
func (ks *keySet) refresh(ctx context.Context, now time.Time) (*keyCache, error) {
	ks.mu.Lock()
	if ch := ks.inflight; ch != nil {
		ks.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ks.cur.Load(), fmt.Errorf("waiting for the JWKS: %w", ctx.Err())
		}
		ks.mu.Lock()
		err := ks.lastErr
		ks.mu.Unlock()
		return ks.cur.Load(), err
	}
	interval := ks.minInterval
	if ks.cur.Load() == nil || ks.lastErr != nil {
		interval = min(interval, failedRetryInterval)
	}
	if !ks.attemptAt.IsZero() && now.Sub(ks.attemptAt) < interval {
		last := ks.lastErr
		ks.mu.Unlock()
		ks.metrics.jwksSuppressed.Inc()
		if last != nil {
			return ks.cur.Load(), fmt.Errorf("%w (%w: %v)", errRefreshLimited, errLastFetchFailed, last)
		}
		return ks.cur.Load(), errRefreshLimited
	}
	ks.attemptAt = now
	ch := make(chan struct{})
	ks.inflight = ch
	ks.mu.Unlock()

	// The fetch serves every waiting request, so one caller's cancellation must not end it.
	cache, err := ks.fetch(context.WithoutCancel(ctx), now)
	ks.mu.Lock()
	ks.inflight, ks.lastErr = nil, err
	if err == nil {
		ks.cur.Store(cache)
	}
	ks.mu.Unlock()
	close(ch)
	if err != nil {
		ks.metrics.jwksFetches.WithLabelValues("error").Inc()
		ks.metrics.dependencyErrors.WithLabelValues("idp").Inc()
		ks.log.Error("JWKS fetch failed", slog.String("jwks_url", ks.url), slog.String("error", err.Error()))
	} else {
		ks.metrics.jwksFetches.WithLabelValues("ok").Inc()
		ks.log.Info("JWKS fetched", slog.String("jwks_url", ks.url), slog.Int("keys", len(cache.all)))
	}
	return ks.cur.Load(), err
}

func (ks *keySet) fetch(ctx context.Context, now time.Time) (*keyCache, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS URL %s: %w", ks.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: HTTP %d", ks.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", ks.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS %s is over %d bytes", ks.url, maxJWKSBytes)
	}
	cache, skipped, err := parseJWKS(body)
	for _, s := range skipped {
		ks.log.Warn("JWKS key skipped", slog.String("jwks_url", ks.url), slog.String("why", s))
	}
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", ks.url, err)
	}
	cache.fetched = now
	return cache, nil
}

// parseJWKS keeps the public signing keys of a JWK Set and says why it skipped the others.
// Private and symmetric key material is never loaded: the JWKS only ever holds public keys,
// and a symmetric "key" would let anyone who reads the JWKS sign tokens.
func parseJWKS(body []byte) (*keyCache, []string, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JWK Set (a JSON object with a keys list): %v", err)
	}
	c := &keyCache{byKID: map[string][]jose.JSONWebKey{}}
	var skipped []string
	for i, raw := range doc.Keys {
		var secret struct {
			D, P, Q, DP, DQ, QI, K, Priv json.RawMessage
		}
		_ = json.Unmarshal(raw, &secret) // field names match case-insensitively: d, p, q, dp, dq, qi, k, priv
		if secret.D != nil || secret.P != nil || secret.Q != nil || secret.DP != nil || secret.DQ != nil ||
			secret.QI != nil || secret.K != nil || secret.Priv != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d] holds private or symmetric key material", i))
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		switch {
		case k.Use != "" && k.Use != "sig":
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %s) has use %s, not sig", i, quote(k.KeyID), quote(k.Use)))
			continue
		case !k.IsPublic():
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %s) is not an asymmetric public key", i, quote(k.KeyID)))
			continue
		}
		if r, ok := k.Key.(*rsa.PublicKey); ok && r.N.BitLen() < minRSABits {
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %s) is a %d-bit RSA key; at least %d bits are required", i, quote(k.KeyID), r.N.BitLen(), minRSABits))
			continue
		}
		c.all = append(c.all, k)
		c.byKID[k.KeyID] = append(c.byKID[k.KeyID], k)
	}
	if len(c.all) == 0 {
		return nil, skipped, fmt.Errorf("holds no usable signing key (%d skipped)", len(skipped))
	}
	return c, skipped, nil
}

// allowedAlgs are the signature algorithms WithAlgorithms accepts: asymmetric ones only, so a
// public key can never be used as an HMAC secret.
var allowedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func joseAlgs(algs []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

func validAlg(a string) bool { return slices.Contains(allowedAlgs, a) }
