package authorizer_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

func TestTheLambdaConfigurationComesFromTheEnvironment(t *testing.T) {
	base := []string{"PATH=/usr/bin", "MCPSSO_AUTHORIZER_ISSUER=https://idp.example/oauth2/default",
		"MCPSSO_AUTHORIZER_ROLE_STORE=dynamodb:mcpsso-role-mappings"}
	c, err := authorizer.ConfigFromEnv(base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != authorizer.ModeHTTPAPI || c.Audience != "api://quilt-mcp" || c.TenantClaim != "tenant" ||
		c.TokenType.Header != "at+jwt" || c.TokenType.Claim != "token_use" || !slices.Equal(c.TokenType.Values, []string{"access"}) ||
		!slices.Equal(c.Algorithms, []string{"RS256", "ES256"}) || c.DynamoDBTable != "mcpsso-role-mappings" {
		t.Errorf("defaults: %+v", c)
	}
	okta, err := authorizer.ConfigFromEnv(append(slices.Clone(base), "MCPSSO_AUTHORIZER_MODE=rest",
		"MCPSSO_AUTHORIZER_TOKEN_TYPE_HEADER=none", "MCPSSO_AUTHORIZER_TOKEN_TYPE_CLAIM=scp", "MCPSSO_AUTHORIZER_ALGORITHMS=RS256"))
	if err != nil {
		t.Fatal(err)
	}
	if okta.Mode != authorizer.ModeREST || okta.TokenType.Header != "" || okta.TokenType.Claim != "scp" || len(okta.TokenType.Values) != 0 {
		t.Errorf("an Okta-like configuration: %+v", okta)
	}

	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"a misspelt setting is refused", []string{"MCPSSO_AUTHORIZER_ISUER=x"}, "MCPSSO_AUTHORIZER_ISUER: unknown setting"},
		{"an unknown mode is refused", []string{"MCPSSO_AUTHORIZER_MODE=grpc"}, "must be http, rest or token"},
		{"a missing issuer is refused", []string{"MCPSSO_AUTHORIZER_ISSUER="}, "MCPSSO_AUTHORIZER_ISSUER: required"},
		{"a role store of an unknown kind is refused", []string{"MCPSSO_AUTHORIZER_ROLE_STORE=redis:x"}, "file:<path to YAML> or dynamodb:<table>"},
		{"a bad duration is refused", []string{"MCPSSO_AUTHORIZER_JWKS_REFETCH_INTERVAL=soon"}, "Go duration"},
		{"a bad log level is refused", []string{"MCPSSO_AUTHORIZER_LOG_LEVEL=loud"}, "debug, info, warn or error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authorizer.ConfigFromEnv(append(slices.Clone(base), tc.env...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// fromEnv builds an authorizer the way the Lambda entry point does, from its environment
// (issuer, JWKS and a role-store file of the env's IdP, plus extra entries), on e's clock.
func fromEnv(t *testing.T, e *env, extra ...string) (authorizer.Config, *authorizer.Authorizer) {
	t.Helper()
	roles := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(roles, []byte(storeYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := authorizer.ConfigFromEnv(append([]string{
		"MCPSSO_AUTHORIZER_ISSUER=" + e.idp.IssuerURL(), "MCPSSO_AUTHORIZER_JWKS_URL=" + e.idp.JWKSURL(),
		"MCPSSO_AUTHORIZER_ROLE_STORE=file:" + roles, "MCPSSO_AUTHORIZER_LOG_LEVEL=error",
	}, extra...))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := c.Options(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authorizer.New(context.Background(), append(opts, authorizer.WithClock(e.clock.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	return c, a
}

func TestTheConfigurationBuildsAWorkingAuthorizer(t *testing.T) {
	e := newEnv(t)
	c, a := fromEnv(t, e)
	if d, err := a.Decide(context.Background(), bearer(e.token(t, "alice"))); err != nil || !d.Allow {
		t.Fatalf("decision %s (%s), %v", d.Reason, d.Detail, err)
	}
	c.RoleStoreFile, c.DynamoDBTable = "", "t1"
	if _, err := c.Options(nil); err == nil || !strings.Contains(err.Error(), "needs an AWS client") {
		t.Errorf("a DynamoDB store without a client: %v", err)
	}
}

func TestOptionsRejectUnsafeSettings(t *testing.T) {
	store := fixtureStore(t)
	tests := []struct {
		name string
		opts []authorizer.Option
		want string
	}{
		{"the issuer is required", []authorizer.Option{authorizer.WithRoleStore(store)}, "WithIssuer is required"},
		{"the role store is required", []authorizer.Option{authorizer.WithIssuer("https://idp.example")}, "WithRoleStore is required"},
		{"an HMAC algorithm is refused", []authorizer.Option{authorizer.WithAlgorithms("HS256")}, `algorithm "HS256": not allowed`},
		{"alg none is refused", []authorizer.Option{authorizer.WithAlgorithms("none")}, `algorithm "none": not allowed`},
		{"an issuer with a query is refused", []authorizer.Option{authorizer.WithIssuer("https://idp.example/?x=1")}, "must not have a query"},
		{"a relative JWKS URL is refused", []authorizer.Option{authorizer.WithJWKSURL("/jwks.json")}, "absolute http or https URL"},
		{"a registered claim as the tenant claim is refused", []authorizer.Option{authorizer.WithTenantClaim("sub")}, "registered claim"},
		{"a refetch interval below a second is refused", []authorizer.Option{authorizer.WithJWKSRefetchInterval(0)}, "at least 1s"},
		{"a tiny token bound is refused", []authorizer.Option{authorizer.WithMaxTokenBytes(10)}, "256-65536"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authorizer.New(context.Background(), tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
