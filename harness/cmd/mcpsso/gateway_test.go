package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// envTestLambda makes this test binary a Lambda function's handler process (TestMain) instead
// of running the tests; its value names the handler. lambdaRESTAuthorizer, the one there is, is
// restAuthorizer.
const (
	envTestLambda        = "MCPSSO_TEST_LAMBDA"
	lambdaRESTAuthorizer = "rest-authorizer"
)

// restAuthorizer is a REST API authorizer allowing the token "good" with the role
// role-from-authorizer and failing every other with Unauthorized.
func restAuthorizer(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if ev.Headers["Authorization"] != "Bearer good" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "usr-1", Context: map[string]any{"decidedRole": "role-from-authorizer"},
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}}}}}, nil
}

// TestGatewayServeAsASubprocess runs `mcpsso gateway serve --config F` as a script would, with
// the reference API, an authorizer (this test binary as a Lambda function, restAuthorizer)
// behind the Lambda Runtime Interface Emulator and an echoing MCP server; a client without a
// token gets the challenge, a client with one reaches the server with the authorizer's role in
// place of the one it sent.
func TestGatewayServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "role": r.Header.Get("X-Decided-Role")})
	}))
	t.Cleanup(upstream.Close)
	authorizer, err := lambdarie.Start(t.Context(), lambdarie.WithHandler(os.Args[0]), lambdarie.WithFunctionName("mcp-authorizer"),
		lambdarie.WithOutput(t.Output()), lambdarie.WithEnv(envTestLambda+"="+lambdaRESTAuthorizer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := authorizer.Close(); err != nil {
			t.Error(err)
		}
	})
	config := filepath.Join(t.TempDir(), "api.yaml")
	yaml, err := gateway.ShippedConfigYAML("reference")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, yaml, 0o600); err != nil {
		t.Fatal(err)
	}

	p := startServe(t, bin, nil, "mcp ", "gateway", "serve", "--config", config, "--addr", "127.0.0.1:0", "--authorizer-url", authorizer.Endpoint(),
		"--integration-url", upstream.URL, "--issuer", "https://issuer.example")
	url, mcp := p.printed("ready "), p.printed("mcp ")
	if url == "" || mcp != url+"/mcp" {
		t.Fatalf("ready %q, mcp %q; stderr %s", url, mcp, p.stderr.String())
	}

	get := func(token string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", mcp, nil)
		req.Header.Set("X-Decided-Role", "admin")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, _ := get("")
	if want := `Bearer resource_metadata="` + url + `/.well-known/oauth-protected-resource/mcp", error="invalid_token"`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _ := get("bad"); resp.StatusCode != 401 {
		t.Errorf("bad token: %d", resp.StatusCode)
	}
	resp, body := get("good")
	if resp.StatusCode != 200 || body != `{"path":"/mcp","role":"role-from-authorizer"}`+"\n" {
		t.Errorf("good token: %d %s", resp.StatusCode, body)
	}

	p.interrupt(t)
	stderr := p.stderr.String()
	var statuses []float64
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec struct {
			Msg    string  `json:"msg"`
			Status float64 `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %s", line)
		}
		if rec.Msg == "access" {
			statuses = append(statuses, rec.Status)
		}
	}
	if len(statuses) != 3 {
		t.Errorf("access log statuses %v, want three lines:\n%s", statuses, stderr)
	}
}

func TestGatewayServeRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("type: http-api\nroutes:\n  - routeKey: GET /\n    integraton: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		mention []string
	}{
		{"neither --config nor --profile is refused", nil, []string{"--config", "--profile"}},
		{"both --config and --profile are refused", []string{"--config", bad, "--profile", "seed"}, []string{"exactly one"}},
		{"an unknown profile is named", []string{"--profile", "tutorial"}, []string{`"tutorial"`, "reference, seed"}},
		{"an unknown config field is named with its path", []string{"--config", bad}, []string{"routes[0].integraton", "unknown field"}},
		{"a missing config file is named", []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, []string{"none.yaml"}},
		{"an authorizer with nothing behind it is refused", []string{"--profile", "seed", "--addr", "127.0.0.1:0"}, []string{"mcp-authorizer", "--authorizer-url"}},
		{"a bad --authorizer-url is named", []string{"--profile", "seed", "--authorizer-url", "localhost:9000"}, []string{"localhost:9000"}},
		{"a bad --addr is named", []string{"--profile", "seed", "--addr", "nohost"}, []string{"nohost"}},
		{"a bad --log-level is named", []string{"--profile", "seed", "--log-level", "loud"}, []string{"--log-level"}},
		{"an --allowed-origin with a path is named", []string{"--profile", "reference", "--allowed-origin", "http://localhost:6274/"},
			[]string{`--allowed-origin "http://localhost:6274/"`, "not even a trailing /"}},
		{"an --allowed-origin for an API without a preflight route is refused", []string{"--profile", "seed", "--addr", "127.0.0.1:0",
			"--authorizer-url", "http://127.0.0.1:9", "--allowed-origin", "http://localhost:6274"}, []string{"--allowed-origin", "no corsPreflight integration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, "", append([]string{"gateway", "serve"}, tc.args...)...)
			if code != exitInput || stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit %d and nothing on stdout", code, stdout, exitInput)
			}
			for _, m := range tc.mention {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr %q does not mention %q", stderr, m)
				}
			}
		})
	}
}

// TestGatewayServeAuthorizerFromEnv runs the reference authorizer inside `mcpsso gateway serve`
// (--authorizer-from-env, as the container topology does), configured like its Lambda: a token
// of the IdP for a mapped user reaches the server with the mapped role, others get 401.
func TestGatewayServeAuthorizerFromEnv(t *testing.T) {
	bin := buildBinary(t)
	idp, store := startIdPWithAliceMapped(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Decided-Role"))
	}))
	t.Cleanup(upstream.Close)
	env := append(os.Environ(), "MCPSSO_AUTHORIZER_MODE=rest", "MCPSSO_AUTHORIZER_ISSUER="+idp.IssuerURL(),
		"MCPSSO_AUTHORIZER_ROLE_STORE=file:"+store)
	p := startServe(t, bin, env, "mcp ", "gateway", "serve", "--profile", "reference", "--addr", "127.0.0.1:0", "--authorizer-from-env",
		"--integration-url", upstream.URL, "--issuer", idp.IssuerURL())
	mcp := p.require(t, "mcp ")
	call := func(token string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", mcp, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tok, err := idp.TokenFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := call(tok); code != 200 || body != aliceRole {
		t.Errorf("alice: %d %q; stderr %s", code, body, p.stderr.String())
	}
	if code, _ := call("garbage"); code != 401 {
		t.Errorf("garbage token: %d, want 401", code)
	}

	// Without a role store the authorizer cannot start, and the command says why.
	code, _, errOut := execute(t, "", "gateway", "serve", "--profile", "reference", "--addr", "127.0.0.1:0", "--authorizer-from-env")
	if code == 0 || !strings.Contains(errOut, "--authorizer-from-env") {
		t.Errorf("no MCPSSO_AUTHORIZER_*: exit %d, stderr %q", code, errOut)
	}
}
