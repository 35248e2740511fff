package framework

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Requirement is one thing a deployment of the pattern must do, as a deployment owner reads it,
// with where it is written. Each conformance spec checks exactly one requirement; the report
// groups the specs under it.
type Requirement struct {
	// ID is short and stable: it names the requirement in JUnit and in the Markdown summary.
	ID string
	// Title says what must hold.
	Title string
	// Reference is where it is written: spec sections, RFCs, AWS documentation pages by title,
	// and the tutorial mistakes (docs/concepts.md) that break it.
	Reference string
	// URL is the page of the first reference, if it has one.
	URL string

	specs, except []*regexp.Regexp
}

// matches reports whether the spec's plain name (SpecName) is one this requirement checks.
func (r *Requirement) matches(name string) bool {
	hit := slices.ContainsFunc(r.specs, func(re *regexp.Regexp) bool { return re.MatchString(name) })
	return hit && !slices.ContainsFunc(r.except, func(re *regexp.Regexp) bool { return re.MatchString(name) })
}

// requirement builds a catalogue entry: specs are regular expressions on the spec's plain name
// (SpecName: its containers' and its own text, without [tags]); a name that also matches an
// except expression is not this requirement's.
func requirement(id, title, reference, url string, specs []string, except ...string) Requirement {
	r := Requirement{ID: id, Title: title, Reference: reference, URL: url}
	for _, s := range specs {
		r.specs = append(r.specs, regexp.MustCompile(s))
	}
	for _, s := range except {
		r.except = append(r.except, regexp.MustCompile(s))
	}
	return r
}

// Where the references live.
const (
	mcpAuthz      = "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization"
	mcpTransports = "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports"
	iamGuide      = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
	apigwGuide    = "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
)

