package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// benchAuthorizer is the benchmark's authorizer, run in process and, as the Lambda function
// (TestMain's behaviour http-api-bench), in a handler process behind the emulator.
var benchAuthorizer = HTTPAPIAuthorizer(func(_ context.Context, r events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: r.Headers["authorization"] == "Bearer bench",
		Context: map[string]any{"decidedRole": roleARN, "sourceIdentity": "usr-1"}}, nil
})

// BenchmarkGatewayOverhead measures, in one run and interleaved request by request, the same
// upstream reached directly and through the gateway with its authorizer: in-process with the
// cache off (TTL 0) and on (TTL 300), and over the Lambda Invoke API, cache off and on. It
// reports each rate (sequential requests per second) and the direct rate divided by each
// gateway rate (the slowdown; 1.0 would be free).
//
// The Lambda targets go through a real Lambda runtime: the Runtime Interface Emulator
// (lambdarie) in front of this test binary as the handler process, speaking the Runtime API
// through aws-lambda-go, one invocation at a time. Their cache-off rate therefore includes
// the emulator's hand-off to the handler process and back, not only the Invoke API's HTTP
// round trip as it did when an in-process stub answered the Invoke API.
func BenchmarkGatewayOverhead(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer up.Close()
	fn, _ := startLambda(b, "http-api-bench", "function")
	mappings := "requestParameters:\n      overwrite:header.x-decided-role: $context.authorizer.decidedRole\n      overwrite:header.x-source-identity: $context.authorizer.sourceIdentity"
	start := func(ttl string, a Authorizer) string {
		c, err := ParseConfig("bench.yaml", []byte(httpAPIConfig(up.URL, "identitySource: [$request.header.Authorization]\n    authorizerResultTtlInSeconds: "+ttl, mappings)))
		if err != nil {
			b.Fatal(err)
		}
		s, err := Start(b.Context(), WithConfig(c), WithAuthorizer("", a))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s.URL() + "/mcp"
	}
	targets := []struct {
		name string
		url  string
	}{
		{"direct", up.URL + "/mcp"},
		{"gateway-cache-off", start("0", benchAuthorizer)},
		{"gateway-cache-on", start("300", benchAuthorizer)},
		{"gateway-lambda-cache-off", start("0", LambdaInvoke(fn.Endpoint(), "function"))},
		{"gateway-lambda-cache-on", start("300", LambdaInvoke(fn.Endpoint(), "function"))},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	do := func(u string) {
		req, _ := http.NewRequest(http.MethodPost, u, nil)
		req.Header.Set("Authorization", "Bearer bench")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", u, resp.StatusCode)
		}
	}
	for _, t := range targets { // warm up connections
		do(t.url)
	}
	spent := make([]time.Duration, len(targets))
	n := 0
	for b.Loop() {
		for i, t := range targets {
			began := time.Now()
			do(t.url)
			spent[i] += time.Since(began)
		}
		n++
	}
	rate := func(i int) float64 { return float64(n) / spent[i].Seconds() }
	for i, t := range targets {
		b.ReportMetric(rate(i), t.name+"-req/s")
		if i > 0 {
			b.ReportMetric(rate(0)/rate(i), "slowdown-"+t.name)
		}
	}
}
