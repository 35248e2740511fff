package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/reference/policies"
)

func newPolicyCommand() *cobra.Command {
	cmd := groupCommand("policy", "Evaluate IAM policies the way AWS does",
		`Commands that evaluate IAM policy documents with the kit's policy engine, the same engine the
AWS emulator enforces requests with.`)
	cmd.Example = `  mcpsso policy simulate --list-examples
  mcpsso policy simulate --example corrected-trust-set-source-identity`
	cmd.AddCommand(newPolicySimulateCommand())
	return cmd
}

// simulateFlags are the flags of `mcpsso policy simulate`.
type simulateFlags struct {
	request      string
	example      string
	listExamples bool
}

func newPolicySimulateCommand() *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate (--request FILE|- | --example NAME | --list-examples)",
		Short: "Decide one request against identity, resource, session and boundary policies",
		Long: `Decide one authorization request the way AWS would, and print the decision as JSON with the
statements that decided it.

The request is a JSON object (unknown fields are errors):
  action               "service:Operation", e.g. "s3:GetObject" or "sts:AssumeRole"
  resource             the ARN acted on (the role's ARN for sts: actions)
  principal            the caller: {"arn": ..., "account": ..., "tags": {"tenant": "acme"}}
                       (also roleArn, userId, sourceIdentity, service, federated, and
                       iamUserArn: the IAM user behind a federated-user session)
  context              condition keys, each a string or a list of strings,
                       e.g. {"sts:SourceIdentity": "usr-1", "aws:TagKeys": ["tenant"]}
  identityPolicies     the caller's identity policies: a list of policy documents
  resourcePolicy       the resource's policy: a bucket policy, or a role's trust policy
  sessionPolicy        a session policy, if the caller's session has one
  permissionsBoundary  a permissions boundary, if the caller has one
  resourceAccount      the account that owns the resource
Principal tags may also be given as "aws:PrincipalTag/<key>" context keys.

The decision printed on stdout:
  {"decision": "Allow" | "ExplicitDeny" | "ImplicitDeny",
   "matched": [{"policy": ..., "sid": ..., "statement": 0, "effect": ...}],
   "reason": "one line saying why"}
A context key that AWS does not send for the action is ignored, as AWS would never send it,
and listed under "ignoredContextKeys". When nothing allows, "nearMisses" lists the statements
that almost matched and the condition or element that failed.

Exit status: 0 when a decision was printed, whatever the decision; 2 when the request or the
flags are invalid, with a message on stderr naming the field and the rule.`,
		Example: `  # Run an embedded example, then list them all
  mcpsso policy simulate --example tutorial-trust-set-source-identity
  mcpsso policy simulate --list-examples

  # Decide a request read from stdin: may a tenant's session read its own bucket?
  mcpsso policy simulate --request - <<'EOF'
  {"action": "s3:GetObject",
   "resource": "arn:aws:s3:::quilt-tenant-acme/data.csv",
   "principal": {"arn": "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/usr-1",
                 "account": "111122223333", "tags": {"tenant": "acme"}},
   "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"}]}],
   "resourceAccount": "111122223333"}
  EOF

  # Decide a request kept in a file, and keep only the decision
  mcpsso policy simulate --request request.json | jq -r .decision`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd, f) },
	}
	cmd.Flags().StringVar(&f.request, "request", "", "read the simulation request from `FILE` (- for stdin)")
	cmd.Flags().StringVar(&f.example, "example", "", "run the embedded example `NAME` (see --list-examples)")
	cmd.Flags().BoolVar(&f.listExamples, "list-examples", false, "list the embedded examples with what each shows")
	_ = cmd.RegisterFlagCompletionFunc("example", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, e := range policies.Examples() {
			names = append(names, e.Name+"\t"+e.Description)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runSimulate(cmd *cobra.Command, f simulateFlags) error {
	given := func(name string) bool { return cmd.Flags().Changed(name) }
	switch {
	case f.listExamples:
		if given("request") || given("example") {
			return errors.New("--list-examples takes neither --request nor --example")
		}
		return listExamples(cmd.OutOrStdout())
	case given("request") && given("example"):
		return errors.New("--request and --example both given: give exactly one")
	case !given("request") && !given("example"):
		return errors.New("no request: give --request FILE (- for stdin) or --example NAME (--list-examples lists them)")
	}

	data, source, err := readRequest(cmd.InOrStdin(), f)
	if err != nil {
		return err
	}
	decision, err := iampolicy.Simulate(data)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	out, err := json.MarshalIndent(decision, "", "  ")
	if err != nil {
		return failure{fmt.Errorf("encoding the decision: %w", err)}
	}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out); err != nil {
		return failure{fmt.Errorf("writing the decision: %w", err)}
	}
	return nil
}

// readRequest returns the request's JSON and a name for it to start error messages with.
func readRequest(stdin io.Reader, f simulateFlags) (data []byte, source string, err error) {
	switch {
	case f.example != "":
		if !slices.ContainsFunc(policies.Examples(), func(e policies.ExampleInfo) bool { return e.Name == f.example }) {
			return nil, "", fmt.Errorf("--example %q: no such example; --list-examples lists them", f.example)
		}
		data, _, err = policies.Example(f.example)
		return data, "example " + f.example, err
	case f.request == "-":
		data, err = io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("--request -: reading stdin: %w", err)
		}
		return data, "request on stdin", nil
	case f.request != "":
		data, err = os.ReadFile(f.request)
		if err != nil {
			return nil, "", fmt.Errorf("--request: %w", err)
		}
		return data, f.request, nil
	default:
		return nil, "", errors.New("--request and --example need a value: a file name (- for stdin) or an example name")
	}
}

func listExamples(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEXPECT\tDESCRIPTION")
	for _, e := range policies.Examples() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Expect, e.Description)
	}
	if err := tw.Flush(); err != nil {
		return failure{fmt.Errorf("writing the list: %w", err)}
	}
	return nil
}