// Requirements is the catalogue, in the order the report shows it: the auth surface a client
// meets, token validation, the transport, the gateway's decided context, the AWS side (trust
// policies, tenant isolation), observability, and real clients end to end. A new conformance
// spec must be placed under exactly one of them (TestEveryConformanceSpecHasOneRequirement in
// internal/scenarios/all fails otherwise).
var Requirements = []Requirement{
	requirement("challenge",
		"A request without a token is answered 401 with a Bearer challenge whose resource_metadata serves the MCP URL's metadata",
		"MCP authorization 2025-11-25 §Protected Resource Metadata Discovery Requirements; RFC 9728 §5.1; tutorial mistake 5",
		mcpAuthz+"#protected-resource-metadata-discovery-requirements",
		[]string{`^The 401 bootstrap answers a request without a token `, `^The 401 bootstrap names in its challenge a resource metadata URL `}),
	requirement("resource-metadata",
		"The protected resource metadata is served without a token at the well-known URL, its resource equal to the MCP URL",
		"MCP authorization 2025-11-25 §Authorization Server Location; RFC 9728 §3; tutorial mistake 5",
		mcpAuthz+"#authorization-server-location",
		[]string{`^The 401 bootstrap serves the protected resource metadata `}),
	requirement("as-metadata",
		"The authorization server's metadata is discoverable from the resource metadata (RFC 8414 or OpenID discovery) and advertises PKCE S256",
		"MCP authorization 2025-11-25 §Authorization Server Metadata Discovery, §Authorization Code Protection; tutorial mistake 5",
		mcpAuthz+"#authorization-server-metadata-discovery",
		[]string{`^The 401 bootstrap makes its authorization server's metadata discoverable `}),
	requirement("as-listed",
		"Every authorization server the resource metadata lists serves its metadata without a token and names itself as issuer",
		"RFC 9728 §2; RFC 8414 §3.3",
		"https://datatracker.ietf.org/doc/html/rfc9728#section-2",
		[]string{`^The 401 bootstrap lists in its protected resource metadata only authorization servers whose metadata is reachable `}),
	requirement("https",
		"The MCP URL is HTTPS (plain HTTP only on loopback), so bearer tokens never cross a network in clear",
		"OAuth 2.1 §1.5; MCP authorization 2025-11-25 §Communication Security",
		"https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-1.5",
		[]string{`^The 401 bootstrap is reached over HTTPS`}),
	requirement("bearer-header",
		"A token counts only in the Authorization header under the Bearer scheme: one in the query string or under another scheme gets the 401 challenge",
		"MCP authorization 2025-11-25 §Token Requirements; RFC 6750 §2.1; tutorial mistake 5",
		mcpAuthz+"#token-requirements",
		[]string{`^The 401 bootstrap ignores a valid token in the query string`, `^The 401 bootstrap answers a valid token under a scheme other than Bearer `}),
	requirement("invalid-token",
		`An invalid token (garbage, expired, not yet valid, unsigned, tampered, signed by an unknown key, of another issuer or kind) is answered 401 with error="invalid_token" and the resource metadata`,
		"MCP authorization 2025-11-25 §Token Handling; RFC 6750 §3.1; tutorial mistake 5",
		"https://datatracker.ietf.org/doc/html/rfc6750#section-3.1",
		[]string{`^The 401 bootstrap answers a garbage bearer token `, `^The 401 bootstrap answers a forged token with 401 `,
			`^Attacks refused answer .* with 401 and an invalid_token challenge naming the resource metadata`},
		`: wrong-audience$`),
	requirement("audience",
		"A token is accepted only for this MCP server: one for another audience is refused, one a spec-following client obtains for the MCP URL (RFC 8707 resource) is accepted",
		"RFC 8707 §2; MCP authorization 2025-11-25 §Token Audience Binding and Validation; tutorial mistake 5",
		mcpAuthz+"#token-audience-binding-and-validation",
		[]string{`^The 401 bootstrap answers a forged token with 401 .*: wrong-audience$`, `^The 401 bootstrap accepts a token obtained as a spec-following MCP client `,
			`^The 401 bootstrap refuses with 401 and an invalid_token challenge a token its own IdP signed for another resource`}),
	requirement("scope-challenge",
		"A valid token lacking a scope the deployment declares is answered 403 with an insufficient_scope challenge naming the scopes and the resource metadata",
		"MCP authorization 2025-11-25 §Scope Challenge Handling; RFC 6750 §3.1",
		mcpAuthz+"#scope-challenge-handling",
		[]string{`^The 401 bootstrap answers a valid token lacking the scopes it declares with 403 `}),
	requirement("token-claims",
		"A validly signed token with a claim the deployment must not act on (no subject, a malformed tenant) gets no success and runs no tool",
		"MCP authorization 2025-11-25 §Access Token Privilege Restriction; OAuth 2.1 §5.2",
		mcpAuthz+"#access-token-privilege-restriction",
		[]string{`^The 401 bootstrap never answers a signature-valid token with a claim it must not act on `}),
	requirement("jwt-algorithm",
		"A token is verified only with the algorithm the IdP signs with: an HS256 token keyed with the IdP's public key is refused",
		"RFC 8725 §3.1 (JWT best current practices: perform algorithm verification)",
		"https://datatracker.ietf.org/doc/html/rfc8725#section-3.1",
		[]string{`^Attacks refused refuse a token HMAC-signed \(HS256\) with the IdP's public key `}),
	requirement("jwt-header-keys",
		"A token's header never chooses the key it is verified with: an injected kid, or a key or key URL the token names (jku, x5u, jwk, x5c), is refused and never fetched",
		"RFC 8725 §3.10 (JWT best current practices: do not trust received claims); RFC 7515 §4.1",
		"https://datatracker.ietf.org/doc/html/rfc8725#section-3.10",
		[]string{`^Attacks refused refuse a token whose kid is an injection`, `^Attacks refused never fetch or trust a key the token names itself`}),
	requirement("one-authorization",
		"A request with two Authorization headers is refused, whatever they hold",
		"RFC 9110 §5.3; RFC 6750 §2.1",
		"https://www.rfc-editor.org/rfc/rfc9110#section-5.3",
		[]string{`^Attacks refused refuse a request with two Authorization headers`}),
	requirement("size-limits",
		"A request over a size limit is refused with the status that says why (413, 414, 431; 401 or 403 for an oversized token) and runs no tool",
		"API Gateway Developer Guide: Amazon API Gateway quotas (HTTP API request line and headers 10 KB, payload 10 MB)",
		apigwGuide+"limits.html",
		[]string{`^Attacks refused refuse a request over a size limit `, `^The 401 bootstrap refuses a token over the request header limit `}),
	requirement("origin",
		"A request from a disallowed Origin is refused with 403 (DNS rebinding)",
		"MCP transports 2025-11-25 §Security Warning",
		mcpTransports+"#security-warning",
		[]string{`^The MCP transport refuses a request with a valid token from a disallowed Origin `}),
	requirement("protocol-versions",
		"A user reaches the tools through the gateway speaking either protocol: 2025-11-25 (initialize handshake) and 2026-07-28 (stateless, MCP-Protocol-Version, Mcp-Method and Mcp-Name headers)",
		"MCP transports 2025-11-25 §Protocol Version Header; MCP transports 2026-07-28",
		mcpTransports+"#protocol-version-header",
		[]string{`^The MCP transport lets a user call whoami through the gateway with a valid token, speaking protocol `}),
	requirement("sessions",
		"A session id is never a credential: one user's Mcp-Session-Id is refused with another user's token",
		"MCP transports 2025-11-25 §Session Management; MCP security best practices §Session Hijacking",
		"https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#session-hijacking",
		[]string{`^The MCP transport refuses one user's Mcp-Session-Id `, `^The MCP transport never lets a session id carry one user's identity `}),
	requirement("client-headers",
		"Identity headers a client sends (x-decided-role, x-source-identity, x-session-tags, x-amzn-request-context) never change the gateway's decision",
		"API Gateway Developer Guide: Transform API requests and responses for HTTP APIs (parameter mapping, overwrite:header)",
		apigwGuide+"http-api-parameter-mapping.html",
		[]string{`^Spoofed gateway headers never change the gateway's decision`}),
	requirement("context-proof",
		"The MCP server acts on the gateway's decided headers only with the authorizer's proof: a direct request with forged headers and no, a made-up, another context's or a used proof is refused and makes no AWS call",
		"the pattern's decided context and its proof, x-context-proof (docs/components/mcp-server.md §Proven context); the tutorial's MCP server believes whoever reaches its port",
		"",
		[]string{`^Spoofed gateway headers refuse a request that reaches the MCP server directly`, `^Spoofed gateway headers make no AWS call for a request that reaches the MCP server directly`}),
	requirement("user-session",
		"The tools run for each user as an assumed-role session of the user's own target role, with a usr- source identity and the user's tenant",
		"IAM User Guide: Monitor and control actions taken with assumed roles (source identity); Pass session tags in AWS STS",
		iamGuide+"id_credentials_temp_control-access_monitor.html",
		[]string{`^Trust policies through the MCP server gives every mapped user `}),
	requirement("trust-allows",
		"A target role's trust policy lets the task role assume it with a usr- source identity and the tenant tag alone",
		"AWS STS trust policy: sts:SourceIdentity, sts:TagSession, aws:TagKeys (IAM User Guide: Pass session tags in AWS STS); tutorial mistake 1",
		iamGuide+"id_session-tags.html",
		[]string{`^Trust policies let the task role assume a target role with a usr- source identity `}),
	requirement("task-role-policy",
		"The task role's own policy allows sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity on the target roles",
		"AWS STS: sts:SetSourceIdentity (IAM User Guide: Monitor and control actions taken with assumed roles); tutorial mistake 2",
		iamGuide+"id_credentials_temp_control-access_monitor.html",
		[]string{`^Trust policies let the task role's own policy call `}),
	requirement("trust-refuses",
		"A target role's trust policy refuses an AssumeRole without a usr- source identity, without the tenant tag, or with any other tag key",
		"AWS STS trust policy: sts:SourceIdentity, aws:TagKeys, aws:RequestTag (IAM User Guide: Pass session tags in AWS STS); tutorial mistakes 1 and 3",
		iamGuide+"id_session-tags.html",
		[]string{`^Trust policies refuse an AssumeRole by the task role `, `^Trust policies refuse an extra session tag key `}),
	requirement("trust-tenant",
		"A tenant's target role trusts only its own tenant's tag",
		"AWS STS trust policy: aws:RequestTag/tenant with StringEquals (IAM User Guide: Pass session tags in AWS STS)",
		iamGuide+"id_session-tags.html",
		[]string{`^Trust policies refuse a tenant's target role assumed with another tenant's tag`}),
	requirement("trust-principal",
		"Only the MCP server's task role may assume a target role: not the account's administrator, not another role of this account or another",
		"AWS STS trust policy: Principal (IAM User Guide: Policy evaluation logic; Roles terms and concepts)",
		iamGuide+"reference_policies_evaluation-logic.html",
		[]string{`^Trust policies let only the task role assume a target role`}),
	requirement("role-chaining",
		"A chained session keeps the user's source identity and cannot change it",
		"AWS STS: sts:SourceIdentity in role chaining (IAM User Guide: Monitor and control actions taken with assumed roles)",
		iamGuide+"id_credentials_temp_control-access_monitor.html",
		[]string{`^Trust policies role chaining `}),
	requirement("tenant-isolation",
		"Each user lists, reads and writes their own tenant's bucket through the tools, and is denied (AccessDenied) every other tenant's",
		"ABAC on aws:PrincipalTag/tenant (IAM User Guide: Pass session tags in AWS STS)",
		iamGuide+"id_session-tags.html",
		[]string{`^Tenant isolation lets every mapped user `, `^Tenant isolation denies every user `}),
	requirement("cross-account",
		"A session of another AWS account that tags itself with a victim's tenant is denied the victim's bucket",
		"IAM User Guide: AWS global condition context keys (aws:PrincipalAccount); Policy evaluation logic (cross-account); tutorial mistake 4",
		iamGuide+"reference_policies_condition-keys.html",
		[]string{`^Tenant isolation denies a session of another account that tags itself with a victim's tenant`}),
	requirement("cloudtrail",
		"Every AssumeRole made for a user is recorded in CloudTrail with the user's source identity",
		"AWS STS: sts:SourceIdentity in CloudTrail (IAM User Guide: Monitor and control actions taken with assumed roles)",
		iamGuide+"id_credentials_temp_control-access_monitor.html",
		[]string{`^Observability records every AssumeRole made for a user in CloudTrail`, `^Trust policies through the MCP server records each user's AssumeRole `}),
	requirement("decision-log",
		"Every authorization decision is logged with the subject, tenant, role, session tags, decision and request id",
		"the pattern's decision log (docs/components/authorizer.md §What it checks: observability)",
		"",
		[]string{`^Observability logs every authorization decision `}),
	requirement("no-token-in-logs",
		"No token is ever written into a log, accepted or refused",
		"MCP authorization 2025-11-25 §Token Theft",
		mcpAuthz+"#token-theft",
		[]string{`^Observability never writes a token into any log`}),
	requirement("denial-metrics",
		"A request AWS denies is counted (access_denied_total), so operators can alarm on it",
		"the pattern's metrics (docs/components/mcp-server.md §Observability)",
		"",
		[]string{`^Observability counts a cross-tenant read that AWS denies `}),
	requirement("real-clients",
		"Real MCP clients (the official go-sdk, mcp-go) sign in from the bare MCP URL, use the tools as the user and refresh their token",
		"MCP authorization 2025-11-25 §Authorization Flow Steps, §Client Registration Approaches; tutorial mistake 5",
		mcpAuthz+"#authorization-flow-steps",
		[]string{`^Real MCP clients `}),
}

