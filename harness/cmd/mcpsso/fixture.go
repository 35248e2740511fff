package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/reference/policies"
)

func newFixtureCommand() *cobra.Command {
	cmd := groupCommand("fixture", "Print or check a fixture (accounts, users, roles, buckets)",
		`A fixture describes a deployment under test in YAML: accounts, tenants, the IdP's users, the
mapping from each user's subject to a role, session tags and limits, the IAM roles with their
trust and inline policies, the buckets with their policies and seed objects, and the scopes the
MCP resource requires of every token (mcp: {scopes: [...]}; none by default). Unknown fields
are errors. Policies are referenced by name (a document of the active profile in
reference/policies), by file (JSON beside the fixture) or inline.`)
	cmd.Example = `  mcpsso fixture print > fixture.yaml
  mcpsso fixture check fixture.yaml`
	print := &cobra.Command{
		Use:   "print",
		Short: "Print the embedded default fixture",
		Long:  "Print the embedded default fixture, a starting point for your own.",
		Example: `  mcpsso fixture print > fixture.yaml
  mcpsso aws serve --config fixture.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(fixture.DefaultYAML())
			return err
		},
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a fixture and summarise it",
		Long: `Validate a fixture the way every command that loads it does (strict YAML, references resolved in
both profiles) and print a one-line summary. Exit 2 with the first problem, naming the field.`,
		Example: "  mcpsso fixture check fixture.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := loadFixture(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d accounts, %d tenants, %d users (%d mapped), %d roles, %d buckets\n",
				len(f.Accounts), len(f.Tenants), len(f.Users), len(f.Mappings), len(f.Roles), len(f.Buckets))
			return nil
		},
	}
	cmd.AddCommand(print, check, newFixtureImportCommand())
	return cmd
}

// loadFixture loads a fixture file, or the embedded one for "default".
func loadFixture(path string) (*fixture.Fixture, error) {
	if path == "default" {
		return fixture.Default(), nil
	}
	return fixture.Load(path)
}

func checkProfile(p string) error {
	for _, known := range policies.Profiles() {
		if p == known {
			return nil
		}
	}
	return fmt.Errorf("--profile %q: must be reference (corrected policies) or seed (the tutorial's, verbatim)", p)
}
