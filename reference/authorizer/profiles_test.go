package authorizer_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// profileAuthorizer is the authorizer configured for the mock IdP's profile as an operator
// configures it for the real provider: the preset of the same name, the issuer alone (the JWKS
// found by discovery, at the profile's own path), the IdP's audience and tenant claim, and,
// where client_id proves the audience, the app client; extra options come last. preset names
// another preset than the profile's ("" for the profile's).
func profileAuthorizer(t testing.TB, clock *fakeClock, idp *mockidp.Server, preset string, extra ...authorizer.Option) (*authorizer.Authorizer, error) {
	t.Helper()
	p := idp.Profile()
	if preset == "" {
		preset = p.Name
	}
	aud := idp.Audience()
	if aud == "" {
		aud = authorizer.DefaultAudience // Cognito: no aud unless a resource was asked for
	}
	opts := []authorizer.Option{
		authorizer.WithIdPPreset(preset), authorizer.WithIssuer(idp.IssuerURL()), authorizer.WithAudience(aud),
		authorizer.WithTenantClaim(idp.TenantClaim()), authorizer.WithClock(clock.Now),
		authorizer.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), authorizer.WithRoleStore(fixtureStore(t)),
		authorizer.WithoutTokenCache(), authorizer.WithLogger(slog.New(slog.DiscardHandler)),
	}
	if p.AudienceClaim == authorizer.AudienceFromClientID {
		opts = append(opts, authorizer.WithClientIDs(idp.ClientID()))
	}
	return authorizer.New(context.Background(), append(opts, extra...)...)
}

// TestEachPresetTakesTheMockIdPsProfileAsTheProviderIssuesIt runs the authorizer, configured by
// its preset, against the mock IdP under the profile of the same name: the profile's access
// token is allowed with the user's role and tenant; its ID token (whose aud names the API too)
// and a refresh token are refused as not access tokens; another audience (another app client at
// Cognito) and another issuer are refused. Google's preset is refused with its reason, and
// Google's opaque access token gets the tokeninfo hint under any preset.
func TestEachPresetTakesTheMockIdPsProfileAsTheProviderIssuesIt(t *testing.T) {
	for _, name := range mockidp.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			idp := startIdP(t, clock, mockidp.WithProfile(name))
			if name == mockidp.ProfileGoogle {
				if _, err := profileAuthorizer(t, clock, idp, ""); err == nil || !strings.Contains(err.Error(), "Google's access tokens are opaque") {
					t.Fatalf("the google preset: %v, want the opaque-token reason", err)
				}
				a, err := profileAuthorizer(t, clock, idp, authorizer.PresetGeneric)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := idp.TokenFor(t.Context(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				d, err := a.Decide(t.Context(), bearer(tok))
				if err != nil || d.Allow || !strings.Contains(d.Detail, "Google's access tokens need introspection (tokeninfo)") {
					t.Fatalf("Google's access token under generic: allow %v, %s %q, %v", d.Allow, d.Reason, d.Detail, err)
				}
				return
			}
			a, err := profileAuthorizer(t, clock, idp, "")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := idp.TokenFor(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if d, err := a.Decide(t.Context(), bearer(tok)); err != nil || !d.Allow || d.Tenant != "acme" || d.RoleARN == "" {
				t.Fatalf("the %s access token: allow %v tenant %q role %q (%s %s), %v", name, d.Allow, d.Tenant, d.RoleARN, d.Reason, d.Detail, err)
			}
			for f, want := range map[mockidp.Forgery]authorizer.Reason{
				mockidp.ForgeIDToken:       authorizer.ReasonWrongTokenType,
				mockidp.ForgeRefreshToken:  authorizer.ReasonWrongTokenType,
				mockidp.ForgeWrongAudience: authorizer.ReasonWrongAudience,
				mockidp.ForgeWrongIssuer:   authorizer.ReasonWrongIssuer,
			} {
				forged, err := idp.Forge(t.Context(), f, "alice")
				if err != nil {
					t.Fatal(err)
				}
				if d, err := a.Decide(t.Context(), bearer(forged)); err != nil || d.Allow || d.Reason != want {
					t.Errorf("the %s %s: allow %v, %s %q, %v; want %s", name, f, d.Allow, d.Reason, d.Detail, err, want)
				}
			}
		})
	}
}

// TestTheClassicMistakesOnTheMockIdPsTokens: the weakened authorizers of
// TestEachClassicMistakeFailsExactlyItsSpec, given the tokens the mock IdP issues under the
// provider's profile, do what the hand-built tokens showed, while the reference refuses.
func TestTheClassicMistakesOnTheMockIdPsTokens(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		token         func(t *testing.T, idp *mockidp.Server) string
		weaken        authorizer.Option
		reference     authorizer.Reason
		weakened      authorizer.Reason // ReasonOK: the weakened authorizer allows
	}{
		{"another app client's Cognito token, client_id unchecked", mockidp.ProfileCognito,
			func(t *testing.T, idp *mockidp.Server) string { return forge(t, idp, mockidp.ForgeWrongAudience) },
			authorizer.WithoutCheck(authorizer.CheckClientID), authorizer.ReasonWrongAudience, authorizer.ReasonOK},
		{"a Cognito ID token, token_use unchecked", mockidp.ProfileCognito,
			func(t *testing.T, idp *mockidp.Server) string { return forge(t, idp, mockidp.ForgeIDToken) },
			authorizer.WithoutCheck(authorizer.CheckTypeClaim), authorizer.ReasonWrongTokenType, authorizer.ReasonWrongAudience},
		{"a Keycloak token without aud, aud checked only when present", mockidp.ProfileKeycloak,
			func(t *testing.T, idp *mockidp.Server) string {
				return token(t, idp, mockidp.WithTokenClaims(map[string]any{"aud": nil}))
			},
			authorizer.WithoutCheck(authorizer.CheckAudienceRequired), authorizer.ReasonWrongAudience, authorizer.ReasonOK},
		{"an Okta token granting the required scope in its scp list, read as a string", mockidp.ProfileOkta,
			func(t *testing.T, idp *mockidp.Server) string {
				return token(t, idp, mockidp.WithTokenScopes("openid", "mcp:tools"))
			},
			authorizer.WithScopesReadAsAString(), authorizer.ReasonOK, authorizer.ReasonInsufficientScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			idp := startIdP(t, clock, mockidp.WithProfile(tc.profile))
			tok := tc.token(t, idp)
			for _, v := range []struct {
				what string
				opts []authorizer.Option
				want authorizer.Reason
			}{{"the reference", nil, tc.reference}, {"the weakened authorizer", []authorizer.Option{tc.weaken}, tc.weakened}} {
				a, err := profileAuthorizer(t, clock, idp, "", append(v.opts, authorizer.WithRequiredScopes("mcp:tools"))...)
				if err != nil {
					t.Fatal(err)
				}
				d, err := a.Decide(t.Context(), bearer(tok))
				if err != nil || d.Reason != v.want {
					t.Errorf("%s: %s %q, %v; want %s", v.what, d.Reason, d.Detail, err, v.want)
				}
			}
		})
	}
}

func forge(t *testing.T, idp *mockidp.Server, f mockidp.Forgery) string {
	t.Helper()
	tok, err := idp.Forge(t.Context(), f, "alice", mockidp.WithTokenScopes("openid", "mcp:tools"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func token(t *testing.T, idp *mockidp.Server, opts ...mockidp.TokenOption) string {
	t.Helper()
	tok, err := idp.TokenFor(t.Context(), "alice", append([]mockidp.TokenOption{mockidp.WithTokenScopes("openid", "mcp:tools")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