// tagRE matches the [tag] fw.It and fw.EntryText append to a spec's text for each label.
var tagRE = func() *regexp.Regexp {
	names := make([]string, 0, len(KnownLabels)+1)
	for _, l := range KnownLabels {
		names = append(names, regexp.QuoteMeta(string(l)))
	}
	names = append(names, `needs:[a-z0-9-]+`)
	return regexp.MustCompile(` \[(?:` + strings.Join(names, "|") + `)\]`)
}()

// SpecName is the spec's full text (its containers' and its own) without the [tags] the labels
// put there, so that adding a label to a spec does not move it to another requirement.
func SpecName(sr types.SpecReport) string {
	return tagRE.ReplaceAllString(sr.FullText(), "")
}

// IsConformance reports whether the spec carries the conformance label, on itself or on a
// container.
func IsConformance(sr types.SpecReport) bool {
	return slices.Contains(sr.Labels(), string(Conformance))
}

// requirementsOf are the catalogue entries whose expressions match the spec.
func requirementsOf(sr types.SpecReport) []*Requirement {
	name := SpecName(sr)
	var out []*Requirement
	for i := range Requirements {
		if Requirements[i].matches(name) {
			out = append(out, &Requirements[i])
		}
	}
	return out
}

// RequirementOf is the requirement a conformance spec checks, or nil for a spec without the
// conformance label or one the catalogue does not place (exactly once).
func RequirementOf(sr types.SpecReport) *Requirement {
	if sr.LeafNodeType != types.NodeTypeIt || !IsConformance(sr) {
		return nil
	}
	if rs := requirementsOf(sr); len(rs) == 1 {
		return rs[0]
	}
	return nil
}

