package gateway

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults of a config.
const (
	DefaultAPIID     = "a1b2c3d4e5"
	DefaultAccountID = "111122223333"
	DefaultRegion    = "us-east-1"
	DefaultMCPPath   = "/mcp"
	// MaxIntegrationTimeout is the integration timeout limit (and default) of API Gateway's HTTP
	// APIs, and the most timeoutInMillis may say.
	MaxIntegrationTimeout = 30 * time.Second
	// DefaultRESTIntegrationTimeout is the integration timeout limit (and default) of a REST
	// API: AWS raises it only for a Regional or private REST API whose account asked for more
	// (a quota increase).
	DefaultRESTIntegrationTimeout = 29 * time.Second
	// DefaultAuthorizerTimeout is how long API Gateway waits for a Lambda authorizer.
	DefaultAuthorizerTimeout = 10 * time.Second
	// MaxHeaderBytes is API Gateway's limit on the request line and headers together.
	MaxHeaderBytes = 10240
	// MaxPayloadBytes is API Gateway's payload limit (10 MB, REST and HTTP APIs alike).
	MaxPayloadBytes = 10 << 20
)

// ConfigError lists every problem of a config, each naming the field's path and the rule.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid gateway config: " + e.Problems[0]
	}
	return "invalid gateway config:\n  " + strings.Join(e.Problems, "\n  ")
}

// Validate checks the config without starting anything; it returns a *ConfigError.
func (c *Config) Validate() error {
	_, err := compile(c, substitutions{publicURL: "https://mcp.example.invalid", issuerURL: "https://issuer.example.invalid"})
	return err
}

// Warnings lists what parses but probably does not do what its author meant (a hyphen inside a
// $context.authorizer key), each naming the field.
func (c *Config) Warnings() []string {
	a, err := compile(c, substitutions{publicURL: "https://mcp.example.invalid", issuerURL: "https://issuer.example.invalid"})
	if err != nil {
		return nil
	}
	return a.warnings
}

// substitutions are the deployment-time values of ${publicUrl}, ${publicOrigin} and
// ${issuerUrl}.
type substitutions struct {
	publicURL, issuerURL string
}

var placeholder = regexp.MustCompile(`\$\{(publicUrl|publicOrigin|issuerUrl)\}`)

func (s substitutions) expand(v string) string {
	return placeholder.ReplaceAllStringFunc(v, func(m string) string {
		switch m {
		case "${publicUrl}":
			return s.publicURL
		case "${publicOrigin}":
			return originOf(s.publicURL)
		}
		return s.issuerURL
	})
}

// originOf is scheme://host[:port] of an absolute URL, or the URL itself if it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// api is a validated config, ready to serve.
type api struct {
	cfg          *Config
	typ          string
	stage        string
	stagePrefix  string // "/prod", or "" when the stage is served at the root
	authorizers  map[string]*authorizerSpec
	integrations map[string]*integration
	routes       []*route
	responses    map[string]GatewayResponseConfig
	accessLog    []logField
	publicURL    string
	mcpURL       string
	warnings     []string
}

type authorizerSpec struct {
	name       string
	kind       authorizerKind
	function   string
	sources    []variable
	sourceText []string
	validation *regexp.Regexp
	ttl        time.Duration
}

type integration struct {
	name     string
	typ      string
	vpcLink  bool
	uri      *url.URL
	timeout  time.Duration
	mappings []mapping
	pathSet  bool // overwrite:path is mapped
	prm      *ProtectedResourceMetadata
	cors     *corsPreflight
	asm      []byte // the RFC 8414 document a MOCK integration serves, as JSON
}

