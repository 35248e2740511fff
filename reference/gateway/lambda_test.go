package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
)

// envTestLambda makes this test binary a Lambda function's handler process (TestMain) instead
// of running the tests: startLambda runs it behind the Runtime Interface Emulator, with the
// behaviour lambdaHandler names in this variable. envTestLambdaEvents is the file the function
// appends each event it receives to, one JSON line each.
const (
	envTestLambda       = "MCPSSO_TEST_LAMBDA"
	envTestLambdaEvents = "MCPSSO_TEST_LAMBDA_EVENTS"
)

func TestMain(m *testing.M) {
	if behaviour, ok := os.LookupEnv(envTestLambda); ok {
		lambda.Start(lambdaHandler(behaviour)) // serves invocations until the emulator kills it
		os.Exit(1)                             // not reached: lambda.Start exits on failure
	}
	os.Exit(m.Run())
}

// lambdaHandler is the handler for lambda.Start that behaviour names:
//
//	raw:PAYLOAD    answers PAYLOAD as is (a Go handler returning an io.Reader), JSON or not
//	fail:MESSAGE   fails with errors.New(MESSAGE), which Lambda reports as an "errorString"
//	rest-allow     a typed REST API authorizer allowing its methodArn with decidedRole roleARN
//	http-api-bench the benchmark's HTTP API authorizer (benchAuthorizer)
//	hang           never answers
func lambdaHandler(behaviour string) any {
	kind, arg, _ := strings.Cut(behaviour, ":")
	switch kind {
	case "raw":
		return func(_ context.Context, ev json.RawMessage) (io.Reader, error) {
			return strings.NewReader(arg), recordEvent(ev)
		}
	case "fail":
		return func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
			if err := recordEvent(ev); err != nil {
				return nil, err
			}
			return nil, errors.New(arg)
		}
	case "rest-allow":
		return func(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return policy("Allow", ev.MethodArn, map[string]any{"decidedRole": roleARN}), recordEvent(ev)
		}
	case "http-api-bench":
		return benchAuthorizer
	case "hang":
		return func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
			time.Sleep(time.Hour)
			return nil, recordEvent(ev)
		}
	}
	fmt.Fprintf(os.Stderr, "%s=%q: no such behaviour\n", envTestLambda, behaviour)
	os.Exit(2)
	return nil
}

