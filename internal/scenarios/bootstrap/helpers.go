package bootstrap

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// toolCall is a tools/call of whoami as a 2026-07-28 client sends it: if anything answers it
// with a result, a tool ran.
const toolCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// reply is an HTTP answer, body read.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

// challenge is the WWW-Authenticate challenge of the reply, parsed.
func (r reply) challenge() (fw.Challenge, error) {
	return fw.ParseChallenge(r.Header.Get("WWW-Authenticate"))
}

// callTool POSTs the whoami tools/call to rawURL with the given Authorization header value
// ("" sends none) and extra headers.
func callTool(ctx context.Context, rawURL, authorization string, extra map[string]string) reply {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(toolCall))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "whoami")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	return do(req)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func do(req *http.Request) reply {
	GinkgoHelper()
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred(), "%s %s", req.Method, req.URL.Redacted())
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	Expect(err).NotTo(HaveOccurred())
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// expectChallenge asserts a 401 whose Bearer challenge names the resource metadata, and, when
// a token was sent, says error="invalid_token" (RFC 6750 §3.1).
func expectChallenge(r reply, tokenSent bool) {
	GinkgoHelper()
	Expect(r.Status).To(Equal(http.StatusUnauthorized), "status (body %.300s)", r.Body)
	header := r.Header.Get("WWW-Authenticate")
	Expect(header).NotTo(BeEmpty(), "a 401 without WWW-Authenticate gives an MCP client nothing to bootstrap from")
	ch, err := r.challenge()
	Expect(err).NotTo(HaveOccurred(), "WWW-Authenticate: %s", header)
	Expect(strings.EqualFold(ch.Scheme, "Bearer")).To(BeTrue(), "challenge scheme in %q", header)
	Expect(ch.Params).To(HaveKey("resource_metadata"),
		"an MCP client can only discover the authorization server from the challenge or the well-known URL: %s", header)
	u, err := url.Parse(ch.Params["resource_metadata"])
	Expect(err).NotTo(HaveOccurred())
	Expect(u.IsAbs()).To(BeTrue(), "resource_metadata must be an absolute URL: %s", header)
	if tokenSent {
		Expect(ch.Params).To(HaveKeyWithValue("error", "invalid_token"), "WWW-Authenticate: %s", header)
	}
	expectNoToolRun(r)
}

// expectNoToolRun asserts the reply is not a success and carries no tool result.
func expectNoToolRun(r reply) {
	GinkgoHelper()
	Expect(r.Status).To(Or(BeNumerically("<", 200), BeNumerically(">=", 300)), "a refused token got a success (body %.300s)", r.Body)
	Expect(r.Body).NotTo(ContainSubstring(`"result"`), "a tool ran for a refused token")
	Expect(r.Body).NotTo(ContainSubstring("sourceIdentity"), "a tool ran for a refused token")
}

// acceptedUser is a user the deployment must serve: one mapped to a tenant.
func acceptedUser() fw.User {
	GinkgoHelper()
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" {
			return u
		}
	}
	Fail("the target has no user mapped to a tenant")
	return fw.User{}
}

// validToken is an access token of acceptedUser.
func validToken(ctx context.Context) string {
	GinkgoHelper()
	tok, err := fw.Current().Token(ctx, acceptedUser().Name)
	Expect(err).NotTo(HaveOccurred())
	Expect(tok).NotTo(BeEmpty())
	return tok
}

// wellKnownPRMURLs are the protected resource metadata URLs an MCP client tries for mcpURL
// when the challenge names none, in order (RFC 9728 §3.1): path-inserted, then root.
func wellKnownPRMURLs(mcpURL string) []string {
	GinkgoHelper()
	urls, err := fw.ProtectedResourceMetadataURLs(mcpURL)
	Expect(err).NotTo(HaveOccurred())
	return urls
}

// plainHTTPOffLoopback reports whether rawURL is plain http:// on a host other than loopback
// (localhost, 127.0.0.0/8, ::1); an unparsable URL counts as such, so it is never waved through.
func plainHTTPOffLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return true
	}
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// authServerMetadataURLs are the URLs an MCP client tries for an issuer's metadata (RFC 8414
// §3.1, then OpenID Connect discovery, path-inserted and path-appended).
func authServerMetadataURLs(issuer string) []string {
	GinkgoHelper()
	urls, err := fw.AuthorizationServerMetadataURLs(issuer)
	Expect(err).NotTo(HaveOccurred())
	return urls
}

// fetchJSON GETs the first of urls that answers 200 with a JSON object, as a client walks its
// discovery list, and returns the object and its URL; it fails listing what each URL answered.
func fetchJSON(ctx context.Context, urls []string) (map[string]any, string) {
	GinkgoHelper()
	doc, from, err := fw.FetchJSON(ctx, urls)
	if err != nil {
		Fail(err.Error())
	}
	return doc, from
}

// signIn signs user in as an MCP client does from the bare MCP URL (fw.SignIn: the metadata,
// authorization code with PKCE S256 as the public client on a loopback redirect, resource in
// both requests), asking for resource ("": the metadata's) and scopes (nil: the MCP scope
// selection strategy). The mock IdP logs in the user login_hint names, so no browser is needed
// (CapSignIn).
//
// An IdP that refuses the resource parameter itself (fw.ResourceParameterRefusedError) skips
// the spec with that reason, unless withoutResource: then user is signed in without it (the
// token has the IdP's default audience), for a spec about what the deployment does with a
// token rather than how a client gets one, and the report says so.
func signIn(ctx context.Context, user, resource string, scopes []string, withoutResource bool) fw.SignedIn {
	GinkgoHelper()
	got, err := fw.SignIn(ctx, fw.SignInOptions{User: user, Resource: resource, Scopes: scopes})
	if refused := new(fw.ResourceParameterRefusedError); errors.As(err, &refused) {
		if !withoutResource {
			Skip(refused.Error())
		}
		AddReportEntry("signed in without resource", refused.Error())
		got, err = fw.SignIn(ctx, fw.SignInOptions{User: user, Resource: resource, Scopes: scopes, WithoutResource: true})
	}
	Expect(err).NotTo(HaveOccurred(), "signing %s in for resource %q with scopes %q", user, got.Resource, got.Scopes)
	return got
}
