package gateway

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxCacheEntries bounds the result cache; past it, expired entries go first, then arbitrary ones
// until a tenth of the room is free again, so that the sweep (a pass over every entry) runs at
// most once per maxCacheEntries/10 new keys, not on every one: a verdict costs the same to cache
// however full the cache is.
const maxCacheEntries = 10000

// cacheRefill is how many entries a full cache keeps after a sweep.
const cacheRefill = maxCacheEntries - maxCacheEntries/10

// resultCache holds authorizer verdicts, allows and denies alike, for their TTL, keyed by the
// authorizer and its identity-source values, as API Gateway does. A cached verdict answers every
// request with the same key until it expires, whatever happened to the token meanwhile.
type resultCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	v       *verdict
	expires time.Time
}

func newResultCache() *resultCache {
	return &resultCache{entries: map[string]cacheEntry{}}
}

// cacheKey joins the authorizer's name and the identity-source values unambiguously.
func cacheKey(authorizer string, values []string) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(authorizer)))
	b.WriteByte(':')
	b.WriteString(authorizer)
	for _, v := range values {
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

func (c *resultCache) get(key string, now time.Time) (*verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.v, true
}

func (c *resultCache) put(key string, v *verdict, expires time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCacheEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) <= cacheRefill {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{v: v, expires: expires}
}

// Len is the number of cached verdicts (tests).
func (c *resultCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
