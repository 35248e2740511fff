package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

const anyMethod = "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/*"

// TestRESTStatusPaths walks every way a request through the shipped reference REST API ends:
// 401 with the WWW-Authenticate challenge of its UNAUTHORIZED gateway response, 403 for a
// Deny, 500 for everything an authorizer can do wrong, and only an Allow reaches the NLB.
func TestRESTStatusPaths(t *testing.T) {
	allow := func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return policy("Allow", anyMethod, map[string]any{"decidedRole": "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}), nil
	}
	respond := func(r events.APIGatewayCustomAuthorizerResponse, err error) func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return r, err
		}
	}
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	_ = ln.Close()

	bearer := map[string]string{"Authorization": "Bearer t"}
	const challengeSuffix = `/.well-known/oauth-protected-resource/mcp", error="invalid_token"`
	tests := []struct {
		name          string
		authorizer    func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)
		impl          Authorizer
		upstreamDown  bool
		short         string // "authorizer" or "integration": that timeout is made short
		path          string
		header        map[string]string
		wantStatus    int
		wantBody      string
		wantChallenge bool
		wantErrorType string
		wantInvoked   bool
		wantUpstream  bool
	}{
		{name: "a request without the Authorization header gets 401 with the challenge, without invoking the authorizer",
			authorizer: allow, path: "/mcp", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantChallenge: true,
			wantErrorType: "UnauthorizedException"},
		{name: "an authorizer failing with exactly Unauthorized gets 401 with the challenge",
			authorizer: respond(events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")), path: "/mcp", header: bearer,
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantChallenge: true, wantInvoked: true, wantErrorType: "UnauthorizedException"},
		{name: "an authorizer failing with unauthorized in another case gets 500, not 401",
			authorizer: respond(events.APIGatewayCustomAuthorizerResponse{}, errors.New("unauthorized")), path: "/mcp", header: bearer,
			wantStatus: 500, wantBody: `{"message":null}`, wantInvoked: true, wantErrorType: "AuthorizerConfigurationException"},
		{name: "a Deny policy gets 403",
			authorizer: respond(policy("Deny", anyMethod, nil), nil), path: "/mcp", header: bearer, wantStatus: 403,
			wantBody: `{"message":"User is not authorized to access this resource with an explicit deny"}`, wantInvoked: true,
			wantErrorType: "AccessDeniedException"},
		{name: "an Allow for another method ARN gets 403",
			authorizer: respond(policy("Allow", "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/GET/other", nil), nil), path: "/mcp",
			header: bearer, wantStatus: 403, wantBody: `{"message":"User is not authorized to access this resource"}`, wantInvoked: true},
		{name: "an authorizer error gets 500",
			authorizer: respond(events.APIGatewayCustomAuthorizerResponse{}, errors.New("database down")), path: "/mcp", header: bearer,
			wantStatus: 500, wantBody: `{"message":null}`, wantInvoked: true},
		{name: "a response without principalId is malformed and gets 500",
			authorizer: respond(func() events.APIGatewayCustomAuthorizerResponse {
				r := policy("Allow", anyMethod, nil)
				r.PrincipalID = ""
				return r
			}(), nil), path: "/mcp", header: bearer, wantStatus: 500, wantInvoked: true, wantErrorType: "AuthorizerFailureException"},
		{name: "a context value that is a list is malformed on a REST API and gets 500",
			authorizer: respond(policy("Allow", anyMethod, map[string]any{"sessionTags": []any{map[string]any{"Key": "tenant", "Value": "acme"}}}), nil),
			path:       "/mcp", header: bearer, wantStatus: 500, wantInvoked: true},
		{name: "an authorizer that never answers gets 500 at the authorizer timeout", short: "authorizer",
			impl: RESTAuthorizer(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				<-hang
				return policy("Allow", anyMethod, nil), nil
			}), path: "/mcp", header: bearer, wantStatus: 500, wantBody: `{"message":null}`},
		{name: "an Allow reaches the integration",
			authorizer: allow, path: "/mcp", header: bearer, wantStatus: 200, wantInvoked: true, wantUpstream: true},
		{name: "a path no route serves gets 403 Missing Authentication Token",
			authorizer: allow, path: "/", header: bearer, wantStatus: 403, wantBody: `{"message":"Missing Authentication Token"}`,
			wantErrorType: "MissingAuthenticationTokenException"},
		{name: "an integration that does not answer within its timeout gets 504", short: "integration",
			authorizer: allow, path: "/slow", header: bearer, wantStatus: 504, wantBody: `{"message":"Endpoint request timed out"}`,
			wantInvoked: true, wantUpstream: true},
		{name: "an unreachable integration gets 504",
			authorizer: allow, upstreamDown: true, path: "/mcp", header: bearer, wantStatus: 504, wantInvoked: true},
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
				impl = calls.rest(tc.authorizer)
			}
			g := startWith(t, shipped(t, "reference"), append(shortTimeout(tc.short), WithAuthorizer("", impl), WithIntegrationURL(target),
				WithIssuerURL("https://issuer.example"))...)
			got := call(t, "POST", g.URL()+tc.path, tc.header)
			if got.status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tc.wantStatus, got.body)
			}
			if tc.wantBody != "" && got.body != tc.wantBody {
				t.Errorf("body %s, want %s", got.body, tc.wantBody)
			}
			challenge := got.header.Get("WWW-Authenticate")
			if want := `Bearer resource_metadata="` + g.URL() + challengeSuffix; tc.wantChallenge && challenge != want {
				t.Errorf("WWW-Authenticate %q, want %q", challenge, want)
			} else if !tc.wantChallenge && challenge != "" {
				t.Errorf("WWW-Authenticate %q on a %d", challenge, got.status)
			}
			if tc.wantErrorType != "" && got.header.Get("X-Amzn-Errortype") != tc.wantErrorType {
				t.Errorf("x-amzn-ErrorType %q, want %q", got.header.Get("X-Amzn-Errortype"), tc.wantErrorType)
			}
			if invoked := calls.n.Load() > 0; tc.impl == nil && invoked != tc.wantInvoked {
				t.Errorf("authorizer invoked: %v, want %v", invoked, tc.wantInvoked)
			}
			if reached := up.hits.Load() > 0; reached != tc.wantUpstream {
				t.Errorf("integration reached: %v, want %v", reached, tc.wantUpstream)
			}
		})
	}
}

