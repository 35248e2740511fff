package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// TestLambdaRIERunsTheReferenceAuthorizer runs `mcpsso lambda rie -- authorizer` as a Lambda
// container image's entry point does, with the real authorizer binary configured from its
// environment, and calls it as the gateway does: alice's token is allowed with her role, a bad
// token is Unauthorized; SIGINT stops both processes.
func TestLambdaRIERunsTheReferenceAuthorizer(t *testing.T) {
	bin := buildBinary(t)
	authz := filepath.Join(t.TempDir(), "authorizer")
	if out, err := exec.Command("go", "build", "-o", authz, "github.com/mcpsso/mcpsso/reference/authorizer/cmd/authorizer").CombinedOutput(); err != nil {
		t.Fatalf("go build authorizer: %v\n%s", err, out)
	}
	idp, store := startIdPWithAliceMapped(t)

	env := append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=mcp-authorizer",
		authorizer.EnvPrefix+"MODE=token", authorizer.EnvPrefix+"ISSUER="+idp.IssuerURL(), authorizer.EnvPrefix+"ROLE_STORE=file:"+store)
	p := startServe(t, bin, env, "invoke ", "lambda", "rie", "--addr", "127.0.0.1:0", "--", authz)
	url, invokeURL := p.printed("ready "), p.printed("invoke ")
	if url == "" || invokeURL != url+"/2015-03-31/functions/function/invocations" {
		t.Fatalf("ready %q, invoke %q; stderr %s", url, invokeURL, p.stderr.String())
	}

	// The name from AWS_LAMBDA_FUNCTION_NAME, as the gateway derives it from authorizerUri.
	fn := gateway.LambdaInvoke(url, "mcp-authorizer")
	methodARN := "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/POST/mcp"
	tok, err := idp.TokenFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fn.Token(t.Context(), events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + tok, MethodArn: methodARN})
	if err != nil || len(resp.PolicyDocument.Statement) != 1 || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.Context[authorizer.ContextDecidedRole] != aliceRole {
		t.Fatalf("alice: %+v, %v; stderr %s", resp, err, p.stderr.String())
	}
	_, err = fn.Token(t.Context(), events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer garbage", MethodArn: methodARN})
	var fe *gateway.FunctionError
	if !errors.As(err, &fe) || fe.Message != "Unauthorized" {
		t.Fatalf("garbage token: %v (%T), want the function error Unauthorized", err, err)
	}

	p.interrupt(t)
	stderr := p.stderr.String()
	var outcomes []string
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct {
			Msg, Outcome, RequestID string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "invocation" {
			outcomes = append(outcomes, rec.Outcome)
		}
	}
	if strings.Join(outcomes, ",") != "ok,function_error" {
		t.Errorf("logged outcomes %v, want ok then function_error:\n%s", outcomes, stderr)
	}
}

// aliceRole is the role the store of startIdPWithAliceMapped gives alice.
const aliceRole = "arn:aws:iam::111122223333:role/alice-role"

// startIdPWithAliceMapped starts the mock IdP and writes a role store file mapping its alice
// to aliceRole in tenant acme; it returns the IdP and the store's path.
func startIdPWithAliceMapped(t *testing.T) (*mockidp.Server, string) {
	t.Helper()
	idp, err := mockidp.Start(t.Context(), mockidp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	alice, ok := idp.User("alice")
	if !ok {
		t.Fatal("no alice in the mock IdP")
	}
	store := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(store, []byte("mappings:\n  - sub: "+alice.Subject+"\n    roleArn: "+aliceRole+"\n    tags: {tenant: acme}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return idp, store
}

func TestLambdaRIERejectsBadInput(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     string
		mention []string
	}{
		{"no handler is refused", nil, "", []string{"no handler", "--"}},
		{"a handler that does not exist is named", []string{"--", "/no/such/bootstrap"}, "", []string{"/no/such/bootstrap"}},
		{"a bad --function-name is named with the rule", []string{"--function-name", "a:b", "--", self}, "", []string{"--function-name", "1 to 64"}},
		{"a zero --timeout is refused", []string{"--timeout", "0s", "--", self}, "", []string{"--timeout", "positive"}},
		{"a --timeout over 15 minutes is refused", []string{"--timeout", "1h", "--", self}, "", []string{"--timeout", "15m0s"}},
		{"a bad --memory-size is named", []string{"--memory-size", "64", "--", self}, "", []string{"--memory-size", "128 and 10240"}},
		{"a bad AWS_LAMBDA_FUNCTION_TIMEOUT is named", []string{"--", self}, "3s", []string{"AWS_LAMBDA_FUNCTION_TIMEOUT", "whole number of seconds"}},
		{"a bad --log-level is named", []string{"--log-level", "loud", "--", self}, "", []string{"--log-level"}},
		{"a bad --addr is named", []string{"--addr", "nohost", "--", self}, "", []string{"nohost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", tc.env)
			code, stdout, stderr := execute(t, "", append([]string{"lambda", "rie"}, tc.args...)...)
			if code == 0 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want a failure and nothing on stdout", code, stdout)
			}
			for _, m := range tc.mention {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr %q does not mention %q", stderr, m)
				}
			}
		})
	}
}
