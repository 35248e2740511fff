package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/all" // every suite and target
	"github.com/mcpsso/mcpsso/internal/scenarios/baselines"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

type conformFlags struct {
	target        string
	profile       string
	labelFilter   string
	tier          string
	junit         string
	summary       string
	knownFailures string
	verbose       bool
	awsBackend    string
	bypass        bool
	mcpImage      string
	authzImage    string
	sessions      bool
	idpProfile    string
	fixture       string
}

func newConformCommand() *cobra.Command {
	var f conformFlags
	cmd := &cobra.Command{
		Use:   "conform [--target embedded|FILE] [--profile reference|seed] [--fixture F] [--idp-profile NAME] [--tier auth] [--label-filter E] [--junit F] [--summary F] [--known-failures F|seed]",
		Short: "Run the scenario suites against a deployment and judge it",
		Long: `Run the scenario suites (bootstrap, trust, abac, spoofing, observability, transport, clients, adversarial)
against a deployment and judge it, requirement by requirement: every conformance spec checks one
requirement of the pattern (an MCP authorization or transport rule, an RFC, an AWS trust or
isolation rule, a tutorial mistake). The report groups the specs under their requirement, with its
reference and status (met, FAILED, known failure, not checked), one line per spec (result, spec)
and, under a spec that did not pass, why: for a failure its first line, the answer seen and what
was expected. Specs that check no requirement (the tutorial's illustrations, controls) come last;
then the requirements' tally and the verdict line (PASS: N passed, …).

Reports for CI: --junit F writes JUnit XML, one test suite per requirement (each test case's
classname is the requirement's ID, its properties the requirement, reference and outcome; a known
failure is a skipped case, a spec that passes although its baseline lists it a failed one);
--summary F appends a Markdown summary to F (creating it), fit for a CI job summary
($GITHUB_STEP_SUMMARY): the verdict, then a table per requirement, failures first with their
details.

Targets:
  embedded   the kit's own stack, started in this process from the default fixture (the
             default); --profile reference (corrected) or seed (the tutorial verbatim)
  FILE       a target file describing your deployment: its MCP URL, how to get tokens for its
             test users, their tenants, and the capabilities it offers (see "Target files" in
             the README). Specs needing a capability it lacks are skipped with the reason.

AWS backends (kit-made targets): --aws-backend emulator (the kit's own, the default); moto
(moto_server from PATH, started and stopped by conform); localstack (containers target only);
or the URL of a running AWS-compatible service whose admin key is test/test. moto and LocalStack
enforce no IAM policy, so the kit's enforcing proxy fronts them and enforces what AWS would;
such backends serve one account, so the cross-account specs are skipped. --bypass-enforce leaves
the proxy out: the upstream alone decides, and the enforcement specs fail — which shows the
enforcement comes from the kit, not from moto or LocalStack.

Your own IAM before you deploy: --fixture F deploys fixture F (from "mcpsso fixture import" of
a Terraform plan or a CloudFormation template) in the embedded stack, with the kit's reference
components around your policies, and runs the suites your policies decide: trust, abac and
spoofing (with --label-filter, a spec must match both). Under each failure the report names the
IaC address of the policy that decided (the fixture objects' source: fields) and the policy
engine's explanation, statement included ("IaC: …" and "decided: …").

The embedded reference stack requires the scope mcp:tools of every token (the default fixture
declares none; conformance checks the scope challenge), and its MCP server is stateless, as the
reference server runs by default: the spec of one user's session id presented with another
user's token is then skipped. --sessions runs that server with stateful sessions (2025-11-25
session ids, each bound to its user), and the session specs check them.

Bring your own images (containers target): --mcp-image runs your MCP server image in the
reference server's place, --authorizer-image your Lambda container image as the gateway's
authorizer; the suites then judge your code (see "Bring your own" in the README for the
environment each image gets).

IdP profiles (kit-made targets).
` + idpProfileHelp() + `
Until the reference authorizer is configured per IdP profile, specs may fail under a profile
other than generic; the failures name what the authorizer refused.

--known-failures names a baseline of expected failures (a file, or "seed" for the shipped
baseline of the tutorial's mistakes): a listed spec that fails is a known failure, a listed spec
that passes fails the run, so a baseline never goes stale. --label-filter selects specs by label
(Ginkgo syntax: "abac && !tutorial"); labels: conformance, bootstrap, trust, abac, spoofing,
observability, transport, clients, adversarial, tutorial, auth, needs:<capability>.

--tier auth runs the auth-surface tier alone: the specs labelled auth, which check the
authorization requirements (MCP authorization 2025-06-18/2025-11-25, RFC 9728, RFC 8414 and
OpenID discovery, RFC 8707, OAuth 2.1) without needing any of the deployment's tools, so they
run against a target file with only mcpUrl, its users and a way to get their tokens. It is
--label-filter auth; with --label-filter too, a spec must match both.

Exit status: 0 when everything expected passed; 1 when a spec failed unexpectedly, a known
failure passed or the deployment could not be started; 2 on invalid flags or files.`,
		Example: `  # The reference stack: everything must pass
  mcpsso conform

  # The tutorial as written: fails, every failure named; with its baseline: passes
  mcpsso conform --profile seed
  mcpsso conform --profile seed --known-failures seed

  # The reference MCP server with stateful sessions: the session specs run too
  mcpsso conform --sessions

  # The same suites on moto_server behind the enforcing proxy, then with the proxy bypassed
  mcpsso conform --aws-backend moto
  mcpsso conform --aws-backend moto --bypass-enforce

  # Your Terraform's IAM, before terraform apply
  terraform plan -out=tf.plan && terraform show -json tf.plan > plan.json
  mcpsso fixture import plan.json -o imported.yaml
  mcpsso conform --fixture imported.yaml

  # Your MCP server image in the containers topology
  mcpsso conform --target containers --mcp-image registry.example/my-mcp:1.2

  # The reference stack with an IdP that issues tokens as Amazon Cognito does
  mcpsso conform --idp-profile cognito

  # Only the auth surface of your deployment (no tool of it needed)
  mcpsso conform --target target.yaml --tier auth

  # Your deployment, JUnit and a job summary for CI
  mcpsso conform --target target.yaml --junit conformance.xml --summary "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConform(cmd, f) },
	}
	cmd.Flags().StringVar(&f.target, "target", "embedded", "embedded, or a target file")
	cmd.Flags().StringVar(&f.profile, "profile", "reference", "for the embedded target: reference or seed")
	cmd.Flags().StringVar(&f.labelFilter, "label-filter", "", "run only specs whose labels match (Ginkgo label-filter syntax)")
	cmd.Flags().StringVar(&f.tier, "tier", "", `run one tier alone: "auth" (the specs labelled auth: the auth surface, no tool needed)`)
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report to this file (one test suite per requirement)")
	cmd.Flags().StringVar(&f.summary, "summary", "", "append a Markdown summary to this file, e.g. $GITHUB_STEP_SUMMARY")
	cmd.Flags().StringVar(&f.knownFailures, "known-failures", "", `a known-failures file, or "seed" for the shipped baseline`)
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "print Ginkgo's full progress output")
	cmd.Flags().StringVar(&f.awsBackend, "aws-backend", "emulator", "kit-made targets: emulator, moto, localstack (containers), or an upstream URL")
	cmd.Flags().BoolVar(&f.bypass, "bypass-enforce", false, "with --aws-backend other than emulator: leave the enforcing proxy out (enforcement specs fail)")
	cmd.Flags().StringVar(&f.mcpImage, "mcp-image", "", "containers target: run this MCP server image in the reference server's place")
	addIdPProfileFlag(cmd, &f.idpProfile)
	cmd.Flags().StringVar(&f.authzImage, "authorizer-image", "", "containers target: run this Lambda container image as the gateway's authorizer")
	cmd.Flags().StringVar(&f.fixture, "fixture", "", "embedded target: deploy this fixture (e.g. from `mcpsso fixture import`) and run the trust, abac and spoofing suites against its policies")
	cmd.Flags().BoolVar(&f.sessions, "sessions", false, "embedded target: run the reference MCP server with stateful sessions (2025-11-25 session ids bound to their user)")
	return cmd
}

func runConform(cmd *cobra.Command, f conformFlags) error {
	if err := checkProfile(f.profile); err != nil {
		return err
	}
	if err := checkIdPProfile(f.idpProfile); err != nil {
		return err
	}
	if err := framework.CheckLabelFilter(f.labelFilter); err != nil {
		return fmt.Errorf("--label-filter: %w", err)
	}
	filter, err := tierFilter(f.tier, f.labelFilter)
	if err != nil {
		return err
	}
	if f.fixture != "" {
		if filter, err = fixtureFilter(cmd, f, filter); err != nil {
			return err
		}
	}
	known, err := loadKnownFailures(f.knownFailures)
	if err != nil {
		return fmt.Errorf("--known-failures: %w", err)
	}
	opts := framework.Options{Profile: f.profile, AWSBackend: f.awsBackend, BypassEnforce: f.bypass, MCPImage: f.mcpImage, AuthorizerImage: f.authzImage,
		Sessions: f.sessions, FixtureFile: f.fixture}
	if cmd.Flags().Changed(idpProfileFlag) {
		opts.IdPProfile = f.idpProfile
	}
	name := f.target
	if !slices.Contains(framework.Targets(), name) {
		if _, err := os.Stat(f.target); err != nil {
			return fmt.Errorf("--target %q: neither a target (%s) nor a readable file: %v", f.target, strings.Join(framework.Targets(), ", "), err)
		}
		name, opts.File = "external", f.target
	}
	if err := checkKitFlags(name, f, cmd.Flags().Changed(idpProfileFlag)); err != nil {
		return err
	}
	if p, err := authorizer.LookupPreset(f.idpProfile); err == nil && p.Unsupported != "" && cmd.Flags().Changed(idpProfileFlag) {
		// Refused before anything starts: no deployment of the pattern works with this IdP.
		return fmt.Errorf("--idp-profile %s: the reference deployment cannot work with this IdP, so there is nothing to conform: %s", f.idpProfile, p.Unsupported)
	}
	var summary *os.File
	if f.summary != "" {
		// Opened before the run, so a path that cannot be written fails at once (exit 2).
		if summary, err = os.OpenFile(f.summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
			return fmt.Errorf("--summary: %w", err)
		}
		defer summary.Close()
	}
	ctx := cmd.Context()
	t0 := time.Now()
	target, err := framework.NewTarget(ctx, name, opts)
	if err != nil {
		var fe failure
		if errors.As(err, &fe) || name == "embedded" {
			return failure{err}
		}
		return err
	}
	defer target.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "mcpsso conform: target %s (%s), MCP URL %s\n", target.Name(), describeTarget(target, f), target.MCPURL())
	if f.tier == "" {
		// The auth tier calls no tool, so only the others need the probes' tools to exist.
		if err := framework.CheckProbes(ctx, target); err != nil {
			return err
		}
	}
	report, err := framework.RunAll(target, framework.RunConfig{LabelFilter: filter, Verbose: f.verbose})
	if err != nil {
		return err
	}
	results, ok := framework.Verdict(report, known)
	if f.fixture != "" {
		results = withSources(target, report, results)
	}
	fmt.Fprintln(out)
	framework.PrintReport(out, results, ok)
	took := time.Since(t0).Round(time.Millisecond)
	fmt.Fprintf(out, "took %s\n", took)
	if f.junit != "" {
		if err := framework.WriteJUnit(f.junit, report, results); err != nil {
			return failure{fmt.Errorf("--junit: %w", err)}
		}
		fmt.Fprintf(out, "JUnit report: %s\n", f.junit)
	}
	if summary != nil {
		about := fmt.Sprintf("Target %s (%s), MCP URL %s; took %s.", target.Name(), describeTarget(target, f), target.MCPURL(), took)
		if err := framework.WriteMarkdown(summary, about, results, ok); err != nil {
			return failure{fmt.Errorf("--summary: %w", err)}
		}
		fmt.Fprintf(out, "Markdown summary: %s\n", f.summary)
	}
	if !ok {
		return failure{errors.New("the deployment does not conform (see the FAILED requirements above)")}
	}
	return nil
}

// tiers are the values of --tier, each the label its specs carry.
var tiers = []framework.Label{framework.Auth}

// tierFilter is the label filter a run uses: the tier's label, and the user's filter with it.
func tierFilter(tier, labelFilter string) (string, error) {
	if tier == "" {
		return labelFilter, nil
	}
	if !slices.Contains(tiers, framework.Label(tier)) {
		names := make([]string, len(tiers))
		for i, t := range tiers {
			names[i] = string(t)
		}
		return "", fmt.Errorf("--tier %q: want one of %s", tier, strings.Join(names, ", "))
	}
	if labelFilter == "" {
		return tier, nil
	}
	return tier + " && (" + labelFilter + ")", nil
}

// checkKitFlags refuses flags that do not apply to the target, rather than ignoring them.
func checkKitFlags(target string, f conformFlags, idpProfile bool) error {
	switch {
	case target == "external" && idpProfile:
		return errors.New("--idp-profile applies to kit-made targets (embedded, containers), whose IdP is the kit's mock; a target file's deployment has its own IdP")
	case target == "external" && (f.awsBackend != "emulator" || f.bypass || f.mcpImage != "" || f.authzImage != ""):
		return errors.New("--aws-backend, --bypass-enforce, --mcp-image and --authorizer-image apply to kit-made targets (embedded, containers), not to a target file")
	case target != "containers" && (f.mcpImage != "" || f.authzImage != ""):
		return fmt.Errorf("--mcp-image and --authorizer-image need --target containers (the %s target runs no images)", target)
	case f.sessions && target != "embedded":
		return fmt.Errorf("--sessions needs the embedded target: the %s target's MCP server is not the kit's to configure", target)
	case f.bypass && f.awsBackend == "emulator":
		return errors.New("--bypass-enforce needs --aws-backend moto, localstack or a URL: the emulator enforces by itself")
	}
	switch b := f.awsBackend; {
	case b == "emulator" || b == "moto" || b == "localstack":
	case strings.HasPrefix(b, "http://") || strings.HasPrefix(b, "https://"):
	default:
		return fmt.Errorf("--aws-backend %q: want emulator, moto, localstack or an http(s) URL of an AWS-compatible service", b)
	}
	if f.awsBackend == "localstack" && target != "containers" {
		return errors.New("--aws-backend localstack needs --target containers (LocalStack runs as a container)")
	}
	return nil
}

func describeTarget(t framework.Target, f conformFlags) string {
	if t.Name() == "embedded" {
		d := "profile " + f.profile
		if e, ok := t.(interface{ Stack() *stack.Stack }); ok {
			s := e.Stack()
			d += ", AWS " + s.AWSBackend().Name()
			if p := s.IdP().Profile().Name; p != mockidp.ProfileGeneric {
				d += ", IdP profile " + p
			}
			if scopes := s.Scopes(); len(scopes) > 0 {
				d += ", scopes " + strings.Join(scopes, " ")
			}
			if s.Sessions() {
				d += ", stateful sessions"
			}
		}
		return d
	}
	caps := make([]string, 0)
	for _, c := range t.Capabilities() {
		caps = append(caps, string(c))
	}
	if len(caps) == 0 {
		return "no optional capabilities"
	}
	return "capabilities " + strings.Join(caps, ", ")
}

func loadKnownFailures(arg string) ([]framework.KnownFailure, error) {
	if arg == "" {
		return nil, nil
	}
	var r io.ReadCloser
	var err error
	if slices.Contains(baselines.Names(), arg) {
		r, err = baselines.Open(arg)
	} else {
		r, err = os.Open(arg)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return framework.ParseKnownFailures(arg, r)
}
