package authorizer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// outcome is what an authorizer did with a spec's token: refused to start, allowed, or denied
// with a reason and detail.
type outcome struct {
	startErr string
	allow    bool
	reason   authorizer.Reason
	detail   string
}

func (o outcome) String() string {
	switch {
	case o.startErr != "":
		return "refuses to start: " + o.startErr
	case o.allow:
		return "allows"
	}
	return fmt.Sprintf("denies %s: %s", o.reason, o.detail)
}

// satisfies reports whether got is the outcome want describes (details by substring).
func (want outcome) satisfies(got outcome) bool {
	switch {
	case want.startErr != "" || got.startErr != "":
		return want.startErr != "" && strings.Contains(got.startErr, want.startErr)
	case want.allow || got.allow:
		return want.allow == got.allow
	}
	return want.reason == got.reason && strings.Contains(got.detail, want.detail)
}

// classicSpec is one check an IdP's authorizer must make, on one hand-built token.
type classicSpec struct {
	name   string
	preset string
	issuer string              // "" for the case's; otherwise the issuer the operator configured
	extra  []authorizer.Option // beyond the case's options
	token  func(h *handIdP, t testing.TB, iat, exp int64) string
	want   outcome
}

// run builds the authorizer of the spec's preset, weakened by the checks given, and has it
// judge the spec's token.
func (s classicSpec) run(t *testing.T, weakened ...authorizer.Option) outcome {
	t.Helper()
	c := caseOf(t, s.preset)
	if s.issuer != "" {
		c.issuer = s.issuer
	}
	h := newHandIdP(t)
	opts := append([]authorizer.Option{authorizer.WithIdPPreset(c.preset), authorizer.WithIssuer(c.issuer)}, c.opts...)
	opts = append(append(opts, s.extra...), weakened...)
	a, err := h.authorizer(t, idpStore(t), opts...)
	if err != nil {
		return outcome{startErr: err.Error()}
	}
	iat, exp := h.times()
	d, err := a.Decide(t.Context(), bearer(s.token(h, t, iat, exp)))
	if err != nil {
		t.Fatalf("%s: Decide: %v", s.name, err)
	}
	return outcome{allow: d.Allow, reason: d.Reason, detail: d.Detail}
}

// classicSpecs are the classic mistakes of authorizers facing real IdPs (issue 23), each a
// spec, and each IdP's genuine access token, which no weakening may break.
func classicSpecs() []classicSpec {
	specs := []classicSpec{
		{
			name: "keycloak: a token without aud (no Audience mapper) is refused as wrong_audience", preset: authorizer.PresetKeycloak,
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "JWT", with(keycloakAccess(iat, exp), map[string]any{"aud": nil}))
			},
			want: outcome{reason: authorizer.ReasonWrongAudience, detail: "the token has no aud"},
		},
		{
			name: "cognito: an ID token is refused as wrong_token_type naming token_use", preset: authorizer.PresetCognito,
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "", caseOf(t, authorizer.PresetCognito).id(iat, exp))
			},
			want: outcome{reason: authorizer.ReasonWrongTokenType, detail: `claim "token_use" is "id", not "access"`},
		},
		{
			name: "cognito: another app client's access token is refused naming client_id", preset: authorizer.PresetCognito,
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "", cognitoAccess(iat, exp, cognitoOther))
			},
			want: outcome{reason: authorizer.ReasonWrongAudience, detail: `client_id "` + cognitoOther + `" is none of the accepted app clients`},
		},
		{
			name: "auth0: an issuer configured without Auth0's trailing slash is refused at start", preset: authorizer.PresetAuth0,
			issuer: strings.TrimSuffix(auth0Issuer, "/"),
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "JWT", auth0Access(iat, exp))
			},
			want: outcome{startErr: "the auth0 preset expects https://{tenant}.auth0.com/ or your custom domain, with the trailing slash"},
		},
		{
			name: "entra-v2: a v1 token is refused naming ver", preset: authorizer.PresetEntraV2,
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "JWT", entraV1Access(iat, exp))
			},
			want: outcome{reason: authorizer.ReasonWrongTokenType, detail: `ver "1.0": the entra-v2 preset accepts ver "2.0" tokens only`},
		},
		{
			name: "okta: a token whose scp list grants the required scope is allowed", preset: authorizer.PresetOkta,
			extra: []authorizer.Option{authorizer.WithRequiredScopes("mcp.read")},
			token: func(h *handIdP, t testing.TB, iat, exp int64) string { return h.sign(t, "", oktaAccess(iat, exp)) },
			want:  outcome{allow: true},
		},
		{
			name: "okta: a token whose scp list lacks the required scope is refused as insufficient_scope", preset: authorizer.PresetOkta,
			extra: []authorizer.Option{authorizer.WithRequiredScopes("mcp.write")},
			token: func(h *handIdP, t testing.TB, iat, exp int64) string { return h.sign(t, "", oktaAccess(iat, exp)) },
			want:  outcome{reason: authorizer.ReasonInsufficientScope, detail: `lack "mcp.write"`},
		},
		{
			name: "entra-v2: a token whose scp string grants the required scope is allowed", preset: authorizer.PresetEntraV2,
			extra: []authorizer.Option{authorizer.WithRequiredScopes("mcp.read")},
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, "JWT", entraV2Access(iat, exp))
			},
			want: outcome{allow: true},
		},
	}
	for _, c := range idpCases() {
		specs = append(specs, classicSpec{
			name: c.preset + ": the IdP's access token is allowed", preset: c.preset,
			token: func(h *handIdP, t testing.TB, iat, exp int64) string {
				return h.sign(t, c.accessTyp, c.access(iat, exp))
			},
			want: outcome{allow: true},
		})
	}
	return specs
}

