package authorizer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestATokenCarriesEveryRequiredScope: with scopes required, a valid token is allowed only
// when its scope claim (or scp, as some IdPs name it) holds every one of them; one lacking any is
// forbidden as insufficient_scope (403 on REST, RFC 6750 §3.1), naming what it lacks, and a
// scope claim of the wrong shape is an invalid token (401).
func TestATokenCarriesEveryRequiredScope(t *testing.T) {
	e := newEnv(t, authorizer.WithRequiredScopes("mcp:tools", "files:read"))
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   authorizer.Reason
		detail string
	}{
		{"both scopes among others", map[string]any{"scope": "openid mcp:tools files:read"}, authorizer.ReasonOK, ""},
		{"both scopes in an scp list (Okta)", map[string]any{"scope": nil, "scp": []string{"files:read", "mcp:tools"}}, authorizer.ReasonOK, ""},
		{"both scopes in an scp string (Entra ID)", map[string]any{"scope": nil, "scp": "mcp:tools files:read"}, authorizer.ReasonOK, ""},
		{"one scope of two", map[string]any{"scope": "openid mcp:tools"}, authorizer.ReasonInsufficientScope,
			`the token's scopes "openid mcp:tools" lack "files:read"`},
		{"identity scopes only", map[string]any{"scope": "openid profile email"}, authorizer.ReasonInsufficientScope,
			`lack "mcp:tools files:read"`},
		{"no scope claim at all", map[string]any{"scope": nil}, authorizer.ReasonInsufficientScope, `the token's scopes "(none)" lack`},
		{"a scope that only begins like a required one", map[string]any{"scope": "mcp:tools-admin files:read"}, authorizer.ReasonInsufficientScope,
			`lack "mcp:tools"`},
		{"the scopes as one comma-separated word", map[string]any{"scope": "mcp:tools,files:read"}, authorizer.ReasonInsufficientScope, "lack"},
		{"a scope claim that is a number", map[string]any{"scope": 7}, authorizer.ReasonInvalidClaim,
			`claim "scope" must be a space-separated string of scopes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.token(t, "alice", mockidp.WithTokenClaims(tc.claims))
			d := e.decide(t, bearer(tok))
			if d.Reason != tc.want || !strings.Contains(d.Detail, tc.detail) {
				t.Fatalf("decision %s %q, want %s naming %q", d.Reason, d.Detail, tc.want, tc.detail)
			}
			resp, err := e.az.REST(context.Background(), restEvent("Bearer "+tok))
			switch tc.want.Outcome() {
			case authorizer.Allowed:
				if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
					t.Fatalf("REST adapter %+v, %v; want an Allow policy", resp, err)
				}
			case authorizer.Forbidden:
				// A Deny policy: API Gateway answers 403 through its ACCESS_DENIED gateway response.
				if err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.Context["authStatus"] != string(tc.want) {
					t.Fatalf("REST adapter %+v, %v; want a Deny policy with authStatus %s", resp, err, tc.want)
				}
			default:
				if err == nil || err.Error() != "Unauthorized" {
					t.Fatalf("REST adapter error %v, want exactly Unauthorized", err)
				}
			}
		})
	}
}

// TestTheScopeIsCheckedAfterTheTokenAndBeforeTheRoleLookup: an invalid token is unauthenticated
// whatever its scopes (a client must sign in again, not ask for more scopes); the scope check
// comes before the role lookup, so a user without a mapping who lacks the scope is told about
// the scope, and with it, that there is no mapping.
func TestTheScopeIsCheckedAfterTheTokenAndBeforeTheRoleLookup(t *testing.T) {
	e := newEnv(t, authorizer.WithRequiredScopes("mcp:tools"))
	if d := e.decide(t, bearer(e.forge(t, mockidp.ForgeExpired, "alice"))); d.Reason != authorizer.ReasonTokenExpired {
		t.Errorf("an expired token without the scope: %s %s, want %s", d.Reason, d.Detail, authorizer.ReasonTokenExpired)
	}
	if d := e.decide(t, bearer(e.token(t, "carol"))); d.Reason != authorizer.ReasonInsufficientScope {
		t.Errorf("carol (no mapping) without the scope: %s %s, want %s", d.Reason, d.Detail, authorizer.ReasonInsufficientScope)
	}
	if d := e.decide(t, bearer(e.token(t, "carol", mockidp.WithTokenScopes("openid", "mcp:tools")))); d.Reason != authorizer.ReasonUnknownUser {
		t.Errorf("carol (no mapping) with the scope: %s %s, want %s", d.Reason, d.Detail, authorizer.ReasonUnknownUser)
	}
}

// TestWithoutRequiredScopesTheScopeClaimIsNotRead: by default no scope is required and the
// scope claim is not looked at, whatever its shape.
func TestWithoutRequiredScopesTheScopeClaimIsNotRead(t *testing.T) {
	e := newEnv(t)
	for _, scope := range []any{nil, "openid", 7} {
		if d := e.decide(t, bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"scope": scope})))); !d.Allow {
			t.Errorf("scope %v: %s %s, want an allow", scope, d.Reason, d.Detail)
		}
	}
}

func TestWithRequiredScopesRejectsWhatIsNotAScopeToken(t *testing.T) {
	for _, s := range []string{"", "mcp tools", `mcp"tools`, `mcp\tools`, "mcp:outils-é", "mcp:\ttools"} {
		_, err := authorizer.New(t.Context(), authorizer.WithIssuer("https://idp.example.com"), authorizer.WithRequiredScopes("mcp:tools", s))
		if err == nil || !strings.Contains(err.Error(), "required scope") || !strings.Contains(err.Error(), "RFC 6749 §3.3") {
			t.Errorf("WithRequiredScopes(%q): %v, want an error naming the scope and the rule", s, err)
		}
	}
}

// The Lambda's MCPSSO_AUTHORIZER_REQUIRED_SCOPES is space-separated, as OAuth writes scopes.
func TestTheLambdaTakesSpaceSeparatedRequiredScopes(t *testing.T) {
	e := newEnv(t)
	c, a := fromEnv(t, e, "MCPSSO_AUTHORIZER_REQUIRED_SCOPES=mcp:tools  files:read")
	if got := strings.Join(c.RequiredScopes, "|"); got != "mcp:tools|files:read" {
		t.Fatalf("RequiredScopes %q", got)
	}
	for scope, want := range map[string]authorizer.Reason{"mcp:tools files:read": authorizer.ReasonOK, "mcp:tools": authorizer.ReasonInsufficientScope} {
		d, err := a.Decide(t.Context(), bearer(e.token(t, "alice", mockidp.WithTokenClaims(map[string]any{"scope": scope}))))
		if err != nil || d.Reason != want {
			t.Errorf("scope %q: %s (%s), %v; want %s", scope, d.Reason, d.Detail, err, want)
		}
	}
}
