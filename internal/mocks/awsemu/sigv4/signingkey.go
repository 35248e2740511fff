package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. Every temporary credential
// STS issues brings a new secret, so the cache is emptied when full rather
// than allowed to grow with them.
const maxCachedKeys = 4096

// keyCache holds derived SigV4 signing keys. A key depends only on the
// secret and the scope's date, region and service, so the four HMACs of its
// derivation run once per day and scope, not once per request.
type keyCache struct {
	mu   sync.Mutex
	keys map[keyID][sha256.Size]byte
}

type keyID struct{ secret, date, region, service string }

func (c *keyCache) signingKey(secret string, sc Scope) [sha256.Size]byte {
	id := keyID{secret, sc.Date, sc.Region, sc.Service}
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, sc)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[keyID][sha256.Size]byte)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

// deriveSigningKey is HMAC("AWS4"+secret, date) → region → service →
// "aws4_request", as SigV4 defines it.
func deriveSigningKey(secret string, sc Scope) [sha256.Size]byte {
	key := []byte("AWS4" + secret)
	for _, part := range [...]string{sc.Date, sc.Region, sc.Service, scopeTerminator} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(part))
		key = mac.Sum(nil)
	}
	return [sha256.Size]byte(key)
}
