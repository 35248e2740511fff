package gateway

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// browserPreflight is the preflight a browser sends before an MCP client's POST from origin.
func browserPreflight(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version, mcp-session-id"}
}

// TestTheReferenceAPIAnswersBrowserPreflights: the preflight of a browser-based MCP client is
// answered by the gateway, without the authorizer and without reaching the MCP server, for the
// API's own origin and the added ones; any other origin gets 403 and a deny in the log naming
// how to allow it.
func TestTheReferenceAPIAnswersBrowserPreflights(t *testing.T) {
	up := newUpstream(t)
	var authz counter
	logs := &logBuffer{}
	g := startWith(t, shipped(t, "reference"), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAllowedOrigins("http://localhost:6274"), WithOriginHint("mcpsso up --allowed-origin"), WithLogger(logs.logger()),
		WithAuthorizer("", authz.rest(func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return policy("Allow", anyMethod, nil), nil
		})))
	for _, tc := range []struct {
		name, origin string
	}{
		{"the API's own origin", g.URL()},
		{"an origin added with WithAllowedOrigins", "http://localhost:6274"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodOptions, g.MCPURL(), browserPreflight(tc.origin))
			if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != tc.origin || r.header.Get("Vary") != "Origin" {
				t.Fatalf("%d %v %s", r.status, r.header, r.body)
			}
			for _, want := range []string{"POST", "DELETE", "GET"} {
				if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), want) {
					t.Errorf("Access-Control-Allow-Methods %q lacks %s", r.header.Get("Access-Control-Allow-Methods"), want)
				}
			}
			for _, want := range []string{"authorization", "content-type", "mcp-protocol-version", "mcp-session-id"} {
				if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", r.header.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if r.header.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("Access-Control-Max-Age %q", r.header.Get("Access-Control-Max-Age"))
			}
		})
	}
	t.Run("another origin is refused with 403, logged with the reason", func(t *testing.T) {
		r := call(t, http.MethodOptions, g.MCPURL(), browserPreflight("https://evil.example"))
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" ||
			!strings.Contains(r.body, `https://evil.example`) || !strings.Contains(r.body, "mcpsso up --allowed-origin") {
			t.Fatalf("%d %v %s", r.status, r.header, r.body)
		}
		if !logged(t, logs, "deny", "https://evil.example", "mcpsso up --allowed-origin") {
			t.Errorf("no deny naming the origin and the flag in the log:\n%s", logs)
		}
	})
	t.Run("a header the browser would then send unallowed is logged as a deny", func(t *testing.T) {
		h := browserPreflight(g.URL())
		h["Access-Control-Request-Headers"] = "authorization, x-custom"
		if r := call(t, http.MethodOptions, g.MCPURL(), h); r.status != http.StatusOK || strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "x-custom") {
			t.Fatalf("%d %v", r.status, r.header)
		}
		if !logged(t, logs, "deny", g.URL(), "header x-custom") {
			t.Errorf("no deny naming x-custom in the log:\n%s", logs)
		}
	})
	t.Run("two Origin headers are refused", func(t *testing.T) {
		req, _ := newRequest(t, http.MethodOptions, g.MCPURL())
		req.Header.Add("Origin", g.URL())
		req.Header.Add("Origin", "https://evil.example")
		if r := doRequest(t, req); r.status != http.StatusForbidden {
			t.Fatalf("%d %v", r.status, r.header)
		}
	})
	t.Run("an OPTIONS request without Origin gets the lists and no origin", func(t *testing.T) {
		r := call(t, http.MethodOptions, g.MCPURL(), nil)
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") == "" {
			t.Fatalf("%d %v", r.status, r.header)
		}
	})
	if n := authz.n.Load(); n != 0 {
		t.Errorf("the authorizer was called %d times for preflights", n)
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("%d preflights reached the integration", n)
	}
}

