package gateway

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestShippedConfigsLoad(t *testing.T) {
	if got := strings.Join(ShippedConfigs(), ","); got != "reference,seed" {
		t.Fatalf("shipped configs %s", got)
	}
	seed, reference := shipped(t, "seed"), shipped(t, "reference")
	if seed.Type != HTTPAPI || reference.Type != RESTAPI {
		t.Errorf("seed is %s and reference %s, want http-api and rest-api", seed.Type, reference.Type)
	}
	if len(reference.Warnings()) != 0 {
		t.Errorf("reference warnings: %v", reference.Warnings())
	}
	if _, err := ShippedConfig("nope"); err == nil || !strings.Contains(err.Error(), "reference, seed") {
		t.Errorf("unknown shipped config: %v", err)
	}
}

func TestLoadConfigReadsAFile(t *testing.T) {
	yaml, _ := ShippedConfigYAML("seed")
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(path, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestConfigErrorsNameTheFieldAndTheRule: every rejected config says where and why.
func TestConfigErrorsNameTheFieldAndTheRule(t *testing.T) {
	base := `type: http-api
authorizers:
  - name: a
    type: REQUEST
    authorizerPayloadFormatVersion: "2.0"
    enableSimpleResponses: true
    identitySource: [$request.header.Authorization]
    authorizerResultTtlInSeconds: 0
integrations:
  - name: b
    integrationType: HTTP_PROXY
    integrationUri: http://127.0.0.1:9
routes:
  - routeKey: ANY /{proxy+}
    authorizationType: CUSTOM
    authorizer: a
    integration: b
`
	edit := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("base has no %q", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"an unknown field is named with its path and position", edit("    authorizerResultTtlInSeconds: 0", "    authorizerResultTtlInSeconds: 0\n    ttl: 5"),
			[]string{"x.yaml:9:5", "authorizers[0].ttl", `unknown field "ttl"`}},
		{"a TTL above 3600 is refused", edit("TtlInSeconds: 0", "TtlInSeconds: 3601"), []string{"authorizers[0].authorizerResultTtlInSeconds", "0 (no caching) to 3600"}},
		{"a missing TTL is refused", edit("    authorizerResultTtlInSeconds: 0\n", ""), []string{"authorizers[0].authorizerResultTtlInSeconds", "required"}},
		{"an unknown API type is refused", edit("type: http-api", "type: websocket"), []string{"type", "http-api or rest-api"}},
		{"gateway responses on an HTTP API are refused", base + "gatewayResponses:\n  - responseType: UNAUTHORIZED\n",
			[]string{"gatewayResponses", "HTTP APIs have no gateway responses"}},
		{"payload format 1.0 is refused", edit(`"2.0"`, `"1.0"`), []string{"authorizerPayloadFormatVersion", "2.0 only"}},
		{"a TOKEN authorizer on an HTTP API is refused", edit("type: REQUEST", "type: TOKEN"), []string{"authorizers[0].type", "REQUEST"}},
		{"an identity source in REST syntax on an HTTP API is refused", edit("[$request.header.Authorization]", "[method.request.header.Authorization]"),
			[]string{"authorizers[0].identitySource[0]", "$request.header.NAME"}},
		{"caching without an identity source is refused", edit("    identitySource: [$request.header.Authorization]\n    authorizerResultTtlInSeconds: 0", "    authorizerResultTtlInSeconds: 60"),
			[]string{"authorizers[0].identitySource", "cache key"}},
		{"$request.body mappings are refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    requestParameters:\n      overwrite:header.x-a: $request.body.name"),
			[]string{`requestParameters["overwrite:header.x-a"]`, "$request.body is not supported"}},
		{"an unknown context variable is refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    requestParameters:\n      overwrite:header.x-a: $context.nonsense"),
			[]string{"$context.nonsense is not a context variable"}},
		{"a braced context variable with a hyphen is refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    requestParameters:\n      overwrite:header.x-a: ${context.authorizer.x-role}"),
			[]string{`'-' is not allowed in a name`}},
		{"a remove mapping with a value is refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    requestParameters:\n      remove:header.x-a: $context.requestId"),
			[]string{"remove mapping takes no value"}},
		{"append:path is refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    requestParameters:\n      append:path: /x"),
			[]string{"overwrite:path"}},
		{"a route naming an undeclared authorizer is refused", edit("authorizer: a", "authorizer: z"), []string{"routes[0].authorizer", `"z"`, "declared: a"}},
		{"a greedy parameter before the end is refused", edit("ANY /{proxy+}", "ANY /{proxy+}/x"), []string{"routes[0].routeKey", "last segment"}},
		{"a route key without a method is refused", edit("ANY /{proxy+}", "/{proxy+}"), []string{"routes[0].routeKey", "METHOD /path"}},
		{"an integration timeout above 30 s is refused", edit("integrationUri: http://127.0.0.1:9", "integrationUri: http://127.0.0.1:9\n    timeoutInMillis: 30001"),
			[]string{"integrations[0].timeoutInMillis", "50 to 30000"}},
		{"a MOCK integration with nothing to serve is refused", edit("integrationType: HTTP_PROXY\n    integrationUri: http://127.0.0.1:9", "integrationType: MOCK"),
			[]string{"integrations[0]: ", "needs protectedResourceMetadata", "or corsPreflight"}},
		{"an access-log format that is not a JSON object is refused", base + "accessLogSettings:\n  format: $context.requestId\n",
			[]string{"accessLogSettings.format", "JSON object"}},
		{"a malformed access-log format is refused", base + "accessLogSettings:\n  format: '{\"a\":\"$context.requestId}'\n",
			[]string{"accessLogSettings.format"}},
		{"several problems are reported together", edit("type: REQUEST", "type: TOKEN\n    identityValidationExpression: '('"),
			[]string{"authorizers[0].type", "identityValidationExpression"}},
		{"YAML that is not a mapping is refused", "- a\n- b\n", []string{"x.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAnIntegrationTimesOutAsItsAPITypeDoes: without timeoutInMillis an HTTP API waits 30 s for
// its integration and a REST API 29 s, each one's limit on AWS; a REST API may say up to 30000
// (AWS raises the limit on request, for Regional and private REST APIs), with a warning.
func TestAnIntegrationTimesOutAsItsAPITypeDoes(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		millis        int
		want          time.Duration
		warning       string
	}{
		{"an HTTP API without a timeout waits 30 s", "seed", 0, 30 * time.Second, ""},
		{"a REST API without a timeout waits 29 s", "reference", 0, 29 * time.Second, ""},
		{"the reference REST API says 29000", "reference", -1, 29 * time.Second, ""},
		{"a REST API over 29000 is warned about", "reference", 30000, 30 * time.Second, "integrations[0].timeoutInMillis: 30000 is over a REST API's limit of 29000"},
		{"an HTTP API may say 30000", "seed", 30000, 30 * time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shipped(t, tc.profile)
			if tc.millis >= 0 {
				c.Integrations[0].TimeoutInMillis = tc.millis
			}
			a, err := compile(c, substitutions{publicURL: "https://mcp.example.invalid", issuerURL: "https://issuer.example.invalid"})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.integrations[c.Integrations[0].Name].timeout; got != tc.want {
				t.Errorf("timeout %s, want %s", got, tc.want)
			}
			var w string // the timeout's warning (the seed's hyphenated context keys have their own)
			for _, x := range a.warnings {
				if strings.Contains(x, "timeoutInMillis") {
					w = x
				}
			}
			if tc.warning == "" && w != "" || !strings.Contains(w, tc.warning) {
				t.Errorf("warning %q, want %q", w, tc.warning)
			}
		})
	}
}

