package mcpserver

import (
	"strconv"
	"testing"
	"time"
)

// Past maxLimiterUsers, users idle for a minute are forgotten, least recently seen first, and
// users seen within the minute are kept (forgetting them would hand them a fresh burst).
func TestTheLimiterForgetsOnlyIdleUsersWhenFull(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	l := newRateLimiter(clock.Now)
	for i := range maxLimiterUsers - 1 {
		l.allow("idle-"+strconv.Itoa(i), 60)
	}
	clock.Advance(30 * time.Second)
	if ok, _ := l.allow("busy", 1); !ok {
		t.Fatal("busy's first request was refused")
	}
	clock.Advance(31 * time.Second) // the idle users' last request is 61 s old, busy's 31 s
	l.allow("newcomer", 60)
	if n := len(l.buckets); n != 2 || l.recent.Len() != 2 {
		t.Fatalf("%d users (%d in order) remembered, want busy and newcomer", n, l.recent.Len())
	}
	if ok, _ := l.allow("busy", 1); ok {
		t.Error("busy (1 request per minute, used 31 s ago) was forgotten and given a fresh burst")
	}
}
