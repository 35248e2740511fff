// Package transport is the suite of the MCP Streamable HTTP transport behind the gateway: Origin
// checks against DNS rebinding, both protocol versions reaching a tool, and sessions that never
// carry one user's identity to another.
package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

const (
	// legacyProtocol is the last protocol with initialize and sessions.
	legacyProtocol = mcp.ProtocolVersion20251125
	// modernProtocol is mcp-go's default: stateless, no initialize, per-request headers.
	modernProtocol = mcp.ProtocolVersion20260728
)

// acceptedUsers are the users the deployment must serve: those mapped to a tenant.
func acceptedUsers() []fw.User {
	var out []fw.User
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" {
			out = append(out, u)
		}
	}
	return out
}

func token(ctx context.Context, u fw.User) string {
	GinkgoHelper()
	tok, err := fw.Current().Token(ctx, u.Name)
	Expect(err).NotTo(HaveOccurred())
	return tok
}

// connect opens an mcp-go client on the MCP URL as u, pinned to version ("" = the client's
// default, which negotiates 2026-07-28), closed when the spec ends.
func connect(ctx context.Context, u fw.User, version string) *mcpclient.Client {
	GinkgoHelper()
	tr, err := mcptransport.NewStreamableHTTP(fw.Current().MCPURL(),
		mcptransport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token(ctx, u)}),
		mcptransport.WithHTTPTimeout(30*time.Second))
	Expect(err).NotTo(HaveOccurred())
	var opts []mcpclient.ClientOption
	if version != "" {
		opts = append(opts, mcpclient.WithProtocolVersion(version))
	}
	c := mcpclient.NewClient(tr, opts...)
	Expect(c.Start(ctx)).To(Succeed())
	DeferCleanup(c.Close)
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "mcpsso-transport-suite", Version: "1"}
	req.Params.ProtocolVersion = version
	if _, err = c.Initialize(ctx, req); err != nil {
		// mcp-go hides the answer behind "server returned 4xx": show what the endpoint says.
		status, _, body := rawCall(ctx, "Bearer "+token(ctx, u), legacyProtocol, nil)
		Fail(fmt.Sprintf("connecting to %s as %s (protocol %q): %v; a plain tools/call as %s gets %d %.300s",
			fw.Current().MCPURL(), u.Name, version, err, u.Name, status, strings.TrimSpace(body)))
	}
	return c
}

// callWhoami asks the server who it acts as (the whoami probe); the call must succeed.
func callWhoami(ctx context.Context, c *mcpclient.Client) fw.Identity {
	GinkgoHelper()
	r, err := fw.CallProbe(ctx, c, fw.OpWhoami, fw.ProbeVars{})
	Expect(err).NotTo(HaveOccurred())
	Expect(r.OK()).To(BeTrue(), "%s", r)
	w, err := r.Identity()
	Expect(err).NotTo(HaveOccurred(), "%s", r)
	return w
}

// expectIs asserts whoami answered as u: the tenant (which the whoami probe must map, or the
// spec cannot tell users apart) and, where both are known, the source identity.
func expectIs(w fw.Identity, u fw.User) {
	GinkgoHelper()
	fw.RequireIdentityFields("tenant")
	Expect(w.Tenant).To(Equal(u.Tenant), "whoami for %s: %+v", u.Name, w)
	if u.SourceIdentity != "" && w.SourceIdentity != "" {
		Expect(w.SourceIdentity).To(Equal(u.SourceIdentity), "whoami for %s: %+v", u.Name, w)
	}
}

// rawCall POSTs a whoami tools/call as the given protocol, with extra headers; it returns the
// status, headers and body.
func rawCall(ctx context.Context, authorization, protocol string, extra map[string]string) (int, http.Header, string) {
	GinkgoHelper()
	return rawRPC(ctx, authorization, protocol, fw.ProbeCall(fw.OpWhoami, fw.ProbeVars{}), extra)
}

// The JSON-RPC messages of the tool-free session spec (2025-11-25, the protocol with sessions).
const (
	initializeMessage = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcpsso-transport-suite","version":"1"}}}`
	initializedNote   = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	toolsListMessage  = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
)

