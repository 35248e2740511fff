// Package bootstrap is the suite of the 401 bootstrap: what an MCP client without a valid token
// gets, and whether it can discover from it where to log in (MCP authorization, RFC 9728).
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// tutorialChallenge is the challenge the tutorial tells its authorizer to send.
const tutorialChallenge = `Bearer realm="quilt-mcp", authorization_uri="https://idp.example.com/oauth2/authorize", token_service="https://idp.example.com/oauth2/token"`

// Forgeries by what a correct deployment answers.
var (
	// claimForgeries carry a good signature and standard claims (exp, iss, aud) that verify, but
	// a claim the deployment must refuse to act on: it may answer 401 (a bad token) or 403 (a
	// token it will not serve), never a success.
	claimForgeries = []fw.Forgery{fw.ForgeMissingSubject, fw.ForgeTenantWildcard,
		fw.ForgeTenantPathTraversal, fw.ForgeTenantWithSpaces, fw.ForgeTenantTooLong, fw.ForgeTenantNonASCII}
	// sizeForgeries are over API Gateway's request header limit: the gateway refuses them (413)
	// before any authorizer runs, so no challenge can be added; any 4xx other than a success will do.
	sizeForgeries = []fw.Forgery{fw.ForgeOversized}
)

// forgeryEntries are the table entries for the forgeries in want (nil: every forgery not in
// the other groups), named by the mock IdP's forgery names.
func forgeryEntries(want []fw.Forgery) []TableEntry {
	var out []TableEntry
	for _, f := range fw.Forgeries() {
		other := slices.Contains(claimForgeries, f) || slices.Contains(sizeForgeries, f)
		if (want == nil && !other) || slices.Contains(want, f) {
			out = append(out, Entry(f.String(), f.String()))
		}
	}
	return out
}

// forged mints a forged token for the accepted user (the spec needs CapForge).
func forged(ctx context.Context, name string) string {
	GinkgoHelper()
	fw.Require(fw.CapForge)
	tok, err := fw.Current().Forge(ctx, name, acceptedUser().Name)
	Expect(err).NotTo(HaveOccurred())
	return tok
}

var (
	conformance = Label(string(fw.Conformance))
	needsForge  = Label("needs:" + string(fw.CapForge))
	needsSignIn = Label("needs:" + string(fw.CapSignIn))
	// auth is the auth-surface tier's label (conform --tier auth).
	auth = fw.Labels(fw.Auth)
)

