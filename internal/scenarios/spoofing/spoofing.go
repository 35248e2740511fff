// Package spoofing is the suite of forged identity headers: the headers the gateway forwards to
// the MCP server (x-decided-role, x-source-identity, x-session-tags, x-amzn-request-context)
// decide who a request acts as, so a client that sends them itself must never change the
// decision, and a caller that reaches the MCP server without the gateway must get nothing for
// them: no tool run, no AWS call.
package spoofing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	mcpclient "github.com/mark3labs/mcp-go/client"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// identity is the part of whoami's answer that the gateway decided.
// userWithTenant is the first test user mapped to a tenant other than not.
func userWithTenant(not string) fw.User {
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" && u.Tenant != not && u.Bucket != "" {
			return u
		}
	}
	Skip(fmt.Sprintf("target %s has no user with a tenant other than %q", fw.Current().Name(), not))
	return fw.User{}
}

// victimRole is the role ARN the deployment gives tenant's users, as the tutorial names it.
func victimRole(victim fw.User) string {
	if victim.Role != "" {
		return victim.Role
	}
	tenant := victim.Tenant
	if arn := fw.Current().RoleARN("quilt-mcp-target-" + tenant); arn != "" {
		return arn
	}
	return "arn:aws:iam::111122223333:role/quilt-mcp-target-" + tenant
}

// serverSaid is what the components logged about refused requests lately (CapLogs), so that a
// failure message says why the MCP server turned a request down, e.g. the garbage the seed
// profile's hyphenated context keys forward.
func serverSaid() string {
	t := fw.Current()
	if !fw.Has(t, fw.CapLogs) {
		return "the request failed"
	}
	lines, err := t.Logs()
	if err != nil {
		return "the request failed"
	}
	var said []string
	for i := len(lines) - 1; i >= 0 && len(said) < 1 && i >= len(lines)-40; i-- {
		var l map[string]any
		if json.Unmarshal([]byte(lines[i]), &l) != nil || l["msg"] != "request refused" {
			continue
		}
		said = append(said, fmt.Sprint(l["error"]))
	}
	if len(said) == 0 {
		return "the request failed (no refusal logged)"
	}
	if strings.Contains(said[0], `"-decided-role"`) {
		return `the gateway forwarded "x-decided-role: -decided-role" (the hyphenated context key in $context.authorizer.x-decided-role does not parse), so the MCP server refused the request: ` + said[0]
	}
	return "the MCP server refused the request: " + said[0]
}

