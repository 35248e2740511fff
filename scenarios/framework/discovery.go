package framework

import (
	"fmt"
	"net/url"
	"strings"
)

// ProtectedResourceMetadataURLs are the protected resource metadata URLs an MCP client tries
// for mcpURL when no challenge names one, in order (RFC 9728 §3.1): path-inserted, then root.
func ProtectedResourceMetadataURLs(mcpURL string) ([]string, error) {
	u, err := absoluteURL("MCP URL", mcpURL)
	if err != nil {
		return nil, err
	}
	root := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource"
	var out []string
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" {
		out = append(out, root+p)
	}
	return append(out, root), nil
}

// AuthServerMetadataURLs are the URLs an MCP client tries for an authorization server's
// metadata, in order: RFC 8414 §3.1, then OpenID Connect discovery, path-inserted and
// path-appended.
func AuthServerMetadataURLs(issuer string) ([]string, error) {
	u, err := absoluteURL("issuer", issuer)
	if err != nil {
		return nil, err
	}
	base := u.Scheme + "://" + u.Host
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	if p == "" {
		return []string{base + "/.well-known/oauth-authorization-server", base + "/.well-known/openid-configuration"}, nil
	}
	return []string{base + "/.well-known/oauth-authorization-server" + p, base + "/.well-known/openid-configuration" + p,
		base + p + "/.well-known/openid-configuration"}, nil
}

// absoluteURL parses raw, which must be an absolute http(s) URL: discovery starts from nothing
// else.
func absoluteURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %v", what, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an absolute http or https URL", what, raw)
	}
	return u, nil
}
