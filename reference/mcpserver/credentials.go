package mcpserver

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// cacheRefreshWindow is how long before expiry a cached session is replaced. Sessions last at
// least 900 s, so a cached one serves for at least ten minutes.
const cacheRefreshWindow = 5 * time.Minute

// assumer is the one STS call the server makes with the task role's credentials.
type assumer interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// sessionSource turns an Identity into that user's own temporary credentials.
type sessionSource struct {
	sts     assumer
	cache   *sessionCache // nil: a fresh AssumeRole for every call
	metrics *metrics
	clock   func() time.Time
	// renewTaskRole drops the task role's cached credentials, so that the next call fetches
	// fresh ones from the same provider (the container credentials endpoint); nil when the
	// credentials are static and cannot be renewed.
	renewTaskRole func()
	log           *slog.Logger
}

// cacheOutcome says where a call's credentials came from, for logs.
type cacheOutcome string

const (
	cacheOff  cacheOutcome = "off"
	cacheHit  cacheOutcome = "hit"
	cacheMiss cacheOutcome = "miss"
)

// credentials returns id's session credentials, from the cache when it holds a fresh entry
// for exactly this role, source identity, tag set and duration.
func (s *sessionSource) credentials(ctx context.Context, id Identity) (aws.Credentials, cacheOutcome, error) {
	if s.cache == nil {
		c, err := s.assume(ctx, id)
		return c, cacheOff, err
	}
	c, hit, err := s.cache.get(ctx, keyOf(id), func(ctx context.Context) (aws.Credentials, error) { return s.assume(ctx, id) })
	outcome := cacheMiss
	if hit {
		outcome = cacheHit
	}
	s.metrics.cacheLookups.WithLabelValues(string(outcome)).Inc()
	return c, outcome, err
}

// assume calls STS AssumeRole with the task role's credentials and checks that the answer is
// a session of the role asked for, carrying the source identity asked for.
func (s *sessionSource) assume(ctx context.Context, id Identity) (aws.Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(id.RoleARN),
		RoleSessionName: aws.String(sessionName(id.SourceIdentity)),
		SourceIdentity:  aws.String(id.SourceIdentity),
		DurationSeconds: aws.Int32(int32(id.Limits.SessionSeconds)),
	}
	for _, t := range id.Tags {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	start := s.clock()
	out, err := s.sts.AssumeRole(ctx, in)
	if err != nil && staleTaskRole(err) && s.renewTaskRole != nil {
		// STS no longer knows the task role's credentials (the AWS side restarted, or they were
		// revoked): fetch fresh ones from the same provider and try once more — never more,
		// never with other credentials.
		s.renewTaskRole()
		s.metrics.taskRoleRenewals.Inc()
		if s.log != nil {
			s.log.Warn("task role credentials refused by STS; fetched fresh ones and retried once", slog.String("error", err.Error()))
		}
		out, err = s.sts.AssumeRole(ctx, in)
	}
	s.metrics.assumeSeconds.Observe(s.clock().Sub(start).Seconds())
	if err == nil {
		err = checkAssumed(out, id)
	}
	if err != nil {
		res := resultError
		if isAccessDenied(err) {
			res = resultAccessDenied
		}
		s.metrics.assumeRole.WithLabelValues(res).Inc()
		return aws.Credentials{}, &awsCallError{action: "sts:AssumeRole", resource: id.RoleARN, err: err}
	}
	s.metrics.assumeRole.WithLabelValues(resultOK).Inc()
	c := out.Credentials
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken,
		Source: "mcpserver AssumeRole", CanExpire: true, Expires: *c.Expiration}, nil
}

// staleTaskRole reports whether STS refused the caller's own credentials as unknown or expired,
// which fresh task-role credentials can cure (unlike AccessDenied, which they cannot).
func staleTaskRole(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException":
		return true
	}
	return false
}

// checkAssumed refuses an AssumeRole answer that is incomplete or names another role: using
// such credentials could act for the wrong principal.
func checkAssumed(out *sts.AssumeRoleOutput, id Identity) error {
	if out == nil || out.Credentials == nil || out.Credentials.AccessKeyId == nil || out.Credentials.SecretAccessKey == nil ||
		out.Credentials.SessionToken == nil || out.Credentials.Expiration == nil || out.AssumedRoleUser == nil || out.AssumedRoleUser.Arn == nil {
		return untrustedAnswer("STS answered without complete credentials; refusing to continue")
	}
	got, err := arn.Parse(*out.AssumedRoleUser.Arn)
	want, _ := arn.Parse(id.RoleARN) // validated by ParseIdentity
	roleName := want.Resource[strings.LastIndex(want.Resource, "/")+1:]
	if err != nil || got.AccountID != want.AccountID || !strings.HasPrefix(got.Resource, "assumed-role/"+roleName+"/") {
		return untrustedAnswer("STS answered with a session of %s, not of %s; refusing to use it", *out.AssumedRoleUser.Arn, id.RoleARN)
	}
	if out.SourceIdentity != nil && *out.SourceIdentity != id.SourceIdentity {
		return untrustedAnswer("STS answered with source identity %q, not %q; refusing to use it", *out.SourceIdentity, id.SourceIdentity)
	}
	return nil
}

