package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// API types (Config.Type).
const (
	// HTTPAPI is an API Gateway HTTP API (apigatewayv2, ProtocolType HTTP): Lambda authorizers
	// with payload 2.0, no gateway responses, request parameter mapping with
	// overwrite:/append:/remove:.
	HTTPAPI = "http-api"
	// RESTAPI is an API Gateway REST API (apigateway v1): TOKEN and REQUEST Lambda authorizers
	// returning IAM policies, gateway responses, integration.request.* parameter mapping.
	RESTAPI = "rest-api"
)

// Config is one API as YAML: the AWS resources of an API Gateway API (the API and its stage,
// authorizers, integrations, routes, gateway responses, access-log settings), with the field
// names of their CloudFormation properties where one exists. Decoding is strict: an unknown
// field is an error naming its path.
//
// Three values may appear inside any static string: ${publicUrl} (the URL clients call, by
// default the gateway's own listen URL), ${publicOrigin} (its scheme://host[:port], the origin
// of a browser-based client served from there) and ${issuerUrl} (the OIDC issuer, from
// WithIssuerURL or the config's issuerUrl). They stand for what Fn::Sub would fill in on a real
// deployment.
type Config struct {
	// Type is http-api or rest-api.
	Type string `yaml:"type"`
	// Name is the API's name (informational).
	Name string `yaml:"name"`
	// APIID is the API's id, 10 lower-case letters or digits, used in ARNs and $context.apiId
	// (default a1b2c3d4e5).
	APIID string `yaml:"apiId"`
	// AccountID is the 12-digit account of the API (default 111122223333).
	AccountID string `yaml:"accountId"`
	// Region is the API's region (default us-east-1).
	Region string `yaml:"region"`
	// Stage is the stage name: "$default" (HTTP APIs only, the default for them) serves at the
	// root; any other stage is the first path segment of every URL, as on execute-api URLs,
	// unless CustomDomain is set. REST APIs default to "prod".
	Stage string `yaml:"stage"`
	// CustomDomain serves the stage at the root, as a custom domain name whose API mapping has
	// an empty base path does; the stage stays in ARNs and $context.stage.
	CustomDomain bool `yaml:"customDomain"`
	// StageVariables are the stage's variables ($stageVariables.name, stageVariables.name).
	StageVariables map[string]string `yaml:"stageVariables"`
	// PublicURL is the base URL clients call (default: the listen URL), ${publicUrl}.
	PublicURL string `yaml:"publicUrl"`
	// IssuerURL is the OIDC issuer the MCP server trusts, ${issuerUrl}.
	IssuerURL string `yaml:"issuerUrl"`
	// MCPPath is the MCP endpoint's path below PublicURL (default /mcp).
	MCPPath string `yaml:"mcpPath"`

	Authorizers       []AuthorizerConfig      `yaml:"authorizers"`
	Integrations      []IntegrationConfig     `yaml:"integrations"`
	Routes            []RouteConfig           `yaml:"routes"`
	GatewayResponses  []GatewayResponseConfig `yaml:"gatewayResponses"`
	AccessLogSettings *AccessLogSettings      `yaml:"accessLogSettings"`
}

// AuthorizerConfig is a Lambda authorizer (AWS::ApiGatewayV2::Authorizer for HTTP APIs,
// AWS::ApiGateway::Authorizer for REST APIs).
type AuthorizerConfig struct {
	Name string `yaml:"name"`
	// Type is REQUEST (both API types) or TOKEN (REST APIs).
	Type string `yaml:"type"`
	// AuthorizerURI names the Lambda function: its invocation URI
	// (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations), a
	// function ARN, or a bare function name. The function name is what the Lambda Invoke API
	// is called with.
	AuthorizerURI string `yaml:"authorizerUri"`
	// IdentitySource lists where the caller's identity is: for HTTP APIs $request.header.NAME,
	// $request.querystring.NAME, $context.NAME, $stageVariables.NAME; for REST APIs
	// method.request.header.NAME, method.request.querystring.NAME, context.NAME,
	// stageVariables.NAME. A list, or a comma-separated string as REST APIs take it.
	IdentitySource IdentitySources `yaml:"identitySource"`
	// IdentityValidationExpression (TOKEN authorizers) is a regular expression the token must
	// match in full, or the request gets 401 without invoking the Lambda.
	IdentityValidationExpression string `yaml:"identityValidationExpression"`
	// AuthorizerResultTTLInSeconds is how long a result is cached, 0 to 3600; required,
	// because the AWS defaults differ by tool and API type.
	AuthorizerResultTTLInSeconds *int `yaml:"authorizerResultTtlInSeconds"`
	// AuthorizerPayloadFormatVersion (HTTP APIs) must be "2.0".
	AuthorizerPayloadFormatVersion string `yaml:"authorizerPayloadFormatVersion"`
	// EnableSimpleResponses (HTTP APIs): the Lambda returns {isAuthorized, context} rather
	// than an IAM policy.
	EnableSimpleResponses bool `yaml:"enableSimpleResponses"`
}

