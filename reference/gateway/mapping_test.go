package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

const roleARN = "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"

// TestClientSentDecidedRoleNeverReachesIntegration: a client sends x-decided-role: admin (twice,
// in two spellings); whatever the config and the authorizer's context, the integration never
// sees "admin": the mapping overwrites or removes it.
func TestClientSentDecidedRoleNeverReachesIntegration(t *testing.T) {
	tutorialContext := map[string]any{"x-decided-role": roleARN, "x-source-identity": "usr-1", "x-session-tags": `[{"Key":"tenant","Value":"acme"}]`}
	referenceContext := map[string]any{"decidedRole": roleARN, "sourceIdentity": "usr-1", "sessionTags": `[{"Key":"tenant","Value":"acme"}]`, "limits": `{"rpm":60}`}
	tests := []struct {
		name     string
		config   func(t *testing.T, upstream string) (*Config, []Option)
		context  map[string]any
		wantRole string // "" means the header is absent
	}{
		{"the reference REST API overwrites it with the authorizer's decidedRole",
			referenceREST, referenceContext, roleARN},
		{"the reference REST API removes it when the authorizer returns no decidedRole",
			referenceREST, map[string]any{"sourceIdentity": "usr-1"}, ""},
		{"the seed HTTP API overwrites it, but with the text left of a hyphenated context key",
			seedHTTP, tutorialContext, "-decided-role"},
		{"an HTTP API mapping camelCase keys overwrites it with the role",
			func(t *testing.T, upstream string) (*Config, []Option) {
				return parse(t, httpAPIConfig(upstream, "", "requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")), nil
			}, referenceContext, roleARN},
		{"an HTTP API remove: mapping deletes it",
			func(t *testing.T, upstream string) (*Config, []Option) {
				return parse(t, httpAPIConfig(upstream, "", "requestParameters:\n      remove:header.x-decided-role: \"''\"")), nil
			}, referenceContext, ""},
		{"an HTTP API overwrite whose context key is missing deletes it",
			func(t *testing.T, upstream string) (*Config, []Option) {
				return parse(t, httpAPIConfig(upstream, "", "requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")), nil
			}, map[string]any{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			c, opts := tc.config(t, up.URL)
			if c.Type == HTTPAPI {
				opts = append(opts, WithAuthorizer("", HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
					return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: tc.context}, nil
				})))
			} else {
				opts = append(opts, WithAuthorizer("", RESTAuthorizer(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
					return policy("Allow", anyMethod, tc.context), nil
				})))
			}
			g := startWith(t, c, opts...)
			req, _ := newRequest(t, "POST", g.URL()+"/mcp")
			req.Header.Set("Authorization", "Bearer t")
			req.Header["x-decided-role"] = []string{"admin"}
			req.Header.Add("X-Decided-Role", "admin")
			if r := doRequest(t, req); r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := up.lastSeen().Header.Values("X-Decided-Role")
			if tc.wantRole == "" && len(got) != 0 || tc.wantRole != "" && (len(got) != 1 || got[0] != tc.wantRole) {
				t.Errorf("the integration saw x-decided-role %q, want %q", got, tc.wantRole)
			}
			if strings.Contains(fmt.Sprint(up.lastSeen().Header), "admin") {
				t.Errorf("the client's admin reached the integration: %v", up.lastSeen().Header)
			}
		})
	}
}

func parse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := ParseConfig(t.Name()+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func referenceREST(t *testing.T, upstream string) (*Config, []Option) {
	return shipped(t, "reference"), []Option{WithIntegrationURL(upstream), WithIssuerURL("https://issuer.example")}
}

func seedHTTP(t *testing.T, upstream string) (*Config, []Option) {
	return shipped(t, "seed"), []Option{WithIntegrationURL(upstream)}
}

// TestSeedConfigForwardsGarbageForTheTutorialsContextKeys: the tutorial's authorizer returns
// hyphenated context keys; the seed config maps them as the tutorial needs, and the MCP server
// receives the static remainder of each expression instead of the role, identity and tags. The
// gateway says so when it starts.
func TestSeedConfigForwardsGarbageForTheTutorialsContextKeys(t *testing.T) {
	up := newUpstream(t)
	c, opts := seedHTTP(t, up.URL)
	g := startWith(t, c, append(opts, WithAuthorizer("", HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true,
			Context: map[string]any{"x-decided-role": roleARN, "x-source-identity": "usr-1", "x-session-tags": `[{"Key":"tenant","Value":"acme"}]`}}, nil
	})))...)
	if r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	h := up.lastSeen().Header
	for name, want := range map[string]string{"X-Decided-Role": "-decided-role", "X-Source-Identity": "-source-identity", "X-Session-Tags": "-session-tags"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if w := strings.Join(g.Warnings(), "\n"); len(g.Warnings()) != 3 || !strings.Contains(w, `"authorizer.x" followed by the static text "-decided-role"`) {
		t.Errorf("warnings:\n%s", w)
	}
}

