package lambdarie_test

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// buildAuthorizer compiles the reference authorizer's Lambda entry point, the binary that is
// deployed to AWS Lambda.
func buildAuthorizer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the reference authorizer; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "authorizer")
	build := exec.Command("go", "build", "-o", bin, "github.com/mcpsso/mcpsso/reference/authorizer/cmd/authorizer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTheReferenceAuthorizerRunsUnderTheEmulator runs the real authorizer binary as its Lambda
// would run, configured from its environment, and invokes it with the gateway's Lambda client:
// a token of a mapped user is allowed with her role, an unmapped user is denied, and a bad
// token is Unauthorized (a 401 on REST APIs).
func TestTheReferenceAuthorizerRunsUnderTheEmulator(t *testing.T) {
	bin := buildAuthorizer(t)
	idp, err := mockidp.Start(t.Context(), mockidp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	alice, ok := idp.User("alice")
	if !ok {
		t.Fatal("no alice in the mock IdP")
	}
	const role = "arn:aws:iam::111122223333:role/alice-role"
	store := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(store, []byte("mappings:\n  - sub: "+alice.Subject+"\n    roleArn: "+role+"\n    tags: {tenant: acme}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	s, err := lambdarie.Start(t.Context(), lambdarie.WithHandler(bin), lambdarie.WithFunctionName("mcp-authorizer"), lambdarie.WithOutput(out),
		lambdarie.WithEnv(authorizer.EnvPrefix+"MODE=rest", authorizer.EnvPrefix+"ISSUER="+idp.IssuerURL(),
			authorizer.EnvPrefix+"JWKS_URL="+idp.JWKSURL(), authorizer.EnvPrefix+"ROLE_STORE=file:"+store))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn := gateway.LambdaInvoke(s.Endpoint(), "mcp-authorizer")

	call := func(t *testing.T, authz string) (events.APIGatewayCustomAuthorizerResponse, error) {
		ev := events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/POST/mcp",
			Resource: "/mcp", Path: "/mcp", HTTPMethod: "POST",
			Headers: map[string]string{"Authorization": authz}, MultiValueHeaders: map[string][]string{"Authorization": {authz}},
		}
		return fn.REST(t.Context(), ev)
	}
	token := func(t *testing.T, user string) string {
		tok, err := idp.TokenFor(t.Context(), user)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	t.Run("alice is allowed with her role", func(t *testing.T) {
		resp, err := call(t, "Bearer "+token(t, "alice"))
		if err != nil {
			t.Fatalf("%v\nauthorizer output:\n%s", err, out)
		}
		if len(resp.PolicyDocument.Statement) != 1 || resp.PolicyDocument.Statement[0].Effect != "Allow" ||
			resp.Context[authorizer.ContextDecidedRole] != role {
			t.Fatalf("response %+v: want an Allow with decided role %s", resp, role)
		}
	})
	t.Run("carol, known to the IdP but not mapped, is denied", func(t *testing.T) {
		resp, err := call(t, "Bearer "+token(t, "carol"))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.PolicyDocument.Statement) != 1 || resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.Context[authorizer.ContextDecidedRole] != nil {
			t.Fatalf("response %+v: want a Deny without a role", resp)
		}
	})
	t.Run("a bad token is Unauthorized, a function error", func(t *testing.T) {
		_, err := call(t, "Bearer not-a-jwt")
		var fe *gateway.FunctionError
		if !errors.As(err, &fe) || fe.Message != "Unauthorized" {
			t.Fatalf("error %v (%T), want the function error Unauthorized", err, err)
		}
	})
}