// IdentitySources is a list of identity-source expressions; in YAML a list, or one string of
// comma-separated expressions.
type IdentitySources []string

// UnmarshalYAML accepts a list or a comma-separated string.
func (s *IdentitySources) UnmarshalYAML(b []byte) error {
	var list []string
	if err := yaml.Unmarshal(b, &list); err == nil {
		*s = list
		return nil
	}
	var one string
	if err := yaml.Unmarshal(b, &one); err != nil {
		return errors.New("must be a list of expressions or one comma-separated string")
	}
	*s = nil
	for _, part := range strings.Split(one, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

// IntegrationConfig is an integration (AWS::ApiGatewayV2::Integration, or a REST method's
// Integration).
type IntegrationConfig struct {
	Name string `yaml:"name"`
	// IntegrationType is HTTP_PROXY (the request goes to IntegrationURI) or MOCK (the gateway
	// answers itself, with ProtectedResourceMetadata or CORSPreflight).
	IntegrationType string `yaml:"integrationType"`
	// ConnectionType is INTERNET (default) or VPC_LINK (a private integration: on HTTP APIs the
	// stage name is put in front of the path, unless the stage is $default or the path is
	// overwritten).
	ConnectionType string `yaml:"connectionType"`
	// IntegrationURI is the backend URL (the NLB). On REST APIs its path may hold {name}
	// placeholders filled by integration.request.path.NAME parameters.
	IntegrationURI string `yaml:"integrationUri"`
	// TimeoutInMillis is the integration timeout, 50 to 30000 (default 30000 on HTTP APIs, 29000
	// on REST APIs, whose limit it is unless AWS raised it for the account: over it, a warning).
	TimeoutInMillis int `yaml:"timeoutInMillis"`
	// RequestParameters maps request parameters. HTTP APIs: keys
	// overwrite|append|remove:header.NAME, overwrite|append|remove:querystring.NAME,
	// overwrite:path; values mix static text with $request.header.NAME,
	// $request.querystring.NAME, $request.path, $request.path.NAME, $context.NAME,
	// $stageVariables.NAME (or ${...}). REST APIs: keys integration.request.header.NAME,
	// integration.request.querystring.NAME, integration.request.path.NAME; a value is one of
	// method.request.header|querystring|path.NAME, context.NAME, stageVariables.NAME or a
	// 'quoted static value'.
	RequestParameters map[string]string `yaml:"requestParameters"`
	// ProtectedResourceMetadata is what a MOCK integration serves (RFC 9728).
	ProtectedResourceMetadata *ProtectedResourceMetadata `yaml:"protectedResourceMetadata"`
	// CORSPreflight is what a MOCK integration answers to a browser's CORS preflight; a MOCK
	// integration has either this or ProtectedResourceMetadata.
	CORSPreflight *CORSPreflight `yaml:"corsPreflight"`
	// AuthorizationServerMetadata is the RFC 8414 document a MOCK integration serves: the
	// deployment's own copy of its IdP's metadata (ServeAuthorizationServerMetadata), for an
	// IdP whose own metadata MCP clients refuse. A MOCK integration serves one of the three.
	AuthorizationServerMetadata map[string]any `yaml:"authorizationServerMetadata"`
}

// ProtectedResourceMetadata is the RFC 9728 document a MOCK integration serves, with
// Access-Control-Allow-Origin: * (a public document a browser-based client on any origin may
// read). On AWS this is a REST API MOCK integration with a response template, or a small Lambda
// on an HTTP API.
type ProtectedResourceMetadata struct {
	// Resource is the MCP URL exactly as clients call it (default ${publicUrl} + mcpPath).
	Resource string `yaml:"resource" json:"resource"`
	// AuthorizationServers are issuer URLs (default [${issuerUrl}]).
	AuthorizationServers []string `yaml:"authorizationServers" json:"authorization_servers"`
	// ScopesSupported, BearerMethodsSupported, ResourceName, ResourceDocumentation: RFC 9728.
	ScopesSupported        []string `yaml:"scopesSupported" json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `yaml:"bearerMethodsSupported" json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `yaml:"resourceName" json:"resource_name,omitempty"`
	ResourceDocumentation  string   `yaml:"resourceDocumentation" json:"resource_documentation,omitempty"`
}

// RouteConfig is a route (AWS::ApiGatewayV2::Route; for REST APIs, a resource and method).
type RouteConfig struct {
	// RouteKey is "METHOD /path" (METHOD may be ANY; path segments may be {name}, the last
	// may be {name+}) or "$default".
	RouteKey string `yaml:"routeKey"`
	// AuthorizationType is NONE or CUSTOM (a Lambda authorizer).
	AuthorizationType string `yaml:"authorizationType"`
	// Authorizer names the authorizer of a CUSTOM route.
	Authorizer string `yaml:"authorizer"`
	// Integration names the route's integration (Target: integrations/ID on AWS).
	Integration string `yaml:"integration"`
}

// GatewayResponseConfig customizes a REST API gateway response (AWS::ApiGateway::GatewayResponse).
type GatewayResponseConfig struct {
	// ResponseType is UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_FAILURE,
	// AUTHORIZER_CONFIGURATION_ERROR, MISSING_AUTHENTICATION_TOKEN, INTEGRATION_FAILURE,
	// INTEGRATION_TIMEOUT, REQUEST_TOO_LARGE, DEFAULT_4XX or DEFAULT_5XX.
	ResponseType string `yaml:"responseType"`
	// StatusCode overrides the type's status code.
	StatusCode int `yaml:"statusCode"`
	// ResponseParameters are gatewayresponse.header.NAME: 'static value' |
	// method.request.header.NAME | method.request.querystring.NAME | stageVariables.NAME |
	// context.NAME.
	ResponseParameters map[string]string `yaml:"responseParameters"`
	// ResponseTemplates maps a content type to a body template; $context.error.messageString,
	// $context.error.message, $context.error.responseType and $context.requestId are filled in.
	ResponseTemplates map[string]string `yaml:"responseTemplates"`
}

// AccessLogSettings is the stage's access logging (AccessLogSettings of a stage).
type AccessLogSettings struct {
	// Format is a JSON object template with $context variables, as on AWS, for example
	// {"requestId":"$context.requestId","status":"$context.status"}.
	Format string `yaml:"format"`
}

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes YAML strictly and validates it; name is used in error messages. An error
// names the field's path (for example authorizers[0].authorizerResultTtlInSeconds) and the rule.
func ParseConfig(name string, data []byte) (*Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return nil, yamlError(name, data, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// yamlError rewrites a decoding error as "name:line:col: path: message", finding the path of
// the offending node in the document.
func yamlError(name string, data []byte, err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return fmt.Errorf("%s: invalid YAML: %v", name, err)
	}
	tk := ye.GetToken()
	msg := ye.GetMessage()
	if path := nodePath(data, tk); path != "" {
		return fmt.Errorf("%s:%d:%d: %s: %s (unknown fields are errors)", name, tk.Position.Line, tk.Position.Column, path, msg)
	}
	return fmt.Errorf("%s:%d:%d: %s", name, tk.Position.Line, tk.Position.Column, msg)
}

// nodePath is the path (authorizers[0].name) of the node at tk's position, or "".
func nodePath(data []byte, tk *token.Token) string {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return ""
	}
	var found string
	for _, doc := range file.Docs {
		ast.Walk(visitorFunc(func(n ast.Node) bool {
			if found != "" {
				return false
			}
			if t := n.GetToken(); t != nil && t.Position.Line == tk.Position.Line && t.Position.Column == tk.Position.Column {
				found = n.GetPath()
				return false
			}
			return true
		}), doc)
	}
	return strings.TrimPrefix(strings.TrimPrefix(found, "$"), ".")
}

type visitorFunc func(ast.Node) bool

func (f visitorFunc) Visit(n ast.Node) ast.Visitor {
	if f(n) {
		return f
	}
	return nil
}

// decodeStrict decodes one YAML document strictly, turning a panic inside the YAML library
// into an error: its decoder dereferences nil on some tagged scalars (found by fuzzing, e.g.
// "key: !0000 00"), and bad input must get an error, never a crash.
func decodeStrict(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(v)
}
