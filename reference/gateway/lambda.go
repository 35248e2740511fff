package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// LambdaInvoker calls a Lambda function through the Lambda Invoke API
// (POST /2015-03-31/functions/FUNCTION/invocations), the interface of the Lambda Runtime
// Interface Emulator, so an authorizer written in any language and packaged as a Lambda
// container image can stand behind the gateway. Its methods have the signatures of
// HTTPAPIAuthorizer, HTTPAPIPolicyAuthorizer, RESTAuthorizer and TokenAuthorizer.
type LambdaInvoker struct {
	url    string
	client *http.Client
}

// maxInvokeResponse bounds an authorizer's response (Lambda's synchronous payload limit is 6 MB).
const maxInvokeResponse = 6 << 20

// LambdaInvoke returns an invoker of function at endpoint, the base URL of a Lambda Invoke API
// (a Runtime Interface Emulator: http://127.0.0.1:9000). If endpoint already ends in
// /2015-03-31/functions/NAME/invocations it is used as is and function may be empty. The
// Runtime Interface Emulator answers to the function name "function" and to its
// AWS_LAMBDA_FUNCTION_NAME.
func LambdaInvoke(endpoint, function string) *LambdaInvoker {
	u := strings.TrimSuffix(endpoint, "/")
	if !strings.Contains(u, "/2015-03-31/functions/") {
		u += "/2015-03-31/functions/" + url.PathEscape(function) + "/invocations"
	}
	return &LambdaInvoker{url: u, client: &http.Client{Transport: http.DefaultTransport}}
}

// URL is the invocation URL the invoker posts to.
func (l *LambdaInvoker) URL() string { return l.url }

func (l *LambdaInvoker) serves(authorizerKind) bool { return true }

// FunctionError is an error the function itself raised (the Invoke API's
// X-Amz-Function-Error, or an {"errorMessage","errorType"} payload). Its Error is the message
// alone, so a function failing with "Unauthorized" is a 401 on REST APIs, as on AWS.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Message }

// invoke posts the event and returns the function's payload.
func (l *LambdaInvoker) invoke(ctx context.Context, event any) ([]byte, error) {
	body, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambda invoke %s: %w", l.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lambda invoke %s: %w", l.url, err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxInvokeResponse+1))
	if err != nil {
		return nil, fmt.Errorf("lambda invoke %s: reading the response: %w", l.url, err)
	}
	if len(payload) > maxInvokeResponse {
		return nil, fmt.Errorf("lambda invoke %s: response larger than %d bytes", l.url, maxInvokeResponse)
	}
	var fe struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    string  `json:"errorType"`
	}
	isErrorShape := json.Unmarshal(payload, &fe) == nil && fe.ErrorMessage != nil
	if resp.Header.Get("X-Amz-Function-Error") != "" || isErrorShape {
		if fe.ErrorMessage == nil {
			return nil, &FunctionError{Type: resp.Header.Get("X-Amz-Function-Error"), Message: strings.TrimSpace(string(payload))}
		}
		return nil, &FunctionError{Type: fe.ErrorType, Message: *fe.ErrorMessage}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lambda invoke %s: status %d: %.200s", l.url, resp.StatusCode, payload)
	}
	return payload, nil
}

// HTTPAPI invokes the function with an HTTP API event and decodes a simple response; a
// response without a boolean isAuthorized is malformed.
func (l *LambdaInvoker) HTTPAPI(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	var out events.APIGatewayV2CustomAuthorizerSimpleResponse
	payload, err := l.invoke(ctx, req)
	if err != nil {
		return out, err
	}
	return decodeSimpleResponse(payload)
}

func decodeSimpleResponse(payload []byte) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	var out events.APIGatewayV2CustomAuthorizerSimpleResponse
	var raw struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return out, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if raw.IsAuthorized == nil {
		return out, fmt.Errorf("%w: no boolean isAuthorized", errMalformed)
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: *raw.IsAuthorized, Context: raw.Context}, nil
}

// HTTPAPIPolicy invokes the function with an HTTP API event and decodes an IAM policy response.
func (l *LambdaInvoker) HTTPAPIPolicy(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerIAMPolicyResponse, error) {
	payload, err := l.invoke(ctx, req)
	if err != nil {
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{}, err
	}
	r, err := decodePolicyResponse(payload)
	return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: r.PrincipalID, PolicyDocument: r.PolicyDocument, Context: r.Context}, err
}

// REST invokes the function with a REST API REQUEST event and decodes its policy response.
func (l *LambdaInvoker) REST(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	payload, err := l.invoke(ctx, req)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return decodePolicyResponse(payload)
}

// Token invokes the function with a REST API TOKEN event and decodes its policy response.
func (l *LambdaInvoker) Token(ctx context.Context, req events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	payload, err := l.invoke(ctx, req)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return decodePolicyResponse(payload)
}

// stringOrList is an IAM policy element that may be one string or a list of strings.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*s = list
	return nil
}

// decodePolicyResponse decodes {principalId, policyDocument, context}, taking Action and
// Resource as a string or a list as IAM does (events.IAMPolicyStatement has lists only).
func decodePolicyResponse(payload []byte) (events.APIGatewayCustomAuthorizerResponse, error) {
	var out events.APIGatewayCustomAuthorizerResponse
	var raw struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument *struct {
			Version   string
			Statement []struct {
				Action   stringOrList
				Effect   string
				Resource stringOrList
			}
		} `json:"policyDocument"`
		Context            map[string]any `json:"context"`
		UsageIdentifierKey string         `json:"usageIdentifierKey"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return out, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if raw.PolicyDocument == nil {
		return out, fmt.Errorf("%w: no policyDocument", errMalformed)
	}
	out.PrincipalID, out.Context, out.UsageIdentifierKey = raw.PrincipalID, raw.Context, raw.UsageIdentifierKey
	out.PolicyDocument.Version = raw.PolicyDocument.Version
	for _, s := range raw.PolicyDocument.Statement {
		out.PolicyDocument.Statement = append(out.PolicyDocument.Statement,
			events.IAMPolicyStatement{Action: s.Action, Effect: s.Effect, Resource: s.Resource})
	}
	return out, nil
}