// TestEachClassicMistakeFailsExactlyItsSpec runs every spec against the reference (all pass)
// and against each weakened authorizer, the reference with one check turned off: exactly the
// spec written for that mistake fails, and the weakened authorizer does what the variant says
// instead — it fails open (allows what it must refuse) or closed (refuses, for the wrong
// reason or every token).
func TestEachClassicMistakeFailsExactlyItsSpec(t *testing.T) {
	specs := classicSpecs()
	for _, s := range specs {
		if got := s.run(t); !s.want.satisfies(got) {
			t.Errorf("the reference fails %q: it %s; want: it %s", s.name, got, s.want)
		}
	}
	for _, v := range []struct {
		name    string
		weaken  authorizer.Option
		spec    string
		instead outcome // what the weakened authorizer does with the spec's token
		mode    string
	}{
		{"aud checked only when present", authorizer.WithoutCheck(authorizer.CheckAudienceRequired),
			"keycloak: a token without aud (no Audience mapper) is refused as wrong_audience",
			outcome{allow: true}, "open: a token minted for no audience, or for anything, is accepted"},
		{"token_use not checked (Cognito ID token as an access token)", authorizer.WithoutCheck(authorizer.CheckTypeClaim),
			"cognito: an ID token is refused as wrong_token_type naming token_use",
			outcome{reason: authorizer.ReasonWrongAudience, detail: `aud "` + cognitoClient + `" (the resource the client asked for) is none of the accepted audiences`},
			"closed here, misnamed: the ID token's aud (its app client) is no accepted resource, and it has no client_id; an authorizer that takes the client from aud, where ID tokens name it, allows it"},
		{"client_id not checked (another app client's Cognito token)", authorizer.WithoutCheck(authorizer.CheckClientID),
			"cognito: another app client's access token is refused naming client_id",
			outcome{allow: true}, "open: any app client of the user pool gets in"},
		{"issuer form not checked (Auth0's issuer written without its slash)", authorizer.WithoutCheck(authorizer.CheckIssuerForm),
			"auth0: an issuer configured without Auth0's trailing slash is refused at start",
			outcome{reason: authorizer.ReasonWrongIssuer, detail: "only in the trailing slash"},
			"closed: the authorizer starts, then refuses every genuine token as wrong_issuer"},
		{"ver not checked (Entra v1 token under v2 settings)", authorizer.WithoutCheck(authorizer.CheckVersion),
			"entra-v2: a v1 token is refused naming ver",
			outcome{reason: authorizer.ReasonWrongIssuer, detail: `iss "` + entraV1Issuer + `" is not the issuer`},
			"closed here, misnamed: the v1 issuer still differs; an authorizer that accepts both issuers would allow it"},
		{"scp read as a string (Okta's list)", authorizer.WithScopesReadAsAString(),
			"okta: a token whose scp list grants the required scope is allowed",
			outcome{reason: authorizer.ReasonInsufficientScope, detail: `the token's scopes "[\"openid\",\"mcp.read\"]" lack "mcp.read"`},
			"closed: every Okta token lacks every scope it was granted"},
	} {
		t.Run(v.name, func(t *testing.T) {
			var failed []string
			for _, s := range specs {
				got := s.run(t, v.weaken)
				if s.want.satisfies(got) {
					continue
				}
				failed = append(failed, s.name)
				if s.name == v.spec && !v.instead.satisfies(got) {
					t.Errorf("%q fails, but the weakened authorizer %s; the variant says it %s", s.name, got, v.instead)
				}
			}
			if len(failed) != 1 || failed[0] != v.spec {
				t.Fatalf("failed specs %q, want exactly %q", failed, v.spec)
			}
			t.Logf("fails only %q; it fails %s", v.spec, v.mode)
		})
	}
}
