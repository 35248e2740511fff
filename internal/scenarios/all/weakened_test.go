package all_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/all"
	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	"github.com/mcpsso/mcpsso/internal/scenarios/targets"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// envVariant names the variant a child run of TestTheSuitesCatchEachWeakness judges.
const envVariant = "MCPSSO_WEAKENED_VARIANT"

// unpinnedTrust is the reference target-role trust policy as it was before tenant pinning: a
// tenant tag must be present (Null), but any tenant's will do.
const unpinnedTrust = `{"Version":"2012-10-17","Statement":[
 {"Sid":"AssumeForOneUserOfOneTenant","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<acct>:role/<ecsTaskRole>"},"Action":"sts:AssumeRole",
  "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"},"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:RequestTag/tenant":"false"}}},
 {"Sid":"SetUsrSourceIdentity","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<acct>:role/<ecsTaskRole>"},"Action":"sts:SetSourceIdentity",
  "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"}}},
 {"Sid":"TagOnlyTenant","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<acct>:role/<ecsTaskRole>"},"Action":"sts:TagSession",
  "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:RequestTag/tenant":"false"}}}]}`

// variants are the reference with one weakness of issue 16 put back, and the specs that must
// fail on it — those and no others.
var variants = map[string]struct {
	start func(ctx context.Context, dir string) (fw.Target, error)
	fail  []string // regular expressions of spec names
	// says are regular expressions each of which some failed spec's message must match: the
	// failure names the fix.
	says []string
}{
	// An IdP whose metadata lacks code_challenge_methods_supported (Cognito's) without the
	// deployment's own authorization server metadata: strict MCP clients refuse to sign in.
	"idp-without-pkce-methods": {
		start: func(ctx context.Context, _ string) (fw.Target, error) {
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithIdPProfile("cognito"), stack.WithoutAuthorizationServerMetadata())
		},
		fail: []string{
			`^The 401 bootstrap \[bootstrap\] makes its authorization server's metadata discoverable the MCP way, advertising S256 PKCE `,
			`^Real MCP clients \[clients\] the official go-sdk client .* a pre-registered public client$`,
		},
		says: []string{`serve the deployment's own RFC 8414 metadata, a copy of the IdP's with code_challenge_methods_supported \["S256"\]`,
			`does not implement PKCE`},
	},
	// The MCP server believes the decided headers of any caller that reaches its port.
	"unproven-context": {
		start: func(ctx context.Context, _ string) (fw.Target, error) {
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithoutContextProof())
		},
		fail: []string{
			`^Spoofed gateway headers \[spoofing\] refuse a request that reaches the MCP server directly, bypassing the gateway, with another tenant's decided headers, no token and no proof `,
			`^Spoofed gateway headers \[spoofing\] refuse a request that reaches the MCP server directly, bypassing the gateway, with another tenant's decided headers, no token and a made-up proof `,
			`^Spoofed gateway headers \[spoofing\] refuse a request that reaches the MCP server directly, bypassing the gateway, with another tenant's decided headers, no token and the proof of the user's own context `,
			`^Spoofed gateway headers \[spoofing\] refuse a request that reaches the MCP server directly, bypassing the gateway, with another tenant's decided headers, no token and a proof already used `,
			`^Spoofed gateway headers \[spoofing\] make no AWS call for a request that reaches the MCP server directly with forged decided headers and no token `,
			`^Observability \[observability\] counts a request that reaches the MCP server directly without a context proof `,
		},
	},
	// The authorizer reads tokens without verifying their signature: every forgery that keeps
	// acceptable claims is taken (the claims are still checked: another issuer's token is
	// refused for its iss, a changed tenant for its mapping).
	"unverified-signature": {
		start: func(ctx context.Context, _ string) (fw.Target, error) {
			// Each forgery it takes runs a tool as the user, spending her per-minute budget: a
			// larger one keeps later specs from failing for rate_limited instead of the weakness.
			f := fixture.Default()
			for i := range f.Mappings {
				f.Mappings[i].Limits.RequestsPerMinute *= 10
			}
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithFixture(f), stack.WithoutSignatureVerification())
		},
		fail: []string{
			`^Attacks refused \[adversarial\] refuse a token HMAC-signed \(HS256\) with the IdP's public key as the secret \(alg confusion\), the key as PEM \(SubjectPublicKeyInfo\)$`,
			`^Attacks refused \[adversarial\] refuse a token HMAC-signed \(HS256\) with the IdP's public key as the secret \(alg confusion\), the key as PEM \(PKCS #1; for an EC key its SEC 1 point\)$`,
			`^Attacks refused \[adversarial\] refuse a token HMAC-signed \(HS256\) with the IdP's public key as the secret \(alg confusion\), the key as DER \(SubjectPublicKeyInfo\)$`,
			`^Attacks refused \[adversarial\] refuse a token HMAC-signed \(HS256\) with the IdP's public key as the secret \(alg confusion\), the key as JWK, as the JWKS serves it$`,
			`^Attacks refused \[adversarial\] refuse a token whose kid is an injection: a path to /dev/null`,
			`^Attacks refused \[adversarial\] refuse a token whose kid is an injection: SQL that selects a known secret`,
			`^Attacks refused \[adversarial\] refuse a token whose kid is an injection: a shell command`,
			`^Attacks refused \[adversarial\] refuse a token whose kid is an injection: the URL of the attacker's JWKS`,
			`^Attacks refused \[adversarial\] never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its jku \(a JWKS URL\)$`,
			`^Attacks refused \[adversarial\] never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its x5u \(a certificate URL\)$`,
			`^Attacks refused \[adversarial\] never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its jwk \(the key itself\)$`,
			`^Attacks refused \[adversarial\] never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its x5c \(a certificate chain\)$`,
			`^Attacks refused \[adversarial\] answer an unsigned token with 401 .*: alg "none" with an empty signature part`,
			`^Attacks refused \[adversarial\] answer an unsigned token with 401 .*: alg "none" without a signature part`,
			`^Attacks refused \[adversarial\] answer an unsigned token with 401 .*: alg "none" with the original signature left in place`,
			`^Attacks refused \[adversarial\] answer an unsigned token with 401 .*: alg "None"$`,
			`^Attacks refused \[adversarial\] answer an unsigned token with 401 .*: alg "NONE"$`,
			`^Attacks refused \[adversarial\] answer a token signed with a key that is not the IdP's with 401 .*: a fresh key, under the IdP's own kid`,
			`^Attacks refused \[adversarial\] answer a token signed with a key that is not the IdP's with 401 .*: a fresh key, under a kid the IdP never published`,
			`^Attacks refused \[adversarial\] answer a token whose claims were changed under the IdP's signature with 401 .*: sub \(`,
			`^Attacks refused \[adversarial\] answer a token whose claims were changed under the IdP's signature with 401 .*: the tenant claim \(`,
			`^Attacks refused \[adversarial\] answer a token whose claims were changed under the IdP's signature with 401 .*: aud \(`,
			`^Attacks refused \[adversarial\] answer a token whose claims were changed under the IdP's signature with 401 .*: exp \(`,
			`^Attacks refused \[adversarial\] answer a valid token with its signature stripped with 401 .*: header\.payload\. `,
			`^Attacks refused \[adversarial\] answer a valid token with its signature stripped with 401 .*: header\.payload \(`,
			`^The 401 bootstrap \[bootstrap\] answers a forged token with 401 and an invalid_token challenge naming the resource metadata: alg-none$`,
			`^The 401 bootstrap \[bootstrap\] answers a forged token with 401 and an invalid_token challenge naming the resource metadata: hs256-with-public-key$`,
			`^The 401 bootstrap \[bootstrap\] answers a forged token with 401 and an invalid_token challenge naming the resource metadata: unknown-kid$`,
			`^The 401 bootstrap \[bootstrap\] answers a forged token with 401 and an invalid_token challenge naming the resource metadata: untrusted-key$`,
			`^The 401 bootstrap \[bootstrap\] answers a forged token with 401 and an invalid_token challenge naming the resource metadata: tampered-payload$`,
		},
	},
	// The scopes are advertised (metadata, challenges) but the authorizer requires none: a
	// token lacking them is served.
	"unenforced-scopes": {
		start: func(ctx context.Context, _ string) (fw.Target, error) {
			f, err := fixture.Default().WithMCPScopes(targets.ConformanceScope)
			if err != nil {
				return nil, err
			}
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithFixture(f),
				stack.WithAuthorizerOptions(authorizer.WithRequiredScopes()))
		},
		fail: []string{
			`^The 401 bootstrap \[bootstrap\] answers a valid token lacking the scopes it declares with 403 `,
		},
	},
	// The authorizer also accepts tokens for another MCP server (a shared audience): a token the
	// IdP issued for that server is replayed here.
	"shared-audience": {
		start: func(ctx context.Context, _ string) (fw.Target, error) {
			ports, err := freePorts(2)
			if err != nil {
				return nil, err
			}
			mcpURL := "http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/mcp"
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithPorts(stack.Ports{Gateway: ports[0], Metrics: ports[1]}),
				stack.WithAuthorizerOptions(authorizer.WithAudience(mcpURL, authorizer.DefaultAudience, "https://another-mcp.example/mcp")))
		},
		fail: []string{
			`^The 401 bootstrap \[bootstrap\] refuses with 401 and an invalid_token challenge a token its own IdP signed for another resource, .*: another MCP server's URL$`,
		},
	},
	// Each target role's trust takes any tenant's tag.
	"unpinned-trust": {
		start: func(ctx context.Context, dir string) (fw.Target, error) {
			if err := os.WriteFile(filepath.Join(dir, "unpinned-trust.json"), []byte(unpinnedTrust), 0o644); err != nil {
				return nil, err
			}
			y := string(fixture.DefaultYAML())
			for _, tenant := range []string{"acme", "globex"} {
				pinned := "trust: {policy: target-role-trust-policy, vars: {tenant: " + tenant + "}}"
				if !strings.Contains(y, pinned) {
					return nil, os.ErrNotExist
				}
				y = strings.Replace(y, pinned, "trust: {file: unpinned-trust.json}", 1)
			}
			path := filepath.Join(dir, "fixture.yaml")
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				return nil, err
			}
			f, err := fixture.Load(path)
			if err != nil {
				return nil, err
			}
			return targets.StartEmbedded(ctx, stack.ProfileReference, stack.WithFixture(f))
		},
		fail: []string{
			`^Trust policies \[trust\] refuse a tenant's target role assumed with another tenant's tag, on a request that is otherwise allowed `,
		},
	},
}

