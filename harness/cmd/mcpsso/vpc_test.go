package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
)

func TestVPCTaskCredentialsPrintsASessionOfTheTaskRole(t *testing.T) {
	ctx := context.Background()
	emu, err := awsemu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	startMCPWorldRoles(t, emu)
	ep, err := emu.StartTaskRoleEndpoint(ctx, "arn:aws:iam::"+awsemu.DefaultAccount+":role/ecsTaskRole")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })

	code, stdout, stderr := execute(t, "", "vpc", "task-credentials", "--full-uri", ep.URL(), "--token", ep.AuthorizationToken())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var c taskCredentials
	if err := json.Unmarshal([]byte(stdout), &c); err != nil || c.AccessKeyID == "" || c.Token == "" || c.Expiration == "" {
		t.Fatalf("stdout is not a complete credential set (%v): %s", err, stdout)
	}
	// The printed session is the task role's, usable at the emulator.
	out, err := sts.NewFromConfig(aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.Token)}).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(out.Arn), ":assumed-role/ecsTaskRole/") {
		t.Fatalf("caller %s, want a session of ecsTaskRole", aws.ToString(out.Arn))
	}

	t.Run("a wrong token is refused, with no credentials printed", func(t *testing.T) {
		code, stdout, stderr := execute(t, "", "vpc", "task-credentials", "--full-uri", ep.URL(), "--token", "wrong")
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, ep.URL()) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("no token is an input error naming the flag", func(t *testing.T) {
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
		code, _, stderr := execute(t, "", "vpc", "task-credentials", "--full-uri", ep.URL())
		if code != exitInput || !strings.Contains(stderr, "--token") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}

// startMCPWorldRoles declares the task role, trusted by ECS tasks, on the caller's emulator.
func startMCPWorldRoles(t *testing.T, emu *awsemu.Server) {
	t.Helper()
	admin, _ := emu.AdminCredentials(awsemu.DefaultAccount)
	c := iam.NewFromConfig(aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials: credentials.StaticCredentialsProvider{Value: admin}})
	if _, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("ecsTaskRole"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
}

func TestVPCWaitTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	code, stdout, stderr := execute(t, "", "vpc", "wait-tcp", "--addr", addr, "--timeout", "5s")
	if code != 0 || !strings.Contains(stdout, "ready tcp://"+addr) {
		t.Fatalf("listening: exit %d, %q %q", code, stdout, stderr)
	}
	ln.Close()
	code, _, stderr = execute(t, "", "vpc", "wait-tcp", "--addr", addr, "--timeout", "300ms")
	if code != exitFailure || !strings.Contains(stderr, "accepted no TCP connection") {
		t.Fatalf("closed: exit %d, %q", code, stderr)
	}
	code, _, stderr = execute(t, "", "vpc", "wait-tcp", "--addr", "mcp")
	if code != exitInput || !strings.Contains(stderr, "--addr") {
		t.Fatalf("no port: exit %d, %q", code, stderr)
	}
}

func TestMetricsRelayForwardsOnlyGETMetrics(t *testing.T) {
	var mu sync.Mutex
	var upstreamPaths []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamPaths = append(upstreamPaths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "access_denied_total{action=\"s3:GetObject\"} 3\n")
	}))
	t.Cleanup(upstream.Close)
	relay := httptest.NewServer(metricsRelay(upstream.URL+"/metrics", slog.New(slog.DiscardHandler)))
	t.Cleanup(relay.Close)

	resp, err := http.Get(relay.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "access_denied_total") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/metrics"}, {http.MethodGet, "/mcp"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/metrics/../mcp"},
	} {
		req, _ := http.NewRequest(tc.method, relay.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s was relayed", tc.method, tc.path)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(upstreamPaths) != 1 || upstreamPaths[0] != "GET /metrics" {
		t.Fatalf("the upstream saw %v, want only the one GET /metrics", upstreamPaths)
	}
}

// The direct relay forwards what a service in the VPC would send: the request as it came, Host
// the upstream's, nothing added (no X-Forwarded-For to tell the server it was relayed).
func TestRelayForwardsRequestsUnchangedButForTheHost(t *testing.T) {
	got := make(chan *http.Request, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		got <- r
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":"missing_context_proof"}`)
	}))
	t.Cleanup(upstream.Close)
	u, _ := url.Parse(upstream.URL)
	r := httptest.NewServer(relay(u, slog.New(slog.DiscardHandler)))
	t.Cleanup(r.Close)
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/mcp?x=1", strings.NewReader(`{"jsonrpc":"2.0"}`))
	req.Header.Set("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-globex")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "missing_context_proof") {
		t.Errorf("the upstream's answer did not come back as it was: %d %s", resp.StatusCode, body)
	}
	in := <-got
	b, _ := io.ReadAll(in.Body)
	if in.Method != http.MethodPost || in.URL.Path != "/mcp" || in.URL.RawQuery != "x=1" || in.Host != u.Host || string(b) != `{"jsonrpc":"2.0"}` ||
		in.Header.Get("X-Decided-Role") != "arn:aws:iam::111122223333:role/quilt-mcp-target-globex" || in.Header.Get("X-Forwarded-For") != "" {
		t.Errorf("the upstream got %s %s?%s Host %s, headers %v, body %s", in.Method, in.URL.Path, in.URL.RawQuery, in.Host, in.Header, b)
	}
	for _, bad := range []string{"ftp://mcp:8080", "http://mcp:8080/mcp", "mcp:8080"} {
		if code, _, stderr := execute(t, "", "vpc", "relay", "--upstream", bad); code != exitInput || !strings.Contains(stderr, "--upstream") {
			t.Errorf("--upstream %s: exit %d %q", bad, code, stderr)
		}
	}
}

// TestTaskEndpointRelaysTheTaskRoleWithTheToken is the relay `vpc task-endpoint` serves inside
// the MCP task: GET of the task's relative URI reaches the real container-credentials endpoint
// with the token, which the task never holds; nothing else is relayed, and the endpoint's
// refusal comes back as it is.
func TestTaskEndpointRelaysTheTaskRoleWithTheToken(t *testing.T) {
	ep, err := ecscreds.Start(t.Context(), ecscreds.SourceFunc(func(context.Context) (ecscreds.Credentials, error) {
		return ecscreds.Credentials{AccessKeyID: "ASIATASK", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	relative := "/v2/credentials/3f2a"
	withToken := func(token string) *httptest.Server {
		s := httptest.NewServer(getRelay(relative, ep.URL(), "task-role credentials", func(_, out *http.Request) {
			out.Header.Set("Authorization", token)
		}, slog.New(slog.DiscardHandler)))
		t.Cleanup(s.Close)
		return s
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	relay := withToken(ep.AuthorizationToken())
	if code, body := get(relay.URL + relative); code != http.StatusOK || !strings.Contains(body, `"AccessKeyId":"ASIATASK"`) {
		t.Fatalf("GET %s: %d %s", relative, code, body)
	}
	for _, path := range []string{"/v2/credentials/other", "/v2/credentials", "/"} {
		if code, _ := get(relay.URL + path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	if code, body := get(withToken("wrong").URL + relative); code == http.StatusOK || strings.Contains(body, "ASIATASK") {
		t.Fatalf("with a wrong token the relay served credentials: %d %s", code, body)
	}
}
