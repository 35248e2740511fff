package authorizer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

const methodARN = "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/POST/mcp"

// The adapters fit the gateway emulator's in-process authorizer types.
var (
	_ gateway.HTTPAPIAuthorizer = (*authorizer.Authorizer)(nil).HTTPAPI
	_ gateway.RESTAuthorizer    = (*authorizer.Authorizer)(nil).REST
	_ gateway.TokenAuthorizer   = (*authorizer.Authorizer)(nil).Token
)

func httpEvent(authz string) events.APIGatewayV2CustomAuthorizerV2Request {
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: "POST /mcp", RawPath: "/mcp",
		Headers:        map[string]string{"content-type": "application/json", "mcp-method": "tools/call", "mcp-name": "get_object"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "http-req-1"},
	}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.SourceIP = "POST", "192.0.2.1"
	if authz != "" {
		ev.Headers["authorization"] = authz
		ev.IdentitySource = []string{authz}
	}
	return ev
}

func restEvent(authz string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	ev := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN, Resource: "/mcp", Path: "/mcp", HTTPMethod: "POST",
		Headers:        map[string]string{"Content-Type": "application/json"},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{RequestID: "rest-req-1"},
	}
	if authz != "" {
		ev.Headers["Authorization"] = authz
		ev.MultiValueHeaders = map[string][]string{"Authorization": {authz}}
	}
	return ev
}

func TestTheHTTPAPIAdapterAnswersWithSimpleResponses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		authz      string
		allow      bool
		authStatus string
	}{
		{"alice is authorized with her context", "Bearer " + e.token(t, "alice"), true, "ok"},
		{"carol, valid but unmapped, is not authorized", "Bearer " + e.token(t, "carol"), false, "unknown_user"},
		{"an expired token is not authorized either: HTTP APIs cannot answer 401", "Bearer " + e.forge(t, 1, "alice"), false, "token_expired"},
		{"a missing header is not authorized", "", false, "missing_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.az.HTTPAPI(ctx, httpEvent(tc.authz))
			if err != nil {
				t.Fatal(err)
			}
			if resp.IsAuthorized != tc.allow || resp.Context["authStatus"] != tc.authStatus {
				t.Fatalf("response %+v, want isAuthorized %v with authStatus %s", resp, tc.allow, tc.authStatus)
			}
			if !tc.allow && len(resp.Context) != 1 {
				t.Errorf("a deny carries %v; only authStatus is allowed", resp.Context)
			}
			for k, v := range resp.Context {
				if _, ok := v.(string); !ok {
					t.Errorf("context %s is a %T, want a string", k, v)
				}
			}
		})
	}
	for _, r := range e.logs.records(t) {
		if r["msg"] == "authorization decision" && r["request_id"] != "http-req-1" {
			t.Errorf("the log's request_id is %v, want the event's", r["request_id"])
		}
	}
}

func TestTheRESTAdaptersAnswer401403AndPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := "Bearer " + e.token(t, "alice")
	for _, adapter := range []struct {
		name string
		call func(authz string) (events.APIGatewayCustomAuthorizerResponse, error)
	}{
		{"REQUEST", func(authz string) (events.APIGatewayCustomAuthorizerResponse, error) {
			return e.az.REST(ctx, restEvent(authz))
		}},
		{"TOKEN", func(authz string) (events.APIGatewayCustomAuthorizerResponse, error) {
			return e.az.Token(ctx, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: authz, MethodArn: methodARN})
		}},
	} {
		t.Run("the "+adapter.name+" authorizer allows alice on the whole stage", func(t *testing.T) {
			resp, err := adapter.call(alice)
			if err != nil {
				t.Fatal(err)
			}
			st := resp.PolicyDocument.Statement
			if resp.PrincipalID != "usr-00u8c2d9qkL4mT7xw5d7" || len(st) != 1 || st[0].Effect != "Allow" ||
				st[0].Resource[0] != "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/*" || st[0].Action[0] != "execute-api:Invoke" {
				t.Fatalf("response %+v", resp)
			}
			if resp.Context["decidedRole"] != "arn:aws:iam::111122223333:role/quilt-mcp-target-acme" || resp.Context["authStatus"] != "ok" {
				t.Errorf("context %v", resp.Context)
			}
		})
		t.Run("the "+adapter.name+" authorizer fails a missing token with exactly Unauthorized", func(t *testing.T) {
			_, err := adapter.call("")
			if err == nil || err.Error() != "Unauthorized" || !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("error %v, want Unauthorized", err)
			}
		})
		t.Run("the "+adapter.name+" authorizer denies carol with a Deny policy", func(t *testing.T) {
			resp, err := adapter.call("Bearer " + e.token(t, "carol"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.Context["authStatus"] != "unknown_user" || resp.PrincipalID == "" {
				t.Fatalf("response %+v", resp)
			}
		})
	}
	t.Run("a method ARN that is not an execute-api ARN is an error, not a decision", func(t *testing.T) {
		ev := restEvent(alice)
		ev.MethodArn = "arn:aws:lambda:us-east-1:111122223333:function:x"
		if _, err := e.az.REST(ctx, ev); err == nil || err.Error() == "Unauthorized" {
			t.Fatalf("error %v, want a non-Unauthorized error", err)
		}
	})
	t.Run("REST headers are matched case-insensitively and repeated ones are refused", func(t *testing.T) {
		ev := restEvent("")
		ev.MultiValueHeaders = map[string][]string{"authorization": {alice, alice}}
		if _, err := e.az.REST(ctx, ev); err == nil || err.Error() != "Unauthorized" {
			t.Fatalf("error %v, want Unauthorized for a repeated header", err)
		}
	})
}
