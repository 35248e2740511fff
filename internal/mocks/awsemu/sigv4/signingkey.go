package sigv4

import (
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
// "aws4_request", as SigV4 defines it. Every new STS session brings a new
// secret, so each first request of a session derives its key.
func deriveSigningKey(secret string, sc Scope) [sha256.Size]byte {
	var buf, first [sha256.BlockSize + 64]byte // a block and a scope part; the first key
	key := hmacSHA256(buf[:0], append(append(first[:0], "AWS4"...), secret...), sc.Date)
	for _, part := range [...]string{sc.Region, sc.Service, scopeTerminator} {
		key = hmacSHA256(buf[:0], key[:], part)
	}
	return key
}

// hmacSHA256 is HMAC-SHA256 (RFC 2104) of msg under key, with buf as its
// scratch space: crypto/hmac allocates two digests and their pads per call,
// and the verifier calls it per request (five times when it derives a key).
func hmacSHA256[T string | []byte](buf, key []byte, msg T) [sha256.Size]byte {
	var k [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	b := buf[:0]
	for _, c := range k {
		b = append(b, c^0x36)
	}
	b = append(b, msg...)
	inner := sha256.Sum256(b)
	b = b[:0]
	for _, c := range k {
		b = append(b, c^0x5c)
	}
	b = append(b, inner[:]...)
	return sha256.Sum256(b)
}