var _ = fw.Describe("The 401 bootstrap", fw.Bootstrap, func() {
	fw.ConformanceIt("answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata", fw.Auth, func() {
		expectChallenge(callTool(context.Background(), fw.Current().MCPURL(), "", nil), false)
	})

	fw.ConformanceIt("answers a garbage bearer token with 401 and an invalid_token challenge naming the resource metadata", fw.Auth, func() {
		expectChallenge(callTool(context.Background(), fw.Current().MCPURL(), "Bearer this-is-not-a-jwt", nil), true)
	})

	DescribeTable("answers a forged token with 401 and an invalid_token challenge naming the resource metadata:",
		func(ctx SpecContext, forgery string) {
			fw.Require(fw.CapForge)
			expectChallenge(callTool(ctx, fw.Current().MCPURL(), "Bearer "+forged(ctx, forgery), nil), true)
		}, conformance, auth, needsForge, forgeryEntries(nil))

	DescribeTable("never answers a signature-valid token with a claim it must not act on with a success or a tool run:",
		func(ctx SpecContext, forgery string) {
			fw.Require(fw.CapForge)
			r := callTool(ctx, fw.Current().MCPURL(), "Bearer "+forged(ctx, forgery), nil)
			Expect(r.Status).To(Or(Equal(http.StatusUnauthorized), Equal(http.StatusForbidden)), "status (body %.300s)", r.Body)
			expectNoToolRun(r)
		}, conformance, auth, needsForge, forgeryEntries(claimForgeries))

	DescribeTable("refuses a token over the request header limit with a client error and never runs a tool:",
		func(ctx SpecContext, forgery string) {
			fw.Require(fw.CapForge)
			r := callTool(ctx, fw.Current().MCPURL(), "Bearer "+forged(ctx, forgery), nil)
			Expect(r.Status).To(And(BeNumerically(">=", 400), BeNumerically("<", 500)), "status (body %.300s)", r.Body)
			expectNoToolRun(r)
		}, conformance, needsForge, forgeryEntries(sizeForgeries))

	fw.ConformanceIt("ignores a valid token in the query string, answering 401 with a challenge naming the resource metadata", fw.Auth, func() {
		ctx := context.Background()
		u, err := url.Parse(fw.Current().MCPURL())
		Expect(err).NotTo(HaveOccurred())
		q := u.Query()
		q.Set("access_token", validToken(ctx))
		u.RawQuery = q.Encode()
		expectChallenge(callTool(ctx, u.String(), "", nil), false)
	})

	// RFC 6750 §3.1: a request "attempted using an unsupported authentication method" lacks
	// authentication information, so the challenge SHOULD NOT carry an error code; it is not
	// required here either way.
	DescribeTable("answers a valid token under a scheme other than Bearer with 401 and a challenge naming the resource metadata:",
		func(ctx SpecContext, scheme string) {
			expectChallenge(callTool(ctx, fw.Current().MCPURL(), scheme+" "+validToken(ctx), nil), false)
		}, conformance, auth,
		Entry("Basic", "Basic"),
		Entry("Token", "Token"),
		Entry("JWT", "JWT"),
		Entry("DPoP", "DPoP"),
	)

	fw.ConformanceIt("serves the protected resource metadata without a token at the well-known URL an MCP client tries, with resource equal to the MCP URL", fw.Auth, func() {
		ctx := context.Background()
		mcpURL := fw.Current().MCPURL()
		doc, from := fetchJSON(ctx, wellKnownPRMURLs(mcpURL))
		Expect(doc).To(HaveKeyWithValue("resource", mcpURL), "protected resource metadata at %s", from)
		Expect(doc).To(HaveKeyWithValue("authorization_servers", Not(BeEmpty())), "protected resource metadata at %s", from)
	})

	fw.ConformanceIt("names in its challenge a resource metadata URL that serves, without a token, the metadata of the MCP URL", fw.Auth, func() {
		ctx := context.Background()
		mcpURL := fw.Current().MCPURL()
		r := callTool(ctx, mcpURL, "", nil)
		expectChallenge(r, false)
		ch, err := r.challenge()
		Expect(err).NotTo(HaveOccurred())
		doc, from := fetchJSON(ctx, []string{ch.Params["resource_metadata"]})
		Expect(doc).To(HaveKeyWithValue("resource", mcpURL), "protected resource metadata at %s", from)
	})

	fw.ConformanceIt("makes its authorization server's metadata discoverable the MCP way, advertising S256 PKCE", fw.Auth, func() {
		ctx := context.Background()
		mcpURL := fw.Current().MCPURL()
		prm, from := fetchJSON(ctx, wellKnownPRMURLs(mcpURL))
		servers, ok := prm["authorization_servers"].([]any)
		Expect(ok && len(servers) > 0).To(BeTrue(), "authorization_servers in %s: %v", from, prm["authorization_servers"])
		issuer, ok := servers[0].(string)
		Expect(ok).To(BeTrue(), "authorization_servers[0] in %s", from)
		as, asFrom := fetchJSON(ctx, authServerMetadataURLs(issuer))
		Expect(as).To(HaveKeyWithValue("issuer", issuer), "authorization server metadata at %s", asFrom)
		Expect(as).To(HaveKeyWithValue("authorization_endpoint", Not(BeEmpty())), "authorization server metadata at %s", asFrom)
		Expect(as).To(HaveKeyWithValue("token_endpoint", Not(BeEmpty())), "authorization server metadata at %s", asFrom)
		Expect(as).To(HaveKeyWithValue("code_challenge_methods_supported", ContainElement("S256")),
			"MCP clients (the go-sdk, mcp-go) refuse an authorization server that does not advertise PKCE S256 (%s). "+
				"The fix, where the IdP offers no setting for it (Cognito, Entra ID leave code_challenge_methods_supported out): "+
				"serve the deployment's own RFC 8414 metadata, a copy of the IdP's with code_challenge_methods_supported [\"S256\"] "+
				"and the deployment as issuer, and list the deployment in the protected resource metadata's authorization_servers "+
				"(docs/idps.md, \"What breaks and the fix\"; the reference gateway: gateway.ServeAuthorizationServerMetadata)", asFrom)
	})

	// RFC 9728 §2: authorization_servers lists the issuers a client may use; a client picks any
	// of them, so every one must serve its metadata (RFC 8414 §3, or OpenID Connect discovery)
	// without a token, naming itself as issuer (RFC 8414 §3.3).
	fw.ConformanceIt("lists in its protected resource metadata only authorization servers whose metadata is reachable without a token and names them as issuer (RFC 9728 §2, RFC 8414 §3.3)", fw.Auth, func() {
		ctx := context.Background()
		prm, from := fetchJSON(ctx, wellKnownPRMURLs(fw.Current().MCPURL()))
		servers, ok := prm["authorization_servers"].([]any)
		Expect(ok && len(servers) > 0).To(BeTrue(), "authorization_servers in %s: %v", from, prm["authorization_servers"])
		for i, s := range servers {
			issuer, ok := s.(string)
			Expect(ok && issuer != "").To(BeTrue(), "authorization_servers[%d] in %s is not a URL: %v", i, from, s)
			as, asFrom := fetchJSON(ctx, authServerMetadataURLs(issuer))
			Expect(as).To(HaveKeyWithValue("issuer", issuer), "authorization_servers[%d] of %s: authorization server metadata at %s", i, from, asFrom)
		}
	})

	// OAuth 2.1 §1.5 and the MCP authorization spec's "Communication Security": every
	// authorization endpoint, and so the MCP endpoint that receives bearer tokens, is served
	// over HTTPS; plain HTTP only on loopback (as the SDK clients allow it). A token sent over
	// plain HTTP to another host can be read on the way.
	fw.ConformanceIt("is reached over HTTPS, plain HTTP only on a loopback host, so bearer tokens never cross a network in clear (OAuth 2.1 §1.5, MCP authorization: communication security)", fw.Auth, func() {
		mcpURL := fw.Current().MCPURL()
		Expect(plainHTTPOffLoopback(mcpURL)).To(BeFalse(),
			"the MCP URL %s is plain HTTP on a host that is not loopback: every bearer token sent to it crosses the network in clear", mcpURL)
	})

	// The MCP authorization spec's "Token Audience Binding and Validation": a client asks for a
	// token for the MCP server's canonical URI (RFC 8707 resource = the metadata's resource), and
	// the server must accept it. A deployment that enforces some other audience (the tutorial's
	// api://quilt-mcp alone) lets every spec-following client sign in and then refuses it.
	fw.ConformanceIt("accepts a token obtained as a spec-following MCP client obtains it: authorization code with PKCE S256 and resource = the metadata's resource (RFC 8707)", fw.Needs(fw.CapSignIn), func() {
		ctx := context.Background()
		got := signIn(ctx, acceptedUser().Name, "", nil, false)
		tok, resource := got.AccessToken, got.Resource
		c, err := fw.ConnectMCP(ctx, fw.Current().MCPURL(), map[string]string{"Authorization": "Bearer " + tok})
		Expect(err).NotTo(HaveOccurred(), "with a token for resource %s (the deployment must accept its own canonical URI as the audience)", resource)
		DeferCleanup(c.Close)
		if fw.Current().Probes().Get(fw.OpWhoami) == nil {
			// No tool of the deployment is known: listing them is a request the token must pass.
			_, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			Expect(err).NotTo(HaveOccurred(), "tools/list with a token for resource %s", resource)
			return
		}
		r, err := fw.CallProbe(ctx, c, fw.OpWhoami, fw.ProbeVars{})
		Expect(err).NotTo(HaveOccurred(), "whoami with a token for resource %s", resource)
		Expect(r.OK()).To(BeTrue(), "with a token for resource %s, %s", resource, r)
	})

	// RFC 8707 and the MCP authorization spec's "Token Audience Binding and Validation": a token
	// the deployment's own IdP issued and signed, but for another resource, must be refused
	// (MUST accept only tokens issued for itself): the confused deputy. Unlike the forged
	// wrong-audience token, this one is had by signing in, so it needs no key of the IdP.
	DescribeTable("refuses with 401 and an invalid_token challenge a token its own IdP signed for another resource, had by signing in with that resource (RFC 8707; MCP authorization: token audience binding):",
		func(ctx SpecContext, other func(mcpURL string) string) {
			fw.Require(fw.CapSignIn)
			resource := other(fw.Current().MCPURL())
			got, err := fw.SignIn(ctx, fw.SignInOptions{User: acceptedUser().Name, Resource: resource})
			if refused := new(fw.ResourceParameterRefusedError); errors.As(err, &refused) {
				Skip(fmt.Sprintf("the IdP issues no token for another resource by signing in: %v", err))
			}
			// invalid_target is RFC 8707's answer for a resource the IdP does not serve;
			// invalid_resource Entra ID's (AADSTS500011: no app registration has it as App ID URI).
			if oe := new(fw.OAuthError); errors.As(err, &oe) && (oe.Code == "invalid_target" || oe.Code == "invalid_resource") {
				Skip(fmt.Sprintf("the IdP issues no token for resource %s (%v), so none for another audience can be had by signing in", resource, err))
			}
			Expect(err).NotTo(HaveOccurred(), "signing in for resource %s", resource)
			if aud := fw.TokenAudience(got.AccessToken); !slices.Contains(aud, resource) {
				// The IdP ignored resource: the token is for the audience the IdP is set up with,
				// the deployment's own, and accepting it is right. Never a pass: no token for
				// another resource can be had from this IdP by signing in (the forged
				// wrong-audience token still covers the refusal).
				Skip(fmt.Sprintf("the IdP ignored the resource parameter: the token had by signing in for %s carries aud %q, the audience the IdP is set up with, not the one asked for (Okta's custom authorization servers, Keycloak without resource-indicators and Auth0 without the Resource Parameter Compatibility Profile ignore resource), so no token for another resource can be had from it by signing in", resource, aud))
			}
			expectChallenge(callTool(ctx, fw.Current().MCPURL(), "Bearer "+got.AccessToken, nil), true)
		}, conformance, auth, needsSignIn,
		Entry("another MCP server's URL", func(string) string { return "https://another-mcp.example/mcp" }),
		Entry("a URL that merely begins with the MCP URL", func(mcpURL string) string { return mcpURL + "-other" }),
	)

	// The MCP authorization spec's "Scope Challenge Handling" (2025-11-25) and RFC 6750 §3.1: a
	// valid token lacking the scopes the deployment declares (in its 401 challenge, or as
	// scopes_supported in its metadata) gets 403 with error="insufficient_scope", the scopes to
	// ask for, and the metadata URL, so that a client can step up; no tool runs.
	fw.ConformanceIt("answers a valid token lacking the scopes it declares with 403 and an insufficient_scope challenge naming the scopes to ask for and the resource metadata (MCP authorization: scope challenge handling, RFC 6750 §3.1)", fw.Auth, fw.Needs(fw.CapSignIn), func() {
		ctx := context.Background()
		mcpURL := fw.Current().MCPURL()
		d, err := fw.Discover(ctx, mcpURL)
		declared := d.DeclaredScopes()
		if len(declared) == 0 {
			why := "its 401 challenge names no scope and its protected resource metadata lists no scopes_supported"
			if err != nil {
				why = fmt.Sprintf("its 401 challenge names no scope, and it has no protected resource metadata to list scopes_supported in (%v)", err)
			}
			Skip("the deployment declares no scopes: " + why)
		}
		Expect(err).NotTo(HaveOccurred(), "it declares scopes %q; discovering where to sign in for them from %s", declared, mcpURL)
		// Ask for openid alone (for no scope at all if openid is itself declared): the IdP then
		// grants none of the declared scopes.
		asked := []string{"openid"}
		if slices.Contains(declared, "openid") {
			asked = []string{}
		}
		got := signIn(ctx, acceptedUser().Name, "", asked, true)
		r := callTool(ctx, mcpURL, "Bearer "+got.AccessToken, nil)
		Expect(r.Status).To(Equal(http.StatusForbidden),
			"a valid token for %s with scopes %q, lacking the declared %q (body %.300s)", got.Resource, asked, declared, r.Body)
		header := r.Header.Get("WWW-Authenticate")
		ch, err := r.challenge()
		Expect(err).NotTo(HaveOccurred(), "WWW-Authenticate: %q", header)
		Expect(strings.EqualFold(ch.Scheme, "Bearer")).To(BeTrue(), "challenge scheme in %q", header)
		Expect(ch.Params).To(HaveKeyWithValue("error", "insufficient_scope"), "WWW-Authenticate: %q", header)
		var more []string
		for _, s := range strings.Fields(ch.Params["scope"]) {
			if !slices.Contains(asked, s) {
				more = append(more, s)
			}
		}
		Expect(more).NotTo(BeEmpty(), "the challenge's scope must name what to ask for beyond the token's %q: WWW-Authenticate: %q", asked, header)
		Expect(ch.Params).To(HaveKey("resource_metadata"), "WWW-Authenticate: %q", header)
		doc, from := fetchJSON(ctx, []string{ch.Params["resource_metadata"]})
		Expect(doc).To(HaveKeyWithValue("resource", mcpURL), "protected resource metadata at %s", from)
		expectNoToolRun(r)
	})

	fw.It("reports the tutorial's challenge (realm, authorization_uri, token_service) as non-compliant: it names no resource_metadata", fw.Tutorial, func() {
		ch, err := fw.ParseChallenge(tutorialChallenge)
		Expect(err).NotTo(HaveOccurred())
		Expect(ch.Scheme).To(Equal("Bearer"))
		Expect(ch.Params).To(HaveKeyWithValue("realm", "quilt-mcp"))
		Expect(ch.Params).To(HaveKey("authorization_uri"))
		Expect(ch.Params).To(HaveKey("token_service"))
		Expect(ch.Params).NotTo(HaveKey("resource_metadata"), "no MCP client can bootstrap from the tutorial's challenge")
		for name := range ch.Params {
			Expect(strings.HasPrefix(name, "resource")).To(BeFalse(), "the tutorial's challenge has no RFC 9728 parameter")
		}

		// The parser does find resource_metadata in a compliant challenge (realm may stay).
		good, err := fw.ParseChallenge(`Bearer realm="quilt-mcp", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="openid", error="invalid_token"`)
		Expect(err).NotTo(HaveOccurred())
		Expect(good.Params).To(HaveKeyWithValue("resource_metadata", "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"))
		Expect(good.Params).To(HaveKeyWithValue("error", "invalid_token"))
	})
})