// TestTheSuitesCatchEachWeakness runs every suite against each weakened variant of the
// reference, in a child process of this test binary (Ginkgo runs once per process), and checks
// that exactly the specs written for that weakness fail. The reference passing them all is
// `mcpsso conform`'s own test.
func TestTheSuitesCatchEachWeakness(t *testing.T) {
	if name := os.Getenv(envVariant); name != "" {
		runVariant(t, name) // the child
		return
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range variants {
			if !yield(n) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			report := filepath.Join(t.TempDir(), "report.json")
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestTheSuitesCatchEachWeakness$", "-test.count=1",
				"-ginkgo.json-report="+report, "-ginkgo.no-color")
			cmd.Env = append(os.Environ(), envVariant+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("every spec passed against the %s variant: the suites do not catch the weakness\n%s", name, out)
			}
			failed, messages, ran := failedSpecs(t, report, out)
			for _, want := range variants[name].says {
				if !slices.ContainsFunc(messages, regexp.MustCompile(want).MatchString) {
					t.Errorf("against the %s variant no failure says %s:\n  %s", name, want, strings.Join(messages, "\n  "))
				}
			}
			var unexpected []string
			for _, spec := range failed {
				if !matchesAny(spec, variants[name].fail) {
					unexpected = append(unexpected, spec)
				}
			}
			if len(unexpected) > 0 {
				t.Errorf("against the %s variant these specs failed too, for another reason than the weakness:\n  %s", name, strings.Join(unexpected, "\n  "))
			}
			for _, want := range variants[name].fail {
				if !slices.ContainsFunc(failed, func(s string) bool { return regexp.MustCompile(want).MatchString(s) }) {
					t.Errorf("against the %s variant no spec matching %s failed (of %d that ran)", name, want, ran)
				}
			}
			t.Logf("%s: %d of %d specs failed, each one written for this weakness", name, len(failed), ran)
		})
	}
}

