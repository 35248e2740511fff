package authorizer

import (
	"crypto/sha256"
	"sync"
	"time"
)

// tokenCache remembers tokens that passed every check, so that a client presenting the same
// token again (an MCP session does, for up to an hour) costs a hash and a map lookup instead
// of a signature verification. Only verified tokens enter it, keyed by the SHA-256 of the
// whole token, signature included, so a forgery can never hit an entry. An entry lives until
// the token's exp or the cache TTL, whichever comes first; the role lookup is never cached.
// Two generations bound the memory: when the current one is full it becomes the old one and
// the previous old one is dropped (an approximate LRU with O(1) work).
type tokenCache struct {
	mu       sync.Mutex
	cur, old map[[sha256.Size]byte]cachedToken
	perGen   int
	ttl      time.Duration
}

type cachedToken struct {
	tok   verifiedToken
	until time.Time
}

func newTokenCache(entries int, ttl time.Duration) *tokenCache {
	perGen := max(entries/2, 1)
	return &tokenCache{cur: make(map[[sha256.Size]byte]cachedToken, perGen), perGen: perGen, ttl: ttl}
}

func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cur[key]
	if !ok {
		if e, ok = c.old[key]; ok {
			c.putLocked(key, e)
		}
	}
	if !ok || !now.Before(e.until) {
		return verifiedToken{}, false
	}
	return e.tok, true
}

func (c *tokenCache) put(key [sha256.Size]byte, tok verifiedToken, now time.Time) {
	until := now.Add(c.ttl)
	if tok.expiry.Before(until) {
		until = tok.expiry
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, cachedToken{tok: tok, until: until})
}

func (c *tokenCache) putLocked(key [sha256.Size]byte, e cachedToken) {
	if len(c.cur) >= c.perGen {
		c.old, c.cur = c.cur, make(map[[sha256.Size]byte]cachedToken, c.perGen)
	}
	c.cur[key] = e
}
