package authorizer

import (
	"crypto/sha256"
	"fmt"
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
