package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// conformWithin bounds one conform run: a stack, a topology or moto, and the suites.
const conformWithin = 4 * time.Minute

// runConformBin runs the built binary's conform (Ginkgo runs once per process, so never
// in-process) and returns its exit code and output.
func runConformBin(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), conformWithin)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"conform"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("conform %v did not finish within %v; its output so far:\n%s", args, conformWithin, out)
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("conform: %v", err)
	return 0, ""
}

func TestConformJudgesTheEmbeddedStacks(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	dir := t.TempDir()
	junit, summary := filepath.Join(dir, "conformance.xml"), filepath.Join(dir, "summary.md")
	code, out := runConformBin(t, bin, nil, "--junit", junit, "--summary", summary)
	if code != 0 || !strings.Contains(out, "PASS:") || !strings.Contains(out, "\nrequirements: ") {
		t.Fatalf("reference: exit %d\n%s", code, out)
	}
	j := readJUnit(t, junit)
	if !slices.ContainsFunc(j.TestSuites, func(s reporters.JUnitTestSuite) bool {
		return strings.HasPrefix(s.Name, "challenge: ") && s.Properties.WithName("requirement") == "challenge" && s.Tests > 0 && s.Failures == 0
	}) {
		t.Errorf("the JUnit report has no passing suite of the requirement challenge: %+v", j.TestSuites)
	}
	// The embedded reference declares mcp:tools, so the scope challenge is checked, not skipped;
	// its MCP server is stateless, so the spec of a session id presented by another user is
	// skipped, naming the capability.
	for _, spec := range []string{
		"answers a valid token lacking the scopes it declares with 403 and an insufficient_scope challenge",
		"a token its own IdP signed for another resource, had by signing in with that resource (RFC 8707; MCP authorization: token audience binding): another MCP server's URL",
	} {
		if !passedLine(out, spec) {
			t.Errorf("reference: %q did not pass\n%s", spec, out)
		}
	}
	if !strings.Contains(out, `target embedded does not offer capability "sessions"`) {
		t.Errorf("reference: the session spec's skip does not name the capability\n%s", out)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), "<testsuites") {
		t.Fatalf("JUnit report: %v\n%s", err, b)
	}
	md := readFile(t, summary)
	for _, want := range []string{"## mcpsso conform: ✅ PASS\n", "Target embedded (profile reference", "\n**PASS: ", "<summary>✅ met · "} {
		if !strings.Contains(md, want) {
			t.Errorf("the reference's Markdown summary lacks %q:\n%s", want, md)
		}
	}
	// The seed profile fails requirement by requirement: the report says what was seen and
	// expected, and the summary, appended to the same file as $GITHUB_STEP_SUMMARY wants, puts
	// the failed requirements first with their details.
	code, out = runConformBin(t, bin, nil, "--profile", "seed", "--summary", summary)
	if code != exitFailure || !strings.Contains(out, "FAILED") {
		t.Fatalf("seed without a baseline: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"\n== FAILED · A request without a token is answered 401 with a Bearer challenge whose resource_metadata serves the MCP URL's metadata [challenge]\n   MCP authorization 2025-11-25 §Protected Resource Metadata Discovery Requirements",
		"\n         seen:     403\n         expected: to equal 401\n",
		"\n== met · A request with two Authorization headers is refused",
		"\n== Other specs, not requirements of the pattern",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the seed report lacks %q:\n%s", want, out)
		}
	}
	md = readFile(t, summary)
	pass, fail := strings.Index(md, "## mcpsso conform: ✅ PASS"), strings.Index(md, "## mcpsso conform: ❌ FAIL")
	if pass < 0 || fail < pass {
		t.Fatalf("the seed summary was not appended after the reference's (PASS at %d, FAIL at %d):\n%s", pass, fail, md)
	}
	seed := md[fail:]
	firstFailed, firstMet := strings.Index(seed, "### ❌ FAILED · "), strings.Index(seed, "<summary>✅ met · ")
	if firstFailed < 0 || firstMet < firstFailed || !strings.Contains(seed, "<details><summary>❌ FAILED: The 401 bootstrap [bootstrap]") {
		t.Errorf("the seed summary does not show the failed requirements first, with details:\n%s", seed)
	}
	code, out = runConformBin(t, bin, nil, "--profile", "seed", "--known-failures", "seed", "--junit", junit)
	if code != 0 || !strings.Contains(out, "known failure") || !strings.Contains(out, "mistake") {
		t.Fatalf("seed with its baseline: exit %d\n%s", code, out)
	}
	// A CI test viewer agrees with the exit status: the known failures are skipped cases.
	if j := readJUnit(t, junit); j.Failures != 0 || j.Errors != 0 || j.Disabled == 0 {
		t.Errorf("JUnit of seed with its baseline: %d failures, %d errors, %d skipped; want 0, 0 and the known failures", j.Failures, j.Errors, j.Disabled)
	}
	// A baseline that lists a spec the reference stack passes goes stale: the run fails.
	code, out = runConformBin(t, bin, nil, "--known-failures", "seed")
	if code != exitFailure || !strings.Contains(out, "PASSED BUT LISTED AS A KNOWN FAILURE") {
		t.Fatalf("reference with the seed baseline: exit %d\n%s", code, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readJUnit(t *testing.T, path string) reporters.JUnitTestSuites {
	t.Helper()
	var j reporters.JUnitTestSuites
	if err := xml.Unmarshal([]byte(readFile(t, path)), &j); err != nil || len(j.TestSuites) == 0 {
		t.Fatalf("JUnit report %s: %v (%d suites)", path, err, len(j.TestSuites))
	}
	return j
}

func TestConformRejectsBadInput(t *testing.T) {
	targetFile := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(targetFile, []byte("name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"conform", "--label-filter", "abac && bogus"}, "bogus"},
		{[]string{"conform", "--tier", "tools"}, "want one of auth"},
		{[]string{"conform", "--tier", "auth", "--label-filter", "bogus"}, "bogus"},
		{[]string{"conform", "--profile", "tutorial"}, "--profile"},
		{[]string{"conform", "--known-failures", "/no/such/file"}, "--known-failures"},
		{[]string{"conform", "--summary", "/no/such/dir/summary.md"}, "--summary"},
		{[]string{"conform", "--target", "/no/such/target.yaml"}, "--target"},
		{[]string{"conform", "--aws-backend", "dynamo"}, "--aws-backend"},
		{[]string{"conform", "--aws-backend", "localstack"}, "--target containers"},
		{[]string{"conform", "--bypass-enforce"}, "--bypass-enforce"},
		{[]string{"conform", "--mcp-image", "example/mcp:1"}, "--target containers"},
		{[]string{"conform", "--authorizer-image", "example/authz:1"}, "--target containers"},
		{[]string{"conform", "--target", targetFile, "--aws-backend", "moto"}, "not to a target file"},
		{[]string{"conform", "--target", "containers", "--sessions"}, "--sessions needs the embedded target"},
		{[]string{"conform", "--target", targetFile, "--sessions"}, "--sessions needs the embedded target"},
	} {
		code, _, stderr := execute(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d %q", tc.args, code, stderr)
		}
	}
}

// TestConformWithSessions runs the transport suite against the embedded reference with its MCP
// server stateful: both session specs run (none is skipped for a stateless server) and pass.
func TestConformWithSessions(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	code, out := runConformBin(t, bin, nil, "--sessions", "--label-filter", "transport")
	if code != 0 || !strings.Contains(out, "stateful sessions") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, spec := range []string{
		"refuses one user's Mcp-Session-Id presented with another user's valid token, calling no tool",
		"never lets a session id carry one user's identity to another",
	} {
		if !passedLine(out, spec) {
			t.Errorf("%q did not pass with --sessions\n%s", spec, out)
		}
	}
}

// TestConformOnMotoBehindTheEnforcingProxy runs the suites with moto_server as the AWS backend:
// behind the kit's enforcing proxy they pass (the cross-account specs skip: one account); with
// the proxy bypassed, the trust and tenant-isolation specs fail — the enforcement is the kit's.
func TestConformOnMotoBehindTheEnforcingProxy(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	needMotoServer(t)
	bin := buildBinary(t)
	code, out := runConformBin(t, bin, nil, "--aws-backend", "moto")
	if code != 0 || !strings.Contains(out, "AWS moto behind the enforcing proxy") || !strings.Contains(out, "has no second AWS account") {
		t.Fatalf("moto behind the proxy: exit %d\n%s", code, out)
	}
	code, out = runConformBin(t, bin, nil, "--aws-backend", "moto", "--bypass-enforce")
	if code != exitFailure {
		t.Fatalf("moto with the proxy bypassed: exit %d, want %d\n%s", code, exitFailure, out)
	}
	for _, spec := range []string{
		"refuse an AssumeRole by the task role without a source identity",
		"not the deployment account's administrator",
		"denies every user reading an object in another tenant's bucket",
	} {
		if !strings.Contains(out, "FAILED   ") || !failedLine(out, spec) {
			t.Errorf("with the proxy bypassed, %q did not fail:\n%s", spec, out)
		}
	}
}

// passedLine reports whether the summary has a passed line naming spec.
func passedLine(out, spec string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "passed") && strings.Contains(line, spec) {
			return true
		}
	}
	return false
}

// keylessForgerySpecs are the tables of forgeries that need no IdP key: they run against every
// target (issue 18).
var keylessForgerySpecs = []string{
	"answer an unsigned token with 401 and an invalid_token challenge",
	"answer a token signed with a key that is not the IdP's with 401",
	"answer a token whose claims were changed under the IdP's signature with 401",
	"answer a valid token with its signature stripped with 401",
	"refuse a token HMAC-signed (HS256) with the IdP's public key as the secret",
}

// expectRanAndPassed: every line of the summary naming one of specs says passed (and at least
// one does), none skipped or failed.
func expectRanAndPassed(t *testing.T, out string, specs []string) {
	t.Helper()
	for _, spec := range specs {
		if !passedLine(out, spec) {
			t.Errorf("%q did not pass:\n%s", spec, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, spec) && !strings.HasPrefix(line, "passed") {
				t.Errorf("%q did not run and pass: %s", spec, line)
			}
		}
	}
}

// failedLine reports whether the summary has a FAILED line naming spec.
func failedLine(out, spec string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAILED") && strings.Contains(line, spec) {
			return true
		}
	}
	return false
}

