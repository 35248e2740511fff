package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
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

// get GETs rawURL without credentials.
func get(ctx context.Context, rawURL string) reply {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json")
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
// when the challenge names none (fw.ProtectedResourceMetadataURLs).
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

// authServerMetadataURLs are the URLs an MCP client tries for an issuer's metadata
// (fw.AuthServerMetadataURLs).
func authServerMetadataURLs(issuer string) []string {
	GinkgoHelper()
	urls, err := fw.AuthServerMetadataURLs(issuer)
	Expect(err).NotTo(HaveOccurred())
	return urls
}

// fetchJSON GETs the first of urls that answers 200 with a JSON object, as a client walks its
// discovery list, and returns the object and its URL; it fails listing what each URL answered.
func fetchJSON(ctx context.Context, urls []string) (map[string]any, string) {
	GinkgoHelper()
	var tried []string
	for _, u := range urls {
		r := get(ctx, u)
		var doc map[string]any
		if r.Status == http.StatusOK && json.Unmarshal([]byte(r.Body), &doc) == nil {
			return doc, u
		}
		tried = append(tried, fmt.Sprintf("%s → %d %.120s", u, r.Status, strings.TrimSpace(r.Body)))
	}
	Fail("no discovery URL served a JSON document without a token:\n  " + strings.Join(tried, "\n  "))
	return nil, ""
}

// specClientToken signs user in as an MCP client does from the bare MCP URL: the protected
// resource metadata (its resource and authorization server), the authorization server's
// metadata, then authorization code with PKCE S256 as the public client mcpsso-cli on a
// loopback redirect, with resource = the metadata's resource in both requests (RFC 8707). The
// mock IdP logs in the user login_hint names, so no browser is needed (CapSignIn). It returns
// the access token and the resource it was asked for.
func specClientToken(ctx context.Context, user string) (token, resource string) {
	GinkgoHelper()
	prm, from := fetchJSON(ctx, wellKnownPRMURLs(fw.Current().MCPURL()))
	resource, _ = prm["resource"].(string)
	Expect(resource).NotTo(BeEmpty(), "resource in the protected resource metadata at %s", from)
	servers, _ := prm["authorization_servers"].([]any)
	Expect(servers).NotTo(BeEmpty(), "authorization_servers in %s", from)
	issuer, _ := servers[0].(string)
	as, asFrom := fetchJSON(ctx, authServerMetadataURLs(issuer))
	authURL, _ := as["authorization_endpoint"].(string)
	tokenURL, _ := as["token_endpoint"].(string)
	Expect(authURL).NotTo(BeEmpty(), "authorization_endpoint in %s", asFrom)
	Expect(tokenURL).NotTo(BeEmpty(), "token_endpoint in %s", asFrom)

	conf := &oauth2.Config{ClientID: fw.PublicClientID, RedirectURL: "http://127.0.0.1:8976/callback",
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	verifier, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	res := oauth2.SetAuthURLParam("resource", resource)
	authorize := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), res, oauth2.SetAuthURLParam("login_hint", user))

	// The browser step: the IdP answers with a redirect to the loopback callback, which is not
	// followed (nothing listens there); its query holds the code.
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorize, nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := noFollow.Do(req)
	Expect(err).NotTo(HaveOccurred(), "GET %s", authURL)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	Expect(resp.StatusCode).To(BeElementOf(http.StatusFound, http.StatusSeeOther), "the authorization endpoint did not redirect back: %s", body)
	back, err := url.Parse(resp.Header.Get("Location"))
	Expect(err).NotTo(HaveOccurred())
	Expect(back.Query().Get("error")).To(BeEmpty(), "the authorization endpoint refused: %s", back.RawQuery)
	Expect(back.Query().Get("state")).To(Equal(state), "state echoed in %s", back)
	code := back.Query().Get("code")
	Expect(code).NotTo(BeEmpty(), "no code in %s", back)

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier), res)
	Expect(err).NotTo(HaveOccurred(), "the token request for resource %s", resource)
	return tok.AccessToken, resource
}
