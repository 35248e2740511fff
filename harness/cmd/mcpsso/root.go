package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mcpsso",
		Short: "Test harness and emulation kit for an SSO-protected MCP server on AWS",
		Long: `mcpsso tests one deployment pattern: an MCP server on AWS that forces SSO (OIDC bearer
tokens checked by an API Gateway Lambda authorizer) and works for each user under that user's
own IAM role (STS AssumeRole per request, with SourceIdentity and session tags, and S3 ABAC on
${aws:PrincipalTag/tenant}).

Its IAM policy engine evaluates policies the way AWS documents it - trust policies, conditions,
policy variables, bucket policies - and every decision names the statement (or the missing
allow) that decided it. It ships the tutorial's policies verbatim (profile "seed") beside
corrected ones (profile "reference"), so you can see where the tutorial would fail on AWS.`,
		Example: `  # See why the tutorial's trust policy denies every AssumeRole that sets a SourceIdentity
  mcpsso policy simulate --example tutorial-trust-set-source-identity

  # Every command explains itself
  mcpsso policy simulate --help`,
		Version:       versionString(),
		SilenceUsage:  true, // input errors get one clear line, not a page of usage
		SilenceErrors: true, // run prints errors, so each is printed once, as "mcpsso: ..."
	}
	root.AddCommand(newPolicyCommand(), newAWSCommand(), newFixtureCommand(), newIdPCommand(), newTokenCommand(), newGatewayCommand(), newMCPCommand(), newUpCommand(), newConformCommand(), newBenchCommand())
	root.AddCommand(newLambdaCommand())
	root.AddCommand(newVPCCommand()) // hidden: the harness's helpers inside container networks
	// hidden: the go-sdk sample deployment (docs/targets.md), a demonstration
	root.AddCommand(newSampleCommand())
	// hidden: writes the CLI reference (docs/cli) from this tree
	root.AddCommand(newDocsCommand())
	return root
}

// versionString is the -ldflags version if one was set, else the module version `go install`
// recorded, else "dev".
func versionString() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

// groupCommand is a command that only holds subcommands: run alone it prints its help, and an
// unknown subcommand is an error rather than a silent help page.
func groupCommand(use, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}
