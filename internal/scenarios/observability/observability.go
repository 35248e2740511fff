// Package observability is the suite of audit and operations signals: every AssumeRole made for
// a user is in CloudTrail under the user's source identity, every authorization decision is
// logged with who, which tenant, which role and tags, the decision and a request id, tokens
// never reach a log, and denials and STS errors move the MCP server's metrics.
package observability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	mcpclient "github.com/mark3labs/mcp-go/client"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// user is the first test user with (tenant true) or without (false) a tenant; a user mapped to
// another tenant than not when not is given.
func user(withTenant bool, not string) fw.User {
	for _, u := range fw.Current().Users() {
		if withTenant == (u.Tenant != "") && (not == "" || u.Tenant != not) && (!withTenant || u.Bucket != "") {
			return u
		}
	}
	Skip(fmt.Sprintf("target %s has no such test user (tenant: %v, not %q)", fw.Current().Name(), withTenant, not))
	return fw.User{}
}

// logLines are the components' log lines decoded, from index from on.
func logLines(from int) []map[string]any {
	lines, err := fw.Current().Logs()
	Expect(err).NotTo(HaveOccurred())
	var out []map[string]any
	for _, s := range lines[min(from, len(lines)):] {
		var l map[string]any
		if json.Unmarshal([]byte(s), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

func logCount() int {
	lines, err := fw.Current().Logs()
	Expect(err).NotTo(HaveOccurred())
	return len(lines)
}

// serverSaid is why the MCP server refused the latest request, from the log (CapLogs), so that
// a failure says it, e.g. the garbage the seed profile's hyphenated context keys forward.
func serverSaid() string {
	if !fw.Has(fw.Current(), fw.CapLogs) {
		return "the request failed"
	}
	lines, err := fw.Current().Logs()
	if err != nil {
		return "the request failed"
	}
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-40; i-- {
		var l map[string]any
		if json.Unmarshal([]byte(lines[i]), &l) != nil || l["msg"] != "request refused" {
			continue
		}
		said := fmt.Sprint(l["error"])
		if strings.Contains(said, `"-decided-role"`) {
			return `the gateway forwarded "x-decided-role: -decided-role" (the hyphenated context key in $context.authorizer.x-decided-role does not parse), so the MCP server refused the request: ` + said
		}
		return "the MCP server refused the request: " + said
	}
	return "the request failed (no refusal logged)"
}

// connect opens an MCP client as u through the gateway, closed after the spec.
func connect(ctx context.Context, u fw.User) *mcpclient.Client {
	token, err := fw.Current().Token(ctx, u.Name)
	Expect(err).NotTo(HaveOccurred())
	c, err := fw.ConnectMCP(ctx, fw.Current().MCPURL(), map[string]string{"Authorization": "Bearer " + token})
	Expect(err).NotTo(HaveOccurred(), "%s; %s's valid request never reached a tool", serverSaid(), u.Name)
	DeferCleanup(c.Close)
	return c
}

// call runs the target's probe of op and fails the spec unless it got an answer (a tool error
// is returned, not failed).
func call(ctx context.Context, c *mcpclient.Client, op fw.Op, v fw.ProbeVars) fw.ProbeResult {
	r, err := fw.CallProbe(ctx, c, op, v)
	Expect(err).NotTo(HaveOccurred(), "%s; %s failed", serverSaid(), op)
	return r
}

// postMCP sends one JSON-RPC request to the MCP URL with an Authorization header, whatever the
// answer.
func postMCP(ctx context.Context, authorization string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fw.Current().MCPURL(),
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
}

// pathOf is the path of a URL, which a context proof covers.
func pathOf(raw string) string {
	u, err := neturl.Parse(raw)
	Expect(err).NotTo(HaveOccurred())
	return u.Path
}

// scrape sums a counter's series whose labels contain every one of match (`action="s3:GetObject"`).
func scrape(ctx context.Context, name string, match ...string) float64 {
	url, err := fw.Current().MetricsURL()
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "scraping %s", url)
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		matched := true
		for _, m := range match {
			matched = matched && strings.Contains(series, m)
		}
		if !matched {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		Expect(err).NotTo(HaveOccurred(), "metric line %q", line)
		sum += v
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	return sum
}

var _ = fw.Describe("Observability", fw.Observability, func() {
	var ctx context.Context
	BeforeEach(func() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		DeferCleanup(cancel)
	})

	fw.ConformanceIt("records every AssumeRole made for a user in CloudTrail with the user's source identity", fw.Needs(fw.CapCloudTrail), func() {
		alice := user(true, "")
		start := time.Now().Add(-time.Second).Truncate(time.Second) // CloudTrail has second precision
		c := connect(ctx, alice)
		r := call(ctx, c, fw.OpWhoami, fw.ProbeVars{})
		Expect(r.OK()).To(BeTrue(), "%s", r)
		who, err := r.Identity()
		Expect(err).NotTo(HaveOccurred(), "%s", r)
		_, roleName, _, ok := who.AssumedRole()
		Expect(ok).To(BeTrue(), "whoami as %s: the tools ran as %q, not as an assumed-role session", alice.Name, who.ARN)
		want := alice.SourceIdentity
		if want == "" {
			want = who.SourceIdentity
		}
		Expect(want).NotTo(BeEmpty(), "neither the target nor whoami knows %s's source identity", alice.Name)

		var events []fw.TrailEvent
		Eventually(func(g Gomega) {
			var err error
			events, err = fw.Current().CloudTrail(ctx, fw.TrailFilter{EventName: "AssumeRole", EventSource: "sts.amazonaws.com", Start: start})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(events).NotTo(BeEmpty(), "no AssumeRole record since %s", start)
		}).WithContext(ctx).WithTimeout(20 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		var forUser int
		for _, e := range events {
			var p struct {
				RoleArn        string `json:"roleArn"`
				SourceIdentity string `json:"sourceIdentity"`
			}
			_ = json.Unmarshal(e.RequestParameters, &p)
			if e.UserIdentity.Type != "AssumedRole" || !strings.HasSuffix(p.RoleArn, "/"+roleName) || e.ErrorCode != "" {
				continue // the platform's own AssumeRole for the task role, another user's role, or a refused call (no session)
			}
			Expect(p.SourceIdentity).NotTo(BeEmpty(),
				"AssumeRole of %s (event %s) carries no sourceIdentity: CloudTrail cannot tell which user it was for", p.RoleArn, e.EventID)
			if p.SourceIdentity == want {
				forUser++
			}
		}
		Expect(forUser).To(BeNumerically(">", 0),
			"none of the %d AssumeRole records since %s carries %s's source identity %q", len(events), start, alice.Name, want)
	})

	DescribeTable("logs every authorization decision with the subject, tenant, role, session tags, decision and request id:", Label(string(fw.Conformance), "needs:"+string(fw.CapLogs)),
		func(allowed bool) {
			fw.Require(fw.CapLogs)
			u := user(allowed, "")
			token, err := fw.Current().Token(ctx, u.Name)
			Expect(err).NotTo(HaveOccurred())
			from := logCount()
			postMCP(ctx, "Bearer "+token)

			var decisions []map[string]any
			Eventually(func() []map[string]any {
				decisions = nil
				for _, l := range logLines(from) {
					if l["msg"] == "authorization decision" {
						decisions = append(decisions, l)
					}
				}
				return decisions
			}).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).ShouldNot(BeEmpty(),
				"no \"authorization decision\" line was logged for %s's request", u.Name)
			Expect(decisions).To(HaveLen(1), "one request, one decision")
			d := decisions[0]
			Expect(d).To(HaveKeyWithValue("sub", Not(BeEmpty())), "the decision does not say whose token it was")
			Expect(d).To(HaveKeyWithValue("request_id", Not(BeEmpty())), "the decision has no request id to correlate with the gateway's access log")
			if u.SourceIdentity != "" {
				Expect(d).To(HaveKeyWithValue("source_identity", u.SourceIdentity))
			}
			if allowed {
				Expect(d).To(HaveKeyWithValue("decision", "allow"))
				Expect(d).To(HaveKeyWithValue("tenant", u.Tenant))
				Expect(d).To(HaveKeyWithValue("role_arn", HavePrefix("arn:aws:iam::")))
				Expect(d).To(HaveKeyWithValue("tags", ContainElement(HaveKeyWithValue("Value", u.Tenant))),
					"the logged session tags do not carry the tenant")
			} else {
				Expect(d).To(HaveKeyWithValue("decision", "deny"))
				Expect(d).To(HaveKeyWithValue("reason", Not(BeEmpty())), "a denial must say why")
			}
		},
		Entry("a user mapped to a tenant is allowed", true),
		Entry("a valid login with no mapping is denied", false),
	)

	fw.ConformanceIt("never writes a token into any log, whether the gateway accepts it or not", fw.Needs(fw.CapLogs), func() {
		alice := user(true, "")
		token, err := fw.Current().Token(ctx, alice.Name)
		Expect(err).NotTo(HaveOccurred())
		parts := strings.Split(token, ".")
		Expect(parts).To(HaveLen(3), "the target's tokens are not JWTs")
		signature := parts[2]
		Expect(len(signature)).To(BeNumerically(">=", 16))

		postMCP(ctx, "Bearer "+token)                     // accepted
		postMCP(ctx, "Bearer "+token+"x")                 // rejected: signature tampered
		postMCP(ctx, "Bearer "+parts[0]+"."+parts[1]+".") // rejected: no signature
		if c, err := fw.ConnectMCP(ctx, fw.Current().MCPURL(), map[string]string{"Authorization": "Bearer " + token}); err == nil {
			_, _ = fw.CallProbe(ctx, c, fw.OpWhoami, fw.ProbeVars{})
			_ = c.Close()
		}

		lines, err := fw.Current().Logs()
		Expect(err).NotTo(HaveOccurred())
		Expect(lines).NotTo(BeEmpty())
		for i, l := range lines {
			Expect(strings.Contains(l, signature)).To(BeFalse(),
				"log line %d holds %s's token signature (a replayable token is in the logs): %.160s…", i, alice.Name, strings.ReplaceAll(l, signature, "<SIGNATURE>"))
		}
	})

	fw.ConformanceIt("counts a cross-tenant read that AWS denies in access_denied_total", fw.Needs(fw.CapMetrics), func() {
		alice := user(true, "")
		victim := user(true, alice.Tenant)
		c := connect(ctx, alice)
		before := scrape(ctx, "access_denied_total")
		r := call(ctx, c, fw.OpRead, fw.ProbeVars{Bucket: victim.Bucket, Key: "README.md"})
		Expect(r.OK()).To(BeFalse(), "%s read %s's bucket %s: %s", alice.Name, victim.Tenant, victim.Bucket, r)
		Expect(r.Denied()).To(BeTrue(), "want %s, got %s", r.DenialRule(), r)
		Eventually(func() float64 { return scrape(ctx, "access_denied_total") }).
			WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).Should(BeNumerically(">", before),
			"access_denied_total did not grow after AWS denied %s's read of %s", alice.Name, victim.Bucket)
	})

	fw.It("counts an AssumeRole that STS refuses in sts_assume_role_total", fw.Needs(fw.CapMetrics), fw.Needs(fw.CapDirectMCP), fw.Needs(fw.CapProveContext), func() {
		// Only the gateway decides roles, so the refused AssumeRole is provoked directly at the
		// MCP server, with a context proven as the authorizer would: a role whose trust policy
		// does not let the task role in.
		direct, err := fw.Current().MCPDirectURL()
		Expect(err).NotTo(HaveOccurred())
		accounts := fw.Current().Accounts()
		Expect(accounts).NotTo(BeEmpty())
		role := "arn:aws:iam::" + accounts[len(accounts)-1] + ":role/mcpsso-no-such-role"
		before := scrape(ctx, "sts_assume_role_total")
		beforeOK := scrape(ctx, "sts_assume_role_total", `result="ok"`)
		h := http.Header{}
		h.Set("X-Decided-Role", role)
		h.Set("X-Source-Identity", "usr-observability-probe")
		h.Set("X-Session-Tags", `[{"Key":"tenant","Value":"probe"}]`)
		Expect(fw.Current().ProveContext(http.MethodPost, pathOf(direct), h)).To(Succeed())
		r, err := fw.PostMCP(ctx, direct, h, fw.WhoamiCall)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ToolRan()).To(BeTrue(), "%s; the direct MCP URL refused the proven probe (HTTP %d %.300s)", serverSaid(), r.Status, r.Body)
		Expect(r.Body).To(ContainSubstring(`"isError":true`), "assuming %s succeeded: %.300s", role, r.Body)
		Eventually(func() float64 {
			return scrape(ctx, "sts_assume_role_total") - scrape(ctx, "sts_assume_role_total", `result="ok"`)
		}).
			WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).Should(BeNumerically(">", before-beforeOK),
			"sts_assume_role_total{result!=\"ok\"} did not grow after STS refused %s (the tool said: %.200s)", role, r.Body)
	})

	// A request at the MCP server's own port without the gateway's proof is an attack or a
	// misrouted client: operators alarm on it.
	fw.It("counts a request that reaches the MCP server directly without a context proof in http_requests_refused_total", fw.Needs(fw.CapMetrics), fw.Needs(fw.CapDirectMCP), func() {
		direct, err := fw.Current().MCPDirectURL()
		Expect(err).NotTo(HaveOccurred())
		before := scrape(ctx, "http_requests_refused_total", `reason="missing_context_proof"`)
		h := http.Header{}
		h.Set("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-probe")
		h.Set("X-Source-Identity", "usr-observability-probe")
		h.Set("X-Session-Tags", `[{"Key":"tenant","Value":"probe"}]`)
		r, err := fw.PostMCP(ctx, direct, h, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() float64 { return scrape(ctx, "http_requests_refused_total", `reason="missing_context_proof"`) }).
			WithTimeout(2*time.Second).WithPolling(200*time.Millisecond).Should(BeNumerically(">", before),
			"http_requests_refused_total{reason=\"missing_context_proof\"} did not grow after a direct request without a proof (HTTP %d %.200s)", r.Status, r.Body)
	})
})
