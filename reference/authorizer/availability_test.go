package authorizer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// wantUnavailable checks that a decision failed closed as unavailable: a deny, an error (500
// in both adapters, never "Unauthorized"), and the metric.
func wantUnavailable(t *testing.T, a *authorizer.Authorizer, tok string, reason authorizer.Reason) {
	t.Helper()
	ctx := context.Background()
	d, err := a.Decide(ctx, bearer(tok))
	var ue *authorizer.UnavailableError
	if d.Allow || d.Reason != reason || !errors.As(err, &ue) || ue.Reason != reason {
		t.Fatalf("decision %v %s (%s), error %v; want a deny %s with an UnavailableError", d.Allow, d.Reason, d.Detail, err, reason)
	}
	if resp, err := a.HTTPAPI(ctx, httpEvent("Bearer "+tok)); err == nil || resp.IsAuthorized {
		t.Errorf("HTTP API adapter %+v, %v; want an error", resp, err)
	}
	if _, err := a.REST(ctx, restEvent("Bearer "+tok)); err == nil || err.Error() == "Unauthorized" {
		t.Errorf("REST adapter error %v; want an error other than Unauthorized (a 500)", err)
	}
	if n := metric(t, a, "authorizer_decisions_total", map[string]string{"reason": string(reason)}); n < 1 {
		t.Errorf("authorizer_decisions_total{reason=%s} is %v", reason, n)
	}
}

func TestAnUnreachableIdPDeniesAndNeverAllows(t *testing.T) {
	t.Run("a cold authorizer whose IdP is stopped denies as idp_unavailable", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, "alice")
		if err := e.idp.Close(); err != nil {
			t.Fatal(err)
		}
		wantUnavailable(t, e.az, tok, authorizer.ReasonIdPUnavailable)
		if n := metric(t, e.az, "authorizer_dependency_errors_total", map[string]string{"dependency": "idp"}); n != 1 {
			t.Errorf("authorizer_dependency_errors_total{dependency=idp} is %v, want 1 (later decisions meet the rate limit)", n)
		}
		if n := metric(t, e.az, "authorizer_jwks_fetches_total", map[string]string{"result": "error"}); n != 1 {
			t.Errorf("authorizer_jwks_fetches_total{result=error} is %v, want 1", n)
		}
	})
	t.Run("a JWKS answering 500 denies as idp_unavailable", func(t *testing.T) {
		e := newEnv(t, authorizer.WithJWKSURL(strings.TrimSuffix(newEnvIssuer(t), "/")+"/no-such-jwks"))
		wantUnavailable(t, e.az, e.token(t, "alice"), authorizer.ReasonIdPUnavailable)
	})
	t.Run("a warm cache keeps verifying known keys while the IdP is down", func(t *testing.T) {
		e := newEnv(t)
		e.decide(t, bearer(e.token(t, "alice")))
		e.tr.down.Store(true)
		e.clock.Advance(2 * time.Hour) // past the max age: a refresh is due and fails
		if d := e.decide(t, bearer(e.token(t, "bob"))); !d.Allow {
			t.Fatalf("bob with a cached key: %s %s", d.Reason, d.Detail)
		}
	})
	t.Run("a rotated key that cannot be fetched denies as idp_unavailable", func(t *testing.T) {
		e := newEnv(t)
		e.decide(t, bearer(e.token(t, "alice")))
		if _, err := e.idp.RotateKey(mockidp.RS256); err != nil {
			t.Fatal(err)
		}
		e.tr.down.Store(true)
		e.clock.Advance(2 * time.Minute)
		wantUnavailable(t, e.az, e.token(t, "alice"), authorizer.ReasonIdPUnavailable)
	})
	t.Run("the cold-start retry waits a second, so a recovered IdP is used at once after it", func(t *testing.T) {
		e := newEnv(t)
		e.tr.down.Store(true)
		tok := e.token(t, "alice")
		wantUnavailable(t, e.az, tok, authorizer.ReasonIdPUnavailable)
		e.tr.down.Store(false)
		wantUnavailable(t, e.az, tok, authorizer.ReasonIdPUnavailable) // within the retry interval
		e.clock.Advance(time.Second)
		if d := e.decide(t, bearer(tok)); !d.Allow {
			t.Fatalf("after recovery: %s %s", d.Reason, d.Detail)
		}
	})
}

