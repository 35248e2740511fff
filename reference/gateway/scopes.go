package gateway

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// challengeHeader is the response parameter of a gateway response's WWW-Authenticate header.
const challengeHeader = "gatewayresponse.header.WWW-Authenticate"

// DeclareScopes returns a copy of c, a REST API, that declares the OAuth scopes an access token
// must carry to reach the MCP server, as a deployment template that takes the scopes as a
// parameter renders them:
//
//   - every protected resource metadata integration lists them as scopes_supported (RFC 9728 §2);
//   - the UNAUTHORIZED gateway response's static challenge names them in scope="…" (RFC 6750
//     §3; the MCP authorization spec: a 401 SHOULD tell clients which scopes to ask for);
//   - a new ACCESS_DENIED gateway response answers the authorizer's Deny with 403 and
//     WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"
//     (RFC 6750 §3.1; the MCP authorization spec's "Scope Challenge Handling"), readable by
//     browser-based clients as the DEFAULT_4XX response's headers make the other answers.
//
// A gateway response's headers are static values or values of the request: API Gateway cannot
// put a Lambda authorizer's output in them, so every Deny gets that challenge, whatever the
// authorizer denied for. The resource_metadata URL is the one the UNAUTHORIZED challenge names,
// else the path-inserted well-known URL of the MCP path. HTTP APIs have no gateway responses,
// so they cannot send the challenge: an error, as is an ACCESS_DENIED response c already has.
func DeclareScopes(c *Config, scopes []string) (*Config, error) {
	if c.Type != RESTAPI {
		return nil, fmt.Errorf("gateway: declaring scopes: a %s has no gateway responses, so it cannot send the 403 insufficient_scope challenge (use a %s)", c.Type, RESTAPI)
	}
	if len(scopes) == 0 {
		return nil, errors.New("gateway: declaring scopes: give at least one")
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' || r == '\'' }) {
			return nil, fmt.Errorf("gateway: declaring scopes: %q must be a scope-token of RFC 6749 §3.3 without a quote (printable ASCII without spaces, quotes or '\\')", s)
		}
	}
	out := *c
	out.Integrations = slices.Clone(c.Integrations)
	for i, in := range out.Integrations {
		if in.ProtectedResourceMetadata != nil {
			prm := *in.ProtectedResourceMetadata
			prm.ScopesSupported = slices.Clone(scopes)
			out.Integrations[i].ProtectedResourceMetadata = &prm
		}
	}
	scope := strings.Join(scopes, " ")
	mcpPath := c.MCPPath
	if mcpPath == "" {
		mcpPath = "/mcp"
	}
	metadataURL := "${publicUrl}/.well-known/oauth-protected-resource" + mcpPath
	out.GatewayResponses = slices.Clone(c.GatewayResponses)
	var accessDenied GatewayResponseConfig
	for i, gr := range out.GatewayResponses {
		switch gr.ResponseType {
		case ResponseAccessDenied:
			return nil, fmt.Errorf("gateway: declaring scopes: gatewayResponses[%d] is an %s response already; the scopes' challenge would replace it", i, ResponseAccessDenied)
		case ResponseUnauthorized:
			challenge, ok := staticBearer(gr.ResponseParameters[challengeHeader])
			if !ok {
				continue
			}
			if _, rest, found := strings.Cut(challenge, `resource_metadata="`); found {
				metadataURL, _, _ = strings.Cut(rest, `"`)
			}
			params := maps.Clone(gr.ResponseParameters)
			params[challengeHeader] = "'" + challenge + `, scope="` + scope + `"'`
			out.GatewayResponses[i].ResponseParameters = params
		case ResponseDefault4XX:
			// The 403 is read by browser-based clients as the other 4xx answers are.
			accessDenied.ResponseParameters = maps.Clone(gr.ResponseParameters)
		}
	}
	if accessDenied.ResponseParameters == nil {
		accessDenied.ResponseParameters = map[string]string{}
	}
	accessDenied.ResponseType, accessDenied.StatusCode = ResponseAccessDenied, 403
	accessDenied.ResponseParameters[challengeHeader] = `'Bearer error="insufficient_scope", scope="` + scope + `", resource_metadata="` + metadataURL + `"'`
	accessDenied.ResponseParameters["gatewayresponse.header.Access-Control-Expose-Headers"] = "'WWW-Authenticate'"
	out.GatewayResponses = append(out.GatewayResponses, accessDenied)
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("gateway: declaring scopes: %w", err)
	}
	return &out, nil
}

// staticBearer is the challenge of a static 'Bearer …' response parameter value.
func staticBearer(v string) (string, bool) {
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	return inner, strings.HasPrefix(strings.ToLower(inner), "bearer ")
}
