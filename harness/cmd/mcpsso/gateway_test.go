package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	mockidp "github.com/mcpsso/mcpsso/mocks/oidc"
	"github.com/mcpsso/mcpsso/reference/gateway"
	"github.com/mcpsso/mcpsso/reference/gateway/lambdastub"
)

// TestGatewayServeAsASubprocess runs `mcpsso gateway serve --config F` as a script would, with
// the reference API, an authorizer behind a Lambda Invoke stand-in and an echoing MCP server;
// a client without a token gets the challenge, a client with one reaches the server with the
// authorizer's role in place of the one it sent.
func TestGatewayServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "role": r.Header.Get("X-Decided-Role")})
	}))
	defer upstream.Close()
	authorizer := httptest.NewServer(lambdastub.New(map[string]lambdastub.Func{"mcp-authorizer": lambdastub.Typed(
		func(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			if ev.Headers["Authorization"] != "Bearer good" {
				return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
			}
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "usr-1", Context: map[string]any{"decidedRole": "role-from-authorizer"},
				PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
					{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}}}}}, nil
		})}))
	defer authorizer.Close()
	config := filepath.Join(t.TempDir(), "api.yaml")
	yaml, err := gateway.ShippedConfigYAML("reference")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, yaml, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "gateway", "serve", "--config", config, "--addr", "127.0.0.1:0", "--authorizer-url", authorizer.URL,
		"--integration-url", upstream.URL, "--issuer", "https://issuer.example")
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
	lines := bufio.NewScanner(stdout)
	var url, mcp string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "ready "); ok {
			url = u
		}
		if u, ok := strings.CutPrefix(lines.Text(), "mcp "); ok {
			mcp = u
			break
		}
	}
	if url == "" || mcp != url+"/mcp" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("ready %q, mcp %q; stderr %s", url, mcp, stderr.String())
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

	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gateway serve did not stop within 10s of SIGINT")
	}
	var statuses []float64
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
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
		t.Errorf("access log statuses %v, want three lines:\n%s", statuses, stderr.String())
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
	idp, err := mockidp.Start(t.Context(), mockidp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	alice, ok := idp.User("alice")
	if !ok {
		t.Fatal("no alice in the mock IdP")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Decided-Role"))
	}))
	defer upstream.Close()
	store := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(store, []byte("mappings:\n  - sub: "+alice.Subject+"\n    roleArn: arn:aws:iam::111122223333:role/alice-role\n    tags: {tenant: acme}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "gateway", "serve", "--profile", "reference", "--addr", "127.0.0.1:0", "--authorizer-from-env",
		"--integration-url", upstream.URL, "--issuer", idp.IssuerURL())
	cmd.Env = append(os.Environ(), "MCPSSO_AUTHORIZER_MODE=rest", "MCPSSO_AUTHORIZER_ISSUER="+idp.IssuerURL(),
		"MCPSSO_AUTHORIZER_ROLE_STORE=file:"+store)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var mcp string
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		if u, ok := strings.CutPrefix(lines.Text(), "mcp "); ok {
			mcp = u
			break
		}
	}
	if mcp == "" {
		t.Fatalf("no mcp line; stderr %s", stderr.String())
	}
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
	if code, body := call(tok); code != 200 || body != "arn:aws:iam::111122223333:role/alice-role" {
		t.Errorf("alice: %d %q; stderr %s", code, body, stderr.String())
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