// TestConformAgainstAnExternalTarget is the third-party path: a separately started `mcpsso up`,
// described by a target file with pre-issued tokens. Specs needing capabilities the file does
// not declare are skipped with the reason.
func TestConformAgainstAnExternalTarget(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	defer p.interrupt(t)
	var env []string
	for _, u := range []string{"alice", "bob", "carol"} {
		env = append(env, "TOKEN_"+strings.ToUpper(u)+"="+tokenFromCLI(t, bin, p.issuer, u))
	}
	file := filepath.Join(t.TempDir(), "target.yaml")
	yaml := fmt.Sprintf(`name: local-up
mcpUrl: %s
tokens: {source: preissued}
capabilities: [signin]
users:
  - {name: alice, tenant: acme, tokenEnv: TOKEN_ALICE}
  - {name: bob, tenant: globex, tokenEnv: TOKEN_BOB}
  - {name: carol, tokenEnv: TOKEN_CAROL}
`, p.mcpURL)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runConformBin(t, bin, env, "--target", file)
	if code != 0 || !strings.Contains(out, "target external") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// up's IdP is the mock one (signin): a spec-following client signs in and is served.
	if !passedLine(out, "accepts a token obtained as a spec-following MCP client") {
		t.Errorf("the spec-following client's spec did not pass against up:\n%s", out)
	}

	// Probes: a file that declares only whoami (its fields nested nowhere: the reference's
	// top-level ones) runs the specs that need only whoami and skips, with the reason, those
	// that need the object operations.
	onlyWhoami := file + ".whoami.yaml"
	if err := os.WriteFile(onlyWhoami, []byte(yaml+"probes:\n  whoami: {tool: whoami, fields: {arn: arn, sourceIdentity: sourceIdentity, tenant: tenant}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runConformBin(t, bin, env, "--target", onlyWhoami)
	if code != 0 || !passedLine(out, "gives every mapped user an assumed-role session of their target role with their source identity") {
		t.Fatalf("whoami alone: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, `declares no "list" probe (probes.list in its target file)`) || passedLine(out, "lets every mapped user list, read and write their own tenant's bucket") {
		t.Errorf("whoami alone: the object specs did not skip naming the missing probe:\n%s", out)
	}

	// A probe naming a tool the server does not list stops the run before any spec, naming it.
	wrongTool := file + ".wrong.yaml"
	if err := os.WriteFile(wrongTool, []byte(yaml+"probes:\n  read: {tool: read_file, arguments: {uri: \"{uri}\"}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runConformBin(t, bin, env, "--target", wrongTool)
	if code == 0 || !strings.Contains(out, `probes.read.tool "read_file" not in the tools/list`) || !strings.Contains(out, "it lists: get_object, list_objects, put_object, whoami") || strings.Contains(out, "passed ") {
		t.Errorf("a probe of a missing tool: exit %d\n%s", code, out)
	}
}

func TestTierFilter(t *testing.T) {
	for _, tc := range []struct{ tier, filter, want string }{
		{"", "", ""},
		{"", "abac || trust", "abac || trust"},
		{"auth", "", "auth"},
		{"auth", "bootstrap || transport", "auth && (bootstrap || transport)"},
	} {
		got, err := tierFilter(tc.tier, tc.filter)
		if err != nil || got != tc.want {
			t.Errorf("tierFilter(%q, %q) = %q, %v; want %q", tc.tier, tc.filter, got, err, tc.want)
		}
	}
	if _, err := tierFilter("Auth", ""); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("tier Auth: %v, want an error naming the tiers", err)
	}
}

// TestConformTierAuthAgainstABareTarget is the auth-surface tier against a deployment known only
// by its MCP URL and a command that prints a token: a separately started `mcpsso up`, one user,
// no capability declared. The tier's specs pass or skip by capability; every other spec is left
// out.
func TestConformTierAuthAgainstABareTarget(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	defer p.interrupt(t)
	file := filepath.Join(t.TempDir(), "target.yaml")
	yaml := fmt.Sprintf(`mcpUrl: %s
tokens: {source: command, command: "%s token --user {user} --issuer %s"}
users:
  - {name: alice, tenant: acme}
`, p.mcpURL, bin, p.issuer)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runConformBin(t, bin, nil, "--target", file, "--tier", "auth")
	if code != 0 || !strings.Contains(out, "PASS:") || strings.Contains(out, "FAILED") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, spec := range []string{
		"answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata",
		"serves the protected resource metadata without a token at the well-known URL",
		"advertising S256 PKCE",
		"lists in its protected resource metadata only authorization servers whose metadata is reachable",
		"ignores a valid token in the query string",
		"is reached over HTTPS, plain HTTP only on a loopback host",
		"refuses a request with a valid token from a disallowed Origin with 403: https://evil.example",
	} {
		if !passedLine(out, spec) {
			t.Errorf("%q did not pass in the auth tier:\n%s", spec, out)
		}
	}
	expectRanAndPassed(t, out, keylessForgerySpecs)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "passed") && !strings.Contains(line, "[bootstrap]") && !strings.Contains(line, "[transport]") && !strings.Contains(line, "[adversarial]") {
			t.Errorf("a spec outside the auth tier ran: %s", line)
		}
	}
}

// TestConformAgainstTheContainerTopology runs the suites against the containers: the reference
// topology and the one with moto behind the enforcing proxy pass; a deliberately wrong MCP
// server image (it acts with the task role's credentials) is caught; the kit's authorizer as a
// Lambda container image behind the gateway's Invoke path passes. The four run at once.
func TestConformAgainstTheContainerTopology(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	containers.RequireDocker(t)
	bin := buildBinary(t)
	ctx := t.Context()
	kit, err := containers.KitImage(ctx) // built once here, not by every conform run
	if err != nil {
		t.Fatal(err)
	}
	env := []string{containers.EnvImage + "=" + kit}

	t.Run("the reference topology passes", func(t *testing.T) {
		t.Parallel() // topologies run side by side
		code, out := runConformBin(t, bin, env, "--target", "containers")
		if code != 0 || !strings.Contains(out, "PASS:") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		// The topology made its IdP's key, so the forgeries that need it run too.
		expectRanAndPassed(t, out, append(slices.Clone(keylessForgerySpecs),
			"answers a forged token with 401 and an invalid_token challenge naming the resource metadata",
			"never answers a signature-valid token with a claim it must not act on"))
	})
	t.Run("moto behind the enforcing proxy passes, the cross-account specs skipped", func(t *testing.T) {
		t.Parallel() // topologies run side by side
		needMotoServer(t)
		code, out := runConformBin(t, bin, env, "--target", "containers", "--aws-backend", "moto")
		if code != 0 || !strings.Contains(out, "has no second AWS account") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("an MCP server image that uses the task role is caught", func(t *testing.T) {
		t.Parallel() // topologies run side by side
		sample, err := containers.BuildTaskRoleSample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		code, out := runConformBin(t, bin, env, "--target", "containers", "--mcp-image", sample, "--label-filter", "trust || abac")
		if code != exitFailure {
			t.Fatalf("the task-role sample passed: exit %d\n%s", code, out)
		}
		for _, spec := range []string{
			"gives every mapped user an assumed-role session of their target role",
			"lets every mapped user list, read and write their own tenant's bucket",
		} {
			if !failedLine(out, spec) {
				t.Errorf("%q did not fail against the task-role sample:\n%s", spec, out)
			}
		}
	})
	t.Run("the kit's authorizer as a Lambda container image passes", func(t *testing.T) {
		t.Parallel() // topologies run side by side
		image, err := containers.ReferenceAuthorizerImage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		code, out := runConformBin(t, bin, env, "--target", "containers", "--authorizer-image", image, "--label-filter", "bootstrap || spoofing || adversarial")
		if code != 0 || !strings.Contains(out, "PASS:") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		expectRanAndPassed(t, out, append(slices.Clone(keylessForgerySpecs),
			"answers a forged token with 401 and an invalid_token challenge naming the resource metadata"))
	})
}

// TestConformHelpNamesEveryLabel: --help lists every label a spec may carry, so a new suite's
// label cannot go unmentioned.
func TestConformHelpNamesEveryLabel(t *testing.T) {
	help := newConformCommand().Long
	for _, l := range framework.KnownLabels {
		if !strings.Contains(help, string(l)) {
			t.Errorf("conform --help does not name the label %q", l)
		}
	}
}

// needMotoServer skips t when moto_server is not on PATH, or fails it under
// MCPSSO_REQUIRE_MOTO=1 (CI sets it): the binary's tests start moto_server themselves, through
// the command under test.
func needMotoServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv(moto.EnvRequireMoto) == "1" {
			t.Fatalf("moto_server is not installed and %s=1 requires it", moto.EnvRequireMoto)
		}
		t.Skipf("moto_server is not installed (set %s=1 to fail instead)", moto.EnvRequireMoto)
	}
}