func logged(t *testing.T, logs *logBuffer, decision string, contains ...string) bool {
	t.Helper()
	for _, l := range logs.lines(t) {
		reason, _ := l["reason"].(string)
		origin, _ := l["origin"].(string)
		ok := l["decision"] == decision
		for _, c := range contains {
			ok = ok && (strings.Contains(reason, c) || origin == c)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestTheReferenceAPIsRefusalsAreReadableFromABrowser: the 401 challenge and the 403 carry the
// request's Origin back, and the 401 exposes WWW-Authenticate, so a browser-based client can
// read them; without Origin no CORS header is sent at all (not even an empty one). The
// metadata is public to every origin.
func TestTheReferenceAPIsRefusalsAreReadableFromABrowser(t *testing.T) {
	up := newUpstream(t)
	g := startWith(t, shipped(t, "reference"), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", RESTAuthorizer(func(_ context.Context, r events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return policy("Deny", anyMethod, nil), nil
		})))
	origin := g.URL()
	challenge := call(t, http.MethodPost, g.MCPURL(), map[string]string{"Origin": origin})
	if challenge.status != http.StatusUnauthorized || challenge.header.Get("Access-Control-Allow-Origin") != origin ||
		challenge.header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" || challenge.header.Get("WWW-Authenticate") == "" ||
		challenge.header.Get("Vary") != "Origin" {
		t.Errorf("401 with Origin: %d %v", challenge.status, challenge.header)
	}
	denied := call(t, http.MethodPost, g.MCPURL(), map[string]string{"Origin": origin, "Authorization": "Bearer t"})
	if denied.status != http.StatusForbidden || denied.header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("403 with Origin: %d %v", denied.status, denied.header)
	}
	bare := call(t, http.MethodPost, g.MCPURL(), nil)
	if _, sent := bare.header["Access-Control-Allow-Origin"]; bare.status != http.StatusUnauthorized || sent {
		t.Errorf("401 without Origin: %d %v", bare.status, bare.header)
	}
	if prm := call(t, http.MethodGet, g.ResourceMetadataURL(), map[string]string{"Origin": "https://anyone.example"}); prm.status != http.StatusOK ||
		prm.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("metadata: %d %v", prm.status, prm.header)
	}
}

// TestAllowedOriginsAreChecked: WithAllowedOrigins takes origins only, and needs an API that
// answers preflights; corsPreflight's fields are validated with their paths.
func TestAllowedOriginsAreChecked(t *testing.T) {
	for _, bad := range []string{"localhost:6274", "http://localhost:6274/", "ftp://x", "http://", "http://a/b", "http://u@a", "*", ""} {
		if _, err := New(WithConfig(shipped(t, "reference")), WithPublicURL("http://127.0.0.1:1"), WithAllowedOrigins(bad)); err == nil ||
			!strings.Contains(err.Error(), "origin") {
			t.Errorf("WithAllowedOrigins(%q): %v", bad, err)
		}
	}
	_, err := New(WithConfig(shipped(t, "seed")), WithPublicURL("http://127.0.0.1:1"), WithAuthorizer("", HTTPAPIAuthorizer(nil)),
		WithAllowedOrigins("http://localhost:6274"))
	if err == nil || !strings.Contains(err.Error(), "no corsPreflight integration") {
		t.Errorf("seed with an allowed origin: %v", err)
	}
	if _, err := New(WithConfig(shipped(t, "reference")), WithOriginHint("two\nlines")); err == nil {
		t.Error("a hint of two lines was accepted")
	}

	base := string(mustShippedYAML(t, "reference"))
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"an origin with a path", `allowOrigins: ["${publicOrigin}"]`, `allowOrigins: ["${publicUrl}/mcp"]`,
			[]string{"integrations[2].corsPreflight.allowOrigins[0]", "nothing after it"}},
		{"no origin", `allowOrigins: ["${publicOrigin}"]`, `allowOrigins: []`, []string{"corsPreflight.allowOrigins", "at least one"}},
		{"a method that is not one", `allowMethods: [GET, POST, DELETE]`, `allowMethods: [GET, FETCH]`, []string{"corsPreflight.allowMethods[1]", `"FETCH"`}},
		{"no method", `allowMethods: [GET, POST, DELETE]`, `allowMethods: []`, []string{"corsPreflight.allowMethods", "at least one"}},
		{"a header that is not a name", `allowHeaders: [authorization,`, `allowHeaders: ["bad header",`, []string{"corsPreflight.allowHeaders[0]"}},
		{"a max age over a day", `maxAge: 600`, `maxAge: 86401`, []string{"corsPreflight.maxAge", "0 (not sent) to 86400"}},
		{"a preflight on a proxy integration", "    integrationType: HTTP_PROXY\n", "    integrationType: HTTP_PROXY\n    corsPreflight: {allowOrigins: [\"${publicOrigin}\"], allowMethods: [POST]}\n",
			[]string{"integrations[0].corsPreflight", "only a MOCK integration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("reference.yaml has no %q", tc.old)
			}
			_, err := ParseConfig("x.yaml", []byte(strings.Replace(base, tc.old, tc.new, 1)))
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not contain %q", err, w)
				}
			}
		})
	}
}

func mustShippedYAML(t *testing.T, name string) []byte {
	t.Helper()
	b, err := ShippedConfigYAML(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStartOnAGivenListener: with WithListener the gateway's URL is known before it starts.
func TestStartOnAGivenListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := startWith(t, shipped(t, "reference"), WithListener(ln), WithIssuerURL("https://issuer.example"), WithAuthorizer("", RESTAuthorizer(nil)))
	if want := "http://" + ln.Addr().String(); g.URL() != want || g.MCPURL() != want+"/mcp" {
		t.Fatalf("URL %s, MCP URL %s; want %s", g.URL(), g.MCPURL(), want)
	}
	if r := call(t, http.MethodGet, g.ResourceMetadataURL(), nil); r.status != http.StatusOK {
		t.Fatalf("metadata on the given listener: %d", r.status)
	}
}
