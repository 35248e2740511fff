package mockidp_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// tenantPattern is the safe shape an authorizer should demand of a tenant before it goes
// into IAM session tags and S3 ARNs.
var tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxBearerBytes is a bound an authorizer should put on a token before parsing it.
const maxBearerBytes = 8 << 10

// checkClaims is what an authorizer must check beyond go-oidc (as reference/authorizer does;
// RFC 9068 §4 for the token type, https://www.rfc-editor.org/rfc/rfc9068#section-4): the
// token-type marker, a subject, a tenant of a safe shape.
func checkClaims(header, claims map[string]any, tenantClaim string) error {
	if header["typ"] != "at+jwt" || claims["token_use"] != "access" {
		return fmt.Errorf("not an access token: typ %v, token_use %v", header["typ"], claims["token_use"])
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return errors.New("sub is missing")
	}
	if tenant, ok := claims[tenantClaim].(string); ok && !tenantPattern.MatchString(tenant) {
		return fmt.Errorf("tenant %.40q does not match %s", tenant, tenantPattern)
	}
	return nil
}

// TestEachForgeryIsRejectedForItsReason is the bad-token matrix: go-oidc (configured as an
// authorizer would) rejects each signature-level forgery with the right error; each
// signature-valid forgery passes go-oidc and is caught by the claim checks it exists to test.
func TestEachForgeryIsRejectedForItsReason(t *testing.T) {
	clock := newFakeClock()
	p := startIdP(t, mockidp.WithClock(clock.Now))
	verifier := apiVerifier(t, p, clock.Now)
	ctx := t.Context()

	tests := []struct {
		name    string
		forgery mockidp.Forgery
		// byGoOIDC: go-oidc itself must reject it; otherwise go-oidc accepts it and the
		// claim checks must.
		byGoOIDC bool
		wantErr  string
	}{
		{"an expired token is rejected as expired", mockidp.ForgeExpired, true, "token is expired"},
		{"a token not yet valid is rejected by its nbf", mockidp.ForgeNotYetValid, true, "before the nbf"},
		{"a token from another issuer is rejected by iss", mockidp.ForgeWrongIssuer, true, "issued by a different provider"},
		{"a token for another audience is rejected by aud", mockidp.ForgeWrongAudience, true, `expected audience "api://quilt-mcp"`},
		{"an unsigned alg-none token is refused by algorithm", mockidp.ForgeAlgNone, true, `unexpected signature algorithm "none"`},
		{"an HS256 token keyed with the public key is refused by algorithm", mockidp.ForgeHS256WithPublicKey, true, `unexpected signature algorithm "HS256"`},
		{"a token with an unknown kid fails signature verification", mockidp.ForgeUnknownKeyID, true, "failed to verify signature"},
		{"a token signed by a key outside the JWKS fails signature verification", mockidp.ForgeUntrustedKey, true, "failed to verify signature"},
		{"a token whose payload was edited fails signature verification", mockidp.ForgeTamperedPayload, true, "failed to verify signature"},
		{"a token without sub passes go-oidc and fails the sub check", mockidp.ForgeMissingSubject, false, "sub is missing"},
		{"an ID token for the API passes go-oidc and fails the token-type check", mockidp.ForgeIDToken, false, "not an access token"},
		{"a refresh token for the API passes go-oidc and fails the token-type check", mockidp.ForgeRefreshToken, false, "not an access token"},
		{"a tenant of * passes go-oidc and fails the tenant pattern", mockidp.ForgeTenantWildcard, false, `tenant "*"`},
		{"a tenant of ../globex passes go-oidc and fails the tenant pattern", mockidp.ForgeTenantPathTraversal, false, `tenant "../globex"`},
		{"a tenant with spaces passes go-oidc and fails the tenant pattern", mockidp.ForgeTenantWithSpaces, false, `tenant "acme corp"`},
		{"a 300-character tenant passes go-oidc and fails the tenant pattern", mockidp.ForgeTenantTooLong, false, `tenant "aaaa`},
		{"a non-ASCII tenant passes go-oidc and fails the tenant pattern", mockidp.ForgeTenantNonASCII, false, `tenant "acmé"`},
		{"an oversized token passes go-oidc and fails the size bound", mockidp.ForgeOversized, false, "bytes exceeds"},
	}
	if len(tests) != len(mockidp.Forgeries()) {
		t.Fatalf("the table has %d cases for %d forgeries", len(tests), len(mockidp.Forgeries()))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := p.Forge(ctx, tc.forgery, "alice")
			if err != nil {
				t.Fatal(err)
			}
			// Only the signature-level forgeries fail on their signature or algorithm.
			if tc.forgery.SignatureValid() == strings.Contains(tc.wantErr, "signature") {
				t.Errorf("%s.SignatureValid() = %v", tc.forgery, tc.forgery.SignatureValid())
			}
			_, verr := verifier.Verify(ctx, raw)
			if tc.byGoOIDC {
				if verr == nil || !strings.Contains(verr.Error(), tc.wantErr) {
					t.Fatalf("go-oidc: %v; want an error containing %q", verr, tc.wantErr)
				}
				return
			}
			if verr != nil {
				t.Fatalf("go-oidc rejected a signature-valid forgery (%v): the forgery must isolate the claim check", verr)
			}
			var cerr error
			if len(raw) > maxBearerBytes {
				cerr = fmt.Errorf("token of %d bytes exceeds %d", len(raw), maxBearerBytes)
			} else {
				cerr = checkClaims(headerOf(t, raw), claimsOf(t, raw), p.TenantClaim())
			}
			if cerr == nil || !strings.Contains(cerr.Error(), tc.wantErr) {
				t.Fatalf("claim checks: %v; want an error containing %q", cerr, tc.wantErr)
			}
		})
	}

	t.Run("an unforged token passes both go-oidc and the claim checks", func(t *testing.T) {
		raw, err := p.TokenFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if err := checkClaims(headerOf(t, raw), claimsOf(t, raw), p.TenantClaim()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestForgeryNamesRoundTrip(t *testing.T) {
	for _, f := range mockidp.Forgeries() {
		got, err := mockidp.ParseForgery(f.String())
		if err != nil || got != f {
			t.Errorf("ParseForgery(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := mockidp.ParseForgery("nope"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an unknown name should list the known ones: %v", err)
	}
}

func TestTokenForShapesTheToken(t *testing.T) {
	p := startIdP(t)
	ctx := context.Background()
	raw, err := p.TokenFor(ctx, "bob@globex.example", mockidp.WithTokenAudience("https://mcp.example/mcp"),
		mockidp.WithTokenScopes("mcp:tools"), mockidp.WithTokenClaims(map[string]any{"act": map[string]any{"sub": "agent-7"}}))
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, raw)
	if c["aud"] != "https://mcp.example/mcp" || c["scope"] != "mcp:tools" || c["tenant"] != "globex" || c["act"] == nil {
		t.Errorf("claims %v", c)
	}
	if _, err := p.TokenFor(ctx, "mallory"); err == nil || !strings.Contains(err.Error(), "alice") {
		t.Errorf("an unknown user should be named with the known ones: %v", err)
	}
	if _, err := oidc.NewProvider(ctx, p.IssuerURL()); err != nil {
		t.Fatal(err)
	}
}