// TestRESTTokenAuthorizer covers TOKEN authorizers: the event carries the token and methodArn,
// and a token that fails identityValidationExpression gets 401 without an invocation.
func TestRESTTokenAuthorizer(t *testing.T) {
	up := newUpstream(t)
	var got events.APIGatewayCustomAuthorizerRequest
	var calls int
	yaml := `type: rest-api
authorizers:
  - name: token
    type: TOKEN
    identitySource: method.request.header.Authorization
    identityValidationExpression: 'Bearer [A-Za-z0-9._-]+'
    authorizerResultTtlInSeconds: 0
integrations:
  - name: backend
    integrationType: HTTP_PROXY
    integrationUri: ` + up.URL + `
routes:
  - routeKey: GET /mcp
    authorizationType: CUSTOM
    authorizer: token
    integration: backend
`
	g := startGateway(t, yaml, WithAuthorizer("token", TokenAuthorizer(func(_ context.Context, r events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		calls++
		got = r
		return policy("Allow", r.MethodArn, nil), nil
	})))
	if r := call(t, "GET", g.URL()+"/prod/mcp", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}); r.status != 401 || calls != 0 {
		t.Errorf("a token failing the validation expression: status %d after %d calls, want 401 without a call", r.status, calls)
	}
	if r := call(t, "GET", g.URL()+"/prod/mcp", map[string]string{"Authorization": "Bearer abc.def"}); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got.Type != "TOKEN" || got.AuthorizationToken != "Bearer abc.def" ||
		got.MethodArn != "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/GET/mcp" {
		t.Errorf("event %+v", got)
	}
	if up.lastSeen().Path != "/" {
		t.Errorf("a REST integration URI without {proxy} gets its own path, got %q", up.lastSeen().Path)
	}
}

