package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

// iacCorpus is the Terraform and CDK corpus of internal/harness/iacimport.
const iacCorpus = "../../../internal/harness/iacimport/testdata"

func TestFixtureImportWritesTheFixtureWholeOrNotAtAll(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "imported.yaml")
	if err := os.WriteFile(out, []byte("previous\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "template.json")
	tmpl := `{"Resources":{"Task":{"Type":"AWS::IAM::Role","Properties":{"RoleName":"task","AssumeRolePolicyDocument":{"Statement":[{"Effect":"Allow","Principal":{"AWS":{"Fn::ImportValue":"shared-task-role"}},"Action":"sts:AssumeRole"}]}}}}}`
	if err := os.WriteFile(bad, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := execute(t, "", "fixture", "import", bad, "-o", out)
	if code == 0 || !strings.Contains(stderr, `resource Task (AWS::IAM::Role), property AssumeRolePolicyDocument: {"Fn::ImportValue":"shared-task-role"} cannot be resolved statically`) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous\n" {
		t.Errorf("a failed import changed the output file: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("a failed import left files behind: %v", entries)
	}

	code, _, stderr = execute(t, "", "fixture", "import", filepath.Join(iacCorpus, "terraform/plans/tutorial.json"), "-o", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{"inferred:\n", "  task role ecsTaskRole (module.mcp.aws_iam_role.task): the only role whose trust policy lets ecs-tasks.amazonaws.com assume it\n", "wrote " + out} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	f, err := fixture.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	for _, r := range f.Roles {
		if r.Source != "" && !strings.Contains(string(b), "  # "+r.Source+"\n") {
			t.Errorf("no comment names role %s's source %s", r.Name, r.Source)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the import left files behind: %v", entries)
	}
	if code, _, stderr := execute(t, "", "fixture", "import", bad); code != 2 || !strings.Contains(stderr, "-o/--output: required") {
		t.Errorf("without -o: exit %d %s", code, stderr)
	}
	if code, _, stderr := execute(t, "", "conform", "--fixture", out, "--profile", "seed"); code != 2 || !strings.Contains(stderr, "--profile does not apply") {
		t.Errorf("--fixture with --profile: exit %d %s", code, stderr)
	}
}

var verdictLine = regexp.MustCompile(`(?m)^(PASS|FAIL): .*$`)

// failedSpecs are the names of the specs a conform report lists as FAILED.
func failedSpecs(out string) []string {
	var specs []string
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "FAILED   "); ok {
			specs = append(specs, s)
		}
	}
	return specs
}

// importAndConform imports in into a fixture and runs conform --fixture on it.
func importAndConform(t *testing.T, bin, in string) (int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "imported.yaml")
	cmd := exec.CommandContext(t.Context(), bin, "fixture", "import", in, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fixture import %s: %v\n%s", in, err, b)
	}
	return runConformBin(t, bin, nil, "--fixture", out)
}

// checkFailures checks that a report fails exactly the specs matching want (one each), and
// that each failure names an IaC address containing addr and the engine's decision.
func checkFailures(t *testing.T, code int, out string, want []string, addr string) {
	t.Helper()
	got := failedSpecs(out)
	if (code == 0) != (len(want) == 0) {
		t.Errorf("exit %d with %d expected failures", code, len(want))
	}
	for _, w := range want {
		if n := len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return !strings.Contains(s, w) })); n != 1 {
			t.Errorf("%d failed specs match %q, want 1", n, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d specs failed, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, block := range strings.Split(out, "\nFAILED   ")[1:] {
		block, _, _ = strings.Cut(block, "\n\n")
		block, _, _ = strings.Cut(block, "\nFAILED")
		if !strings.Contains(block, "\n         IaC: ") || !strings.Contains(block, addr) || !strings.Contains(block, "\n         decided: ") {
			t.Errorf("a failure names no IaC address with %q and no decision:\n%s", addr, block)
		}
	}
	if t.Failed() {
		t.Logf("conform output:\n%s", out)
	}
}

var (
	// The specs each of the tutorial's policy mistakes fails, with the kit's reference
	// components around the policies.
	failsTrustSingleStatement = []string{ // mistake 1
		"never change the gateway's decision: a user sending x-amzn-request-context ",
		"never change the gateway's decision: a user sending x-decided-role that",
		"never change the gateway's decision: a user sending x-decided-role, x-source-identity,",
		"never change the gateway's decision: a user sending x-forwarded-user,",
		"never change the gateway's decision: a user sending x-session-tags ",
		"never change the gateway's decision: a user sending x-source-identity ",
		"through the MCP server gives every mapped user an assumed-role session",
		"through the MCP server records each user's AssumeRole",
		"let the task role assume a target role with a usr- source identity and only the tenant tag",
		"refuse an extra session tag key beside tenant",
		"refuse a tenant's target role assumed with another tenant's tag",
		"role chaining keeps the source identity",
		"role chaining refuses to change the source identity",
		"denies every user listing another tenant's bucket",
		"denies every user reading an object in another tenant's bucket",
		"denies every user writing an object to another tenant's bucket",
		"lets every mapped user list, read and write their own tenant's bucket",
	}
	failsWithoutTenantTag = "refuse an AssumeRole by the task role without the tenant tag"
	failsNoTenantPin      = []string{failsWithoutTenantTag, "refuse a tenant's target role assumed with another tenant's tag"}
	failsNoSetSourceID    = []string{"let the task role's own policy call sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity"} // mistake 2
	failsBucketAnyAccount = []string{                                                                                                // mistake 4
		"denies a session of another account that tags itself with a victim's tenant reading",
		"denies a session of another account that tags itself with a victim's tenant writing",
	}
)

// failsTutorial are the specs the tutorial's policies fail: mistakes 1, 2 and 4 together. (Its
// trust policy does not let an AssumeRole without the tenant tag through either: lacking
// sts:SetSourceIdentity, it lets no AssumeRole with a source identity through at all.)
func failsTutorial() []string {
	out := slices.Concat(failsTrustSingleStatement, failsNoSetSourceID, failsBucketAnyAccount)
	return slices.DeleteFunc(out, func(s string) bool { return s == failsWithoutTenantTag })
}

// TestConformFixtureOnTheTerraformCorpus imports each committed plan and runs conform
// --fixture on it: the corrected policies pass, each mistake fails exactly its specs, each
// failure naming the Terraform address and the deciding statement, and the tutorial fails the
// same trust, abac and spoofing specs as --profile seed but the ones the seed's MCP server
// (not its IAM) fails.
func TestConformFixtureOnTheTerraformCorpus(t *testing.T) {
	t.Parallel() // subprocesses of its own, on free ports
	bin := buildBinary(t)
	tutorial := failsTutorial()
	// Hand-written templates: the corrected policies, and the same with the deployment's own
	// names for target roles and buckets.
	// Renamed, no spec may be skipped that runs on the kit's names.
	verdicts := map[string]string{}
	for _, name := range []string{"corrected", "renamed"} {
		t.Run("cloudformation/"+name, func(t *testing.T) {
			code, out := importAndConform(t, bin, filepath.Join(iacCorpus, "cloudformation", name+".yaml"))
			checkFailures(t, code, out, nil, "")
			verdicts[name] = verdictLine.FindString(out)
		})
	}
	if verdicts["renamed"] == "" || verdicts["renamed"] != verdicts["corrected"] {
		t.Errorf("the renamed deployment's verdict %q is not the corrected one's %q", verdicts["renamed"], verdicts["corrected"])
	}
	for _, c := range []struct {
		variant string
		fails   []string
	}{
		{"corrected", nil},
		{"tutorial", tutorial},
		// With sts:SetSourceIdentity allowed, the one-statement trust policy also lets an
		// AssumeRole without any tag through: ForAllValues on sts:TagKeys holds when the key is
		// absent, and with no tag passed sts:TagSession is never checked.
		{"trust-single-statement", append(slices.Clone(failsTrustSingleStatement), failsWithoutTenantTag)},
		{"trust-no-tenant-pin", failsNoTenantPin},
		{"task-no-set-source-identity", failsNoSetSourceID},
		{"bucket-any-account", failsBucketAnyAccount},
	} {
		t.Run(c.variant, func(t *testing.T) {
			code, out := importAndConform(t, bin, filepath.Join(iacCorpus, "terraform/plans", c.variant+".json"))
			checkFailures(t, code, out, c.fails, "module.mcp.aws_")
			if c.variant != "tutorial" {
				return
			}
			_, seed := runConformBin(t, bin, nil, "--profile", "seed", "--label-filter", fixtureSuites)
			seedFails, imported := failedSpecs(seed), failedSpecs(out)
			for _, s := range imported {
				if !slices.Contains(seedFails, s) {
					t.Errorf("the imported tutorial fails a spec --profile seed passes: %s", s)
				}
			}
			for _, s := range seedFails {
				if !slices.Contains(imported, s) && !strings.Contains(s, "reaches the MCP server directly") {
					t.Errorf("--profile seed fails a spec the imported tutorial passes, and not for its MCP server: %s", s)
				}
			}
		})
	}
}

// TestConformFixtureOnTheCDKApp synthesizes the CDK app (offline; npm ci of its locked
// dependencies into a temporary copy) in both variants: the corrected template passes, the
// tutorial's fails the same specs as its Terraform plan, naming the CDK construct paths.
func TestConformFixtureOnTheCDKApp(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	npm := nodeTool(t, "npm", "npm ci of the CDK app")
	npx := nodeTool(t, "npx", "cdk synth of the CDK app")
	src := filepath.Join(iacCorpus, "cdk")
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "tsconfig.json", "cdk.json", "src/app.ts"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Under the package's 8-minute limit (Makefile TEST_TIMEOUT), so that a hung npm names itself.
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CDK_DISABLE_CLI_TELEMETRY=true", "CI=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
	}
	run(npm, "ci", "--no-audit", "--no-fund")
	run(npx, "tsc", "-p", ".") // once: cdk.json's app would compile again for each variant
	tutorial := failsTutorial()
	for _, c := range []struct {
		variant string
		fails   []string
	}{{"corrected", nil}, {"tutorial", tutorial}} {
		run(npx, "cdk", "synth", "--no-notices", "--no-version-reporting", "-q", "-a", "node dist/app.js", "-c", "variant="+c.variant, "-o", "cdk.out."+c.variant)
		code, out := importAndConform(t, bin, filepath.Join(dir, "cdk.out."+c.variant, "McpStack.template.json"))
		t.Run(c.variant, func(t *testing.T) { checkFailures(t, code, out, c.fails, "(McpStack/") })
	}
}
