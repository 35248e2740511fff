package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// seen is what the upstream (the MCP server behind the NLB) received.
type seen struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	RawQuery string      `json:"rawQuery"`
	Host     string      `json:"host"`
	Header   http.Header `json:"header"`
}

// upstream is an httptest server that echoes what it received as JSON; /slow answers only when
// the request is cancelled.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last seen
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		s := seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, Header: r.Header.Clone()}
		u.mu.Lock()
		u.last = s
		u.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mcp-Session-Id", "session-from-upstream")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastSeen() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// result is a response as a test looks at it.
type result struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, method, url string, header map[string]string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(body)}
}

// startGateway serves the YAML config with the options, on loopback, until the test ends.
func startGateway(t *testing.T, yaml string, opts ...Option) *Server {
	t.Helper()
	c, err := ParseConfig(t.Name()+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return startWith(t, c, opts...)
}

func startWith(t *testing.T, c *Config, opts ...Option) *Server {
	t.Helper()
	s, err := Start(t.Context(), append([]Option{WithConfig(c)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func shipped(t *testing.T, name string) *Config {
	t.Helper()
	c, err := ShippedConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counting wraps an authorizer to count its calls.
type counter struct{ n atomic.Int64 }

func (c *counter) simple(fn func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)) HTTPAPIAuthorizer {
	return func(_ context.Context, r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		c.n.Add(1)
		return fn(r)
	}
}

func (c *counter) rest(fn func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)) RESTAuthorizer {
	return func(_ context.Context, r events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		c.n.Add(1)
		return fn(r)
	}
}

// policy is an authorizer response with one statement for execute-api:Invoke.
func policy(effect, resource string, ctx map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "usr-1", Context: ctx,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}}}}}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// httpAPIConfig is a minimal HTTP API in front of upstream with extra YAML lines for the
// authorizer (ttl, identitySource) and integration (requestParameters).
func httpAPIConfig(upstreamURL, authorizerExtra, integrationExtra string) string {
	if authorizerExtra == "" {
		authorizerExtra = "identitySource: [$request.header.Authorization]\n    authorizerResultTtlInSeconds: 0"
	}
	return fmt.Sprintf(`type: http-api
authorizers:
  - name: auth
    type: REQUEST
    authorizerPayloadFormatVersion: "2.0"
    enableSimpleResponses: true
    %s
integrations:
  - name: backend
    integrationType: HTTP_PROXY
    integrationUri: %s
    %s
routes:
  - routeKey: ANY /{proxy+}
    authorizationType: CUSTOM
    authorizer: auth
    integration: backend
`, authorizerExtra, upstreamURL, integrationExtra)
}

func newRequest(t *testing.T, method, url string) (*http.Request, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req, nil
}

func doRequest(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(body)}
}

// shortTimeout makes the named timeout short, for the cases that wait for it to pass; the
// others keep AWS's 10 s and 30 s so a loaded machine cannot turn an answer into a timeout.
func shortTimeout(which string) []Option {
	switch which {
	case "authorizer":
		return []Option{WithAuthorizerTimeout(50 * time.Millisecond)}
	case "integration":
		return []Option{WithIntegrationTimeout(100 * time.Millisecond)}
	}
	return nil
}
