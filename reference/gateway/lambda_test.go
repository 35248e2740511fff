package gateway

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/reference/gateway/lambdastub"
)

// raw is a function returning a fixed payload.
func raw(payload string) lambdastub.Func {
	return func(context.Context, []byte) ([]byte, error) { return []byte(payload), nil }
}

func failing(msg string) lambdastub.Func {
	return func(context.Context, []byte) ([]byte, error) { return nil, errors.New(msg) }
}

// TestLambdaInvokeHTTPAPI runs the HTTP API authorizer through the Lambda Invoke API against a
// stand-in that speaks it, including the ways a function's answer can be unusable.
func TestLambdaInvokeHTTPAPI(t *testing.T) {
	tests := []struct {
		name       string
		fn         lambdastub.Func
		function   string // the name the gateway invokes (default mcp-authorizer)
		wantStatus int
		wantRole   string
	}{
		{"an allow with context reaches the integration with the mapped header",
			raw(`{"isAuthorized":true,"context":{"decidedRole":"` + roleARN + `"}}`), "", 200, roleARN},
		{"a deny gets 403", raw(`{"isAuthorized":false}`), "", 403, ""},
		{"a function error gets 500", failing("token verification failed"), "", 500, ""},
		{"a response without isAuthorized is malformed and gets 500", raw(`{"context":{"decidedRole":"x"}}`), "", 500, ""},
		{"an isAuthorized that is not a boolean is malformed and gets 500", raw(`{"isAuthorized":"true"}`), "", 500, ""},
		{"a response that is not JSON gets 500", raw(`allow`), "", 500, ""},
		{"a function the endpoint does not have gets 500", raw(`{"isAuthorized":true}`), "other-function", 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			name := "mcp-authorizer"
			if tc.function != "" {
				name = tc.function
			}
			stub := httptest.NewServer(lambdastub.New(map[string]lambdastub.Func{name: tc.fn}))
			t.Cleanup(stub.Close)
			yaml := httpAPIConfig(up.URL, "authorizerUri: arn:aws:lambda:us-east-1:111122223333:function:mcp-authorizer\n    identitySource: [$request.header.Authorization]\n    authorizerResultTtlInSeconds: 0",
				"requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")
			g := startGateway(t, yaml, WithLambdaEndpoint(stub.URL))
			r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"})
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantRole != "" && up.lastSeen().Header.Get("X-Decided-Role") != tc.wantRole {
				t.Errorf("x-decided-role %q", up.lastSeen().Header.Get("X-Decided-Role"))
			}
		})
	}
}

// TestLambdaInvokeREST runs the REST API authorizer through the Lambda Invoke API: a function
// failing with "Unauthorized" is a 401 with or without X-Amz-Function-Error, IAM policy
// elements may be strings or lists, and the event arrives as the typed handler expects it.
func TestLambdaInvokeREST(t *testing.T) {
	var got events.APIGatewayCustomAuthorizerRequestTypeRequest
	typed := lambdastub.Typed(func(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		got = ev
		return policy("Allow", ev.MethodArn, map[string]any{"decidedRole": roleARN}), nil
	})
	tests := []struct {
		name       string
		fn         lambdastub.Func
		omitHeader bool
		wantStatus int
	}{
		{"a typed Go handler allowing its methodArn lets the request through", typed, false, 200},
		{"a function failing with Unauthorized gets 401", failing("Unauthorized"), false, 401},
		{"a function failing with Unauthorized gets 401 without X-Amz-Function-Error too", failing("Unauthorized"), true, 401},
		{"a function failing otherwise gets 500", failing("jwks fetch failed"), false, 500},
		{"a Deny gets 403", raw(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`), false, 403},
		{"string Action and Resource are read as IAM reads them",
			raw(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + anyMethod + `"}]}}`), false, 200},
		{"a response without a policyDocument gets 500", raw(`{"principalId":"u"}`), false, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			srv := lambdastub.New(map[string]lambdastub.Func{"mcp-authorizer": tc.fn})
			srv.OmitFunctionErrorHeader = tc.omitHeader
			stub := httptest.NewServer(srv)
			t.Cleanup(stub.Close)
			g := startWith(t, shipped(t, "reference"), WithLambdaEndpoint(stub.URL), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"))
			r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"})
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if srv.Calls("mcp-authorizer") != 1 {
				t.Errorf("%d invocations, want 1", srv.Calls("mcp-authorizer"))
			}
		})
	}
	if got.MethodArn != "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/POST/mcp" || got.Headers["Authorization"] != "Bearer t" || got.Type != "REQUEST" {
		t.Errorf("the typed handler received %+v", got)
	}
}

// TestLambdaInvokeAcceptsAFullInvocationsURL: the Runtime Interface Emulator's documented URL
// (function name "function") works as the endpoint, whatever the authorizerUri names.
func TestLambdaInvokeAcceptsAFullInvocationsURL(t *testing.T) {
	up := newUpstream(t)
	stub := httptest.NewServer(lambdastub.New(map[string]lambdastub.Func{"function": raw(`{"isAuthorized":true}`)}))
	t.Cleanup(stub.Close)
	inv := LambdaInvoke(stub.URL+"/2015-03-31/functions/function/invocations", "")
	if inv.URL() != stub.URL+"/2015-03-31/functions/function/invocations" {
		t.Errorf("URL %s", inv.URL())
	}
	g := startGateway(t, httpAPIConfig(up.URL, "", ""), WithAuthorizer("auth", inv))
	if r := call(t, "GET", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 200 {
		t.Errorf("status %d: %s", r.status, r.body)
	}
}

// TestLambdaEndpointDownFailsClosed: nothing listening at the Lambda endpoint is a 500.
func TestLambdaEndpointDownFailsClosed(t *testing.T) {
	up := newUpstream(t)
	stub := httptest.NewServer(lambdastub.New(nil))
	stubURL := stub.URL
	stub.Close()
	g := startWith(t, shipped(t, "reference"), WithLambdaEndpoint(stubURL), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"))
	if r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 500 || up.hits.Load() != 0 {
		t.Errorf("status %d with %d upstream hits, want 500 and none", r.status, up.hits.Load())
	}
}