// runVariant is the child: every suite against the variant.
func runVariant(t *testing.T, name string) {
	v, ok := variants[name]
	if !ok {
		t.Fatalf("%s=%q: no such variant", envVariant, name)
	}
	target, err := v.start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	fw.SetCurrent(target)
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "weakened variant "+name)
}

// failedSpecs reads the child's Ginkgo JSON report: the full names of the specs that failed,
// their failure messages, and how many ran.
func failedSpecs(t *testing.T, path string, out []byte) ([]string, []string, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the child wrote no report (%v):\n%s", err, out)
	}
	var reports []types.Report
	if err := json.Unmarshal(b, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("the report does not parse (%v, %d reports):\n%s", err, len(reports), out)
	}
	var failed, messages []string
	ran := 0
	for _, sr := range reports[0].SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			if sr.State.Is(types.SpecStateFailureStates) {
				t.Fatalf("%s %s failed: %s", sr.LeafNodeType, sr.LeafNodeText, sr.Failure.Message)
			}
			continue
		}
		ran++
		if sr.State.Is(types.SpecStateFailureStates) {
			failed = append(failed, sr.FullText())
			messages = append(messages, sr.Failure.Message)
		}
	}
	if ran == 0 {
		t.Fatalf("no spec ran in the child:\n%s", out)
	}
	return failed, messages, ran
}

// freePorts finds n free loopback ports (for a variant that must know its MCP URL before the
// stack starts).
func freePorts(n int) ([]int, error) {
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
		defer ln.Close()
	}
	return out, nil
}

func matchesAny(s string, patterns []string) bool {
	for _, p := range patterns {
		if regexp.MustCompile(p).MatchString(s) {
			return true
		}
	}
	return false
}
