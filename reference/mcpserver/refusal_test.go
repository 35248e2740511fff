package mcpserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// listTools is a request the server answers with 200 when it lets the request through.
const listTools = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

func gatewayHeader(tenant, user string) http.Header {
	h := http.Header{}
	for k, v := range gateway(tenant, user) {
		h.Set(k, v)
	}
	h.Set("MCP-Protocol-Version", legacy)
	return h
}

func do(t *testing.T, method, url string, h http.Header, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestMissingOrMalformedHeadersAreRefusedBeforeAnyToolRuns(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t)
	tests := []struct {
		name       string
		change     func(http.Header)
		wantError  string
		wantHeader string
		wantInMsg  string
	}{
		{"a request without x-decided-role is refused and no default role is used",
			func(h http.Header) { h.Del("X-Decided-Role") }, "missing_header", "x-decided-role", "no default role"},
		{"a request without x-source-identity is refused",
			func(h http.Header) { h.Del("X-Source-Identity") }, "missing_header", "x-source-identity", "source identity"},
		{"a request without x-session-tags is refused",
			func(h http.Header) { h.Del("X-Session-Tags") }, "missing_header", "x-session-tags", "tenant"},
		{"an empty x-decided-role is refused",
			func(h http.Header) { h.Set("X-Decided-Role", " ") }, "malformed_header", "x-decided-role", "is empty"},
		{"a role name instead of a role ARN is refused",
			func(h http.Header) { h.Set("X-Decided-Role", "quilt-mcp-target-acme-admin") }, "malformed_header", "x-decided-role", "IAM role ARN"},
		{"a user ARN instead of a role ARN is refused",
			func(h http.Header) { h.Set("X-Decided-Role", "arn:aws:iam::111122223333:user/admin") }, "malformed_header", "x-decided-role", "IAM role ARN"},
		{"an x-decided-role sent twice is refused",
			func(h http.Header) { h.Add("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-globex") }, "malformed_header", "x-decided-role", "exactly once"},
		{"a raw IdP subject with a pipe as source identity is refused",
			func(h http.Header) { h.Set("X-Source-Identity", "auth0|65f0c0ffee") }, "malformed_header", "x-source-identity", "2-64 characters"},
		{"a source identity over 64 characters is refused",
			func(h http.Header) { h.Set("X-Source-Identity", "usr-"+strings.Repeat("a", 61)) }, "malformed_header", "x-source-identity", "2-64 characters"},
		{"session tags that are not JSON are refused",
			func(h http.Header) { h.Set("X-Session-Tags", "tenant=acme") }, "malformed_header", "x-session-tags", "must be JSON"},
		{"session tags without a tenant tag are refused",
			func(h http.Header) { h.Set("X-Session-Tags", `[{"Key":"team","Value":"a"}]`) }, "malformed_header", "x-session-tags", `no "tenant" tag`},
		{"a tenant that would escape the bucket name is refused",
			func(h http.Header) { h.Set("X-Session-Tags", `{"tenant":"acme/../globex"}`) }, "malformed_header", "x-session-tags", "lower-case letters"},
		{"two tag keys equal but for case are refused",
			func(h http.Header) {
				h.Set("X-Session-Tags", `[{"Key":"tenant","Value":"acme"},{"Key":"Tenant","Value":"globex"}]`)
			}, "malformed_header", "x-session-tags", "case-insensitively"},
		{"a tag key repeated in the object form is refused",
			func(h http.Header) { h.Set("X-Session-Tags", `{"tenant":"globex","tenant":"acme"}`) }, "malformed_header", "x-session-tags", "case-insensitively"},
		{"a tag list element with an extra field is refused",
			func(h http.Header) { h.Set("X-Session-Tags", `[{"Key":"tenant","Value":"acme","Transitive":true}]`) }, "malformed_header", "x-session-tags", `"Transitive"`},
		{"limits with an unknown field are refused",
			func(h http.Header) { h.Set("X-Limits", `{"requestsPerMinute":60,"burst":10}`) }, "malformed_header", "x-limits", `"burst" is unknown`},
		{"a session longer than STS allows is refused",
			func(h http.Header) { h.Set("X-Limits", `{"sessionSeconds":86400}`) }, "malformed_header", "x-limits", "900 to 43200"},
		{"a fractional request rate is refused",
			func(h http.Header) { h.Set("X-Limits", `{"requestsPerMinute":1.5}`) }, "malformed_header", "x-limits", "whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := gatewayHeader("acme", "usr-alice")
			tc.change(hdr)
			resp, body := do(t, http.MethodPost, url, hdr, toolsCallBody("get_object", map[string]any{"key": "data.csv"}))
			msg, _ := body["message"].(string)
			if resp.StatusCode != http.StatusForbidden || body["error"] != tc.wantError || body["header"] != tc.wantHeader || !strings.Contains(msg, tc.wantInMsg) {
				t.Fatalf("got %d %v; want 403 %s naming %s and saying %q", resp.StatusCode, body, tc.wantError, tc.wantHeader, tc.wantInMsg)
			}
			if body["requestId"] == "" || resp.Header.Get("X-Request-Id") != body["requestId"] {
				t.Errorf("the refusal's requestId %v does not match X-Request-Id %q", body["requestId"], resp.Header.Get("X-Request-Id"))
			}
		})
	}
	t.Run("a request without any identity header lists every problem", func(t *testing.T) {
		resp, body := do(t, http.MethodPost, url, http.Header{}, listTools)
		problems, _ := body["problems"].([]any)
		if resp.StatusCode != http.StatusForbidden || len(problems) != 3 {
			t.Fatalf("got %d %v; want 403 with three problems", resp.StatusCode, body)
		}
	})
	metrics := scrape(t, h)
	for _, want := range []string{`sts_assume_role_total{result="ok"} 0`, `sts_assume_role_total{result="error"} 0`,
		`sts_assume_role_total{result="access_denied"} 0`, `tool_calls_total{result="ok",tool="get_object"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("a refused request reached STS or a tool; metrics lack %s:\n%s", want, grepMetrics(metrics))
		}
	}
}

func TestATenantThatMakesAnInvalidBucketNameIsRefused(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t, mcpserver.WithBucketTemplate("{tenant}"))
	resp, body := do(t, http.MethodPost, url, gatewayHeader("ab", "usr-alice"), listTools)
	if msg, _ := body["message"].(string); resp.StatusCode != http.StatusForbidden || body["header"] != "x-session-tags" || !strings.Contains(msg, `bucket name "ab"`) {
		t.Fatalf("got %d %v; want 403 naming x-session-tags and the bucket name", resp.StatusCode, body)
	}
}

func TestAnOriginMustBeAllowed(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t, mcpserver.WithAllowedOrigins("https://app.example.com"))
	for _, tc := range []struct {
		name   string
		origin []string
		want   int
	}{
		{"a request without Origin (not from a browser) is served", nil, http.StatusOK},
		{"an allowed Origin is served", []string{"https://app.example.com"}, http.StatusOK},
		{"an allowed Origin in other case is served", []string{"HTTPS://APP.example.com"}, http.StatusOK},
		{"another Origin is refused", []string{"https://evil.example"}, http.StatusForbidden},
		{"the null Origin of a sandboxed page is refused", []string{"null"}, http.StatusForbidden},
		{"an allowed Origin on another port is refused", []string{"https://app.example.com:8443"}, http.StatusForbidden},
		{"two Origin headers are refused", []string{"https://app.example.com", "https://evil.example"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := gatewayHeader("acme", "usr-alice")
			for _, o := range tc.origin {
				hdr.Add("Origin", o)
			}
			resp, body := do(t, http.MethodPost, url, hdr, listTools)
			if resp.StatusCode != tc.want || tc.want == http.StatusForbidden && body["error"] != "origin_not_allowed" {
				t.Fatalf("got %d %v, want %d", resp.StatusCode, body, tc.want)
			}
			// The browser of a listed origin may read the answer and its session id; others not.
			allow := resp.Header.Get("Access-Control-Allow-Origin")
			switch {
			case len(tc.origin) == 1 && tc.want == http.StatusOK:
				if allow != tc.origin[0] || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") || resp.Header.Get("Vary") != "Origin" {
					t.Errorf("a listed origin's answer: Access-Control-Allow-Origin %q, headers %v", allow, resp.Header)
				}
			case allow != "":
				t.Errorf("Access-Control-Allow-Origin %q on an answer to %v", allow, tc.origin)
			}
			if msg, _ := body["message"].(string); tc.want == http.StatusForbidden && !strings.Contains(msg, "listed with WithAllowedOrigins") {
				t.Errorf("the refusal does not say how to list an origin: %q", msg)
			}
		})
	}
}

// TestTheOriginRefusalNamesTheFlagOfTheCommand: a server run by a command says which flag of it
// lists an origin.
func TestTheOriginRefusalNamesTheFlagOfTheCommand(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t, mcpserver.WithOriginHint("mcpsso up --allowed-origin"))
	hdr := gatewayHeader("acme", "usr-alice")
	hdr.Set("Origin", "http://127.0.0.1:8480")
	resp, body := do(t, http.MethodPost, url, hdr, listTools)
	if msg, _ := body["message"].(string); resp.StatusCode != http.StatusForbidden || !strings.Contains(msg, "listed with mcpsso up --allowed-origin") {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	if _, err := mcpserver.New(w.awsCfg, mcpserver.WithOriginHint("")); err == nil || !strings.Contains(err.Error(), "WithOriginHint") {
		t.Errorf("an empty hint: %v", err)
	}
}

// A proxy in front of the server that keeps the public Host (as a local reverse proxy or the
// Lambda Web Adapter does) needs that host allowed; by default a loopback connection must name
// a loopback host, which is mcp-go's DNS-rebinding guard made configurable.
func TestHostChecksWorkBehindAProxy(t *testing.T) {
	w := newWorld(t)
	proxyTo := func(target string) string {
		u, _ := url.Parse(strings.TrimSuffix(target, "/mcp"))
		p := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // keep the public host name, as many proxies do
		}})
		t.Cleanup(p.Close)
		return p.URL
	}
	for _, tc := range []struct {
		name string
		opts []mcpserver.Option
		host string
		want int
	}{
		{"by default a public host on a loopback connection is refused", nil, "mcp.example.com", http.StatusForbidden},
		{"by default a loopback host is served", nil, "localhost", http.StatusOK},
		{"an allowed host is served behind the proxy", []mcpserver.Option{mcpserver.WithAllowedHosts("mcp.example.com")}, "mcp.example.com", http.StatusOK},
		{"an allowed host matches any port", []mcpserver.Option{mcpserver.WithAllowedHosts("MCP.example.com")}, "mcp.example.com:8443", http.StatusOK},
		{"an allowed host:port matches only that port", []mcpserver.Option{mcpserver.WithAllowedHosts("mcp.example.com:443")}, "mcp.example.com:8443", http.StatusForbidden},
		{"a host not in the list is refused", []mcpserver.Option{mcpserver.WithAllowedHosts("mcp.example.com")}, "evil.example", http.StatusForbidden},
		{"with the list, even loopback must be listed", []mcpserver.Option{mcpserver.WithAllowedHosts("mcp.example.com")}, "localhost", http.StatusForbidden},
		{"* serves any host", []mcpserver.Option{mcpserver.WithAllowedHosts("*")}, "anything.example", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, target := w.serve(t, tc.opts...)
			hdr := gatewayHeader("acme", "usr-alice")
			hdr.Set("Host", tc.host)
			resp, body := do(t, http.MethodPost, proxyTo(target)+"/mcp", hdr, listTools)
			if resp.StatusCode != tc.want || tc.want == http.StatusForbidden && body["error"] != "host_not_allowed" {
				t.Fatalf("Host %s: got %d %v, want %d", tc.host, resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestOtherPathsAndMethodsAreRefused(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t)
	hdr := gatewayHeader("acme", "usr-alice")
	if resp, body := do(t, http.MethodPost, strings.TrimSuffix(url, "/mcp")+"/admin", hdr, listTools); resp.StatusCode != http.StatusNotFound || body["error"] != "not_found" {
		t.Errorf("another path: %d %v, want 404", resp.StatusCode, body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPut, http.MethodOptions} {
		resp, body := do(t, method, url, hdr, "")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" || body["error"] != "method_not_allowed" {
			t.Errorf("%s on a stateless server: %d Allow=%q %v, want 405 allowing POST", method, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
}

// fakeClock is a settable clock for the rate limiter.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestAUserOverTheirRateLimitGets429WithRetryAfter(t *testing.T) {
	w := newWorld(t)
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	w.proofClock = clock.Now
	h, url := w.serve(t, mcpserver.WithClock(clock.Now))
	alice := gatewayHeader("acme", "usr-alice")
	alice.Set("X-Limits", `{"requestsPerMinute":2}`)
	for i := range 2 {
		if resp, body := do(t, http.MethodPost, url, alice, listTools); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the limit: %d %v", i+1, resp.StatusCode, body)
		}
	}
	resp, body := do(t, http.MethodPost, url, alice, listTools)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" || body["error"] != "rate_limited" || body["retryAfterSeconds"] != float64(30) {
		t.Fatalf("third request: %d Retry-After=%q %v; want 429 with Retry-After 30", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	bob := gatewayHeader("globex", "usr-bob")
	bob.Set("X-Limits", `{"requestsPerMinute":2}`)
	if resp, _ := do(t, http.MethodPost, url, bob, listTools); resp.StatusCode != http.StatusOK {
		t.Errorf("another user was limited by alice's requests: %d", resp.StatusCode)
	}
	clock.Advance(30 * time.Second)
	if resp, body := do(t, http.MethodPost, url, alice, listTools); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %d %v", resp.StatusCode, body)
	}
	if m := scrape(t, h); !strings.Contains(m, `http_requests_refused_total{reason="rate_limited"} 1`) {
		t.Errorf("the 429 is not counted:\n%s", grepMetrics(m))
	}
}

func TestSessionIDsAreBoundToTheSourceIdentity(t *testing.T) {
	w := newWorld(t)
	_, statelessURL := w.serve(t)
	_, url := w.serve(t, mcpserver.WithSessions(true))

	t.Run("a stateless server issues no session id", func(t *testing.T) {
		for _, f := range clients {
			if id := connect(t, f, statelessURL, legacy, gateway("acme", "usr-alice")).sessionID(); id != "" {
				t.Errorf("%s got session id %q from a stateless server", f.name, id)
			}
		}
	})
	for _, f := range clients {
		t.Run(f.name+" sessions work in both protocol versions", func(t *testing.T) {
			for _, version := range []string{modern, legacy} {
				c := connect(t, f, url, version, gateway("acme", "usr-alice"))
				if r := c.call(t, "whoami", nil); r.isError || r.structured["sourceIdentity"] != "usr-alice" {
					t.Errorf("%s whoami: %+v", version, r)
				}
			}
		})
	}

	alice := connect(t, clients[0], url, legacy, gateway("acme", "usr-alice"))
	sid := alice.sessionID()
	if !strings.HasPrefix(sid, "mcps-") {
		t.Fatalf("alice's session id %q was not issued by the binder", sid)
	}
	bob := gatewayHeader("globex", "usr-bob")
	bob.Set("Mcp-Session-Id", sid)
	for _, method := range []string{http.MethodPost, http.MethodDelete, http.MethodGet} {
		t.Run("another user's session id is refused on "+method, func(t *testing.T) {
			resp, body := do(t, method, url, bob, toolsCallBody("whoami", nil))
			if resp.StatusCode != http.StatusForbidden || body["error"] != "session_not_yours" {
				t.Fatalf("bob with alice's session: %d %v, want 403 session_not_yours", resp.StatusCode, body)
			}
		})
	}
	t.Run("the owner ends the session and it is then unknown", func(t *testing.T) {
		own := gatewayHeader("acme", "usr-alice")
		own.Set("Mcp-Session-Id", sid)
		if resp, body := do(t, http.MethodDelete, url, own, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE by the owner: %d %v", resp.StatusCode, body)
		}
		if resp, _ := do(t, http.MethodPost, url, own, listTools); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("an ended session: %d, want 404 so that the client starts a new one", resp.StatusCode)
		}
	})
}
