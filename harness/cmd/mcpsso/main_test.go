package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/reference/policies"
)

// execute runs the CLI in-process as the binary would, with stdin as its standard input.
func execute(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// decisionOf parses simulate's output, failing the test unless it is one JSON decision.
func decisionOf(t *testing.T, stdout string) string {
	t.Helper()
	var d struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("stdout is not a JSON decision: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	switch d.Decision {
	case "Allow", "ExplicitDeny", "ImplicitDeny":
	default:
		t.Fatalf("decision = %q, want Allow, ExplicitDeny or ImplicitDeny:\n%s", d.Decision, stdout)
	}
	if d.Reason == "" {
		t.Errorf("decision %s has no reason:\n%s", d.Decision, stdout)
	}
	return d.Decision
}

func TestEveryExampleProducesItsExpectedDecision(t *testing.T) {
	for _, e := range policies.Examples() {
		t.Run(e.Name, func(t *testing.T) {
			code, stdout, stderr := execute(t, "", "policy", "simulate", "--example", e.Name)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
			}
			if got := decisionOf(t, stdout); got != e.Expect {
				t.Errorf("decision = %s, want %s (examples/index.json):\n%s", got, e.Expect, stdout)
			}
		})
	}
}

// TestHelpHeredocRequestIsAllowed runs the request that `simulate --help` shows, so the help
// cannot teach a request that does not work.
func TestHelpHeredocRequestIsAllowed(t *testing.T) {
	example := newPolicySimulateCommand().Example
	_, body, ok := strings.Cut(example, "<<'EOF'\n")
	if !ok {
		t.Fatalf("simulate's Example has no heredoc:\n%s", example)
	}
	body, _, ok = strings.Cut(body, "\n  EOF")
	if !ok {
		t.Fatalf("simulate's heredoc has no closing EOF:\n%s", example)
	}
	code, stdout, stderr := execute(t, body, "policy", "simulate", "--request", "-")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
	}
	if got := decisionOf(t, stdout); got != "Allow" {
		t.Errorf("decision = %s, want Allow: a tenant's session reads its own bucket\n%s", got, stdout)
	}
}

func TestSimulateReadsRequestFromStdin(t *testing.T) {
	request := `{"action": "s3:GetObject", "resource": "arn:aws:s3:::quilt-tenant-acme/k",
	  "principal": {"arn": "arn:aws:iam::111122223333:user/u", "account": "111122223333"},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Sid": "NoReads", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}],
	  "resourceAccount": "111122223333"}`
	code, stdout, stderr := execute(t, request, "policy", "simulate", "--request", "-")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (a deny is still a decision); stderr: %s", code, stderr)
	}
	if got := decisionOf(t, stdout); got != "ExplicitDeny" {
		t.Errorf("decision = %s, want ExplicitDeny:\n%s", got, stdout)
	}
	if !strings.Contains(stdout, "NoReads") {
		t.Errorf("the decision does not name the deciding statement NoReads:\n%s", stdout)
	}
}

func TestSimulateReadsRequestFromFile(t *testing.T) {
	request, _, err := policies.Example("reference-s3-cross-account")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(file, request, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := execute(t, "", "policy", "simulate", "--request", file)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
	}
	if got := decisionOf(t, stdout); got != "ExplicitDeny" {
		t.Errorf("decision = %s, want ExplicitDeny:\n%s", got, stdout)
	}
}

