package authorizer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// mutableStore lets a test change a mapping between decisions.
type mutableStore struct {
	mu sync.Mutex
	m  authorizer.Mapping
}

func (s *mutableStore) Lookup(context.Context, string, string) (authorizer.Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, nil
}

func TestTheVerifiedTokenCacheNeverOutlivesItsBounds(t *testing.T) {
	t.Run("a cached token is denied once it expires", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, "alice", mockidp.WithTokenTTL(time.Minute))
		e.decide(t, bearer(tok))
		e.clock.Advance(2 * time.Minute)
		if d := e.decide(t, bearer(tok)); d.Reason != authorizer.ReasonTokenExpired {
			t.Fatalf("decision %s (%s), want token_expired", d.Reason, d.Detail)
		}
	})
	t.Run("a cached token whose key was withdrawn is refused once the JWKS is refetched", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, "alice")
		old := e.idp.Keys()[0].ID
		e.decide(t, bearer(tok))
		if d := e.decide(t, bearer(tok)); !d.Allow {
			t.Fatalf("the cached token before the rotation: %s (%s)", d.Reason, d.Detail)
		}
		if _, err := e.idp.RotateKey(mockidp.RS256); err != nil {
			t.Fatal(err)
		}
		if err := e.idp.RetireKey(old); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(authorizer.DefaultJWKSRefetchInterval)
		if d := e.decide(t, bearer(e.token(t, "bob"))); !d.Allow { // a new kid: the JWKS is fetched again, without the old key
			t.Fatalf("bob: %s (%s)", d.Reason, d.Detail)
		}
		if d := e.decide(t, bearer(tok)); d.Reason != authorizer.ReasonInvalidSignature {
			t.Fatalf("the cached token of the withdrawn key: %s (%s), want invalid_signature", d.Reason, d.Detail)
		}
	})
	t.Run("without the cache the withdrawn key fails at once", func(t *testing.T) {
		e := newEnv(t, authorizer.WithoutTokenCache())
		tok := e.token(t, "alice")
		old := e.idp.Keys()[0].ID
		e.decide(t, bearer(tok))
		if _, err := e.idp.RotateKey(mockidp.RS256); err != nil {
			t.Fatal(err)
		}
		if err := e.idp.RetireKey(old); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(authorizer.DefaultJWKSRefetchInterval)
		e.decide(t, bearer(e.token(t, "bob")))
		if d := e.decide(t, bearer(tok)); d.Reason != authorizer.ReasonInvalidSignature {
			t.Fatalf("decision %s (%s), want invalid_signature", d.Reason, d.Detail)
		}
	})
	t.Run("a cached token with an altered signature is verified and denied", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, "alice")
		e.decide(t, bearer(tok))
		last := tok[len(tok)-2]
		swap := byte('A')
		if last == 'A' {
			swap = 'B'
		}
		altered := tok[:len(tok)-2] + string(swap) + tok[len(tok)-1:]
		if d := e.decide(t, bearer(altered)); d.Reason != authorizer.ReasonInvalidSignature {
			t.Fatalf("decision %s (%s), want invalid_signature", d.Reason, d.Detail)
		}
	})
	t.Run("the role lookup runs on every request, cached token or not", func(t *testing.T) {
		e := newEnv(t)
		store := &mutableStore{m: authorizer.Mapping{RoleARN: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", Tags: map[string]string{"tenant": "acme"}}}
		a := e.authorizer(t, authorizer.WithRoleStore(store))
		tok := e.token(t, "alice")
		if d, _ := a.Decide(context.Background(), bearer(tok)); !d.Allow {
			t.Fatalf("first: %s", d.Reason)
		}
		store.mu.Lock()
		store.m.Tags = map[string]string{"tenant": "globex"}
		store.mu.Unlock()
		if d, _ := a.Decide(context.Background(), bearer(tok)); d.Reason != authorizer.ReasonTenantMismatch {
			t.Fatalf("after the mapping changed: %s (%s), want tenant_mismatch", d.Reason, d.Detail)
		}
	})
}
