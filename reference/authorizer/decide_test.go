package authorizer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// TestEveryForgedTokenIsDeniedForItsReason is the bad-token matrix: each of the mock IdP's
// forgeries is denied with the reason that names what is wrong with it, unauthenticated (401 on
// REST), and never logged.
func TestEveryForgedTokenIsDeniedForItsReason(t *testing.T) {
	e := newEnv(t)
	// A valid token first, so the JWKS is warm and an unknown kid meets the rate limit.
	if d := e.decide(t, bearer(e.token(t, "alice"))); !d.Allow {
		t.Fatalf("alice's valid token: %s %s", d.Reason, d.Detail)
	}
	tests := []struct {
		name    string
		forgery mockidp.Forgery
		want    authorizer.Reason
		detail  string
	}{
		{"an expired token is denied as expired", mockidp.ForgeExpired, authorizer.ReasonTokenExpired, "expired at"},
		{"a token not yet valid is denied by its nbf", mockidp.ForgeNotYetValid, authorizer.ReasonTokenNotYetValid, "not valid before"},
		{"a token from another issuer is denied by iss", mockidp.ForgeWrongIssuer, authorizer.ReasonWrongIssuer, "/evil"},
		{"a token for another audience is denied by aud", mockidp.ForgeWrongAudience, authorizer.ReasonWrongAudience, `"api://another-service"`},
		{"an unsigned alg-none token is denied by its algorithm", mockidp.ForgeAlgNone, authorizer.ReasonInvalidSignature, `algorithm "none" is not allowed`},
		{"an HS256 token keyed with the public key is denied by its algorithm", mockidp.ForgeHS256WithPublicKey, authorizer.ReasonInvalidSignature, `algorithm "HS256" is not allowed`},
		{"a token with an unknown kid is denied without a second JWKS fetch", mockidp.ForgeUnknownKeyID, authorizer.ReasonInvalidSignature, "has kid"},
		{"a token signed by a stranger under the real kid fails the signature", mockidp.ForgeUntrustedKey, authorizer.ReasonInvalidSignature, "does not verify"},
		{"a token whose payload was edited fails the signature", mockidp.ForgeTamperedPayload, authorizer.ReasonInvalidSignature, "does not verify"},
		{"a token without sub is denied as missing its subject", mockidp.ForgeMissingSubject, authorizer.ReasonMissingSubject, "no sub claim"},
		{"an ID token with the API audience is denied by its type", mockidp.ForgeIDToken, authorizer.ReasonWrongTokenType, "typ header"},
		{"a refresh token with the API audience is denied by its type", mockidp.ForgeRefreshToken, authorizer.ReasonWrongTokenType, "typ header"},
		{"a tenant of * is denied as unsafe", mockidp.ForgeTenantWildcard, authorizer.ReasonUnsafeTenant, `"*"`},
		{"a tenant of ../globex is denied as unsafe", mockidp.ForgeTenantPathTraversal, authorizer.ReasonUnsafeTenant, `"../globex"`},
		{"a tenant with spaces is denied as unsafe", mockidp.ForgeTenantWithSpaces, authorizer.ReasonUnsafeTenant, `"acme corp"`},
		{"a 300-character tenant is denied as unsafe", mockidp.ForgeTenantTooLong, authorizer.ReasonUnsafeTenant, "aaaa"},
		{"a non-ASCII tenant is denied as unsafe", mockidp.ForgeTenantNonASCII, authorizer.ReasonUnsafeTenant, `"acmé"`},
		{"an oversized token is denied by the size bound", mockidp.ForgeOversized, authorizer.ReasonTokenTooLarge, "at most 8192"},
	}
	if len(tests) != len(mockidp.Forgeries()) {
		t.Fatalf("the table has %d cases for %d forgeries", len(tests), len(mockidp.Forgeries()))
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.forge(t, tc.forgery, "alice")
			d := e.decide(t, bearer(tok))
			if d.Allow || d.Reason != tc.want {
				t.Fatalf("decision %v %s (%s), want deny %s", d.Allow, d.Reason, d.Detail, tc.want)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not mention %q", d.Detail, tc.detail)
			}
			if tc.want.Outcome() != authorizer.Unauthenticated {
				t.Errorf("outcome %s, want unauthenticated", tc.want.Outcome())
			}
			if _, err := e.az.REST(ctx, restEvent("Bearer "+tok)); err == nil || err.Error() != "Unauthorized" {
				t.Errorf("REST adapter error %v, want exactly Unauthorized", err)
			}
			resp, err := e.az.HTTPAPI(ctx, httpEvent("Bearer "+tok))
			if err != nil || resp.IsAuthorized || resp.Context["authStatus"] != string(tc.want) {
				t.Errorf("HTTP API adapter %+v, %v; want isAuthorized false with authStatus %s", resp, err, tc.want)
			}
		})
	}
	if n := e.tr.jwks.Load(); n != 1 {
		t.Errorf("the JWKS was fetched %d times; the unknown kid must not cause a second fetch within the refetch interval", n)
	}
	logs := e.logs.String()
	for _, f := range mockidp.Forgeries() {
		tok := e.forge(t, f, "alice")
		sig := tok[strings.LastIndex(tok, ".")+1:]
		if len(sig) > 16 && strings.Contains(logs, sig) {
			t.Errorf("the log holds the signature of the %s token", f)
		}
	}
}