// TestRESTRequestEventIsBuiltAsAWSBuildsIt checks the REQUEST authorizer event.
func TestRESTRequestEventIsBuiltAsAWSBuildsIt(t *testing.T) {
	up := newUpstream(t)
	c := shipped(t, "reference")
	c.CustomDomain = false
	c.StageVariables = map[string]string{"tier": "test"}
	var got events.APIGatewayCustomAuthorizerRequestTypeRequest
	var calls counter
	g := startWith(t, c, WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", calls.rest(func(r events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			got = r
			return policy("Allow", r.MethodArn, nil), nil
		})))
	req, _ := newRequest(t, "POST", g.URL()+"/prod/mcp/sub?q=1&q=2")
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	if r := doRequest(t, req); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := map[string]string{
		"type":                         "REQUEST",
		"methodArn":                    "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/POST/mcp/sub",
		"resource":                     "/{proxy+}",
		"path":                         "/mcp/sub",
		"httpMethod":                   "POST",
		"headers.Authorization":        "Bearer t",
		"headers.X-Multi":              "two",
		"multiValueHeaders.X-Multi":    "one,two",
		"queryStringParameters.q":      "2",
		"multiValueQuery.q":            "1,2",
		"pathParameters.proxy":         "mcp/sub",
		"stageVariables.tier":          "test",
		"requestContext.path":          "/prod/mcp/sub",
		"requestContext.stage":         "prod",
		"requestContext.resourcePath":  "/{proxy+}",
		"requestContext.accountId":     "111122223333",
		"requestContext.apiId":         "a1b2c3d4e5",
		"requestContext.identity.ip":   "127.0.0.1",
		"requestContext.resourceIdLen": "6",
	}
	have := map[string]string{
		"type": got.Type, "methodArn": got.MethodArn, "resource": got.Resource, "path": got.Path, "httpMethod": got.HTTPMethod,
		"headers.Authorization": got.Headers["Authorization"], "headers.X-Multi": got.Headers["X-Multi"],
		"multiValueHeaders.X-Multi": strings.Join(got.MultiValueHeaders["X-Multi"], ","),
		"queryStringParameters.q":   got.QueryStringParameters["q"], "multiValueQuery.q": strings.Join(got.MultiValueQueryStringParameters["q"], ","),
		"pathParameters.proxy": got.PathParameters["proxy"], "stageVariables.tier": got.StageVariables["tier"],
		"requestContext.path": got.RequestContext.Path, "requestContext.stage": got.RequestContext.Stage,
		"requestContext.resourcePath": got.RequestContext.ResourcePath, "requestContext.accountId": got.RequestContext.AccountID,
		"requestContext.apiId": got.RequestContext.APIID, "requestContext.identity.ip": got.RequestContext.Identity.SourceIP,
		"requestContext.resourceIdLen": func() string { b, _ := json.Marshal(len(got.RequestContext.ResourceID)); return string(b) }(),
	}
	for k, w := range want {
		if have[k] != w {
			t.Errorf("%s = %q, want %q", k, have[k], w)
		}
	}
	if up.lastSeen().Path != "/mcp/sub" {
		t.Errorf("integration path %q, want /mcp/sub ({proxy} filled from method.request.path.proxy)", up.lastSeen().Path)
	}
}

// TestGatewayResponsesFallBack checks DEFAULT_4XX inheritance: a type without its own response
// takes DEFAULT_4XX's headers and status, and its own settings win.
func TestGatewayResponsesFallBack(t *testing.T) {
	up := newUpstream(t)
	c := shipped(t, "reference")
	c.GatewayResponses = slices.DeleteFunc(c.GatewayResponses, func(r GatewayResponseConfig) bool { return r.ResponseType == ResponseDefault4XX })
	c.GatewayResponses = append(c.GatewayResponses, GatewayResponseConfig{ResponseType: ResponseDefault4XX,
		ResponseParameters: map[string]string{"gatewayresponse.header.X-Fallback": "'yes'", "gatewayresponse.header.X-Echo": "method.request.header.X-Probe"},
		ResponseTemplates:  map[string]string{"application/json": `{"error":"$context.error.responseType","id":"$context.requestId"}`}})
	g := startWith(t, c, WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"),
		WithAuthorizer("", RESTAuthorizer(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return policy("Deny", anyMethod, nil), nil
		})))
	denied := call(t, "GET", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t", "X-Probe": "p1"})
	if denied.status != 403 || denied.header.Get("X-Fallback") != "yes" || denied.header.Get("X-Echo") != "p1" ||
		!strings.HasPrefix(denied.body, `{"error":"ACCESS_DENIED","id":"`) {
		t.Errorf("ACCESS_DENIED through DEFAULT_4XX: %d %v %s", denied.status, denied.header, denied.body)
	}
	missing := call(t, "GET", g.URL()+"/mcp", nil)
	if missing.status != 401 || missing.header.Get("X-Fallback") != "yes" || missing.body != `{"message":"Unauthorized"}` ||
		missing.header.Get("WWW-Authenticate") == "" {
		t.Errorf("UNAUTHORIZED keeps its own template and header beside DEFAULT_4XX's: %d %v %s", missing.status, missing.header, missing.body)
	}
}
