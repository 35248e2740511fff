package gateway

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// tokenExpiring is an authorizer that allows "Bearer exp=UNIX" until that time on clock, with
// the expiry in its context.
func tokenExpiring(clock *fakeClock, calls *counter) HTTPAPIAuthorizer {
	return calls.simple(func(r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		exp, err := strconv.ParseInt(strings.TrimPrefix(r.Headers["authorization"], "Bearer exp="), 10, 64)
		ok := err == nil && clock.Now().Unix() < exp
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: ok, Context: map[string]any{"decidedRole": "role-" + strconv.FormatInt(exp, 10)}}, nil
	})
}

func cachedConfig(upstreamURL string, ttl int, sources string) string {
	return httpAPIConfig(upstreamURL, "identitySource: "+sources+"\n    authorizerResultTtlInSeconds: "+strconv.Itoa(ttl),
		"requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")
}

// TestCachedAllowOutlivesTokenExpiry shows the staleness API Gateway's cache has: with a TTL
// longer than a token's remaining life, the cached allow keeps letting the expired token in
// until the TTL runs out; without caching it is refused as soon as it expires.
func TestCachedAllowOutlivesTokenExpiry(t *testing.T) {
	tests := []struct {
		name       string
		ttl        int
		wantStatus int
		wantCalls  int64
	}{
		{"with a 300 s TTL the expired token is still let in from the cache", 300, 200, 1},
		{"without caching the expired token is refused", 0, 403, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			clock := newFakeClock()
			var calls counter
			g := startGateway(t, cachedConfig(up.URL, tc.ttl, "[$request.header.Authorization]"),
				WithAuthorizer("auth", tokenExpiring(clock, &calls)), WithClock(clock.Now))
			token := map[string]string{"Authorization": "Bearer exp=" + strconv.FormatInt(clock.Now().Add(60*time.Second).Unix(), 10)}
			if r := call(t, "GET", g.URL()+"/mcp", token); r.status != 200 {
				t.Fatalf("fresh token: %d %s", r.status, r.body)
			}
			clock.Advance(120 * time.Second) // the token expired a minute ago
			r := call(t, "GET", g.URL()+"/mcp", token)
			if r.status != tc.wantStatus || calls.n.Load() != tc.wantCalls {
				t.Errorf("expired token: status %d after %d authorizer calls, want %d after %d", r.status, calls.n.Load(), tc.wantStatus, tc.wantCalls)
			}
			if tc.ttl > 0 {
				clock.Advance(time.Duration(tc.ttl) * time.Second)
				if r := call(t, "GET", g.URL()+"/mcp", token); r.status != 403 || calls.n.Load() != 2 {
					t.Errorf("after the TTL: status %d after %d calls, want 403 from a new invocation", r.status, calls.n.Load())
				}
			}
		})
	}
}

// TestCacheKeepsDenialsAndContext checks that a deny is cached like an allow, and that a cached
// allow brings its context to every request with the same identity.
func TestCacheKeepsDenialsAndContext(t *testing.T) {
	up := newUpstream(t)
	clock := newFakeClock()
	var calls counter
	g := startGateway(t, cachedConfig(up.URL, 300, "[$request.header.Authorization]"),
		WithAuthorizer("auth", tokenExpiring(clock, &calls)), WithClock(clock.Now))
	expired := map[string]string{"Authorization": "Bearer exp=1"}
	for i := range 3 {
		if r := call(t, "GET", g.URL()+"/mcp", expired); r.status != 403 {
			t.Fatalf("request %d with an expired token: %d", i, r.status)
		}
	}
	if calls.n.Load() != 1 {
		t.Errorf("a cached deny: %d authorizer calls for 3 requests, want 1", calls.n.Load())
	}
	valid := map[string]string{"Authorization": "Bearer exp=9999999999"}
	for range 2 {
		call(t, "GET", g.URL()+"/mcp", valid)
		if role := up.lastSeen().Header.Get("X-Decided-Role"); role != "role-9999999999" {
			t.Errorf("x-decided-role %q from the cached context, want role-9999999999", role)
		}
	}
	if calls.n.Load() != 2 || g.CachedResults() != 2 {
		t.Errorf("%d calls and %d cached results, want 2 and 2", calls.n.Load(), g.CachedResults())
	}
}