// TestTheBearerHeaderFollowsRFC6750 covers the header syntax, with alice's valid token.
func TestTheBearerHeaderFollowsRFC6750(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "alice")
	tests := []struct {
		name   string
		values []string
		query  string
		want   authorizer.Reason
	}{
		{"a Bearer header is allowed", []string{"Bearer " + tok}, "", authorizer.ReasonOK},
		{"the scheme in lower case is allowed", []string{"bearer " + tok}, "", authorizer.ReasonOK},
		{"the scheme in upper case is allowed", []string{"BEARER " + tok}, "", authorizer.ReasonOK},
		{"several spaces after the scheme are allowed", []string{"Bearer   " + tok}, "", authorizer.ReasonOK},
		{"surrounding whitespace is allowed", []string{" \tBearer " + tok + " "}, "", authorizer.ReasonOK},
		{"no header is a missing token", nil, "", authorizer.ReasonMissingToken},
		{"an empty header is a missing token", []string{""}, "", authorizer.ReasonMissingToken},
		{"a blank header is a missing token", []string{"   "}, "", authorizer.ReasonMissingToken},
		{"the scheme alone is malformed", []string{"Bearer"}, "", authorizer.ReasonMalformedHeader},
		{"the scheme and spaces alone are malformed", []string{"Bearer   "}, "", authorizer.ReasonMalformedHeader},
		{"the Basic scheme is malformed", []string{"Basic YWxpY2U6c2VjcmV0"}, "", authorizer.ReasonMalformedHeader},
		{"a token without a scheme is malformed", []string{tok}, "", authorizer.ReasonMalformedHeader},
		{"a tab instead of a space is malformed", []string{"Bearer\t" + tok}, "", authorizer.ReasonMalformedHeader},
		{"two credentials in one header are malformed", []string{"Bearer " + tok + " " + tok}, "", authorizer.ReasonMalformedHeader},
		{"repeated headers joined by a comma are malformed", []string{"Bearer " + tok + ",Bearer " + tok}, "", authorizer.ReasonMalformedHeader},
		{"two Authorization headers are malformed", []string{"Bearer " + tok, "Bearer " + tok}, "", authorizer.ReasonMalformedHeader},
		{"a character outside b64token is malformed", []string{"Bearer " + tok[:20] + "$" + tok[21:]}, "", authorizer.ReasonMalformedHeader},
		{"padding inside the token is malformed", []string{"Bearer " + tok[:20] + "=" + tok[21:]}, "", authorizer.ReasonMalformedHeader},
		{"a token in the query string is refused", nil, "access_token=" + tok, authorizer.ReasonTokenInQuery},
		{"a token in the query string is refused even beside a valid header", []string{"Bearer " + tok}, "x=1&access_token=" + tok, authorizer.ReasonTokenInQuery},
		{"a differently cased query parameter is refused too", []string{"Bearer " + tok}, "Access_Token=x", authorizer.ReasonTokenInQuery},
		{"a token that is not a JWS is malformed", []string{"Bearer abc.def"}, "", authorizer.ReasonMalformedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.decide(t, authorizer.Request{Authorization: tc.values, RawQuery: tc.query})
			if d.Reason != tc.want || d.Allow != (tc.want == authorizer.ReasonOK) {
				t.Fatalf("decision %v %s (%s), want %s", d.Allow, d.Reason, d.Detail, tc.want)
			}
			if strings.Contains(d.Detail, tok[:30]) {
				t.Errorf("the detail %q repeats the token", d.Detail)
			}
		})
	}
}