// recordEvent appends ev to the file named by envTestLambdaEvents, if any.
func recordEvent(ev any) error {
	path := os.Getenv(envTestLambdaEvents)
	if path == "" {
		return nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

// startLambda runs this test binary as a Lambda function doing behaviour (see lambdaHandler)
// behind the Runtime Interface Emulator, which answers to function besides "function"; the
// handler's logs go to the test's output. received returns the events the function has received, in order.
func startLambda(tb testing.TB, behaviour, function string, opts ...lambdarie.Option) (s *lambdarie.Server, received func() []string) {
	tb.Helper()
	events := filepath.Join(tb.TempDir(), "events.jsonl")
	opts = append([]lambdarie.Option{lambdarie.WithHandler(os.Args[0]), lambdarie.WithFunctionName(function),
		lambdarie.WithOutput(tb.Output()), lambdarie.WithEnv(envTestLambda+"="+behaviour, envTestLambdaEvents+"="+events)}, opts...)
	s, err := lambdarie.Start(tb.Context(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s, func() []string {
		b, err := os.ReadFile(events)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			tb.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
}

// TestLambdaInvokeHTTPAPI runs the HTTP API authorizer through the Lambda Invoke API against a
// real Lambda runtime (this test binary under the Runtime Interface Emulator), including the
// ways a function's answer can be unusable.
func TestLambdaInvokeHTTPAPI(t *testing.T) {
	tests := []struct {
		name       string
		behaviour  string
		function   string // the name the emulator answers to (default mcp-authorizer, the one invoked)
		timeout    time.Duration
		wantStatus int
		wantRole   string
	}{
		{"an allow with context reaches the integration with the mapped header",
			`raw:{"isAuthorized":true,"context":{"decidedRole":"` + roleARN + `"}}`, "", 0, 200, roleARN},
		{"a deny gets 403", `raw:{"isAuthorized":false}`, "", 0, 403, ""},
		{"a function error gets 500", "fail:token verification failed", "", 0, 500, ""},
		{"a response without isAuthorized is malformed and gets 500", `raw:{"context":{"decidedRole":"x"}}`, "", 0, 500, ""},
		{"an isAuthorized that is not a boolean is malformed and gets 500", `raw:{"isAuthorized":"true"}`, "", 0, 500, ""},
		{"a response that is not JSON gets 500", `raw:allow`, "", 0, 500, ""},
		{"a function the endpoint does not have gets 500", `raw:{"isAuthorized":true}`, "other-function", 0, 500, ""},
		{"a function that times out gets 500", "hang", "", 200 * time.Millisecond, 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			name := "mcp-authorizer"
			if tc.function != "" {
				name = tc.function
			}
			var opts []lambdarie.Option
			if tc.timeout != 0 {
				opts = append(opts, lambdarie.WithTimeout(tc.timeout))
			}
			fn, _ := startLambda(t, tc.behaviour, name, opts...)
			yaml := httpAPIConfig(up.URL, "authorizerUri: arn:aws:lambda:us-east-1:111122223333:function:mcp-authorizer\n    identitySource: [$request.header.Authorization]\n    authorizerResultTtlInSeconds: 0",
				"requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole")
			g := startGateway(t, yaml, WithLambdaEndpoint(fn.Endpoint()))
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
	tests := []struct {
		name       string
		behaviour  string // empty: an older emulator's answer without X-Amz-Function-Error (see below)
		wantStatus int
	}{
		{"a typed Go handler allowing its methodArn lets the request through", "rest-allow", 200},
		{"a function failing with Unauthorized gets 401", "fail:Unauthorized", 401},
		{"a function failing with Unauthorized gets 401 without X-Amz-Function-Error too", "", 401},
		{"a function failing otherwise gets 500", "fail:jwks fetch failed", 500},
		{"a Deny gets 403", `raw:{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`, 403},
		{"string Action and Resource are read as IAM reads them",
			`raw:{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + anyMethod + `"}]}}`, 200},
		{"a response without a policyDocument gets 500", `raw:{"principalId":"u"}`, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			var endpoint string
			var received func() []string
			if tc.behaviour == "" {
				// Older Runtime Interface Emulators report a function error with the error payload
				// alone, without X-Amz-Function-Error. lambdarie, like Lambda today, always sends the
				// header, so no real runtime behind it can give this answer: it is served here as
				// those emulators sent it.
				var calls atomic.Int32
				stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					calls.Add(1)
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, `{"errorMessage":"Unauthorized","errorType":"errorString"}`)
				}))
				t.Cleanup(stub.Close)
				endpoint, received = stub.URL, func() []string { return make([]string, calls.Load()) }
			} else {
				fn, rec := startLambda(t, tc.behaviour, "mcp-authorizer")
				endpoint, received = fn.Endpoint(), rec
			}
			g := startWith(t, shipped(t, "reference"), WithLambdaEndpoint(endpoint), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"))
			r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"})
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			evs := received()
			if len(evs) != 1 {
				t.Fatalf("%d invocations, want 1", len(evs))
			}
			if tc.behaviour == "rest-allow" {
				if err := json.Unmarshal([]byte(evs[0]), &got); err != nil {
					t.Fatal(err)
				}
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
	fn, _ := startLambda(t, `raw:{"isAuthorized":true}`, lambdarie.DefaultFunctionName)
	inv := LambdaInvoke(fn.InvokeURL(), "")
	if inv.URL() != fn.Endpoint()+"/2015-03-31/functions/function/invocations" {
		t.Errorf("URL %s", inv.URL())
	}
	g := startGateway(t, httpAPIConfig(up.URL, "", ""), WithAuthorizer("auth", inv))
	if r := call(t, "GET", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 200 {
		t.Errorf("status %d: %s", r.status, r.body)
	}
}

// TestLambdaEndpointDownFailsClosed: nothing listening at the Lambda endpoint (an emulator that
// has stopped) is a 500.
func TestLambdaEndpointDownFailsClosed(t *testing.T) {
	up := newUpstream(t)
	fn, err := lambdarie.Start(t.Context(), lambdarie.WithHandler(os.Args[0]), lambdarie.WithOutput(t.Output()),
		lambdarie.WithEnv(envTestLambda+"=rest-allow"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	g := startWith(t, shipped(t, "reference"), WithLambdaEndpoint(fn.Endpoint()), WithIntegrationURL(up.URL), WithIssuerURL("https://issuer.example"))
	if r := call(t, "POST", g.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); r.status != 500 || up.hits.Load() != 0 {
		t.Errorf("status %d with %d upstream hits, want 500 and none", r.status, up.hits.Load())
	}
}