var (
	apiIDPattern   = regexp.MustCompile(`^[a-z0-9]{10}$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	stagePattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVarName   = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	functionARN    = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:([A-Za-z0-9_-]+)(:[A-Za-z0-9_$-]+)?$`)
	functionName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// problems collects validation failures.
type problems []string

func (p *problems) addf(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

// compile validates c and builds what the handler serves, with placeholders filled in.
func compile(c *Config, subst substitutions) (*api, error) {
	var p problems
	a := &api{cfg: c, typ: c.Type, authorizers: map[string]*authorizerSpec{}, integrations: map[string]*integration{},
		responses: map[string]GatewayResponseConfig{}}
	switch c.Type {
	case HTTPAPI, RESTAPI:
	case "":
		p.addf("type", "required: %s or %s", HTTPAPI, RESTAPI)
	default:
		p.addf("type", "%q: must be %s or %s", c.Type, HTTPAPI, RESTAPI)
	}
	for _, f := range []struct {
		path, value string
		re          *regexp.Regexp
		rule        string
	}{
		{"apiId", c.APIID, apiIDPattern, "10 lower-case letters or digits"},
		{"accountId", c.AccountID, accountPattern, "12 digits"},
		{"region", c.Region, regionPattern, "a region name such as us-east-1"},
	} {
		if f.value != "" && !f.re.MatchString(f.value) {
			p.addf(f.path, "%q: must be %s", f.value, f.rule)
		}
	}
	a.stage = c.Stage
	switch {
	case a.stage == "" && c.Type == RESTAPI:
		a.stage = "prod"
	case a.stage == "":
		a.stage = "$default"
	case a.stage == "$default" && c.Type == RESTAPI:
		p.addf("stage", "$default is a stage of HTTP APIs only")
	case a.stage != "$default" && !stagePattern.MatchString(a.stage):
		p.addf("stage", "%q: must be 1 to 128 letters, digits, '-' or '_', or $default", a.stage)
	}
	if a.stage != "$default" && !c.CustomDomain {
		a.stagePrefix = "/" + a.stage
	}
	for k := range c.StageVariables {
		if !stageVarName.MatchString(k) {
			p.addf("stageVariables."+k, "a stage variable name may contain only letters, digits and '_'")
		}
	}
	a.publicURL = strings.TrimSuffix(subst.publicURL, "/")
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("publicUrl", "%q: must be an absolute http(s) URL", c.PublicURL)
		}
	}
	mcpPath := c.MCPPath
	if mcpPath == "" {
		mcpPath = DefaultMCPPath
	} else if !strings.HasPrefix(mcpPath, "/") {
		p.addf("mcpPath", "%q: must start with /", mcpPath)
	}
	a.mcpURL = a.publicURL + a.stagePrefix + mcpPath
	if c.IssuerURL != "" {
		if u, err := url.Parse(c.IssuerURL); err != nil || u.Scheme == "" || u.Host == "" {
			p.addf("issuerUrl", "%q: must be an absolute URL", c.IssuerURL)
		}
	}
	for i := range c.Authorizers {
		compileAuthorizer(a, &p, fmt.Sprintf("authorizers[%d]", i), &c.Authorizers[i])
	}
	for i := range c.Integrations {
		compileIntegration(a, &p, fmt.Sprintf("integrations[%d]", i), &c.Integrations[i], subst)
	}
	if len(c.Routes) == 0 {
		p.addf("routes", "at least one route is required")
	}
	seen := map[string]bool{}
	for i, rc := range c.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		r, err := parseRouteKey(c.Type, rc.RouteKey)
		if err != nil {
			p.addf(path+".routeKey", "%v", err)
			continue
		}
		if seen[r.key] {
			p.addf(path+".routeKey", "%q is declared twice", rc.RouteKey)
		}
		seen[r.key] = true
		switch rc.AuthorizationType {
		case "NONE", "":
			if rc.Authorizer != "" {
				p.addf(path+".authorizer", "set, but authorizationType is not CUSTOM; the authorizer would never run")
			}
		case "CUSTOM":
			if r.authorizer = a.authorizers[rc.Authorizer]; r.authorizer == nil {
				p.addf(path+".authorizer", "%q: no authorizer of that name (declared: %s)", rc.Authorizer, names(a.authorizers))
			}
		default:
			p.addf(path+".authorizationType", "%q: must be NONE or CUSTOM (a Lambda authorizer)", rc.AuthorizationType)
		}
		if r.integration = a.integrations[rc.Integration]; r.integration == nil {
			p.addf(path+".integration", "%q: no integration of that name (declared: %s)", rc.Integration, names(a.integrations))
		}
		a.routes = append(a.routes, r)
	}
	compileResponses(a, &p, c)
	format := defaultAccessLogFormat
	if c.AccessLogSettings != nil {
		format = c.AccessLogSettings.Format
	}
	fields, err := parseAccessLogFormat(format)
	if err != nil {
		p.addf("accessLogSettings.format", "%v", err)
	}
	a.accessLog = fields
	if len(p) > 0 {
		return nil, &ConfigError{Problems: p}
	}
	return a, nil
}