func TestSimulateRejectsBadInputWithExitTwo(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-request.json")
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantInErr []string
	}{
		{"an unknown request field is named",
			`{"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "principal": {"arn": "arn:aws:iam::111122223333:user/u"}, "resourcePolcy": {}}`,
			[]string{"--request", "-"}, []string{"request on stdin", "resourcePolcy"}},
		{"a request that is not JSON is rejected", `{"action": `,
			[]string{"--request", "-"}, []string{"request on stdin"}},
		{"a missing request file is named", "",
			[]string{"--request", missing}, []string{"--request", missing}},
		{"both --request and --example are rejected", "",
			[]string{"--request", "-", "--example", "tutorial-s3-cross-account"}, []string{"exactly one"}},
		{"neither --request nor --example is rejected", "",
			nil, []string{"no request", "--request", "--example"}},
		{"an empty --request is rejected", "",
			[]string{"--request", ""}, []string{"need a value"}},
		{"--list-examples with --example is rejected", "",
			[]string{"--list-examples", "--example", "tutorial-s3-cross-account"}, []string{"--list-examples takes neither"}},
		{"an unknown example is named", "",
			[]string{"--example", "no-such-example"}, []string{`"no-such-example"`, "--list-examples"}},
		{"an unknown flag is named", "",
			[]string{"--requets", "-"}, []string{"--requets"}},
		{"a positional argument is rejected", "",
			[]string{"request.json"}, []string{`"request.json"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, tc.stdin, append([]string{"policy", "simulate"}, tc.args...)...)
			if code != exitInput {
				t.Errorf("exit %d, want %d", code, exitInput)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on invalid input", stdout)
			}
			if !strings.HasPrefix(stderr, "mcpsso: ") {
				t.Errorf("stderr = %q, want it to start with %q", stderr, "mcpsso: ")
			}
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("stderr prints the usage; an input error should be one clear message:\n%s", stderr)
			}
			for _, want := range tc.wantInErr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not contain %q", stderr, want)
				}
			}
		})
	}
}

func TestListExamplesShowsEveryExampleWithItsDescription(t *testing.T) {
	code, stdout, stderr := execute(t, "", "policy", "simulate", "--list-examples")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	examples := policies.Examples()
	if len(lines) != 1+len(examples) {
		t.Fatalf("got %d lines, want a header and one line per example (%d):\n%s", len(lines), len(examples), stdout)
	}
	for i, e := range examples {
		line := lines[i+1]
		if !strings.HasPrefix(line, e.Name+" ") || !strings.Contains(line, e.Expect) || !strings.HasSuffix(line, e.Description) {
			t.Errorf("line %q does not show %s, %s and its description", line, e.Name, e.Expect)
		}
	}
}

func TestUnknownSubcommandIsAnInputError(t *testing.T) {
	for _, args := range [][]string{{"nonsense"}, {"policy", "nonsense"}} {
		code, _, stderr := execute(t, "", args...)
		if code != exitInput || !strings.Contains(stderr, `unknown command "nonsense"`) {
			t.Errorf("mcpsso %s: exit %d, stderr %q; want exit %d naming the command", strings.Join(args, " "), code, stderr, exitInput)
		}
	}
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	code, stdout, _ := execute(t, "", "--version")
	if code != 0 || stdout != "mcpsso version "+versionString()+"\n" {
		t.Errorf("--version: exit %d, stdout %q", code, stdout)
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Hidden || cmd.Name() == "completion" || cmd.Name() == "help" {
			return
		}
		args := append(strings.Fields(cmd.CommandPath())[1:], "--help")
		code, stdout, stderr := execute(t, "", args...)
		if code != 0 {
			t.Errorf("mcpsso %s: exit %d; stderr: %s", strings.Join(args, " "), code, stderr)
		}
		for _, want := range []string{"Usage:", "Examples:", cmd.Long} {
			if !strings.Contains(stdout, want) {
				t.Errorf("mcpsso %s does not show %q", strings.Join(args, " "), want)
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand())
}

// buildBinary builds the mcpsso binary into a temporary directory (skipped with -short).
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("no go command on PATH to build the binary with: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "mcpsso-cmd-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir, built.bin = dir, filepath.Join(dir, "mcpsso")
		build := exec.Command(goTool, "build", "-ldflags", "-X main.version=v0.0.0-test", "-o", built.bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// built is the binary every test of this package runs: one build per test process (TestMain
// removes it), so that tests running side by side do not each link their own.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	if os.Getenv(envAWSHelper) != "" { // started by TestUpPrintsCommandsThatWork's shell
		os.Exit(awsAdminHelper())
	}
	if h := os.Getenv(envTestLambda); h != "" { // started by TestGatewayServeAsASubprocess's emulator
		if h != lambdaRESTAuthorizer {
			fmt.Fprintf(os.Stderr, "%s=%q: no such handler\n", envTestLambda, h)
			os.Exit(2)
		}
		lambda.Start(restAuthorizer) // serves invocations until the emulator kills it
		os.Exit(1)                   // not reached: lambda.Start exits on failure
	}
	// Every `mcpsso up` a test starts records itself here, never in the user's own state file;
	// a test that reads the file gives its up and token a path of their own.
	stateDir, err := os.MkdirTemp("", "mcpsso-cmd-test-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(envUpState, filepath.Join(stateDir, "up.json"))
	code := m.Run()
	_ = os.RemoveAll(stateDir)
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestBuiltBinaryExitCodes checks what a script sees: the real binary, its exit codes and streams.
func TestBuiltBinaryExitCodes(t *testing.T) {
	bin := buildBinary(t)

	runBin := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String(), errOut.String()
		case errors.As(err, &exit):
			return exit.ExitCode(), out.String(), errOut.String()
		default:
			t.Fatalf("running %s: %v", bin, err)
			return 0, "", ""
		}
	}

	code, stdout, stderr := runBin("policy", "simulate", "--example", "tutorial-trust-set-source-identity")
	if code != 0 {
		t.Fatalf("--example: exit %d, want 0; stderr: %s", code, stderr)
	}
	decisionOf(t, stdout)

	code, stdout, stderr = runBin("policy", "simulate", "--request", filepath.Join(t.TempDir(), "missing.json"))
	if code != exitInput || stdout != "" || !strings.HasPrefix(stderr, "mcpsso: --request: ") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q; want exit 2 and one error line", code, stdout, stderr)
	}

	if code, stdout, _ = runBin("--version"); code != 0 || stdout != "mcpsso version v0.0.0-test\n" {
		t.Errorf("--version: exit %d, stdout %q; want the -ldflags version", code, stdout)
	}
}
