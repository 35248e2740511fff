package mockidp

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// KeyInfo describes one signing key the IdP holds.
type KeyInfo struct {
	ID        string // the kid (RFC 7638 thumbprint, or the profile's form of it)
	Algorithm string // RS256 or ES256
	Active    bool   // new tokens are signed with it
	// PublishedUntil is when a rotated-out key leaves the JWKS (the end of its overlap
	// window); zero for the active key.
	PublishedUntil time.Time
}

type signingKey struct {
	kid     string
	alg     string
	priv    crypto.Signer
	until   time.Time // zero while active; end of the overlap window once rotated out
	retired bool      // removed from the JWKS for good
}

// keySet holds the active key and the rotated-out keys still inside their overlap window.
type keySet struct {
	mu      sync.RWMutex
	keys    []*signingKey // oldest first; the last one is active
	overlap time.Duration
	now     func() time.Time
	kidOf   func(crypto.PublicKey) (string, error)
}

func newSigningKey(priv crypto.Signer, kidOf func(crypto.PublicKey) (string, error)) (*signingKey, error) {
	alg, err := algFor(priv)
	if err != nil {
		return nil, err
	}
	kid, err := kidOf(priv.Public())
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: kid, alg: alg, priv: priv}, nil
}

func newKeySet(first crypto.Signer, overlap time.Duration, now func() time.Time, kidOf func(crypto.PublicKey) (string, error)) (*keySet, error) {
	k, err := newSigningKey(first, kidOf)
	if err != nil {
		return nil, err
	}
	return &keySet{keys: []*signingKey{k}, overlap: overlap, now: now, kidOf: kidOf}, nil
}

func (ks *keySet) activeLocked() *signingKey { return ks.keys[len(ks.keys)-1] }

// active returns the key new tokens are signed with.
func (ks *keySet) active() *signingKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.activeLocked()
}

// publishedLocked reports whether k is in the JWKS at time now.
func publishedAt(k *signingKey, now time.Time) bool {
	return !k.retired && (k.until.IsZero() || now.Before(k.until))
}

// rotate makes priv the active key; the previous active key stays published for the overlap.
func (ks *keySet) rotate(priv crypto.Signer) (*signingKey, error) {
	k, err := newSigningKey(priv, ks.kidOf)
	if err != nil {
		return nil, err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if slices.ContainsFunc(ks.keys, func(old *signingKey) bool { return old.kid == k.kid }) {
		return nil, fmt.Errorf("key %s is already known: rotation needs a new key", k.kid)
	}
	ks.activeLocked().until = ks.now().Add(ks.overlap)
	// Keys that leave the JWKS are kept (rotations are rare): the IdP still redeems the
	// refresh tokens they signed, which only it ever reads.
	ks.keys = append(ks.keys, k)
	return k, nil
}

// retire removes a rotated-out key from the JWKS at once, ending its overlap early.
func (ks *keySet) retire(kid string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, k := range ks.keys {
		if k.kid != kid {
			continue
		}
		if k == ks.activeLocked() {
			return fmt.Errorf("key %s is the active signing key: rotate to a new key before retiring it", kid)
		}
		if !publishedAt(k, ks.now()) {
			return fmt.Errorf("key %s has already left the JWKS", kid)
		}
		k.retired = true
		return nil
	}
	return fmt.Errorf("key %s is not held by this IdP (published: %v)", kid, ks.publishedKidsLocked())
}

func (ks *keySet) publishedKidsLocked() []string {
	var kids []string
	now := ks.now()
	for _, k := range ks.keys {
		if publishedAt(k, now) {
			kids = append(kids, k.kid)
		}
	}
	return kids
}

// info lists the keys currently published, oldest first.
func (ks *keySet) info() []KeyInfo {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	now := ks.now()
	var out []KeyInfo
	for _, k := range ks.keys {
		if publishedAt(k, now) {
			out = append(out, KeyInfo{ID: k.kid, Algorithm: k.alg, Active: k == ks.activeLocked(), PublishedUntil: k.until})
		}
	}
	return out
}

// jwks lists the published keys as JWKs, oldest first.
func (ks *keySet) jwks() ([]jwk, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	now := ks.now()
	keys := []jwk{}
	for _, k := range ks.keys {
		if !publishedAt(k, now) {
			continue
		}
		pub, err := publicJWK(k.priv.Public())
		if err != nil {
			return nil, err
		}
		pub.Kid, pub.Alg, pub.Use = k.kid, k.alg, "sig"
		keys = append(keys, pub)
	}
	return keys, nil
}

// sign signs claims with the active key.
func (ks *keySet) sign(typ string, claims map[string]any) (string, error) {
	return ks.signWith(func(h *jwsHeader) { h.Typ = typ }, claims)
}

// signWith signs claims with the active key under the header shape gives.
func (ks *keySet) signWith(shape func(*jwsHeader), claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	k := ks.active()
	h := jwsHeader{Alg: k.alg, Kid: k.kid}
	shape(&h)
	return signJWS(h, payload, k.priv)
}

// verify checks a token the IdP issued: a published key must have signed it, or, with
// anyKey (for refresh tokens, which only the IdP reads), any key it ever held. It returns
// the header and the decoded claims; the caller checks times and token use.
func (ks *keySet) verify(token string, anyKey bool) (jwsHeader, map[string]any, error) {
	p, err := parseJWS(token)
	if err != nil {
		return jwsHeader{}, nil, err
	}
	ks.mu.RLock()
	var key *signingKey
	now := ks.now()
	for _, k := range ks.keys {
		if k.kid == p.header.Kid && (anyKey || publishedAt(k, now)) {
			key = k
		}
	}
	ks.mu.RUnlock()
	if key == nil {
		return jwsHeader{}, nil, fmt.Errorf("token kid %q is not a published key of this IdP", p.header.Kid)
	}
	if err := p.verifySignature(key.alg, key.priv.Public()); err != nil {
		return jwsHeader{}, nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(p.payload, &claims); err != nil {
		return jwsHeader{}, nil, errors.New("token payload is not a JSON object")
	}
	return p.header, claims, nil
}
