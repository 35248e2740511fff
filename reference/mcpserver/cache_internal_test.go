package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// fakeSTS answers AssumeRole like STS, with credentials that name the call that made them.
type fakeSTS struct {
	now   func() time.Time
	calls atomic.Int64
	fail  atomic.Bool
	// refuse, while positive, answers that many calls with this STS error code.
	refuse     atomic.Int64
	refuseCode string
	block      chan struct{} // when set, AssumeRole waits for it (or ctx)
	// mutate, when set, tampers with the answer.
	mutate func(*sts.AssumeRoleOutput)
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	n := f.calls.Add(1)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail.Load() {
		return nil, errors.New("dial tcp 10.0.3.7:443: connect: connection refused")
	}
	if f.refuse.Add(-1) >= 0 {
		return nil, &smithy.GenericAPIError{Code: f.refuseCode, Message: "refused by the test"}
	}
	role := *in.RoleArn
	name := role[strings.LastIndex(role, "/")+1:]
	exp := f.now().Add(time.Duration(*in.DurationSeconds) * time.Second)
	out := &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{AccessKeyId: aws.String(fmt.Sprintf("AK%d|%s|%s|%v", n, role, *in.SourceIdentity, tagsOf(in))),
			SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"), Expiration: &exp},
		AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/" + name + "/" + *in.RoleSessionName)},
		SourceIdentity:  in.SourceIdentity,
	}
	if f.mutate != nil {
		f.mutate(out)
	}
	return out, nil
}