// pathOf is the path of a URL, which a context proof covers.
func pathOf(raw string) string {
	u, err := neturl.Parse(raw)
	Expect(err).NotTo(HaveOccurred())
	return u.Path
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// connect opens an MCP client on url with headers and closes it after the spec.
func connect(ctx context.Context, url string, headers map[string]string) *mcpclient.Client {
	c, err := fw.ConnectMCP(ctx, url, headers)
	Expect(err).NotTo(HaveOccurred(), "%s; a valid request sent with headers %v never reached a tool", serverSaid(), headerNames(headers))
	DeferCleanup(c.Close)
	return c
}

// whoami asks the server who it acts as (the whoami probe); the call must succeed.
func whoami(ctx context.Context, c *mcpclient.Client) fw.Identity {
	r, err := fw.CallProbe(ctx, c, fw.OpWhoami, fw.ProbeVars{})
	Expect(err).NotTo(HaveOccurred(), "%s; whoami failed", serverSaid())
	Expect(r.OK()).To(BeTrue(), "%s", r)
	id, err := r.Identity()
	Expect(err).NotTo(HaveOccurred(), "%s", r)
	return id
}

// roleName is the name of the role an ARN names: a role's, or an assumed-role session's.
func roleName(arn string) string {
	if _, name, _, ok := (fw.Identity{ARN: arn}).AssumedRole(); ok {
		return name
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}

// headerNames lists the names of the headers sent (their values may be tokens).
func headerNames(h map[string]string) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = fw.Describe("Spoofed gateway headers", fw.Spoofing, func() {
	var (
		ctx    context.Context
		alice  fw.User
		victim fw.User
		token  string
	)
	BeforeEach(func() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		DeferCleanup(cancel)
		alice = userWithTenant("")
		victim = userWithTenant(alice.Tenant)
		var err error
		token, err = fw.Current().Token(ctx, alice.Name)
		Expect(err).NotTo(HaveOccurred())
	})

	// forged are the headers alice adds to her valid request, claiming the victim's tenant.
	forged := func(names ...string) map[string]string {
		role := victimRole(victim)
		all := map[string]string{
			"x-decided-role":    role,
			"x-source-identity": victim.SourceIdentity,
			"x-session-tags":    fmt.Sprintf(`[{"Key":"tenant","Value":%q}]`, victim.Tenant),
			"x-amzn-request-context": fmt.Sprintf(`{"authorizer":{"decidedRole":%q,"sourceIdentity":%q,"sessionTags":"[{\"Key\":\"tenant\",\"Value\":\"%s\"}]","lambda":{"x-decided-role":%q}}}`,
				role, victim.SourceIdentity, victim.Tenant, role),
		}
		// The headers a proxy in front of a server names its signed-in user with (oauth2-proxy,
		// an ALB's OIDC action): a server behind no such proxy must not believe them either.
		for _, n := range []string{"x-forwarded-user", "x-auth-request-user", "x-amzn-oidc-identity"} {
			all[n] = victim.Name
		}
		if all["x-source-identity"] == "" {
			all["x-source-identity"] = "usr-spoofed-" + victim.Name
		}
		h := map[string]string{"Authorization": "Bearer " + token}
		for _, n := range names {
			h[n] = all[n]
		}
		return h
	}

	DescribeTable("never change the gateway's decision:", Label(string(fw.Conformance)),
		func(names ...string) {
			headers := forged(names...)
			c := connect(ctx, fw.Current().MCPURL(), headers)

			fw.RequireProbe(fw.OpWhoami, fw.OpRead)
			id := whoami(ctx, c)
			if id.Tenant != "" || fw.ProbeOf(fw.OpWhoami).Fields.Tenant != "" {
				Expect(id.Tenant).To(Equal(alice.Tenant),
					"%s sent %v with her own token and whoami shows tenant %q: the forged headers reached the MCP server", alice.Name, names, id.Tenant)
			}
			Expect(roleName(id.ARN)).NotTo(Equal(roleName(victimRole(victim))), "%s sent %v with her own token and the tools ran as %s, a session of %s's role", alice.Name, names, id.ARN, victim.Tenant)
			if id.Role != "" {
				Expect(id.Role).NotTo(Equal(headers["x-decided-role"]), "whoami shows the forged role")
			}
			if alice.SourceIdentity != "" && id.SourceIdentity != "" {
				Expect(id.SourceIdentity).To(Equal(alice.SourceIdentity), "whoami shows another source identity than the one derived from %s's token", alice.Name)
			}

			r, err := fw.CallProbe(ctx, c, fw.OpRead, fw.ProbeVars{Bucket: victim.Bucket, Key: "README.md"})
			Expect(err).NotTo(HaveOccurred())
			Expect(r.OK()).To(BeFalse(), "%s read %s's bucket %s with forged headers %v: %s", alice.Name, victim.Tenant, victim.Bucket, names, r)
			Expect(r.Denied()).To(BeTrue(), "reading %s's bucket failed, but not as a denial (%s): %s", victim.Tenant, r.DenialRule(), r)
		},
		func(names ...string) string {
			return "a user sending " + strings.Join(names, ", ") + " that claims another tenant still acts as herself and cannot read that tenant's bucket"
		},
		Entry(nil, "x-decided-role"),
		Entry(nil, "x-source-identity"),
		Entry(nil, "x-session-tags"),
		Entry(nil, "x-amzn-request-context"),
		Entry(nil, "x-decided-role", "x-source-identity", "x-session-tags", "x-amzn-request-context"),
		Entry(nil, "x-forwarded-user", "x-auth-request-user", "x-amzn-oidc-identity"),
	)

	// A caller that reaches the MCP server without the gateway — any process on its host, any
	// SSRF in its VPC — sends whatever decided headers it likes and no token. The server must
	// take them only with proof that the gateway sent them; otherwise only the network stands
	// between that caller and every tenant's data.
	forgedDirect := func() (string, http.Header, string) {
		url, err := fw.Current().MCPDirectURL()
		Expect(err).NotTo(HaveOccurred())
		si := "usr-forged-" + randomHex(6)
		h := http.Header{}
		h.Set("X-Decided-Role", victimRole(victim))
		h.Set("X-Source-Identity", si)
		h.Set("X-Session-Tags", fmt.Sprintf(`[{"Key":"tenant","Value":%q}]`, victim.Tenant))
		return url, h, si
	}
	expectRefused := func(r fw.Reply, url, what string) {
		GinkgoHelper()
		Expect(r.Status).To(BeElementOf(http.StatusUnauthorized, http.StatusForbidden),
			"%s answered a direct request with %s's decided headers and %s with HTTP %d: the MCP server believes whoever reaches its port, "+
				"so only the network keeps any process on its host, or an SSRF in its VPC, from every tenant's data; it must take the decided headers "+
				"only with proof that the gateway sent them (the reference checks the authorizer's x-context-proof) (body %.300s)",
			url, victim.Tenant, what, r.Status, r.Body)
		Expect(r.ToolRan()).To(BeFalse(), "a tool ran for a direct request with forged headers: %.300s", r.Body)
	}

	DescribeTable("refuse a request that reaches the MCP server directly, bypassing the gateway, with another tenant's decided headers, no token and",
		func(ctx SpecContext, caps []fw.Capability, prepare func(ctx context.Context, url string, h http.Header)) {
			fw.Require(caps...)
			url, h, _ := forgedDirect()
			prepare(ctx, url, h)
			r, err := fw.PostMCP(ctx, url, h, fw.WhoamiCall)
			Expect(err).NotTo(HaveOccurred(), "POST %s", url)
			expectRefused(r, url, CurrentSpecReport().LeafNodeText)
		},
		Entry(fw.EntryText("no proof", fw.CapDirectMCP, fw.Conformance), fw.Labels(fw.CapDirectMCP, fw.Conformance),
			[]fw.Capability{fw.CapDirectMCP}, func(context.Context, string, http.Header) {}),
		Entry(fw.EntryText("a made-up proof", fw.CapDirectMCP, fw.Conformance), fw.Labels(fw.CapDirectMCP, fw.Conformance),
			[]fw.Capability{fw.CapDirectMCP}, func(_ context.Context, _ string, h http.Header) {
				h.Set("X-Context-Proof", fmt.Sprintf("v1.%d.%s.%s", time.Now().Unix(), randomHex(16), strings.Repeat("A", 43)))
			}),
		Entry(fw.EntryText("the proof of the user's own context", fw.CapDirectMCP, fw.CapProveContext, fw.Conformance), fw.Labels(fw.CapDirectMCP, fw.CapProveContext, fw.Conformance),
			[]fw.Capability{fw.CapDirectMCP, fw.CapProveContext}, func(_ context.Context, url string, h http.Header) {
				own := http.Header{}
				own.Set("X-Decided-Role", victimRole(alice))
				own.Set("X-Source-Identity", h.Get("X-Source-Identity"))
				own.Set("X-Session-Tags", fmt.Sprintf(`[{"Key":"tenant","Value":%q}]`, alice.Tenant))
				Expect(fw.Current().ProveContext(http.MethodPost, pathOf(url), own)).To(Succeed())
				h.Set("X-Context-Proof", own.Get("X-Context-Proof"))
			}),
		Entry(fw.EntryText("a proof already used", fw.CapDirectMCP, fw.CapProveContext, fw.Conformance), fw.Labels(fw.CapDirectMCP, fw.CapProveContext, fw.Conformance),
			[]fw.Capability{fw.CapDirectMCP, fw.CapProveContext}, func(ctx context.Context, url string, h http.Header) {
				Expect(fw.Current().ProveContext(http.MethodPost, pathOf(url), h)).To(Succeed())
				// The first use stands for the gateway's own request, seen by whoever replays it.
				first, err := fw.PostMCP(ctx, url, h, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
				Expect(err).NotTo(HaveOccurred())
				Expect(first.Status).To(Equal(http.StatusOK), "the proven request itself was refused (body %.300s)", first.Body)
			}),
	)

	fw.ConformanceIt("make no AWS call for a request that reaches the MCP server directly with forged decided headers and no token",
		fw.Needs(fw.CapDirectMCP), fw.Needs(fw.CapCloudTrail), func() {
			url, h, si := forgedDirect()
			r, err := fw.PostMCP(ctx, url, h, fw.WhoamiCall)
			Expect(err).NotTo(HaveOccurred(), "POST %s", url)
			events, err := fw.Current().CloudTrail(ctx, fw.TrailFilter{EventName: "AssumeRole"})
			Expect(err).NotTo(HaveOccurred())
			for _, ev := range events {
				var p fw.AssumeRoleParameters
				if json.Unmarshal(ev.RequestParameters, &p) == nil && p.SourceIdentity == si {
					Fail(fmt.Sprintf("the MCP server called STS AssumeRole of %s with the forged source identity %s (CloudTrail: %s %s) for a direct request without a token (HTTP %d): "+
						"it acts on decided headers whoever sends them", p.RoleArn, si, ev.ErrorCode, ev.ErrorMessage, r.Status))
				}
			}
		})

	// The control of the refusals above: the same server, reached the same way, serves a
	// context the authorizer proved — so what they refuse is the missing or wrong proof, not
	// the way in.
	fw.It("serve a request that reaches the MCP server directly with a decided context the authorizer proved",
		fw.Needs(fw.CapDirectMCP), fw.Needs(fw.CapProveContext), func() {
			url, err := fw.Current().MCPDirectURL()
			Expect(err).NotTo(HaveOccurred())
			h := http.Header{}
			h.Set("X-Decided-Role", victimRole(alice))
			h.Set("X-Source-Identity", "usr-proven-"+randomHex(4))
			h.Set("X-Session-Tags", fmt.Sprintf(`[{"Key":"tenant","Value":%q}]`, alice.Tenant))
			Expect(fw.Current().ProveContext(http.MethodPost, pathOf(url), h)).To(Succeed())
			// The deployment's own whoami tool: this request must run it (WhoamiCall names the
			// reference server's, which another server need not have).
			r, err := fw.PostMCP(ctx, url, h, fw.ProbeCall(fw.OpWhoami, fw.ProbeVars{}))
			Expect(err).NotTo(HaveOccurred(), "POST %s", url)
			Expect(r.ToolRan()).To(BeTrue(), "%s refused a proven request (HTTP %d %.300s): the direct-request refusals prove nothing", url, r.Status, r.Body)
			// whoami names the role it assumed, or the one STS refused: either way the proven one.
			Expect(r.Body).To(ContainSubstring(h.Get("X-Decided-Role")), "whoami did not act for the proven role: %.300s", r.Body)
		})
})
