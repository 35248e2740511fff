package gateway

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestHTTPAPIStatusPaths walks every way a request through an HTTP API ends, with the status
// and body AWS gives, and checks that nothing but an allow reaches the integration and that no
// response carries a challenge (HTTP APIs cannot add one).
func TestHTTPAPIStatusPaths(t *testing.T) {
	allow := func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	}
	deny := func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	fail := func(msg string) func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, errors.New(msg)
		}
	}
	// A closed port: connecting to it fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	_ = ln.Close()

	bearer := map[string]string{"Authorization": "Bearer t"}
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name         string
		authorizer   func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)
		impl         Authorizer // instead of authorizer
		upstreamDown bool
		short        string // "authorizer" or "integration": that timeout is made short
		path         string
		header       map[string]string
		wantStatus   int
		wantBody     string
		wantInvoked  bool
		wantUpstream bool
	}{
		{name: "a request without the Authorization header gets 401 and the authorizer is never invoked",
			authorizer: allow, path: "/mcp", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "an empty Authorization header counts as missing",
			authorizer: allow, path: "/mcp", header: map[string]string{"Authorization": ""}, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "isAuthorized false gets 403 Forbidden",
			authorizer: deny, path: "/mcp", header: bearer, wantStatus: 403, wantBody: `{"message":"Forbidden"}`, wantInvoked: true},
		{name: "an authorizer error gets 500",
			authorizer: fail("boom"), path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantInvoked: true},
		{name: "an authorizer failing with Unauthorized still gets 500, since only REST APIs map it to 401",
			authorizer: fail("Unauthorized"), path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantInvoked: true},
		{name: "an authorizer that panics gets 500",
			authorizer: func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
				panic("authorizer bug")
			}, path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantInvoked: true},
		{name: "an authorizer that never answers gets 500 at the authorizer timeout", short: "authorizer",
			impl: HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
				<-hang // ignores its context: the gateway must stop waiting anyway
				return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
			}), path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "an allowed request reaches the integration",
			authorizer: allow, path: "/mcp", header: bearer, wantStatus: 200, wantInvoked: true, wantUpstream: true},
		{name: "a path no route serves gets 404",
			authorizer: allow, path: "/", header: bearer, wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "an integration that does not answer within its timeout gets 503", short: "integration",
			authorizer: allow, path: "/slow", header: bearer, wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`, wantInvoked: true, wantUpstream: true},
		{name: "an unreachable integration gets 500",
			authorizer: allow, upstreamDown: true, path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantInvoked: true},
		{name: "a request line and headers over 10240 bytes get 413 before the authorizer",
			authorizer: allow, path: "/mcp", header: map[string]string{"Authorization": "Bearer t", "X-Big": strings.Repeat("a", MaxHeaderBytes)},
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			target := up.URL
			if tc.upstreamDown {
				target = closedURL
			}
			var calls counter
			impl := tc.impl
			if impl == nil {
				impl = calls.simple(tc.authorizer)
			}
			g := startGateway(t, httpAPIConfig(target, "", ""), append(shortTimeout(tc.short), WithAuthorizer("auth", impl))...)
			got := call(t, "POST", g.URL()+tc.path, tc.header)
			if got.status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tc.wantStatus, got.body)
			}
			if tc.wantBody != "" && got.body != tc.wantBody {
				t.Errorf("body %s, want %s", got.body, tc.wantBody)
			}
			if h := got.header.Get("WWW-Authenticate"); h != "" {
				t.Errorf("WWW-Authenticate %q on an HTTP API response; HTTP APIs cannot send one", h)
			}
			if got.header.Get("Apigw-Requestid") == "" {
				t.Error("no apigw-requestid header")
			}
			if invoked := calls.n.Load() > 0; invoked != tc.wantInvoked && tc.impl == nil {
				t.Errorf("authorizer invoked: %v, want %v", invoked, tc.wantInvoked)
			}
			if reached := up.hits.Load() > 0; reached != tc.wantUpstream {
				t.Errorf("integration reached: %v, want %v", reached, tc.wantUpstream)
			}
		})
	}
}

// TestHTTPAPIPolicyResponses covers HTTP API authorizers without simple responses: the IAM
// policy is evaluated against the routeArn, and a malformed policy is a 500.
func TestHTTPAPIPolicyResponses(t *testing.T) {
	const anyRoute = "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/$default/*"
	tests := []struct {
		name       string
		response   events.APIGatewayV2CustomAuthorizerIAMPolicyResponse
		wantStatus int
	}{
		{"an Allow for every route lets the request through",
			iamResponse("usr-1", "Allow", anyRoute), 200},
		{"an Allow for this exact routeArn lets the request through",
			iamResponse("usr-1", "Allow", "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/$default/POST/mcp"), 200},
		{"a Deny beside an Allow wins",
			func() events.APIGatewayV2CustomAuthorizerIAMPolicyResponse {
				r := iamResponse("usr-1", "Allow", anyRoute)
				r.PolicyDocument.Statement = append(r.PolicyDocument.Statement,
					events.IAMPolicyStatement{Action: []string{"execute-api:*"}, Effect: "Deny", Resource: []string{"*"}})
				return r
			}(), 403},
		{"an Allow for another route is an implicit deny",
			iamResponse("usr-1", "Allow", "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/$default/GET/other"), 403},
		{"a policy without a principalId is malformed",
			iamResponse("", "Allow", anyRoute), 500},
		{"a policy without statements is malformed",
			events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: "usr-1"}, 500},
		{"an Effect other than Allow or Deny is malformed",
			iamResponse("usr-1", "allow", anyRoute), 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			yaml := strings.Replace(httpAPIConfig(up.URL, "", ""), "enableSimpleResponses: true", "enableSimpleResponses: false", 1)
			g := startGateway(t, yaml, WithAuthorizer("", HTTPAPIPolicyAuthorizer(
				func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerIAMPolicyResponse, error) {
					return tc.response, nil
				})))
			got := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"})
			if got.status != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", got.status, tc.wantStatus, got.body)
			}
		})
	}
}

func iamResponse(principal, effect, resource string) events.APIGatewayV2CustomAuthorizerIAMPolicyResponse {
	return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}}}}}
}

// TestHTTPAPIEventIsBuiltAsAWSBuildsIt checks the payload 2.0 event an authorizer receives.
func TestHTTPAPIEventIsBuiltAsAWSBuildsIt(t *testing.T) {
	up := newUpstream(t)
	var got events.APIGatewayV2CustomAuthorizerV2Request
	var calls counter
	yaml := strings.Replace(httpAPIConfig(up.URL, "", ""), "type: http-api", "type: http-api\nstage: prod\nstageVariables: {tier: test}", 1)
	g := startGateway(t, yaml, WithAuthorizer("auth", calls.simple(func(r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		got = r
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})))
	req, _ := newRequest(t, "POST", g.URL()+"/prod/tools/call?a=1&a=2&b=3")
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Add("Cookie", "c1=v1; c2=v2")
	req.Header.Set("User-Agent", "mcp-test")
	doRequest(t, req)

	host := strings.TrimPrefix(g.URL(), "http://")
	for _, check := range []struct{ what, got, want string }{
		{"version", got.Version, "2.0"},
		{"type", got.Type, "REQUEST"},
		{"routeArn", got.RouteArn, "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/POST/tools/call"},
		{"routeKey", got.RouteKey, "ANY /{proxy+}"},
		{"rawPath", got.RawPath, "/prod/tools/call"},
		{"rawQueryString", got.RawQueryString, "a=1&a=2&b=3"},
		{"headers[authorization]", got.Headers["authorization"], "Bearer t"},
		{"headers[x-multi]", got.Headers["x-multi"], "one,two"},
		{"headers[host]", got.Headers["host"], host},
		{"headers[cookie]", got.Headers["cookie"], ""},
		{"cookies", strings.Join(got.Cookies, "|"), "c1=v1|c2=v2"},
		{"queryStringParameters[a]", got.QueryStringParameters["a"], "1,2"},
		{"identitySource", strings.Join(got.IdentitySource, "|"), "Bearer t"},
		{"pathParameters[proxy]", got.PathParameters["proxy"], "tools/call"},
		{"stageVariables[tier]", got.StageVariables["tier"], "test"},
		{"requestContext.accountId", got.RequestContext.AccountID, "111122223333"},
		{"requestContext.apiId", got.RequestContext.APIID, "a1b2c3d4e5"},
		{"requestContext.stage", got.RequestContext.Stage, "prod"},
		{"requestContext.domainName", got.RequestContext.DomainName, host},
		{"requestContext.http.method", got.RequestContext.HTTP.Method, "POST"},
		{"requestContext.http.path", got.RequestContext.HTTP.Path, "/prod/tools/call"},
		{"requestContext.http.protocol", got.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"requestContext.http.sourceIp", got.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"requestContext.http.userAgent", got.RequestContext.HTTP.UserAgent, "mcp-test"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.what, check.got, check.want)
		}
	}
	for k := range got.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lower-cased", k)
		}
	}
	if got.RequestContext.RequestID == "" || got.RequestContext.TimeEpoch == 0 || got.RequestContext.Time == "" {
		t.Errorf("requestId, time or timeEpoch missing: %+v", got.RequestContext)
	}
}
