package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ErrUnauthorized is the REST adapters' error for an unauthenticated request. API Gateway
// turns exactly this message into 401 (the UNAUTHORIZED gateway response, where a
// WWW-Authenticate header can be configured); any other error is a 500.
var ErrUnauthorized = errors.New("Unauthorized") //nolint:staticcheck // API Gateway matches this exact text

// HTTPAPI is the Lambda handler of an HTTP API authorizer with simple responses (payload
// format 2.0, EnableSimpleResponses). Its type fits the gateway emulator's HTTPAPIAuthorizer.
//
// An allow is isAuthorized true with the decision's context (Decision.Context). Every deny is
// isAuthorized false with only authStatus, which API Gateway answers with 403 — HTTP APIs
// cannot return 401 from a Lambda authorizer, so an expired token also gets 403 (the
// limitation the kit demonstrates). An Unavailable decision is an error (500, not cached).
func (a *Authorizer) HTTPAPI(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	req := Request{
		RequestID:     ev.RequestContext.RequestID,
		Authorization: headerValues(ev.Headers, nil, "authorization"),
		RawQuery:      ev.RawQueryString,
		Method:        ev.RequestContext.HTTP.Method,
		Path:          ev.RawPath,
		RouteKey:      ev.RouteKey,
		SourceIP:      ev.RequestContext.HTTP.SourceIP,
		MCPMethod:     firstHeader(ev.Headers, nil, "mcp-method"),
		MCPName:       firstHeader(ev.Headers, nil, "mcp-name"),
	}
	if len(ev.QueryStringParameters) > 0 {
		req.QueryParameters = singleToMulti(ev.QueryStringParameters)
	}
	if req.RequestID == "" {
		req.RequestID = lambdaRequestID(ctx)
	}
	d, err := a.Decide(ctx, req)
	if err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: d.Allow, Context: d.Context()}, nil
}

// REST is the Lambda handler of a REST API REQUEST authorizer. Its type fits the gateway
// emulator's RESTAuthorizer. Unauthenticated → ErrUnauthorized (401); Forbidden → a Deny
// policy with authStatus in the context (403); allowed → an Allow policy on the whole stage
// (so a cached answer serves every route) with the decision's context; Unavailable → an error
// (500).
func (a *Authorizer) REST(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	req := Request{
		RequestID:       ev.RequestContext.RequestID,
		Authorization:   headerValues(ev.Headers, ev.MultiValueHeaders, "authorization"),
		QueryParameters: mergeQuery(ev.QueryStringParameters, ev.MultiValueQueryStringParameters),
		Method:          ev.HTTPMethod,
		Path:            ev.Path,
		RouteKey:        strings.TrimSpace(ev.HTTPMethod + " " + ev.Resource),
		SourceIP:        ev.RequestContext.Identity.SourceIP,
		MCPMethod:       firstHeader(ev.Headers, ev.MultiValueHeaders, "mcp-method"),
		MCPName:         firstHeader(ev.Headers, ev.MultiValueHeaders, "mcp-name"),
	}
	if req.RequestID == "" {
		req.RequestID = lambdaRequestID(ctx)
	}
	return a.restAnswer(ctx, req, ev.MethodArn)
}

// Token is the Lambda handler of a REST API TOKEN authorizer (the identity source is the
// Authorization header, passed as authorizationToken); answers as REST. Its type fits the
// gateway emulator's TokenAuthorizer.
func (a *Authorizer) Token(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	req := Request{RequestID: lambdaRequestID(ctx)}
	// A TOKEN event names the request only in its method ARN; the context proof needs both.
	req.Method, req.Path = methodAndPath(ev.MethodArn)
	if ev.AuthorizationToken != "" {
		req.Authorization = []string{ev.AuthorizationToken}
	}
	return a.restAnswer(ctx, req, ev.MethodArn)
}

func (a *Authorizer) restAnswer(ctx context.Context, req Request, methodARN string) (events.APIGatewayCustomAuthorizerResponse, error) {
	resource, err := stageResource(methodARN)
	if err != nil {
		// A malformed event: no decision can be expressed as a policy (a 500).
		a.log.ErrorContext(ctx, "malformed authorizer event", slog.String("request_id", req.RequestID), slog.String("error", err.Error()))
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	d, err := a.Decide(ctx, req)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	switch d.Reason.Outcome() {
	case Allowed:
		return policyResponse(d.SourceIdentity, "Allow", resource, d.Context()), nil
	case Unauthenticated:
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	principal := d.SourceIdentity
	if principal == "" {
		principal = "anonymous"
	}
	return policyResponse(principal, "Deny", resource, d.Context()), nil
}

func policyResponse(principal, effect, resource string, ctx map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{resource},
			}},
		},
		Context: ctx,
	}
}

// stageResource turns a method ARN (arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH)
// into the ARN of every method of its stage (…/STAGE/*).
func stageResource(methodARN string) (string, error) {
	parts := strings.SplitN(methodARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" || parts[3] == "" || parts[4] == "" {
		return "", fmt.Errorf("authorizer: methodArn %s is not an execute-api ARN (arn:aws:execute-api:<region>:<account>:<api>/<stage>/<verb>/<path>)", quote(methodARN))
	}
	segs := strings.SplitN(parts[5], "/", 3)
	if len(segs) < 2 || segs[0] == "" || segs[1] == "" {
		return "", fmt.Errorf("authorizer: methodArn %s has no <api>/<stage>", quote(methodARN))
	}
	return strings.Join(parts[:5], ":") + ":" + segs[0] + "/" + segs[1] + "/*", nil
}

// methodAndPath reads the verb and the path from a method ARN
// (arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH); "" for what it lacks.
func methodAndPath(methodARN string) (string, string) {
	parts := strings.SplitN(methodARN, ":", 6)
	if len(parts) != 6 {
		return "", ""
	}
	segs := strings.SplitN(parts[5], "/", 4)
	if len(segs) < 3 {
		return "", ""
	}
	path := "/"
	if len(segs) == 4 {
		path += segs[3]
	}
	return segs[2], path
}

// headerValues collects a header's values from both maps, matching names case-insensitively
// (API Gateway lower-cases HTTP API headers, but not REST API ones). The multi-value map, when
// it has the header, holds every value, so the single-value map is then not counted again.
func headerValues(single map[string]string, multi map[string][]string, name string) []string {
	var out []string
	for k, vs := range multi {
		if strings.EqualFold(k, name) {
			out = append(out, vs...)
		}
	}
	if out != nil {
		return out
	}
	for k, v := range single {
		if strings.EqualFold(k, name) {
			out = append(out, v)
		}
	}
	return out
}

func firstHeader(single map[string]string, multi map[string][]string, name string) string {
	if vs := headerValues(single, multi, name); len(vs) == 1 {
		return vs[0]
	}
	return ""
}

func singleToMulti(m map[string]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = []string{v}
	}
	return out
}

func mergeQuery(single map[string]string, multi map[string][]string) map[string][]string {
	if len(single) == 0 && len(multi) == 0 {
		return nil
	}
	out := singleToMulti(single)
	for k, vs := range multi {
		out[k] = append(out[k], vs...)
	}
	return out
}

func lambdaRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