// sessionName derives a RoleSessionName from a source identity: STS's characters only, 2 to 64
// of them. ParseIdentity already holds source identities to that rule, so this returns them
// unchanged; it is defensive so that no input can make an invalid name.
func sessionName(sourceIdentity string) string {
	b := []byte(sourceIdentity)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	for len(b) < 2 {
		b = append(b, '-')
	}
	return string(b)
}

// cacheKey is everything an AssumeRole depends on: two requests share a session only when all
// of it is equal.
type cacheKey struct {
	role, sourceIdentity, tags string
	seconds                    int
}

// keyOf builds id's key; the tags are sorted and length-prefixed, so no two tag sets share
// an encoding.
func keyOf(id Identity) cacheKey {
	tags := slices.Clone(id.Tags)
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	var sb strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&sb, "%d:%s=%d:%s;", len(t.Key), t.Key, len(t.Value), t.Value)
	}
	return cacheKey{role: id.RoleARN, sourceIdentity: id.SourceIdentity, tags: sb.String(), seconds: id.Limits.SessionSeconds}
}

// sessionCache holds one entry per key. Each entry has its own lock, so that concurrent calls
// for one user make one AssumeRole while other users are not held up; waiting honours each
// caller's own deadline. Entries are kept in least-recently-used order, so finding, adding and
// evicting one costs the same however many are held.
type sessionCache struct {
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first; guarded by mu
	max     int
	// maxAge bounds how long one AssumeRole's answer serves (0: until cacheRefreshWindow
	// before it expires): a change to the role's trust policy reaches cached users by then.
	maxAge time.Duration
	clock  func() time.Time
}

type cacheEntry struct {
	lock    chan struct{} // a one-slot semaphore: holding it means fetching or reading creds
	creds   aws.Credentials
	fetched time.Time     // when creds were assumed
	key     cacheKey      // to delete the entry from the map when it is evicted
	elem    *list.Element // its place in sessionCache.lru; guarded by sessionCache.mu
}

func newSessionCache(max int, maxAge time.Duration, clock func() time.Time) *sessionCache {
	return &sessionCache{entries: map[cacheKey]*cacheEntry{}, max: max, maxAge: maxAge, clock: clock}
}

// fresh reports whether e's session may serve a call at now: it has keys, is not within the
// refresh window of its expiry, and is younger than the cache's maximum age.
func (c *sessionCache) fresh(e *cacheEntry, now time.Time) bool {
	return e.creds.HasKeys() && now.Add(cacheRefreshWindow).Before(e.creds.Expires) &&
		(c.maxAge == 0 || now.Before(e.fetched.Add(c.maxAge)))
}

func (c *sessionCache) get(ctx context.Context, k cacheKey, fetch func(context.Context) (aws.Credentials, error)) (aws.Credentials, bool, error) {
	e := c.entry(k)
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return aws.Credentials{}, false, &awsCallError{action: "sts:AssumeRole", resource: k.role, err: ctx.Err()}
	}
	defer func() { <-e.lock }()
	if c.fresh(e, c.clock()) {
		return e.creds, true, nil
	}
	fetched := c.clock()
	creds, err := fetch(ctx)
	if err != nil {
		e.creds = aws.Credentials{} // never serve a session after a failed refresh
		return aws.Credentials{}, false, err
	}
	e.creds, e.fetched = creds, fetched
	return creds, false, nil
}

func (c *sessionCache) entry(k cacheKey) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e.elem)
		return e
	}
	if len(c.entries) >= c.max {
		c.evict()
	}
	e := &cacheEntry{lock: make(chan struct{}, 1), key: k}
	e.elem = c.lru.PushFront(e)
	c.entries[k] = e
	return e
}

// evict drops the least recently used entry. A caller still holding it finishes with its own
// pointer; the entry is simply no longer found.
func (c *sessionCache) evict() {
	if oldest := c.lru.Back(); oldest != nil {
		e := c.lru.Remove(oldest).(*cacheEntry)
		delete(c.entries, e.key)
	}
}

// len is the number of entries (tests).
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