// TestReservedHeadersAreRefusedAtConfigTime: API Gateway does not let these be mapped; in both
// API types the config is rejected, naming the header.
func TestReservedHeadersAreRefusedAtConfigTime(t *testing.T) {
	for _, h := range []string{"Authorization", "authorization", "Connection", "Content-Length", "Content-Encoding", "Content-Location",
		"Forwarded", "Keep-Alive", "Origin", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailers", "Transfer-Encoding",
		"Upgrade", "Via", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "access-control-allow-origin", "apigw-requestid",
		"x-amz-date", "X-Amzn-Trace-Id"} {
		t.Run(h+" is refused on both API types", func(t *testing.T) {
			for _, key := range []string{"overwrite:header." + h, "append:header." + h, "remove:header." + h} {
				_, _, err := parseMapping(HTTPAPI, key, "''")
				if err == nil || !strings.Contains(err.Error(), "reserved header") {
					t.Errorf("%s: %v", key, err)
				}
			}
			c := shipped(t, "reference")
			c.Integrations[0].RequestParameters["integration.request.header."+h] = "'x'"
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), h+" is a reserved header") {
				t.Errorf("rest-api: %v", err)
			}
		})
	}
	if _, _, err := parseMapping(HTTPAPI, "overwrite:header.x-decided-role", "$context.authorizer.decidedRole"); err != nil {
		t.Errorf("an ordinary header is refused: %v", err)
	}
}

// TestStartFailsClosed: a gateway never starts with an authorizer it cannot call, or with code
// of the wrong kind behind it.
func TestStartFailsClosed(t *testing.T) {
	simple := HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})
	tests := []struct {
		name string
		cfg  string
		opts []Option
		want string
	}{
		{"an authorizer without code or Lambda endpoint", "seed", nil, `authorizer "mcp-authorizer" has no implementation`},
		{"an HTTP API authorizer behind a REST API", "reference", []Option{WithAuthorizer("", simple), WithIssuerURL("https://i.example")},
			"REST API REQUEST authorizer"},
		{"a REST API authorizer behind the HTTP API", "seed", []Option{WithAuthorizer("mcp-authorizer", RESTAuthorizer(nil))}, "simple responses"},
		{"metadata naming ${issuerUrl} without an issuer", "reference", []Option{WithAuthorizer("", RESTAuthorizer(nil))}, "no issuer is set"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := Start(t.Context(), append([]Option{WithConfig(shipped(t, tc.cfg))}, tc.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := New(WithConfig(shipped(t, "seed")), WithAuthorizer("", simple)); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("New without a public URL: %v", err)
	}
	if _, err := Start(t.Context()); err == nil || !strings.Contains(err.Error(), "no config") {
		t.Errorf("Start without a config: %v", err)
	}
}
