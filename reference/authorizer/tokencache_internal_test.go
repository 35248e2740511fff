package authorizer

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTheTokenCacheHoldsAtMostItsSize(t *testing.T) {
	c := newTokenCache(4, time.Minute)
	now := time.Unix(1_800_000_000, 0)
	for i := range 100 {
		c.put(sha256.Sum256(fmt.Append(nil, i)), verifiedToken{sub: fmt.Sprint(i), expiry: now.Add(time.Hour)}, now)
		if n := len(c.cur) + len(c.old); n > 4 {
			t.Fatalf("after %d puts the cache holds %d entries, want at most 4", i+1, n)
		}
	}
	if tok, ok := c.get(sha256.Sum256(fmt.Append(nil, 99)), now); !ok || tok.sub != "99" {
		t.Error("the latest entry is gone")
	}
	if _, ok := c.get(sha256.Sum256(fmt.Append(nil, 0)), now); ok {
		t.Error("the oldest entry is still there")
	}
	if _, ok := c.get(sha256.Sum256(fmt.Append(nil, 99)), now.Add(time.Minute)); ok {
		t.Error("an entry outlived the TTL")
	}
}

// A cache hit skips the bearer syntax scan, so only tokens that pass it may enter the cache:
// a token go-jose verifies although it is no RFC 6750 b64token (Go's base64 decoder skips a
// line break) is allowed by verify, but never cached; the same token without it is. The key
// hashes the token once, and two tokens differing only in the signature get two keys.
func TestOnlyB64TokensEnterTheTokenCache(t *testing.T) {
	withCache := func(c *config) error { c.cacheEntries, c.cacheTTL = 16, time.Hour; return nil }
	v := diffVerifier(t, withCache)
	valid := sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(nil), "RS256", "rsa")
	hdr, rest, _ := strings.Cut(valid, ".")
	broken := hdr + ".\n" + rest
	if _, dn := v.verify(t.Context(), broken); dn != nil {
		t.Fatalf("go-jose's path refused the token with a line break (%s: %s); the test needs one it takes", dn.reason, dn.detail)
	}
	if n := len(v.cache.cur) + len(v.cache.old); n != 0 {
		t.Fatalf("a token with a line break entered the cache (%d entries)", n)
	}
	if _, _, hit := v.cached(broken); hit {
		t.Fatal("the token with a line break hit the cache")
	}
	if _, dn := v.verify(t.Context(), valid); dn != nil {
		t.Fatalf("the valid token: %s (%s)", dn.reason, dn.detail)
	}
	tok, key, hit := v.cached(valid)
	if !hit || tok.sub != "alice" || tok.sourceIdentity != SourceIdentity("alice") {
		t.Fatalf("the valid token: hit %v, %+v", hit, tok)
	}
	if key.input != sha256.Sum256([]byte(valid[:strings.LastIndexByte(valid, '.')])) {
		t.Error("the key's inner digest is not the SHA-256 of the signing input")
	}
	other := valid[:len(valid)-2] + "AA"
	if _, otherKey, hit := v.cached(other); hit || otherKey.key == key.key {
		t.Errorf("a token with another signature: hit %v, same key %v", hit, otherKey.key == key.key)
	}
}
