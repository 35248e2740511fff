package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Challenge is one parsed WWW-Authenticate challenge (RFC 9110 §11.6.1).
type Challenge struct {
	Scheme string
	// Params are the auth-params, names lower-cased, quoted values unquoted.
	Params map[string]string
}

// ParseChallenge parses the first challenge of a WWW-Authenticate value: a scheme, then
// comma-separated auth-params whose values are tokens or quoted strings. A token68 credential
// or a second challenge ends it.
func ParseChallenge(s string) (Challenge, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	scheme := s
	if i >= 0 {
		scheme = s[:i]
	}
	if scheme == "" || !isToken(scheme) {
		return Challenge{}, fmt.Errorf("challenge %q: no auth-scheme", s)
	}
	ch := Challenge{Scheme: scheme, Params: map[string]string{}}
	if i < 0 {
		return ch, nil
	}
	rest := s[i:]
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return ch, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return ch, nil // token68 or a new challenge
		}
		name := strings.TrimSpace(rest[:eq])
		if !isToken(name) {
			return ch, nil // a new challenge: "Scheme param=…"
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		if rest == "" || rest[0] == '=' || rest[0] == ',' {
			return ch, nil // a token68 ending in "=" padding: an auth-param's value is never empty
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
				}
				b.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return Challenge{}, fmt.Errorf("challenge %q: unterminated quoted string in %s", s, name)
			}
			value, rest = b.String(), rest[j+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		ch.Params[strings.ToLower(name)] = value
	}
}

func isToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return s != ""
}

// ProtectedResourceMetadataURLs are the protected resource metadata URLs an MCP client tries
// for mcpURL when the challenge names none, in order (RFC 9728 §3.1): path-inserted, then root.
func ProtectedResourceMetadataURLs(mcpURL string) ([]string, error) {
	u, err := url.Parse(mcpURL)
	if err != nil {
		return nil, fmt.Errorf("MCP URL %q: %v", mcpURL, err)
	}
	root := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource"
	var out []string
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" {
		out = append(out, root+p)
	}
	return append(out, root), nil
}

// AuthorizationServerMetadataURLs are the URLs an MCP client tries for an issuer's metadata
// (RFC 8414 §3.1, then OpenID Connect discovery, path-inserted and path-appended).
func AuthorizationServerMetadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %v", issuer, err)
	}
	base := u.Scheme + "://" + u.Host
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	if p == "" {
		return []string{base + "/.well-known/oauth-authorization-server", base + "/.well-known/openid-configuration"}, nil
	}
	return []string{base + "/.well-known/oauth-authorization-server" + p, base + "/.well-known/openid-configuration" + p,
		base + p + "/.well-known/openid-configuration"}, nil
}

// FetchJSON GETs the first of urls that answers 200 with a JSON object, without credentials, as
// a client walks its discovery list, and returns the object and its URL. The error lists what
// each URL answered.
func FetchJSON(ctx context.Context, urls []string) (map[string]any, string, error) {
	var tried []string
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s → %v", u, err))
			continue
		}
		req.Header.Set("Accept", "application/json")
		resp, err := directClient.Do(req)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s → %v", u, err))
			continue
		}
		var doc map[string]any
		body, _ := readBody(resp)
		if resp.StatusCode == http.StatusOK && json.Unmarshal([]byte(body), &doc) == nil && doc != nil {
			return doc, u, nil
		}
		tried = append(tried, fmt.Sprintf("%s → %d %.120s", u, resp.StatusCode, strings.TrimSpace(body)))
	}
	if len(tried) == 0 {
		return nil, "", errors.New("no discovery URL to try")
	}
	return nil, "", errors.New("no discovery URL served a JSON document without a token:\n  " + strings.Join(tried, "\n  "))
}

// Discovery is what an MCP client learns from the bare MCP URL before it signs in: the 401's
// challenge, the protected resource metadata (from the challenge's resource_metadata, else the
// well-known URLs) and the metadata of its first authorization server.
type Discovery struct {
	// Challenge is the 401's Bearer challenge; its Params are empty when there was none.
	Challenge Challenge
	// Metadata is the protected resource metadata (RFC 9728) and MetadataURL where it was.
	Metadata    map[string]any
	MetadataURL string
	// Issuer is the first of the metadata's authorization_servers; AuthServer its metadata
	// (RFC 8414 or OpenID Connect discovery) and AuthServerURL where it was.
	Issuer        string
	AuthServer    map[string]any
	AuthServerURL string
}

// Resource is the metadata's resource.
func (d Discovery) Resource() string { s, _ := d.Metadata["resource"].(string); return s }

// ScopesSupported is the metadata's scopes_supported.
func (d Discovery) ScopesSupported() []string { return stringList(d.Metadata["scopes_supported"]) }

// ChallengeScopes are the scopes the 401 challenge names (its scope parameter).
func (d Discovery) ChallengeScopes() []string { return strings.Fields(d.Challenge.Params["scope"]) }

// DeclaredScopes are the scopes the deployment asks a client to request, by the MCP scope
// selection strategy (2025-11-25): the 401 challenge's scope, else the metadata's
// scopes_supported; none when it names neither.
func (d Discovery) DeclaredScopes() []string {
	if s := d.ChallengeScopes(); len(s) > 0 {
		return s
	}
	return d.ScopesSupported()
}

// Discover follows an MCP client from the bare MCP URL: a request without a token, the
// protected resource metadata its challenge names (else the well-known URLs), and the metadata
// of the first authorization server listed there. It fails when the metadata or the
// authorization server's cannot be had, naming what was tried.
func Discover(ctx context.Context, mcpURL string) (Discovery, error) {
	var d Discovery
	r, err := PostMCP(ctx, mcpURL, nil, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if err != nil {
		return d, fmt.Errorf("a request without a token to %s: %w", mcpURL, err)
	}
	d.Challenge = Challenge{Params: map[string]string{}}
	if r.Status == http.StatusUnauthorized {
		if ch, err := ParseChallenge(r.Header.Get("WWW-Authenticate")); err == nil && strings.EqualFold(ch.Scheme, "Bearer") {
			d.Challenge = ch
		}
	}
	urls, err := ProtectedResourceMetadataURLs(mcpURL)
	if err != nil {
		return d, err
	}
	if u := d.Challenge.Params["resource_metadata"]; u != "" {
		urls = []string{u}
	}
	if d.Metadata, d.MetadataURL, err = FetchJSON(ctx, urls); err != nil {
		return d, fmt.Errorf("protected resource metadata: %w", err)
	}
	servers := stringList(d.Metadata["authorization_servers"])
	if len(servers) == 0 {
		return d, fmt.Errorf("the protected resource metadata at %s lists no authorization_servers", d.MetadataURL)
	}
	d.Issuer = servers[0]
	asURLs, err := AuthorizationServerMetadataURLs(d.Issuer)
	if err != nil {
		return d, err
	}
	if d.AuthServer, d.AuthServerURL, err = FetchJSON(ctx, asURLs); err != nil {
		return d, fmt.Errorf("authorization server metadata of %s: %w", d.Issuer, err)
	}
	return d, nil
}

// stringList reads a JSON array of strings; other values and non-strings read as none.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readBody reads and closes a response's body, at most 1 MiB of it.
func readBody(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}