func names[T any](m map[string]T) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func compileAuthorizer(a *api, p *problems, path string, ac *AuthorizerConfig) {
	s := &authorizerSpec{name: ac.Name}
	if ac.Name == "" {
		p.addf(path+".name", "required")
	} else if a.authorizers[ac.Name] != nil {
		p.addf(path+".name", "%q is declared twice", ac.Name)
	}
	switch {
	case a.typ == HTTPAPI && ac.Type == "REQUEST":
		if ac.AuthorizerPayloadFormatVersion != "2.0" {
			p.addf(path+".authorizerPayloadFormatVersion", "%q: the emulator supports payload format 2.0 only", ac.AuthorizerPayloadFormatVersion)
		}
		s.kind = kindHTTPPolicy
		if ac.EnableSimpleResponses {
			s.kind = kindHTTPSimple
		}
	case a.typ == HTTPAPI:
		p.addf(path+".type", "%q: HTTP API Lambda authorizers are REQUEST authorizers", ac.Type)
	case ac.Type == "REQUEST" || ac.Type == "TOKEN":
		if ac.AuthorizerPayloadFormatVersion != "" || ac.EnableSimpleResponses {
			p.addf(path, "authorizerPayloadFormatVersion and enableSimpleResponses exist on HTTP APIs only")
		}
		s.kind = kindRESTRequest
		if ac.Type == "TOKEN" {
			s.kind = kindRESTToken
		}
	default:
		p.addf(path+".type", "%q: must be TOKEN or REQUEST", ac.Type)
	}
	if ac.IdentityValidationExpression != "" {
		if s.kind != kindRESTToken {
			p.addf(path+".identityValidationExpression", "applies to TOKEN authorizers only")
		} else if re, err := regexp.Compile(`^(?:` + ac.IdentityValidationExpression + `)$`); err != nil {
			p.addf(path+".identityValidationExpression", "not a regular expression: %v", err)
		} else {
			s.validation = re
		}
	}
	switch ttl := ac.AuthorizerResultTTLInSeconds; {
	case ttl == nil:
		p.addf(path+".authorizerResultTtlInSeconds", "required: 0 (no caching) to 3600")
	case *ttl < 0 || *ttl > 3600:
		p.addf(path+".authorizerResultTtlInSeconds", "%d: must be 0 (no caching) to 3600", *ttl)
	default:
		s.ttl = time.Duration(*ttl) * time.Second
	}
	for i, src := range ac.IdentitySource {
		v, err := parseIdentitySource(a.typ, src)
		if err != nil {
			p.addf(fmt.Sprintf("%s.identitySource[%d]", path, i), "%v", err)
			continue
		}
		s.sources = append(s.sources, v)
		s.sourceText = append(s.sourceText, src)
	}
	switch {
	case s.kind == kindRESTToken && (len(ac.IdentitySource) != 1 || len(s.sources) == 1 && s.sources[0].src != srcHeader):
		p.addf(path+".identitySource", "a TOKEN authorizer takes exactly one header, method.request.header.NAME")
	case len(ac.IdentitySource) == 0 && s.ttl > 0:
		p.addf(path+".identitySource", "required when results are cached: the identity sources are the cache key")
	}
	if ac.AuthorizerURI != "" {
		if s.function = lambdaFunctionName(ac.AuthorizerURI); s.function == "" {
			p.addf(path+".authorizerUri", "%q: want arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations, a function ARN or a function name", ac.AuthorizerURI)
		}
	}
	if ac.Name != "" {
		a.authorizers[ac.Name] = s
	}
}

// lambdaFunctionName extracts the function name from an authorizer URI, a function ARN or a name.
func lambdaFunctionName(uri string) string {
	if _, rest, ok := strings.Cut(uri, ":lambda:path/2015-03-31/functions/"); ok {
		uri = strings.TrimSuffix(rest, "/invocations")
	}
	if m := functionARN.FindStringSubmatch(uri); m != nil {
		return m[1]
	}
	if functionName.MatchString(uri) {
		return uri
	}
	return ""
}