// TestCacheKeyIncludesRouteKeyOnlyWhenConfigured: an authorizer that allows one route only.
// Keyed by the token alone, its allow for that route is served from the cache for every other
// route; with $context.routeKey among the identity sources, each route is decided on its own.
func TestCacheKeyIncludesRouteKeyOnlyWhenConfigured(t *testing.T) {
	tests := []struct {
		name        string
		sources     string
		wantOther   int
		wantInvoked int64
	}{
		{"keyed by the token alone, the cached allow for /a also lets /b in", "[$request.header.Authorization]", 200, 1},
		{"keyed by token and route, /b is decided on its own and denied", "[$request.header.Authorization, $context.routeKey]", 403, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			var calls counter
			yaml := strings.Replace(cachedConfig(up.URL, 300, tc.sources), `routes:
  - routeKey: ANY /{proxy+}
    authorizationType: CUSTOM
    authorizer: auth
    integration: backend`, `routes:
  - routeKey: GET /a
    authorizationType: CUSTOM
    authorizer: auth
    integration: backend
  - routeKey: GET /b
    authorizationType: CUSTOM
    authorizer: auth
    integration: backend`, 1)
			g := startGateway(t, yaml, WithAuthorizer("auth", calls.simple(func(r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
				return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: r.RouteKey == "GET /a"}, nil
			})))
			token := map[string]string{"Authorization": "Bearer t"}
			if r := call(t, "GET", g.URL()+"/a", token); r.status != 200 {
				t.Fatalf("/a: %d", r.status)
			}
			if r := call(t, "GET", g.URL()+"/b", token); r.status != tc.wantOther || calls.n.Load() != tc.wantInvoked {
				t.Errorf("/b: status %d after %d calls, want %d after %d", r.status, calls.n.Load(), tc.wantOther, tc.wantInvoked)
			}
		})
	}
}

// TestRESTCachedPolicyIsEvaluatedPerMethodARN shows the REST cache pitfall: the cached policy is
// re-evaluated for each request's methodArn, so a policy naming only the first request's ARN
// denies the next request to another path from the cache.
func TestRESTCachedPolicyIsEvaluatedPerMethodARN(t *testing.T) {
	up := newUpstream(t)
	c := shipped(t, "reference")
	ttl := 300
	c.Authorizers[0].AuthorizerResultTTLInSeconds = &ttl
	var calls counter
	g := startWith(t, c, WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", calls.rest(func(r events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return policy("Allow", r.MethodArn, nil), nil
		})))
	token := map[string]string{"Authorization": "Bearer t"}
	if r := call(t, "POST", g.URL()+"/mcp", token); r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", g.URL()+"/other", token); r.status != 403 || calls.n.Load() != 1 {
		t.Errorf("second path: status %d after %d calls, want 403 from the cached policy after 1", r.status, calls.n.Load())
	}
}

// A full cache drops its expired verdicts, then arbitrary ones until a tenth of its room is
// free, so that the next new keys are cached without another pass over every entry.
func TestAFullResultCacheMakesRoomInOneSweep(t *testing.T) {
	c := newResultCache()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	v := &verdict{}
	for i := range maxCacheEntries {
		c.put("k"+strconv.Itoa(i), v, now.Add(time.Hour), now)
	}
	if n := c.Len(); n != maxCacheEntries {
		t.Fatalf("%d entries, want %d", n, maxCacheEntries)
	}
	c.put("new", v, now.Add(time.Hour), now)
	if n := c.Len(); n != cacheRefill+1 {
		t.Fatalf("after the sweep: %d entries, want %d", n, cacheRefill+1)
	}
	if _, ok := c.get("new", now); !ok {
		t.Error("the verdict that made the sweep was not cached")
	}
	for i := range maxCacheEntries/10 - 1 {
		c.put("more"+strconv.Itoa(i), v, now.Add(time.Hour), now)
	}
	if n := c.Len(); n != maxCacheEntries {
		t.Errorf("%d entries after filling the freed room, want %d", n, maxCacheEntries)
	}
}
