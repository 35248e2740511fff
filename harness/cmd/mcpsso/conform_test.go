package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runConformBin runs the built binary's conform (Ginkgo runs once per process, so never
// in-process) and returns its exit code and output.
func runConformBin(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"conform"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("conform: %v", err)
	return 0, ""
}

func TestConformJudgesTheEmbeddedStacks(t *testing.T) {
	bin := buildBinary(t)
	junit := filepath.Join(t.TempDir(), "conformance.xml")
	code, out := runConformBin(t, bin, nil, "--junit", junit)
	if code != 0 || !strings.Contains(out, "PASS:") {
		t.Fatalf("reference: exit %d\n%s", code, out)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), "<testsuites") {
		t.Fatalf("JUnit report: %v\n%s", err, b)
	}
	code, out = runConformBin(t, bin, nil, "--profile", "seed")
	if code != exitFailure || !strings.Contains(out, "FAILED") {
		t.Fatalf("seed without a baseline: exit %d\n%s", code, out)
	}
	code, out = runConformBin(t, bin, nil, "--profile", "seed", "--known-failures", "seed")
	if code != 0 || !strings.Contains(out, "known failure") || !strings.Contains(out, "mistake") {
		t.Fatalf("seed with its baseline: exit %d\n%s", code, out)
	}
	// A baseline that lists a spec the reference stack passes goes stale: the run fails.
	code, out = runConformBin(t, bin, nil, "--known-failures", "seed")
	if code != exitFailure || !strings.Contains(out, "PASSED BUT LISTED AS A KNOWN FAILURE") {
		t.Fatalf("reference with the seed baseline: exit %d\n%s", code, out)
	}
}

func TestConformRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"conform", "--label-filter", "abac && bogus"}, "bogus"},
		{[]string{"conform", "--profile", "tutorial"}, "--profile"},
		{[]string{"conform", "--known-failures", "/no/such/file"}, "--known-failures"},
		{[]string{"conform", "--target", "/no/such/target.yaml"}, "--target"},
	} {
		code, _, stderr := execute(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d %q", tc.args, code, stderr)
		}
	}
}

// TestConformAgainstAnExternalTarget is the third-party path: a separately started `mcpsso up`,
// described by a target file with pre-issued tokens. Specs needing capabilities the file does
// not declare are skipped with the reason.
func TestConformAgainstAnExternalTarget(t *testing.T) {
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	defer p.stop(t)
	var env []string
	for _, u := range []string{"alice", "bob", "carol"} {
		env = append(env, "TOKEN_"+strings.ToUpper(u)+"="+tokenFromCLI(t, bin, p.issuer, u))
	}
	file := filepath.Join(t.TempDir(), "target.yaml")
	yaml := fmt.Sprintf(`name: local-up
mcpUrl: %s
tokens: {source: preissued}
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
}
