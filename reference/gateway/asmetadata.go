package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
)

// ASMetadataPath is where the deployment's own RFC 8414 authorization server metadata is
// served: the well-known URL of an issuer without a path (RFC 8414 §3.1), the stage served at
// the root.
const ASMetadataPath = "/.well-known/oauth-authorization-server"

// ServeAuthorizationServerMetadata returns c serving the deployment's own authorization server
// metadata: a copy of idpMetadata (the IdP's OpenID or RFC 8414 document) whose issuer is the
// deployment (${publicUrl}) and whose code_challenge_methods_supported has S256, served without
// a token at ASMetadataPath by a MOCK integration (on AWS: a MOCK integration's response
// template, a static document), with the protected resource metadata listing the deployment
// as its authorization server. Endpoints, keys and everything else stay the IdP's: clients
// sign in at the IdP, and tokens keep the IdP's issuer, which the authorizer checks.
//
// It is the workaround for an IdP whose metadata lacks code_challenge_methods_supported
// (Cognito, Entra ID), which the MCP authorization spec requires and strict MCP clients
// (go-sdk, mcp-go) refuse to sign in without, although the IdP does PKCE S256. RFC 9207's
// authorization_response_iss_parameter_supported is dropped: the IdP's iss would name the IdP,
// not this issuer, and a client compares the two; so the IdP must be one that sends no iss
// (Cognito and Entra send none). The stage must be served at the root (customDomain), where
// the well-known URL of the deployment's issuer lies.
func ServeAuthorizationServerMetadata(c *Config, idpMetadata map[string]any) (*Config, error) {
	if !c.CustomDomain {
		return nil, errors.New("gateway: serving authorization server metadata: the stage must be served at the root (customDomain: true): the RFC 8414 URL of an issuer https://host/stage is https://host/.well-known/oauth-authorization-server/stage, outside the stage")
	}
	if iss, _ := idpMetadata["issuer"].(string); iss == "" {
		return nil, errors.New("gateway: serving authorization server metadata: the IdP's metadata has no issuer: give its whole discovery document")
	}
	out := *c
	out.Integrations = slices.Clone(c.Integrations)
	listed := false
	for i, in := range out.Integrations {
		if in.ProtectedResourceMetadata != nil {
			prm := *in.ProtectedResourceMetadata
			prm.AuthorizationServers = []string{"${publicUrl}"}
			out.Integrations[i].ProtectedResourceMetadata = &prm
			listed = true
		}
	}
	if !listed {
		return nil, errors.New("gateway: serving authorization server metadata: the config serves no protected resource metadata to list it in (a MOCK integration with protectedResourceMetadata)")
	}
	doc := maps.Clone(idpMetadata)
	doc["issuer"] = "${publicUrl}"
	methods, _ := doc["code_challenge_methods_supported"].([]any)
	if !slices.Contains(methods, any("S256")) {
		doc["code_challenge_methods_supported"] = append(slices.Clone(methods), "S256")
	}
	delete(doc, "authorization_response_iss_parameter_supported")
	const name = "authorization-server-metadata"
	out.Integrations = append(out.Integrations, IntegrationConfig{Name: name, IntegrationType: "MOCK", AuthorizationServerMetadata: doc})
	out.Routes = append(slices.Clone(c.Routes), RouteConfig{RouteKey: "GET " + ASMetadataPath, AuthorizationType: "NONE", Integration: name})
	return &out, nil
}

// compileASM checks an RFC 8414 document (issuer, authorization and token endpoints: absolute
// URLs; code_challenge_methods_supported, if there, a list) and renders it as JSON, with the
// placeholders of its top-level strings expanded.
func compileASM(p *problems, path string, in map[string]any, subst substitutions) []byte {
	doc := make(map[string]any, len(in))
	for k, v := range in {
		if s, ok := v.(string); ok {
			v = subst.expand(s)
		}
		doc[k] = v
	}
	for _, field := range []string{"issuer", "authorization_endpoint", "token_endpoint"} {
		s, _ := doc[field].(string)
		if u, err := url.Parse(s); s == "" || err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
			p.addf(path+"."+field, "%v: must be an absolute URL without a fragment (RFC 8414 §2)", doc[field])
		}
	}
	if iss, _ := doc["issuer"].(string); iss != "" {
		if u, err := url.Parse(iss); err == nil && u.RawQuery != "" {
			p.addf(path+".issuer", "%q: must have no query (RFC 8414 §2)", iss)
		}
	}
	if m, ok := doc["code_challenge_methods_supported"]; ok {
		if _, isList := m.([]any); !isList {
			p.addf(path+".code_challenge_methods_supported", "%v: must be a list of methods", m)
		}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		p.addf(path, "%v", fmt.Errorf("not a JSON document: %w", err))
		return []byte("{}")
	}
	return body
}
