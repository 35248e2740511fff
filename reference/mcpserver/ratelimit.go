package mcpserver

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// maxLimiterUsers bounds the limiter's memory; past it, users whose bucket has refilled (idle
// for a minute or more, so forgetting them changes nothing) are dropped, least recently seen
// first. Users are kept in the order they were last seen, so a request costs the same however
// many users are remembered (each forgotten user was paid for when it was added).
const maxLimiterUsers = 100000

// rateLimiter is a token bucket per source identity: a user may send requestsPerMinute
// requests in a burst, and regains one every 60/requestsPerMinute seconds. Limits are per
// server instance; several instances behind one gateway each apply them.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*tokenBucket
	recent  list.List // of *tokenBucket, most recently seen first
	clock   func() time.Time
}

type tokenBucket struct {
	tokens float64
	perMin int
	last   time.Time
	user   string
	elem   *list.Element // its place in rateLimiter.recent
}

func newRateLimiter(clock func() time.Time) *rateLimiter {
	return &rateLimiter{buckets: map[string]*tokenBucket{}, clock: clock}
}

// allow takes one token from user's bucket, or says how long until one is available.
func (l *rateLimiter) allow(user string, perMin int) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	b, ok := l.buckets[user]
	if ok {
		l.recent.MoveToFront(b.elem)
	} else {
		if len(l.buckets) >= maxLimiterUsers {
			l.forgetIdle(now)
		}
		b = &tokenBucket{tokens: float64(perMin), perMin: perMin, last: now, user: user}
		b.elem = l.recent.PushFront(b)
		l.buckets[user] = b
	}
	b.refill(now, perMin)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(time.Minute) / float64(perMin))
	return false, wait
}

// refill adds the tokens earned since last, at the user's current limit (the gateway may
// change it between requests), capped at one minute's worth.
func (b *tokenBucket) refill(now time.Time, perMin int) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens += elapsed.Minutes() * float64(perMin)
	}
	b.last = now
	b.perMin = perMin
	b.tokens = math.Min(b.tokens, float64(perMin))
}

// forgetIdle drops the users idle for a minute or more, from the least recently seen on; it
// stops at the first user seen within the minute, since every user after it was seen later.
func (l *rateLimiter) forgetIdle(now time.Time) {
	for e := l.recent.Back(); e != nil; e = l.recent.Back() {
		b := e.Value.(*tokenBucket)
		if now.Sub(b.last) < time.Minute {
			return
		}
		l.recent.Remove(e)
		delete(l.buckets, b.user)
	}
}

// retryAfterSeconds renders a wait as Retry-After's whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