// TestMappingSourcesAndActions covers each kind of value and action of HTTP API mappings.
func TestMappingSourcesAndActions(t *testing.T) {
	up := newUpstream(t)
	yaml := strings.Replace(httpAPIConfig(up.URL, "", `requestParameters:
      append:header.x-trail: $request.header.x-in
      overwrite:header.x-static: fixed value
      overwrite:header.x-mixed: ${request.querystring.q}-$context.authorizer.tenant/$stageVariables.tier
      overwrite:header.x-param: $request.path.proxy
      overwrite:header.x-request-id: $context.requestId
      overwrite:querystring.q: replaced
      append:querystring.extra: $request.path
      remove:querystring.drop: ''
      remove:header.x-gone: ''`), "type: http-api", "type: http-api\nstageVariables: {tier: gold}", 1)
	g := startGateway(t, yaml, WithAuthorizer("", HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"tenant": "acme"}}, nil
	})))
	r := call(t, "GET", g.URL()+"/mcp/x?q=orig&drop=1&keep=2", map[string]string{"Authorization": "Bearer t", "X-In": "in", "X-Trail": "client", "X-Gone": "bye"})
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	s := up.lastSeen()
	for name, want := range map[string]string{"X-Trail": "client,in", "X-Static": "fixed value", "X-Mixed": "orig-acme/gold",
		"X-Param": "mcp/x", "X-Gone": ""} {
		if got := strings.Join(s.Header.Values(name), ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if s.Header.Get("X-Request-Id") != r.header.Get("Apigw-Requestid") {
		t.Errorf("x-request-id %q, want the request id %q", s.Header.Get("X-Request-Id"), r.header.Get("Apigw-Requestid"))
	}
	if s.RawQuery != "extra=%2Fmcp%2Fx&keep=2&q=replaced" {
		t.Errorf("query %q", s.RawQuery)
	}
}

// TestPrivateIntegrationPath: on HTTP APIs, a VPC link integration gets the stage in front of
// the path unless the stage is $default or the path is overwritten.
func TestPrivateIntegrationPath(t *testing.T) {
	tests := []struct {
		name, stage, connection, mapping, want string
	}{
		{"a private integration behind stage prod gets /prod in front", "prod", "VPC_LINK", "", "/prod/mcp"},
		{"overwrite:path with $request.path drops the stage", "prod", "VPC_LINK", "requestParameters:\n      overwrite:path: $request.path", "/mcp"},
		{"a private integration behind $default keeps the path", "$default", "VPC_LINK", "", "/mcp"},
		{"a public integration keeps the path below the stage", "prod", "INTERNET", "", "/mcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			yaml := strings.Replace(httpAPIConfig(up.URL, "", "connectionType: "+tc.connection+"\n    "+tc.mapping), "type: http-api", "type: http-api\nstage: "+tc.stage, 1)
			g := startGateway(t, yaml, WithAuthorizer("", allowAll()))
			prefix := "/" + tc.stage
			if tc.stage == "$default" {
				prefix = ""
			}
			if r := call(t, "GET", g.URL()+prefix+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := up.lastSeen().Path; got != tc.want {
				t.Errorf("integration path %q, want %q", got, tc.want)
			}
		})
	}
}

func allowAll() HTTPAPIAuthorizer {
	return func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	}
}

// TestMCPHeadersPassBothWays: the MCP transport headers reach the server and Mcp-Session-Id
// comes back.
func TestMCPHeadersPassBothWays(t *testing.T) {
	up := newUpstream(t)
	g := startGateway(t, httpAPIConfig(up.URL, "", ""), WithAuthorizer("", allowAll()))
	sent := map[string]string{"Authorization": "Bearer t", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
		"Mcp-Name": "read_object", "Mcp-Session-Id": "s-123", "Accept": "application/json, text/event-stream"}
	r := call(t, "POST", g.URL()+"/mcp", sent)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	for k, v := range sent {
		if got := up.lastSeen().Header.Get(k); got != v {
			t.Errorf("%s reached the server as %q, want %q", k, got, v)
		}
	}
	if r.header.Get("Mcp-Session-Id") != "session-from-upstream" {
		t.Errorf("Mcp-Session-Id back to the client: %q", r.header.Get("Mcp-Session-Id"))
	}
	if xff := up.lastSeen().Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", xff)
	}
}

// TestStreamingResponsePassesThrough: the server sends one event, then waits for the client to
// have read it before sending the second. A gateway that buffered the response would never
// deliver the first event, and this test would stop at its deadline.
func TestStreamingResponsePassesThrough(t *testing.T) {
	firstRead := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message\ndata: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-firstRead:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "event: message\ndata: two\n\n")
	}))
	t.Cleanup(sse.Close)
	g := startGateway(t, httpAPIConfig(sse.URL, "", ""), WithAuthorizer("", allowAll()))
	req, _ := newRequest(t, "GET", g.URL()+"/mcp")
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	var data []string
	for lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			data = append(data, d)
			if d == "one" {
				close(firstRead)
			}
		}
	}
	if err := lines.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if strings.Join(data, ",") != "one,two" {
		t.Errorf("events %q, want one,two", data)
	}
}