// CheckPlacement checks the catalogue against every spec of a report (a preview or a dry run of
// the registered suites): each conformance spec must match exactly one requirement, and each
// requirement at least one spec. The error names every spec and requirement at fault.
func CheckPlacement(r types.Report) error {
	var problems []string
	used := map[string]bool{}
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		rs := requirementsOf(sr)
		for _, req := range rs {
			used[req.ID] = true
		}
		if !IsConformance(sr) {
			continue
		}
		switch len(rs) {
		case 1:
		case 0:
			problems = append(problems, fmt.Sprintf("conformance spec %q (%s) is under no requirement: add it to a requirement's expressions in internal/scenarios/framework/requirements.go, or a requirement for it",
				SpecName(sr), sr.LeafNodeLocation))
		default:
			ids := make([]string, len(rs))
			for i, req := range rs {
				ids[i] = req.ID
			}
			problems = append(problems, fmt.Sprintf("conformance spec %q (%s) is under %d requirements (%s): narrow their expressions so one matches",
				SpecName(sr), sr.LeafNodeLocation, len(rs), strings.Join(ids, ", ")))
		}
	}
	for _, req := range Requirements {
		if !used[req.ID] {
			problems = append(problems, fmt.Sprintf("requirement %s matches no spec: its specs were renamed or removed", req.ID))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the requirement catalogue does not fit the specs:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
