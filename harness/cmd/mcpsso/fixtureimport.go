package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/iacimport"
)

type fixtureImportFlags struct {
	out, values, taskRole, tagKey, account string
	targets, buckets                       []string
}

func newFixtureImportCommand() *cobra.Command {
	var f fixtureImportFlags
	cmd := &cobra.Command{
		Use:   "import FILE -o OUT [--values F] [--task-role R] [--target ROLE=TENANT]... [--bucket B=TENANT]... [--tag-key K]",
		Short: "Make a fixture from a Terraform plan or a CloudFormation template",
		Long: `Make a fixture from your infrastructure code, so that "mcpsso conform --fixture OUT" runs the
trust, ABAC and spoofing suites against your own IAM before anything is deployed.

FILE is a Terraform plan in JSON (terraform plan -out=P && terraform show -json P > plan.json)
or a CloudFormation template in JSON or YAML (what cdk synth writes to cdk.out). The importer
reads the IAM roles (trust, inline and attached policies, tags, max session duration), the
customer managed policies, the S3 buckets and their bucket policies; in a template it resolves
Ref, Fn::Sub, Fn::Join, Fn::Select and Fn::GetAtt of role, bucket and policy ARNs, with
parameters' defaults. An expression it cannot resolve is an error naming the resource, the
property and the expression.

It then maps the deployment onto the pattern, printing what it inferred and why: the task role
(the role ecs-tasks.amazonaws.com may assume), the tenants' target roles (roles whose trust
policy names the task role; the tenant from an aws:RequestTag condition, a tag, or the name),
each tenant's bucket (the bucket whose name holds the tenant), the tenant tag key
(${aws:PrincipalTag/KEY} in the policies). Flags override each inference.

Values known only after apply (a generated name, AWS::AccountId, a resource's ARN) are named
placeholders; a values file maps them (YAML: "values: {NAME: VALUE}", nothing else). Without
one, AWS::AccountId is 111122223333 and any other placeholder is an error listing them all.

Every object of the fixture carries its source address (module.mcp.aws_iam_role.target["acme"],
or the template's logical id and CDK path), as a comment and in its source: field. OUT is
written whole or not at all (a temporary file renamed into place).`,
		Example: `  terraform plan -out=tf.plan && terraform show -json tf.plan > plan.json
  mcpsso fixture import plan.json -o imported.yaml
  mcpsso conform --fixture imported.yaml

  npx cdk synth > /dev/null && mcpsso fixture import cdk.out/McpStack.template.json -o imported.yaml
  mcpsso fixture import template.yaml -o imported.yaml --values values.yaml --task-role mcp-task`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFixtureImport(cmd, args[0], f) },
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the fixture to this file (required; - for stdout)")
	cmd.Flags().StringVar(&f.values, "values", "", "a values file mapping placeholders of values known only after apply")
	cmd.Flags().StringVar(&f.taskRole, "task-role", "", "the MCP server's task role, by name")
	cmd.Flags().StringArrayVar(&f.targets, "target", nil, "a tenant's target role, ROLE=TENANT (repeat; replaces the inferred ones)")
	cmd.Flags().StringArrayVar(&f.buckets, "bucket", nil, "a tenant's bucket, BUCKET=TENANT (repeat)")
	cmd.Flags().StringVar(&f.tagKey, "tag-key", "", "the session tag key that carries the tenant")
	cmd.Flags().StringVar(&f.account, "account", "", "the deployment's account ID")
	return cmd
}

func pairs(flag string, vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, fmt.Errorf("--%s %q: want NAME=TENANT", flag, v)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--%s: %s given twice", flag, k)
		}
		out[k] = val
	}
	return out, nil
}

func runFixtureImport(cmd *cobra.Command, in string, f fixtureImportFlags) error {
	if f.out == "" {
		return errors.New("-o/--output: required (a file, or - for stdout)")
	}
	o := iacimport.Options{TaskRole: f.taskRole, TagKey: f.tagKey, Account: f.account}
	var err error
	if o.Targets, err = pairs("target", f.targets); err != nil {
		return err
	}
	if o.Buckets, err = pairs("bucket", f.buckets); err != nil {
		return err
	}
	if f.values != "" {
		if o.Values, err = iacimport.LoadValues(f.values); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	res, err := iacimport.Import(data, o)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	log := cmd.ErrOrStderr()
	fmt.Fprintln(log, "inferred:")
	for _, s := range res.Inferred {
		fmt.Fprintln(log, "  "+s)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(log, "note: "+n)
	}
	if f.out == "-" {
		_, err := cmd.OutOrStdout().Write(res.YAML)
		return err
	}
	if err := writeWhole(f.out, res.YAML); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s: %d roles, %d buckets\n", f.out, len(res.Model.Roles), len(res.Model.Buckets))
	return nil
}

// writeWhole writes data to path through a temporary file in the same directory renamed into
// place, so that a reader never sees half a fixture and a failure leaves path as it was.
func writeWhole(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
