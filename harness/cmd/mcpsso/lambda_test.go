package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	mockidp "github.com/mcpsso/mcpsso/mocks/oidc"
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

	cmd := exec.Command(bin, "lambda", "rie", "--addr", "127.0.0.1:0", "--", authz)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=mcp-authorizer",
		authorizer.EnvPrefix+"MODE=token", authorizer.EnvPrefix+"ISSUER="+idp.IssuerURL(), authorizer.EnvPrefix+"ROLE_STORE=file:"+store)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var url, invokeURL string
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		if u, ok := strings.CutPrefix(lines.Text(), "ready "); ok {
			url = u
		}
		if u, ok := strings.CutPrefix(lines.Text(), "invoke "); ok {
			invokeURL = u
			break
		}
	}
	if url == "" || invokeURL != url+"/2015-03-31/functions/function/invocations" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("ready %q, invoke %q; stderr %s", url, invokeURL, stderr.String())
	}

	// The name from AWS_LAMBDA_FUNCTION_NAME, as the gateway derives it from authorizerUri.
	fn := gateway.LambdaInvoke(url, "mcp-authorizer")
	methodARN := "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/POST/mcp"
	tok, err := idp.TokenFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fn.Token(t.Context(), events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + tok, MethodArn: methodARN})
	if err != nil || len(resp.PolicyDocument.Statement) != 1 || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.Context[authorizer.ContextDecidedRole] != role {
		t.Fatalf("alice: %+v, %v; stderr %s", resp, err, stderr.String())
	}
	_, err = fn.Token(t.Context(), events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer garbage", MethodArn: methodARN})
	var fe *gateway.FunctionError
	if !errors.As(err, &fe) || fe.Message != "Unauthorized" {
		t.Fatalf("garbage token: %v (%T), want the function error Unauthorized", err, err)
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lambda rie did not stop within 10s of SIGINT")
	}
	var outcomes []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		var rec struct {
			Msg, Outcome, RequestID string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "invocation" {
			outcomes = append(outcomes, rec.Outcome)
		}
	}
	if strings.Join(outcomes, ",") != "ok,function_error" {
		t.Errorf("logged outcomes %v, want ok then function_error:\n%s", outcomes, stderr.String())
	}
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