// withKID rewrites a token's kid header: the signature no longer matches, but a verifier
// that looks the kid up first meets an unknown kid, which is all an attacker needs to send.
func withKID(t testing.TB, tok, kid string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h["kid"] = kid
	raw, _ = json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + parts[1] + "." + parts[2]
}

// newEnvIssuer starts a second IdP only for its address (a path it does not serve).
func newEnvIssuer(t *testing.T) string {
	return startIdP(t, newFakeClock()).IssuerURL()
}

func TestUnknownKeyIDsCannotAmplifyIntoJWKSFetches(t *testing.T) {
	e := newEnv(t)
	e.decide(t, bearer(e.token(t, "alice")))
	if n := e.tr.jwks.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches after the first token, want 1", n)
	}
	valid := e.token(t, "alice")
	for i := range 50 {
		if d := e.decide(t, bearer(withKID(t, valid, fmt.Sprintf("random-%d", i)))); d.Reason != authorizer.ReasonInvalidSignature {
			t.Fatalf("unknown kid: %s %s", d.Reason, d.Detail)
		}
	}
	if n := e.tr.jwks.Load(); n != 1 {
		t.Errorf("50 unknown kids within the interval made %d JWKS fetches, want 1", n)
	}
	if n := metric(t, e.az, "authorizer_jwks_refetches_suppressed_total", nil); n != 50 {
		t.Errorf("suppressed refetches %v, want 50", n)
	}
	e.clock.Advance(authorizer.DefaultJWKSRefetchInterval)
	for i := range 50 {
		e.decide(t, bearer(withKID(t, valid, fmt.Sprintf("later-%d", i))))
	}
	if n := e.tr.jwks.Load(); n != 2 {
		t.Errorf("after the interval, 50 unknown kids made %d fetches in all, want 2", n)
	}
}

func TestConcurrentColdStartsShareOneJWKSFetch(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "alice")
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			if d, err := e.az.Decide(context.Background(), bearer(tok)); err != nil || !d.Allow {
				errs <- string(d.Reason) + ": " + d.Detail
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.tr.jwks.Load(); n != 1 {
		t.Errorf("20 concurrent first tokens made %d JWKS fetches, want 1", n)
	}
}