// TestAllowedUsersGetTheHeadersTheMCPServerAccepts checks the context of each mapped fixture
// user against the reference MCP server's own header parser.
func TestAllowedUsersGetTheHeadersTheMCPServerAccepts(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, user, role, sourceIdentity, tenant, limits string
	}{
		{"alice of acme gets acme's role and her subject as source identity", "alice",
			"arn:aws:iam::111122223333:role/quilt-mcp-target-acme", "usr-00u8c2d9qkL4mT7xw5d7", "acme",
			`{"requestsPerMinute":120,"sessionSeconds":900}`},
		{"bob of globex gets globex's role", "bob",
			"arn:aws:iam::111122223333:role/quilt-mcp-target-globex", "usr-5f0c9a8e-3b1d-4c27-9e6a-1d2b3c4d5e6f", "globex",
			`{"requestsPerMinute":120,"sessionSeconds":900}`},
		{"dave's Auth0 subject is hashed into a valid source identity", "dave",
			"arn:aws:iam::111122223333:role/quilt-mcp-target-acme", authorizer.SourceIdentity("auth0|65f0c0ffee1234567890abcd"), "acme",
			`{"requestsPerMinute":30,"sessionSeconds":900}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.decide(t, bearer(e.token(t, tc.user)))
			if !d.Allow {
				t.Fatalf("denied: %s %s", d.Reason, d.Detail)
			}
			c := d.Context()
			want := map[string]any{
				"decidedRole": tc.role, "sourceIdentity": tc.sourceIdentity, "tenant": tc.tenant,
				"sessionTags": `[{"Key":"tenant","Value":"` + tc.tenant + `"}]`, "limits": tc.limits, "authStatus": "ok",
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("context %s = %v, want %v", k, c[k], v)
				}
			}
			if len(c) != len(want) {
				t.Errorf("context has %d keys, want %d: %v", len(c), len(want), c)
			}
			h := http.Header{}
			h.Set(mcpserver.HeaderDecidedRole, c["decidedRole"].(string))
			h.Set(mcpserver.HeaderSourceIdentity, c["sourceIdentity"].(string))
			h.Set(mcpserver.HeaderSessionTags, c["sessionTags"].(string))
			h.Set(mcpserver.HeaderLimits, c["limits"].(string))
			id, err := mcpserver.ParseIdentity(h)
			if err != nil {
				t.Fatalf("the MCP server refuses the context: %v", err)
			}
			if id.Tenant != tc.tenant || id.SourceIdentity != tc.sourceIdentity || id.RoleARN != tc.role {
				t.Errorf("the MCP server read %+v", id)
			}
		})
	}
	if !strings.HasPrefix(authorizer.SourceIdentity("auth0|65f0c0ffee1234567890abcd"), "usr-_") {
		t.Error("dave's source identity is not in the hashed form")
	}
}

// TestValidTokensOfUnmappedOrInconsistentUsersAreForbidden covers the role store's answers.
func TestValidTokensOfUnmappedOrInconsistentUsersAreForbidden(t *testing.T) {
	e := newEnv(t)
	withCarol := e.authorizer(t, authorizer.WithRoleStore(fixtureStore(t, authorizer.StoreEntry{
		Sub: "104592837461029384756", Mapping: authorizer.Mapping{RoleARN: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"},
	})))
	tests := []struct {
		name   string
		az     *authorizer.Authorizer
		user   string
		opts   []mockidp.TokenOption
		want   authorizer.Reason
		tenant string
	}{
		{"carol, who has no mapping, is an unknown user", e.az, "carol", nil, authorizer.ReasonUnknownUser, ""},
		{"a subject the store has never heard of is an unknown user", e.az, "alice",
			[]mockidp.TokenOption{mockidp.WithTokenClaims(map[string]any{"sub": "00uSomeoneElse"})}, authorizer.ReasonUnknownUser, ""},
		{"alice with a globex tenant claim does not match her acme mapping", e.az, "alice",
			[]mockidp.TokenOption{mockidp.WithTokenClaims(map[string]any{"tenant": "globex"})}, authorizer.ReasonTenantMismatch, ""},
		{"a mapping without a tenant tag and a token without a tenant have no tenant", withCarol, "carol", nil, authorizer.ReasonNoTenant, ""},
		{"a mapping without a tenant tag takes the token's tenant", withCarol, "carol",
			[]mockidp.TokenOption{mockidp.WithTokenClaims(map[string]any{"tenant": "acme"})}, authorizer.ReasonOK, "acme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.az.Decide(context.Background(), bearer(e.token(t, tc.user, tc.opts...)))
			if err != nil || d.Reason != tc.want {
				t.Fatalf("decision %s (%s), %v; want %s", d.Reason, d.Detail, err, tc.want)
			}
			if tc.want == authorizer.ReasonOK {
				if d.Tenant != tc.tenant || d.Context()["sessionTags"] != `[{"Key":"tenant","Value":"`+tc.tenant+`"}]` {
					t.Errorf("tenant %q, context %v", d.Tenant, d.Context())
				}
				return
			}
			if tc.want.Outcome() != authorizer.Forbidden {
				t.Errorf("outcome %s, want forbidden", tc.want.Outcome())
			}
			resp, err := tc.az.REST(context.Background(), restEvent("Bearer "+e.token(t, tc.user, tc.opts...)))
			if err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.Context["authStatus"] != string(tc.want) {
				t.Errorf("REST adapter %+v, %v; want a Deny policy with authStatus %s", resp, err, tc.want)
			}
		})
	}
}

// TestUnsafeTenantClaimsAreDenied goes beyond the forgeries: every value must match TenantRule.
func TestUnsafeTenantClaimsAreDenied(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		tenant any
	}{
		{"an upper-case tenant is unsafe", "ACME"},
		{"a trailing hyphen is unsafe", "acme-"},
		{"a leading hyphen is unsafe", "-acme"},
		{"a slash is unsafe", "acme/globex"},
		{"a newline is unsafe", "acme\n"},
		{"a policy variable is unsafe", "${aws:PrincipalTag/tenant}"},
		{"an empty tenant is unsafe", ""},
		{"a 41-character tenant is unsafe", strings.Repeat("a", 41)},
		{"a number is unsafe", 42},
		{"a list is unsafe", []string{"acme"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.decide(t, bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"tenant": tc.tenant}))))
			if d.Allow || d.Reason != authorizer.ReasonUnsafeTenant {
				t.Fatalf("decision %v %s (%s), want unsafe_tenant", d.Allow, d.Reason, d.Detail)
			}
		})
	}
}

// TestMalformedClaimsAreDenied covers the other claims the authorizer forwards or checks.
func TestMalformedClaimsAreDenied(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		claims map[string]any
		want   authorizer.Reason
	}{
		{"a token without exp is denied", map[string]any{"exp": nil}, authorizer.ReasonInvalidClaim},
		{"a token issued in the future is denied", map[string]any{"iat": e.clock.Now().Add(time.Hour).Unix(), "nbf": nil}, authorizer.ReasonTokenNotYetValid},
		{"a token without the token_use marker is denied", map[string]any{"token_use": nil}, authorizer.ReasonWrongTokenType},
		{"a numeric sub is denied", map[string]any{"sub": 42}, authorizer.ReasonInvalidClaim},
		{"a sub with a control character is denied", map[string]any{"sub": "alice\x00"}, authorizer.ReasonInvalidClaim},
		{"a 256-byte sub is denied", map[string]any{"sub": strings.Repeat("a", 256)}, authorizer.ReasonInvalidClaim},
		{"an email without @ is denied", map[string]any{"email": "alice"}, authorizer.ReasonInvalidClaim},
		{"an email that is a list is denied", map[string]any{"email": []string{"a@b"}}, authorizer.ReasonInvalidClaim},
		{"an agent_type that is a number is denied", map[string]any{"agent_type": 7}, authorizer.ReasonInvalidClaim},
		{"agent_capabilities that are not strings are denied", map[string]any{"agent_capabilities": []int{1}}, authorizer.ReasonInvalidClaim},
		{"an audience of the wrong type is denied", map[string]any{"aud": 5}, authorizer.ReasonWrongAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.decide(t, bearer(e.token(t, "alice", mockidp.WithTokenClaims(tc.claims))))
			if d.Allow || d.Reason != tc.want {
				t.Fatalf("decision %v %s (%s), want %s", d.Allow, d.Reason, d.Detail, tc.want)
			}
		})
	}
}

// TestAgentClaimsAreReadAndLogged checks the OIDC-A claims of an agent's token.
func TestAgentClaimsAreReadAndLogged(t *testing.T) {
	e := newEnv(t)
	d := e.decide(t, bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{
		"agent_type": "assistant", "agent_model": "m-1", "delegator_sub": "00u8c2d9qkL4mT7xw5d7",
		"agent_capabilities": []string{"s3:read"},
	}))))
	if !d.Allow || d.Agent == nil || d.Agent.Type != "assistant" || d.Agent.DelegatorSub != "00u8c2d9qkL4mT7xw5d7" || len(d.Agent.Capabilities) != 1 {
		t.Fatalf("decision %+v", d)
	}
	recs := e.logs.records(t)
	if last := recs[len(recs)-1]; last["agent_type"] != "assistant" || last["delegator_sub"] != "00u8c2d9qkL4mT7xw5d7" {
		t.Errorf("log record %v lacks the agent claims", last)
	}
}

// TestTheTokenTypeMarkerIsConfigurable shows the settings for IdPs other than the mock.
func TestTheTokenTypeMarkerIsConfigurable(t *testing.T) {
	e := newEnv(t)
	cognitoLike := e.authorizer(t, authorizer.WithTokenType(authorizer.TokenType{Claim: "token_use", Values: []string{"access"}}))
	oktaLike := e.authorizer(t, authorizer.WithTokenType(authorizer.TokenType{Claim: "scp"}))
	tests := []struct {
		name string
		az   *authorizer.Authorizer
		tok  string
		want authorizer.Reason
	}{
		{"a claim-only check accepts an access token", cognitoLike, e.token(t, "alice"), authorizer.ReasonOK},
		{"a claim-only check still refuses an ID token", cognitoLike, e.forge(t, mockidp.ForgeIDToken, "alice"), authorizer.ReasonWrongTokenType},
		{"a presence check refuses a token without the claim", oktaLike, e.token(t, "alice"), authorizer.ReasonWrongTokenType},
		{"a presence check accepts a token with the claim", oktaLike, e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"scp": []string{"mcp"}})), authorizer.ReasonOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.az.Decide(context.Background(), bearer(tc.tok))
			if err != nil || d.Reason != tc.want {
				t.Fatalf("decision %s (%s), %v; want %s", d.Reason, d.Detail, err, tc.want)
			}
		})
	}
	if _, err := authorizer.New(context.Background(), authorizer.WithTokenType(authorizer.TokenType{})); err == nil ||
		!strings.Contains(err.Error(), "set Header, Claim or both") {
		t.Errorf("an empty token type was accepted: %v", err)
	}
}

var errStoreDown = errors.New("connection reset by peer")

type downStore struct{}

func (downStore) Lookup(context.Context, string, string) (authorizer.Mapping, error) {
	return authorizer.Mapping{}, errStoreDown
}