func compileIntegration(a *api, p *problems, path string, ic *IntegrationConfig, subst substitutions) {
	in := &integration{name: ic.Name, typ: ic.IntegrationType, timeout: MaxIntegrationTimeout}
	if a.typ == RESTAPI {
		in.timeout = DefaultRESTIntegrationTimeout
	}
	if ic.Name == "" {
		p.addf(path+".name", "required")
	} else if a.integrations[ic.Name] != nil {
		p.addf(path+".name", "%q is declared twice", ic.Name)
	}
	switch ic.ConnectionType {
	case "", "INTERNET":
	case "VPC_LINK":
		in.vpcLink = true
	default:
		p.addf(path+".connectionType", "%q: must be INTERNET or VPC_LINK", ic.ConnectionType)
	}
	if ic.TimeoutInMillis != 0 {
		if ic.TimeoutInMillis < 50 || ic.TimeoutInMillis > 30000 {
			p.addf(path+".timeoutInMillis", "%d: must be 50 to 30000", ic.TimeoutInMillis)
		}
		in.timeout = time.Duration(ic.TimeoutInMillis) * time.Millisecond
		if a.typ == RESTAPI && in.timeout > DefaultRESTIntegrationTimeout {
			a.warnings = append(a.warnings, fmt.Sprintf("%s.timeoutInMillis: %d is over a REST API's limit of %d, which AWS raises only "+
				"for a Regional or private REST API whose account asked for it (a quota increase)", path, ic.TimeoutInMillis, DefaultRESTIntegrationTimeout.Milliseconds()))
		}
	}
	switch ic.IntegrationType {
	case "HTTP_PROXY":
		u, err := url.Parse(subst.expand(ic.IntegrationURI))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf(path+".integrationUri", "%q: must be an absolute http(s) URL", ic.IntegrationURI)
		} else {
			in.uri = u
		}
		if ic.ProtectedResourceMetadata != nil {
			p.addf(path+".protectedResourceMetadata", "only a MOCK integration serves metadata")
		}
		if ic.CORSPreflight != nil {
			p.addf(path+".corsPreflight", "only a MOCK integration answers preflights")
		}
		if ic.AuthorizationServerMetadata != nil {
			p.addf(path+".authorizationServerMetadata", "only a MOCK integration serves metadata")
		}
		for _, k := range sortedKeys(ic.RequestParameters) {
			m, warns, err := parseMapping(a.typ, k, subst.expand(ic.RequestParameters[k]))
			if err != nil {
				p.addf(fmt.Sprintf("%s.requestParameters[%q]", path, k), "%v", err)
				continue
			}
			for _, w := range warns {
				a.warnings = append(a.warnings, fmt.Sprintf("%s.requestParameters[%q]: %s", path, k, w))
			}
			if m.target == targetPath {
				in.pathSet = true
			}
			in.mappings = append(in.mappings, m)
		}
		if a.typ == RESTAPI && in.uri != nil {
			for _, name := range uriPlaceholders(in.uri.Path) {
				if !slices.ContainsFunc(in.mappings, func(m mapping) bool { return m.target == targetPathParam && m.name == name }) {
					p.addf(path+".integrationUri", "{%s} is not filled: add integration.request.path.%s to requestParameters", name, name)
				}
			}
		}
	case "MOCK":
		if ic.IntegrationURI != "" || len(ic.RequestParameters) > 0 {
			p.addf(path, "a MOCK integration takes neither integrationUri nor requestParameters")
		}
		served := 0
		for _, set := range []bool{ic.ProtectedResourceMetadata != nil, ic.CORSPreflight != nil, ic.AuthorizationServerMetadata != nil} {
			if set {
				served++
			}
		}
		switch {
		case served > 1:
			p.addf(path, "a MOCK integration serves one of protectedResourceMetadata, corsPreflight and authorizationServerMetadata, not several")
		case ic.AuthorizationServerMetadata != nil:
			in.asm = compileASM(p, path+".authorizationServerMetadata", ic.AuthorizationServerMetadata, subst)
		case ic.ProtectedResourceMetadata != nil:
			in.prm = compilePRM(a, p, path+".protectedResourceMetadata", ic.ProtectedResourceMetadata, subst)
		case ic.CORSPreflight != nil:
			in.cors = compileCORS(p, path+".corsPreflight", ic.CORSPreflight, subst)
		default:
			p.addf(path, "a MOCK integration needs protectedResourceMetadata (RFC 9728 metadata), authorizationServerMetadata (RFC 8414 metadata) or corsPreflight (a CORS preflight answer): the emulator's MOCK serves one of them")
		}
	case "":
		p.addf(path+".integrationType", "required: HTTP_PROXY or MOCK")
	default:
		p.addf(path+".integrationType", "%q: must be HTTP_PROXY or MOCK", ic.IntegrationType)
	}
	if ic.Name != "" {
		a.integrations[ic.Name] = in
	}
}

func compilePRM(a *api, p *problems, path string, in *ProtectedResourceMetadata, subst substitutions) *ProtectedResourceMetadata {
	out := *in
	out.Resource = subst.expand(in.Resource)
	if out.Resource == "" {
		out.Resource = a.mcpURL
	}
	if u, err := url.Parse(out.Resource); err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
		p.addf(path+".resource", "%q: must be an absolute URL without a fragment (RFC 9728)", out.Resource)
	}
	out.AuthorizationServers = nil
	for _, s := range in.AuthorizationServers {
		out.AuthorizationServers = append(out.AuthorizationServers, subst.expand(s))
	}
	if len(out.AuthorizationServers) == 0 {
		p.addf(path+".authorizationServers", "at least one issuer URL is required (MCP clients need one); ${issuerUrl} is the configured issuer")
	}
	for i, s := range out.AuthorizationServers {
		if s == "" && strings.Contains(in.AuthorizationServers[i], "${issuerUrl}") {
			p.addf(fmt.Sprintf("%s.authorizationServers[%d]", path, i), "${issuerUrl} but no issuer is set (issuerUrl in the config, WithIssuerURL, or --issuer)")
		} else if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
			p.addf(fmt.Sprintf("%s.authorizationServers[%d]", path, i), "%q: must be an absolute URL", s)
		}
	}
	out.ResourceDocumentation = subst.expand(in.ResourceDocumentation)
	return &out
}

var uriPlaceholder = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)

func uriPlaceholders(p string) []string {
	var out []string
	for _, m := range uriPlaceholder.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