func TestARotatedKeyIsFetchedOnItsFirstToken(t *testing.T) {
	e := newEnv(t)
	e.decide(t, bearer(e.token(t, "alice")))
	e.clock.Advance(authorizer.DefaultJWKSRefetchInterval)
	if _, err := e.idp.RotateKey(mockidp.ES256); err != nil {
		t.Fatal(err)
	}
	if d := e.decide(t, bearer(e.token(t, "alice"))); !d.Allow {
		t.Fatalf("a token signed with the rotated ES256 key: %s %s", d.Reason, d.Detail)
	}
	if n := e.tr.jwks.Load(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
}

func TestAFailingRoleStoreDeniesAndNeverAllows(t *testing.T) {
	e := newEnv(t)
	a := e.authorizer(t, authorizer.WithRoleStore(downStore{}))
	wantUnavailable(t, a, e.token(t, "alice"), authorizer.ReasonRoleStoreUnavailable)
	if n := metric(t, a, "authorizer_dependency_errors_total", map[string]string{"dependency": "role_store"}); n != 3 {
		t.Errorf("authorizer_dependency_errors_total{dependency=role_store} is %v, want 3 (one per decision)", n)
	}
	if !strings.Contains(e.logs.String(), errStoreDown.Error()) {
		t.Error("the log does not say why the store failed")
	}
}

func TestDiscoveryFindsTheJWKSOrFailsNew(t *testing.T) {
	clock := newFakeClock()
	p := startIdP(t, clock)
	store := fixtureStore(t)
	a, err := authorizer.New(context.Background(), authorizer.WithIssuer(p.IssuerURL()), authorizer.WithRoleStore(store),
		authorizer.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if a.JWKSURL() != p.JWKSURL() {
		t.Errorf("discovered %s, want %s", a.JWKSURL(), p.JWKSURL())
	}
	tok, err := p.TokenFor(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := a.Decide(context.Background(), bearer(tok)); err != nil || !d.Allow {
		t.Fatalf("decision %s %s, %v", d.Reason, d.Detail, err)
	}
	// An issuer whose discovery document names another issuer is refused (exact match).
	if _, err := authorizer.New(context.Background(), authorizer.WithIssuer(p.IssuerURL()+"/"), authorizer.WithRoleStore(store)); err == nil {
		t.Error("New accepted an issuer that differs from the discovery document's by a slash")
	}
	_ = p.Close()
	if _, err := authorizer.New(context.Background(), authorizer.WithIssuer(p.IssuerURL()), authorizer.WithRoleStore(store),
		authorizer.WithDiscoveryTimeout(2*time.Second)); err == nil || !strings.Contains(err.Error(), "WithJWKSURL") {
		t.Errorf("New with the IdP down: %v, want a discovery error", err)
	}
}

// TestAnIdPKeyRotationIsNoOutage: an IdP restarting with a new signing key (as a real IdP's
// rotation looks to an authorizer) — the first token with the new key is accepted within the
// refetch interval (5 s) after the last fetch, and within a second of the IdP answering again
// when it was down; a token of the key the IdP dropped is refused once the JWKS is refetched.
func TestAnIdPKeyRotationIsNoOutage(t *testing.T) {
	t.Run("the IdP rotates while it is up", func(t *testing.T) {
		e := newEnv(t)
		old := e.token(t, "alice")
		e.decide(t, bearer(old))
		oldKID := e.idp.Keys()[0].ID
		if _, err := e.idp.RotateKey(mockidp.RS256); err != nil {
			t.Fatal(err)
		}
		if err := e.idp.RetireKey(oldKID); err != nil {
			t.Fatal(err)
		}
		rotated := e.token(t, "alice")
		e.clock.Advance(time.Second)
		if d := e.decide(t, bearer(rotated)); d.Allow || d.Reason != authorizer.ReasonInvalidSignature {
			t.Fatalf("a new kid a second after a fetch: %v %s; want the rate limit's invalid_signature deny", d.Allow, d.Reason)
		}
		e.clock.Advance(authorizer.DefaultJWKSRefetchInterval - time.Second)
		if d := e.decide(t, bearer(rotated)); !d.Allow {
			t.Fatalf("the rotated key %v after the last fetch: %s %s", authorizer.DefaultJWKSRefetchInterval, d.Reason, d.Detail)
		}
		if authorizer.DefaultJWKSRefetchInterval > 5*time.Second {
			t.Errorf("DefaultJWKSRefetchInterval %v: a rotated key must be accepted within 5 s", authorizer.DefaultJWKSRefetchInterval)
		}
		if d := e.decide(t, bearer(old)); d.Allow {
			t.Errorf("a token of the retired key was accepted after the refetch (cached token: %s)", d.Detail)
		}
	})
	t.Run("the IdP was down and comes back with a new key", func(t *testing.T) {
		e := newEnv(t, authorizer.WithoutTokenCache())
		e.decide(t, bearer(e.token(t, "alice")))
		oldKID := e.idp.Keys()[0].ID
		e.tr.down.Store(true)
		if _, err := e.idp.RotateKey(mockidp.ES256); err != nil {
			t.Fatal(err)
		}
		if err := e.idp.RetireKey(oldKID); err != nil {
			t.Fatal(err)
		}
		rotated := e.token(t, "alice")
		e.clock.Advance(authorizer.DefaultJWKSRefetchInterval)
		wantUnavailable(t, e.az, rotated, authorizer.ReasonIdPUnavailable)
		e.tr.down.Store(false)
		e.clock.Advance(time.Second)
		if d := e.decide(t, bearer(rotated)); !d.Allow {
			t.Fatalf("a second after the IdP answers again: %s %s", d.Reason, d.Detail)
		}
	})
}
