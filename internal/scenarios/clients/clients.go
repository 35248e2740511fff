// Package clients is the suite of real MCP clients written by others: the official go-sdk's
// OAuth handler and mcp-go's OAuth client start from the bare MCP URL, find where to sign in
// from the 401 and the metadata, register (pre-registered, Dynamic Client Registration, Client
// ID Metadata Document), sign in with PKCE, then use the tools as the user and refresh their
// token. A deployment whose pieces each pass on their own still fails here when they do not
// fit together the way clients use them (an authorizer enforcing another audience than the
// metadata's resource, a refresh that loses the audience, an IdP without a registration way).
package clients

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// registration is how a go-sdk client registers with the authorization server.
type registration string

const (
	preregistered    registration = "a pre-registered public client"
	dynamic          registration = "Dynamic Client Registration (RFC 7591)"
	metadataDocument registration = "a Client ID Metadata Document"
)

var _ = fw.Describe("Real MCP clients", fw.Clients, func() {
	DescribeTable("the official go-sdk client (auth.AuthorizationCodeHandler on StreamableClientTransport) signs in from the bare MCP URL, uses the tools as the user, and refreshes",
		func(reg registration) {
			if reg == metadataDocument {
				fw.Require(fw.CapSignIn, fw.CapClientMetadata)
			} else {
				fw.Require(fw.CapSignIn)
			}
			ctx := context.Background()
			requireRegistrationWay(ctx, reg)
			p := twoTenants()
			requireResourceParameter(ctx, p.me.Name)
			src := &refreshingSource{}
			cfg := &sdkauth.AuthorizationCodeHandlerConfig{
				RedirectURL:         redirectURL,
				RequestRefreshToken: true,
				NewTokenSource:      src.newTokenSource,
				AuthorizationCodeFetcher: func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
					code, state, iss, err := signInAs(ctx, args.URL, p.me.Name)
					if err != nil {
						return nil, err
					}
					return &sdkauth.AuthorizationResult{Code: code, State: state, Iss: iss}, nil
				},
			}
			switch reg {
			case preregistered:
				cfg.PreregisteredClient = &oauthex.ClientCredentials{ClientID: fw.PublicClientID}
			case dynamic:
				cfg.DynamicClientRegistrationConfig = &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
					RedirectURIs: []string{redirectURL}, TokenEndpointAuthMethod: "none", ClientName: clientName,
					GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}}}
			case metadataDocument:
				id, err := fw.Current().PublishClientMetadata(map[string]any{"client_name": clientName, "redirect_uris": []string{redirectURL},
					"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none"})
				Expect(err).NotTo(HaveOccurred())
				cfg.ClientIDMetadataDocumentConfig = &sdkauth.ClientIDMetadataDocumentConfig{URL: id}
			}
			handler, err := sdkauth.NewAuthorizationCodeHandler(cfg)
			Expect(err).NotTo(HaveOccurred())

			client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: clientName, Version: "1"}, nil)
			session, err := client.Connect(ctx, &sdkmcp.StreamableClientTransport{Endpoint: fw.Current().MCPURL(), OAuthHandler: handler}, nil)
			Expect(err).NotTo(HaveOccurred(), "go-sdk with %s: connect from the bare MCP URL %s (401, metadata, registration, sign-in, token, retry)", reg, fw.Current().MCPURL())
			DeferCleanup(session.Close)

			tools, err := session.ListTools(ctx, nil)
			Expect(err).NotTo(HaveOccurred(), "tools/list")
			var names []string
			for _, t := range tools.Tools {
				names = append(names, t.Name)
			}
			for _, op := range fw.Current().Probes().Declared() {
				Expect(names).To(ContainElement(fw.Current().Probes().Get(op).Tool), "tools/list: the %s probe's tool", op)
			}

			call := func(ctx context.Context, tool string, args map[string]any) (fw.ToolAnswer, error) {
				res, err := session.CallTool(ctx, &sdkmcp.CallToolParams{Name: tool, Arguments: args})
				var wire *jsonrpc.Error
				if errors.As(err, &wire) {
					return fw.ToolAnswer{Text: wire.Message, RPCError: true}, nil
				}
				if err != nil {
					return fw.ToolAnswer{}, err
				}
				var text []string
				for _, c := range res.Content {
					if t, ok := c.(*sdkmcp.TextContent); ok {
						text = append(text, t.Text)
					}
				}
				return fw.ToolAnswer{Text: strings.Join(text, "\n"), Structured: res.StructuredContent, IsError: res.IsError}, nil
			}
			exercise(ctx, "go-sdk ("+string(reg)+")", p, call, src.expire)

			Expect(src.refreshed).NotTo(BeEmpty(), "the go-sdk client never refreshed its token")
			first, refreshed := fw.TokenAudience(src.lastToken), fw.TokenAudience(src.refreshed[len(src.refreshed)-1])
			Expect(refreshed).To(ContainElement(fw.Current().MCPURL()),
				"a refresh that names no resource (the go-sdk sends none) keeps the grant's audience, the MCP URL (RFC 8707 §2.2); got %v (first %v)", refreshed, first)
		},
		Entry(string(preregistered), fw.Labels(fw.Conformance, fw.CapSignIn), preregistered),
		Entry(string(dynamic), fw.Labels(fw.Conformance, fw.CapSignIn), dynamic),
		Entry(string(metadataDocument), fw.Labels(fw.Conformance, fw.CapSignIn, fw.CapClientMetadata), metadataDocument),
	)

	fw.ConformanceIt("mcp-go's OAuth client, handed the first 401, registers dynamically, signs in with PKCE, uses the tools as the user, and refreshes", fw.Needs(fw.CapSignIn), func() {
		ctx := context.Background()
		p := twoTenants()
		requireResourceParameter(ctx, p.me.Name)
		mcpURL := fw.Current().MCPURL()
		store := transport.NewMemoryTokenStore()
		// mcp-go asks for the scopes it is configured with and reads none from the challenge or
		// the metadata, so its user configures those the deployment declares.
		c, err := mcpclient.NewOAuthStreamableHttpClient(mcpURL, mcpclient.OAuthConfig{
			RedirectURI: redirectURL, Scopes: append([]string{"openid", "offline_access"}, declaredScopes(ctx)...), TokenStore: store, PKCEEnabled: true})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Close)
		Expect(c.Start(ctx)).To(Succeed())

		// mcp-go sends nothing before it holds a token: the 401 an MCP client first meets comes
		// from a request of our own, handed to the client's OAuth handler
		// (OAuthHandler.HandleUnauthorizedResponse in mcp-go's client/transport/oauth.go).
		handler := c.GetTransport().(*transport.StreamableHTTP).GetOAuthHandler()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "a request without a token")
		handler.HandleUnauthorizedResponse(resp)

		requireRegistrationWay(ctx, dynamic)
		if err := handler.RegisterClient(ctx, clientName); err != nil {
			skipIfRegistrationRefusesResource(ctx, err)
			Expect(err).NotTo(HaveOccurred(), "mcp-go: Dynamic Client Registration")
		}
		verifier, err := mcpclient.GenerateCodeVerifier()
		Expect(err).NotTo(HaveOccurred())
		state, err := mcpclient.GenerateState()
		Expect(err).NotTo(HaveOccurred())
		authURL, err := handler.GetAuthorizationURL(ctx, state, mcpclient.GenerateCodeChallenge(verifier))
		Expect(err).NotTo(HaveOccurred(), "mcp-go: metadata discovery from the 401's resource_metadata")
		code, gotState, _, err := signInAs(ctx, authURL, p.me.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(handler.ProcessAuthorizationResponse(ctx, code, gotState, verifier)).To(Succeed(), "mcp-go: the code exchange")

		initReq := mcp.InitializeRequest{}
		initReq.Params.ClientInfo = mcp.Implementation{Name: clientName, Version: "1"}
		initReq.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
		_, err = c.Initialize(ctx, initReq)
		Expect(err).NotTo(HaveOccurred(), "mcp-go: initialize with the token it obtained")

		call := func(ctx context.Context, tool string, args map[string]any) (fw.ToolAnswer, error) {
			return fw.CallProbeTool(ctx, c, tool, args)
		}
		var before string
		exercise(ctx, "mcp-go", p, call, func() {
			tok, err := store.GetToken(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(tok.RefreshToken).NotTo(BeEmpty(), "mcp-go's token response had no refresh token (offline_access was requested)")
			before = tok.AccessToken
			expired := *tok
			expired.ExpiresAt = expired.ExpiresAt.Add(-48 * 60 * 60 * 1e9)
			Expect(store.SaveToken(ctx, &expired)).To(Succeed())
		})
		after, err := store.GetToken(ctx)
		Expect(err).NotTo(HaveOccurred())
		// A new token, or the same JWT newly valid: an IdP whose tokens carry no unique claim
		// (Auth0's) issues the same one again within the same second.
		Expect(after.AccessToken != before || after.ExpiresAt.After(time.Now())).To(BeTrue(),
			"mcp-go refreshed its expired token (the stored one is still %s, expiring %s)", before[:min(len(before), 20)]+"…", after.ExpiresAt)
		Expect(fw.TokenAudience(after.AccessToken)).To(ContainElement(mcpURL), "mcp-go's refreshed token keeps the MCP URL as audience")
	})
})
