// Package spoofing is the suite of forged identity headers: the headers the gateway forwards to
// the MCP server (x-decided-role, x-source-identity, x-session-tags, x-amzn-request-context)
// decide who a request acts as, so a client that sends them itself must never change the
// decision, and the MCP server must not be reachable without the gateway.
package spoofing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	mcpclient "github.com/mark3labs/mcp-go/client"

	"github.com/mcpsso/mcpsso/harness/stack"
	fw "github.com/mcpsso/mcpsso/scenarios/framework"
)

// identity is the part of whoami's answer that the gateway decided.
type identity struct {
	Arn            string `json:"arn"`
	SourceIdentity string `json:"sourceIdentity"`
	Tenant         string `json:"tenant"`
	Role           string `json:"role"`
	Bucket         string `json:"bucket"`
}

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
func victimRole(tenant string) string {
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

// connect opens an MCP client on url with headers and closes it after the spec.
func connect(ctx context.Context, url string, headers map[string]string) *mcpclient.Client {
	c, err := stack.ConnectMCP(ctx, url, headers)
	Expect(err).NotTo(HaveOccurred(), "%s; a valid request sent with headers %v never reached a tool", serverSaid(), headerNames(headers))
	DeferCleanup(c.Close)
	return c
}

// whoami calls the whoami tool and decodes its answer.
func whoami(ctx context.Context, c *mcpclient.Client) identity {
	text, isErr, err := stack.CallTool(ctx, c, "whoami", nil)
	Expect(err).NotTo(HaveOccurred(), "%s; whoami failed", serverSaid())
	Expect(isErr).To(BeFalse(), "whoami answered a tool error: %s", text)
	var id identity
	Expect(json.Unmarshal([]byte(text), &id)).To(Succeed(), "whoami's answer is not JSON: %s", text)
	return id
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
		role := victimRole(victim.Tenant)
		all := map[string]string{
			"x-decided-role":    role,
			"x-source-identity": victim.SourceIdentity,
			"x-session-tags":    fmt.Sprintf(`[{"Key":"tenant","Value":%q}]`, victim.Tenant),
			"x-amzn-request-context": fmt.Sprintf(`{"authorizer":{"decidedRole":%q,"sourceIdentity":%q,"sessionTags":"[{\"Key\":\"tenant\",\"Value\":\"%s\"}]","lambda":{"x-decided-role":%q}}}`,
				role, victim.SourceIdentity, victim.Tenant, role),
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

			id := whoami(ctx, c)
			Expect(id.Tenant).To(Equal(alice.Tenant),
				"%s sent %v with her own token and whoami shows tenant %q: the forged headers reached the MCP server", alice.Name, names, id.Tenant)
			Expect(id.Role).NotTo(Equal(headers["x-decided-role"]), "whoami shows the forged role")
			Expect(id.Role).NotTo(Equal(victimRole(victim.Tenant)), "whoami shows %s's role", victim.Tenant)
			if alice.SourceIdentity != "" {
				Expect(id.SourceIdentity).To(Equal(alice.SourceIdentity), "whoami shows another source identity than the one derived from %s's token", alice.Name)
			}

			text, isErr, err := stack.CallTool(ctx, c, "get_object", map[string]any{"bucket": victim.Bucket, "key": "README.md"})
			Expect(err).NotTo(HaveOccurred())
			Expect(isErr).To(BeTrue(), "%s read %s's bucket %s with forged headers %v: %s", alice.Name, victim.Tenant, victim.Bucket, names, text)
			Expect(text).To(ContainSubstring("AccessDenied"), "reading %s's bucket failed, but not because AWS denied it", victim.Tenant)
		},
		func(names ...string) string {
			return "a user sending " + strings.Join(names, ", ") + " that claims another tenant still acts as herself and cannot read that tenant's bucket"
		},
		Entry(nil, "x-decided-role"),
		Entry(nil, "x-source-identity"),
		Entry(nil, "x-session-tags"),
		Entry(nil, "x-amzn-request-context"),
		Entry(nil, "x-decided-role", "x-source-identity", "x-session-tags", "x-amzn-request-context"),
	)

	fw.It("finding: the MCP server reached directly, bypassing the gateway, acts on forged identity headers without any token", fw.Needs(fw.CapDirectMCP), func() {
		direct, err := fw.Current().MCPDirectURL()
		Expect(err).NotTo(HaveOccurred())
		headers := forged("x-decided-role", "x-source-identity", "x-session-tags")
		delete(headers, "Authorization")
		c, err := stack.ConnectMCP(ctx, direct, headers)
		if err != nil {
			AddReportEntry("direct MCP access refused", fmt.Sprintf("%s refused a direct connection with forged headers: %v", direct, err))
			return
		}
		DeferCleanup(c.Close)
		text, isErr, err := stack.CallTool(ctx, c, "whoami", nil)
		if err != nil || isErr {
			AddReportEntry("direct MCP access refused", fmt.Sprintf("%s refused whoami with forged headers: %v %s", direct, err, text))
			return
		}
		var id identity
		_ = json.Unmarshal([]byte(text), &id)
		read, readErr, _ := stack.CallTool(ctx, c, "get_object", map[string]any{"bucket": victim.Bucket, "key": "README.md"})
		// In process there is no network to hide the MCP server behind; a container target has
		// no direct URL (no CapDirectMCP) and must make this unreachable.
		AddReportEntry("FINDING: direct MCP access with forged gateway headers is accepted",
			fmt.Sprintf("without a token, %s answered whoami as %s (tenant %s, role %s); get_object on %s (tool error %v): %.200s. "+
				"Only the network keeps clients away from the MCP server: it must listen where only the gateway's VPC link reaches it.",
				direct, id.Arn, id.Tenant, id.Role, victim.Bucket, readErr, read))
	})
})