// rawRPC POSTs one JSON-RPC message as the given protocol, with extra headers; it returns the
// status, headers and body. A tools/call under 2026-07-28 gets its Mcp-Method and Mcp-Name
// headers.
func rawRPC(ctx context.Context, authorization, protocol, body string, extra map[string]string) (int, http.Header, string) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fw.Current().MCPURL(), strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", authorization)
	req.Header.Set("MCP-Protocol-Version", protocol)
	if protocol == modernProtocol && strings.Contains(body, `"tools/call"`) {
		req.Header.Set("Mcp-Method", "tools/call")
		var call struct {
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		Expect(json.Unmarshal([]byte(body), &call)).To(Succeed())
		req.Header.Set("Mcp-Name", call.Params.Name)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, resp.Header, string(b)
}

func randomSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var conformance = Label(string(fw.Conformance))

var _ = fw.Describe("The MCP transport", fw.Transport, func() {
	DescribeTable("refuses a request with a valid token from a disallowed Origin with 403:",
		func(ctx SpecContext, origin string) {
			users := acceptedUsers()
			Expect(users).NotTo(BeEmpty(), "the target has no user mapped to a tenant")
			status, _, body := rawCall(ctx, "Bearer "+token(ctx, users[0]), modernProtocol, map[string]string{"Origin": origin})
			Expect(status).To(Equal(http.StatusForbidden), "Origin %s (body %.300s)", origin, body)
			Expect(body).NotTo(ContainSubstring("sourceIdentity"), "a tool ran for a disallowed Origin")
		}, conformance,
		Entry("https://evil.example", "https://evil.example"),
		Entry("null (a sandboxed page or file)", "null"),
		fw.Labels(fw.Auth),
	)

	DescribeTable("lets a user call whoami through the gateway with a valid token, speaking protocol",
		func(ctx SpecContext, version string) {
			users := acceptedUsers()
			Expect(users).NotTo(BeEmpty(), "the target has no user mapped to a tenant")
			pin := version
			if version == modernProtocol {
				pin = "" // the client's default, as an unconfigured MCP client connects
			}
			c := connect(ctx, users[0], pin)
			Expect(c.ProtocolVersion()).To(Equal(version),
				"the client negotiated another protocol: the gateway may drop the 2026-07-28 headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name)")
			expectIs(callWhoami(ctx, c), users[0])
		}, conformance,
		Entry("2025-11-25 (initialize handshake)", legacyProtocol),
		Entry("2026-07-28 (mcp-go's default, stateless)", modernProtocol),
	)

	// The MCP transport spec: sessions are not authentication, every request is verified, and a
	// session id is bound to its user (MCP security best practices, "Session Hijacking"). Unlike
	// the spec below, this one calls no tool: initialize and tools/list only, so it runs against
	// any deployment whose users the target file names.
	fw.ConformanceIt("refuses one user's Mcp-Session-Id presented with another user's valid token, calling no tool (MCP transports: sessions are not authentication)", fw.Auth, fw.Needs(fw.CapSessions), func() {
		ctx := context.Background()
		users := acceptedUsers()
		if len(users) < 2 {
			Skip("target " + fw.Current().Name() + " has fewer than two users mapped to a tenant")
		}
		alice, bob := users[0], users[1]
		status, h, body := rawRPC(ctx, "Bearer "+token(ctx, alice), legacyProtocol, initializeMessage, nil)
		Expect(status).To(Equal(http.StatusOK), "initialize as %s (body %.300s)", alice.Name, body)
		sid := h.Get("Mcp-Session-Id")
		if sid == "" {
			Skip("the MCP server is stateless: initialize as " + alice.Name + " issued no Mcp-Session-Id, so there is no session to present")
		}
		session := map[string]string{"Mcp-Session-Id": sid}
		status, _, body = rawRPC(ctx, "Bearer "+token(ctx, alice), legacyProtocol, initializedNote, session)
		Expect(status).To(BeNumerically("<", 300), "notifications/initialized in %s's own session (body %.300s)", alice.Name, body)
		status, _, body = rawRPC(ctx, "Bearer "+token(ctx, alice), legacyProtocol, toolsListMessage, session)
		Expect(status).To(Equal(http.StatusOK), "tools/list in %s's own session (body %.300s)", alice.Name, body)

		status, _, body = rawRPC(ctx, "Bearer "+token(ctx, bob), legacyProtocol, toolsListMessage, session)
		Expect(status).To(BeNumerically(">=", 400),
			"%s's valid token was served in %s's session %s: a session id must not be a credential (body %.300s)", bob.Name, alice.Name, sid, body)
		Expect(body).NotTo(ContainSubstring(`"tools"`), "tools/list answered in another user's session")
	})

	// Whether the server keeps sessions or not, both are checked: this spec needs no capability.
	fw.ConformanceIt("never lets a session id carry one user's identity to another: a stateful server refuses another user's session id, a stateless one issues none and ignores any sent", func() {
		ctx := context.Background()
		users := acceptedUsers()
		Expect(len(users)).To(BeNumerically(">=", 2), "the spec needs two users mapped to tenants")
		alice, bob := users[0], users[1]

		ca := connect(ctx, alice, legacyProtocol)
		expectIs(callWhoami(ctx, ca), alice)
		sid := ca.GetSessionId()

		if sid == "" {
			// Stateless: no session to steal. A session id sent anyway must carry no authority:
			// bob's request under an id bob never got still runs as bob (or is refused).
			AddReportEntry("sessions", "the target's MCP server is stateless: the initialize handshake issued no Mcp-Session-Id")
			cb := connect(ctx, bob, legacyProtocol)
			Expect(cb.GetSessionId()).To(BeEmpty(), "a stateless server issued a session id to one user and not another")
			expectIs(callWhoami(ctx, cb), bob)
			status, _, body := rawCall(ctx, "Bearer "+token(ctx, bob), legacyProtocol, map[string]string{"Mcp-Session-Id": randomSessionID()})
			if status >= 200 && status < 300 {
				if alice.SourceIdentity != "" {
					Expect(body).NotTo(ContainSubstring(alice.SourceIdentity), "a request as %s answered with %s's identity", bob.Name, alice.Name)
				}
			}
			return
		}

		// Stateful: bob presenting alice's session id with his own valid token is refused, and
		// never answered as alice.
		status, _, body := rawCall(ctx, "Bearer "+token(ctx, bob), legacyProtocol, map[string]string{"Mcp-Session-Id": sid})
		Expect(status).To(BeNumerically(">=", 400), "another user's session id was accepted (body %.300s)", body)
		if alice.SourceIdentity != "" {
			Expect(body).NotTo(ContainSubstring(alice.SourceIdentity))
		}
		// alice's own session still serves her.
		expectIs(callWhoami(ctx, ca), alice)
	})
})
