package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// fixedVars answers every variable with its own name.
type fixedVars struct{}

func (fixedVars) lookup(v variable) (string, bool) { return v.String(), true }

// FuzzParseHTTPTemplate: any mapping value either parses into a template that renders without
// panicking, or is refused with an error; a parsed template never holds an empty variable name.
func FuzzParseHTTPTemplate(f *testing.F) {
	for _, s := range []string{"$request.header.x-a", "${request.querystring.q}-$context.authorizer.tenant", "$context.authorizer.x-decided-role",
		"$request.path", "$request.path.proxy/x", "static", "$", "${", "${}", "$stageVariables.tier.", "$request.body.a", "$$context.requestId$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, _, err := parseHTTPTemplate(s)
		if err != nil {
			return
		}
		for _, p := range tmpl {
			if p.v != nil && p.v.name == "" && p.v.src != srcPath {
				t.Fatalf("%q parsed to a variable without a name: %+v", s, tmpl)
			}
		}
		_ = tmpl.eval(fixedVars{})
	})
}

// FuzzParseMapping: a mapping that parses never targets a reserved header, and applying it
// never panics.
func FuzzParseMapping(f *testing.F) {
	for _, kv := range [][2]string{{"overwrite:header.x-decided-role", "$context.authorizer.decidedRole"}, {"remove:header.authorization", "''"},
		{"append:querystring.q", "$request.querystring.q"}, {"overwrite:path", "$request.path"},
		{"integration.request.header.x-a", "context.authorizer.a"}, {"integration.request.path.proxy", "method.request.path.proxy"},
		{"integration.request.header.X-Amz-Date", "'x'"}} {
		f.Add(kv[0], kv[1], false)
		f.Add(kv[0], kv[1], true)
	}
	f.Fuzz(func(t *testing.T, key, value string, rest bool) {
		typ := HTTPAPI
		if rest {
			typ = RESTAPI
		}
		m, _, err := parseMapping(typ, key, value)
		if err != nil {
			return
		}
		if m.target == targetHeader && reservedHeader(m.name) {
			t.Fatalf("%s %q maps the reserved header %s", typ, key, m.name)
		}
		path := "/mcp"
		applyMappings([]mapping{m}, fixedVars{}, http.Header{}, url.Values{}, &path, map[string]string{})
	})
}

// FuzzIdentitySource sends arbitrary identity-source values and paths through the whole
// gateway; whatever comes in, only the one valid token is let through to the integration.
func FuzzIdentitySource(f *testing.F) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer up.Close()
	c, err := ParseConfig("fuzz.yaml", []byte(httpAPIConfig(up.URL,
		"identitySource: [$request.header.Authorization, $request.querystring.tenant]\n    authorizerResultTtlInSeconds: 300",
		"requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")))
	if err != nil {
		f.Fatal(err)
	}
	g, err := New(WithConfig(c), WithPublicURL("https://mcp.example.com"), WithAuthorizer("", HTTPAPIAuthorizer(
		func(_ context.Context, r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			ok := len(r.IdentitySource) == 2 && r.IdentitySource[0] == "Bearer good" && r.IdentitySource[1] == "acme"
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: ok}, nil
		})))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Bearer good", "acme", "/mcp")
	f.Add("Bearer good", "acme,globex", "/mcp")
	f.Add("Bearer good", "", "/mcp")
	f.Add("", "acme", "/mcp")
	f.Add("Bearer good,Bearer bad", "acme", "/a/b/../c")
	f.Fuzz(func(t *testing.T, auth, tenant, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Path: path, RawQuery: url.Values{"tenant": {tenant}}.Encode()}
		req := httptest.NewRequest("GET", "https://mcp.example.com/", nil)
		req.URL, req.RequestURI = u, u.RequestURI()
		req.Header["Authorization"] = []string{auth}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		valid := auth == "Bearer good" && tenant == "acme"
		switch {
		case w.Code == 200 && !valid:
			t.Fatalf("Authorization %q tenant %q path %q reached the integration", auth, tenant, path)
		case w.Code == 200, w.Code == 401, w.Code == 403, w.Code == 404, w.Code == 413, w.Code == 500 && strings.Contains(w.Body.String(), "Internal"):
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}

// FuzzRouteKey: route keys parse or are refused, and matching any path never panics.
func FuzzRouteKey(f *testing.F) {
	for _, k := range []string{"ANY /{proxy+}", "GET /a/{b}/c", "$default", "POST /", "GET /{a}/{a}", "GET /x{y}"} {
		f.Add(k, "/a/b/c", "GET")
	}
	f.Fuzz(func(t *testing.T, key, path, method string) {
		r, err := parseRouteKey(HTTPAPI, key)
		if err != nil {
			return
		}
		params, _, ok := r.match(method, path)
		if ok && r.greedy && params[r.segments[len(r.segments)-1].param] == "" {
			t.Fatalf("%q matched %q with an empty greedy parameter", key, path)
		}
	})
}

// FuzzAccessLogFormat: a format is refused or renders for a request without panicking.
func FuzzAccessLogFormat(f *testing.F) {
	f.Add(defaultAccessLogFormat)
	f.Add(`{"a":$context.status,"b":"${context.requestId}"}`)
	f.Add(`{"a":"\"$context.requestId"}`)
	f.Fuzz(func(t *testing.T, format string) {
		fields, err := parseAccessLogFormat(format)
		if err != nil {
			return
		}
		for _, fl := range fields {
			_ = fl.value.eval(fixedVars{})
		}
	})
}