func tagsOf(in *sts.AssumeRoleInput) string {
	var parts []string
	for _, t := range in.Tags {
		parts = append(parts, *t.Key+"="+*t.Value)
	}
	return strings.Join(parts, ",")
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSource(cached bool) (*sessionSource, *fakeSTS, *testClock) {
	clock := &testClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	f := &fakeSTS{now: clock.Now}
	s := &sessionSource{sts: f, metrics: newMetrics(), clock: clock.Now}
	if cached {
		s.cache = newSessionCache(DefaultSessionCacheSize, 0, clock.Now)
	}
	return s, f, clock
}

func identity(role, user string, tags ...Tag) Identity {
	if len(tags) == 0 {
		tags = []Tag{{TenantTag, "acme"}}
	}
	return Identity{RoleARN: "arn:aws:iam::111122223333:role/" + role, SourceIdentity: user, Tags: tags, Tenant: "acme",
		Limits: Limits{SessionSeconds: DefaultSessionSeconds}}
}

func TestTheCacheRefreshesASessionBeforeItExpires(t *testing.T) {
	s, f, clock := newSource(true)
	id := identity("quilt-mcp-target-acme", "usr-a")
	step := func(advance time.Duration, want cacheOutcome) aws.Credentials {
		t.Helper()
		clock.Advance(advance)
		c, got, err := s.credentials(t.Context(), id)
		if err != nil || got != want {
			t.Fatalf("after %v: outcome %s (%v), want %s", advance, got, err, want)
		}
		return c
	}
	first := step(0, cacheMiss)
	if again := step(9*time.Minute, cacheHit); again.AccessKeyID != first.AccessKeyID {
		t.Fatalf("a hit returned other credentials")
	}
	// 15-minute sessions are replaced once within 5 minutes of expiry.
	if renewed := step(time.Minute+time.Second, cacheMiss); renewed.AccessKeyID == first.AccessKeyID {
		t.Fatalf("the session was not renewed")
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

// The maximum age bounds a cached session well before its expiry: a trust-policy change reaches
// a cached user by then.
func TestTheCacheMaxAgeBoundsASessionsUse(t *testing.T) {
	s, f, clock := newSource(true)
	s.cache.maxAge = 2 * time.Minute
	id := identity("quilt-mcp-target-acme", "usr-a")
	creds := func() (aws.Credentials, cacheOutcome) {
		t.Helper()
		c, got, err := s.credentials(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c, got
	}
	first, _ := creds()
	clock.Advance(2*time.Minute - time.Second)
	if c, got := creds(); got != cacheHit || c.AccessKeyID != first.AccessKeyID {
		t.Fatalf("within the maximum age: outcome %s, key %s, want a hit on %s", got, c.AccessKeyID, first.AccessKeyID)
	}
	clock.Advance(time.Second)
	if c, got := creds(); got != cacheMiss || c.AccessKeyID == first.AccessKeyID {
		t.Fatalf("at the maximum age (the session still has 13 minutes): outcome %s, want a fresh AssumeRole", got)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

func TestAFailedAssumeRoleIsNotCachedAndDropsTheOldSession(t *testing.T) {
	s, f, clock := newSource(true)
	id := identity("quilt-mcp-target-acme", "usr-a")
	if _, _, err := s.credentials(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	clock.Advance(11 * time.Minute) // due for refresh
	f.fail.Store(true)
	if _, _, err := s.credentials(t.Context(), id); err == nil || !strings.Contains(err.Error(), "sts:AssumeRole") {
		t.Fatalf("a failed refresh: %v, want an sts:AssumeRole error", err)
	}
	clock.Advance(-10 * time.Minute) // even while the old session would still be "fresh"
	if _, _, err := s.credentials(t.Context(), id); err == nil {
		t.Fatal("the session from before the failed refresh was served again")
	}
	f.fail.Store(false)
	if _, got, err := s.credentials(t.Context(), id); err != nil || got != cacheMiss {
		t.Fatalf("after STS recovers: %s %v, want a fresh AssumeRole", got, err)
	}
}

func TestCacheKeysSeparateEveryInputOfAssumeRole(t *testing.T) {
	base := identity("r", "usr-a", Tag{"tenant", "acme"}, Tag{"team", "x"})
	same := identity("r", "usr-a", Tag{"team", "x"}, Tag{"tenant", "acme"})
	if keyOf(base) != keyOf(same) {
		t.Error("the order of tags changed the key")
	}
	longer := base
	longer.Limits.SessionSeconds = 3600
	for name, other := range map[string]Identity{
		"another role":              identity("r2", "usr-a", Tag{"tenant", "acme"}, Tag{"team", "x"}),
		"another source identity":   identity("r", "usr-b", Tag{"tenant", "acme"}, Tag{"team", "x"}),
		"another tag value":         identity("r", "usr-a", Tag{"tenant", "globex"}, Tag{"team", "x"}),
		"a missing tag":             identity("r", "usr-a", Tag{"tenant", "acme"}),
		"a tag value that smuggles": identity("r", "usr-a", Tag{"tenant", "acme;4:team=1:x"}),
		"another duration":          longer,
	} {
		if keyOf(other) == keyOf(base) {
			t.Errorf("%s shares the key", name)
		}
	}
}

func TestConcurrentCallsForOneKeyMakeOneAssumeRole(t *testing.T) {
	s, f, _ := newSource(true)
	id := identity("quilt-mcp-target-acme", "usr-a")
	var wg sync.WaitGroup
	keys := make(chan string, 50)
	for range 50 {
		wg.Go(func() {
			c, _, err := s.credentials(context.Background(), id)
			if err != nil {
				t.Error(err)
			}
			keys <- c.AccessKeyID
		})
	}
	wg.Wait()
	close(keys)
	first := <-keys
	for k := range keys {
		if k != first {
			t.Fatalf("callers of one key got different sessions: %s and %s", first, k)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1", n)
	}
}

func TestAWaitingCallerGivesUpAtItsOwnDeadline(t *testing.T) {
	s, f, _ := newSource(true)
	f.block = make(chan struct{})
	id := identity("quilt-mcp-target-acme", "usr-a")
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		close(started)
		_, _, err := s.credentials(context.Background(), id)
		done <- err
	}()
	<-started
	for f.calls.Load() == 0 { // until the first caller holds the entry
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.credentials(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiting caller whose context ended: %v, want context.Canceled", err)
	}
	close(f.block)
	if err := <-done; err != nil {
		t.Errorf("the first caller: %v", err)
	}
}

func TestTheCacheEvictsTheLeastRecentlyUsedEntry(t *testing.T) {
	clock := &testClock{now: time.Now()}
	c := newSessionCache(2, 0, clock.Now)
	fetch := func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "s", CanExpire: true, Expires: clock.Now().Add(time.Hour)}, nil
	}
	for i, k := range []cacheKey{{role: "a"}, {role: "b"}, {role: "a"}, {role: "c"}} {
		clock.Advance(time.Second)
		if _, _, err := c.get(t.Context(), k, fetch); err != nil {
			t.Fatal(i, err)
		}
	}
	if c.len() != 2 {
		t.Fatalf("%d entries, want 2", c.len())
	}
	if _, hit, _ := c.get(t.Context(), cacheKey{role: "a"}, fetch); !hit {
		t.Error("the recently used entry was evicted")
	}
	if _, hit, _ := c.get(t.Context(), cacheKey{role: "b"}, fetch); hit {
		t.Error("the least recently used entry was kept")
	}
}

func TestAnAssumeRoleAnswerForAnotherPrincipalIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*sts.AssumeRoleOutput)
		want   string
	}{
		{"a session of another role is refused", func(o *sts.AssumeRoleOutput) {
			o.AssumedRoleUser.Arn = aws.String("arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-globex/usr-a")
		}, "not of"},
		{"a session in another account is refused", func(o *sts.AssumeRoleOutput) {
			o.AssumedRoleUser.Arn = aws.String("arn:aws:sts::444455556666:assumed-role/quilt-mcp-target-acme/usr-a")
		}, "not of"},
		{"a session with another source identity is refused", func(o *sts.AssumeRoleOutput) { o.SourceIdentity = aws.String("usr-b") }, "source identity"},
		{"an answer without credentials is refused", func(o *sts.AssumeRoleOutput) { o.Credentials = nil }, "without complete credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f, _ := newSource(false)
			f.mutate = tc.mutate
			_, _, err := s.credentials(t.Context(), identity("quilt-mcp-target-acme", "usr-a"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAssumeRoleTakesItsInputsFromTheIdentity(t *testing.T) {
	s, f, clock := newSource(false)
	var got *sts.AssumeRoleInput
	f.mutate = func(*sts.AssumeRoleOutput) {}
	rec := &recordingSTS{fakeSTS: f, in: &got}
	s.sts = rec
	id := identity("quilt-mcp-target-acme", "usr-00u8c2d9", Tag{"tenant", "acme"}, Tag{"team", "data"})
	id.Limits.SessionSeconds = 3600
	c, _, err := s.credentials(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if *got.RoleArn != id.RoleARN || *got.RoleSessionName != "usr-00u8c2d9" || *got.SourceIdentity != "usr-00u8c2d9" ||
		*got.DurationSeconds != 3600 || tagsOf(got) != "tenant=acme,team=data" || len(got.TransitiveTagKeys) != 0 || got.Policy != nil {
		t.Errorf("AssumeRole input %+v", got)
	}
	if !c.Expires.Equal(clock.Now().Add(time.Hour)) || !c.CanExpire {
		t.Errorf("credentials expire at %v, want in one hour", c.Expires)
	}
}

type recordingSTS struct {
	*fakeSTS
	in **sts.AssumeRoleInput
}

func (r *recordingSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, o ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	*r.in = in
	return r.fakeSTS.AssumeRole(ctx, in, o...)
}

// TestTaskRoleCredentialsHealOnce: when STS refuses the task role's own credentials as unknown
// or expired (the AWS side restarted), the server fetches fresh ones and retries once; a
// second refusal, or an AccessDenied, is the answer.
func TestTaskRoleCredentialsHealOnce(t *testing.T) {
	id := Identity{RoleARN: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", SourceIdentity: "usr-alice", Tenant: "acme",
		Limits: Limits{SessionSeconds: 900}}
	for _, tc := range []struct {
		code              string
		refusals          int64
		wantRenewals      int
		wantCalls         int64
		wantErrorContains string
	}{
		{"InvalidClientTokenId", 1, 1, 2, ""},
		{"ExpiredToken", 1, 1, 2, ""},
		{"InvalidClientTokenId", 2, 1, 2, "InvalidClientTokenId"},
		{"AccessDenied", 1, 0, 1, "AccessDenied"},
	} {
		t.Run(fmt.Sprintf("%s ×%d", tc.code, tc.refusals), func(t *testing.T) {
			s, f, _ := newSource(false)
			f.refuseCode = tc.code
			f.refuse.Store(tc.refusals)
			renewals := 0
			s.renewTaskRole = func() { renewals++ }
			_, _, err := s.credentials(context.Background(), id)
			if renewals != tc.wantRenewals || f.calls.Load() != tc.wantCalls {
				t.Errorf("%d renewals and %d AssumeRole calls, want %d and %d", renewals, f.calls.Load(), tc.wantRenewals, tc.wantCalls)
			}
			if tc.wantErrorContains == "" && err != nil || tc.wantErrorContains != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrorContains)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErrorContains)
			}
		})
	}
}

// TestAnUnreachableAWSIsNamedWithoutItsAddress: the tool error names the operation and the
// request id; the internal address stays in the cause, for the log.
func TestAnUnreachableAWSIsNamedWithoutItsAddress(t *testing.T) {
	s, f, _ := newSource(false)
	f.fail.Store(true)
	_, _, err := s.credentials(context.Background(), Identity{RoleARN: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
		SourceIdentity: "usr-alice", Limits: Limits{SessionSeconds: 900}})
	var ae *awsCallError
	if !errors.As(err, &ae) {
		t.Fatalf("%v: not an awsCallError", err)
	}
	ae.requestID = "req-123"
	msg := ae.Error()
	if !strings.Contains(msg, "sts:AssumeRole") || !strings.Contains(msg, "AWS unavailable") || !strings.Contains(msg, "req-123") ||
		strings.Contains(msg, "10.0.3.7") || strings.Contains(msg, "dial") {
		t.Errorf("tool error %q: want the operation, AWS unavailable and the request id, no address", msg)
	}
	if !strings.Contains(ae.err.Error(), "10.0.3.7") {
		t.Errorf("the cause for the log lost the address: %v", ae.err)
	}
}

// TestASlowAWSIsNamedWithTheRequestID: AWS that does not answer before --request-timeout is a
// tool error naming the operation and the request id, as an unreachable one is (the frozen-AWS
// case of TestTheStackSurvivesItsFaults in harness/cmd/mcpsso sees it through the gateway).
func TestASlowAWSIsNamedWithTheRequestID(t *testing.T) {
	ae := &awsCallError{action: "sts:AssumeRole", resource: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
		err: fmt.Errorf("operation error STS: AssumeRole: %w", context.DeadlineExceeded), requestID: "req-123"}
	if msg := ae.Error(); !strings.Contains(msg, "sts:AssumeRole") || !strings.Contains(msg, "deadline") || !strings.Contains(msg, "request id req-123") {
		t.Errorf("tool error %q: want the operation, the deadline and the request id", msg)
	}
}
