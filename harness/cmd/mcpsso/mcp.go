package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

func newMCPCommand() *cobra.Command {
	cmd := groupCommand("mcp", "Run the reference MCP server",
		`The reference MCP server is the "auth-dumb" server of the pattern: behind a gateway whose
authorizer verified the token, it reads only the gateway's identity headers and acts, for each
tool call, with the caller's own STS session (AssumeRole with SourceIdentity and session tags).
It is also the model to compare your own server against.`)
	cmd.Example = `  mcpsso mcp serve
  mcpsso mcp serve --help`
	cmd.AddCommand(newMCPServeCommand(), newMCPProveCommand())
	return cmd
}

func newMCPServeCommand() *cobra.Command {
	var f mcpserver.Flags
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--metrics-addr HOST:PORT] [--session-cache] [--sessions] ...",
		Short: "Serve the reference MCP server until interrupted",
		Long:  mcpserver.HelpText,
		Example: `  # Credentials come from the SDK default chain: on ECS the task role; locally, a task-role
  # endpoint of the emulator (AWS_CONTAINER_CREDENTIALS_FULL_URI and _AUTHORIZATION_TOKEN)
  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1
  # The context proof secret it shares with the authorizer (which gets it as
  # MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET)
  export MCPSSO_CONTEXT_PROOF_SECRET=$(openssl rand -hex 32)
  mcpsso mcp serve --addr 127.0.0.1:8080 --metrics-addr 127.0.0.1:9090 --session-cache

  # Call it as the gateway would: the headers its authorizer decided, and their proof
  PROOF=$(mcpsso mcp prove --decided-role 'arn:aws:iam::111122223333:role/quilt-mcp-target-acme' \
    --source-identity 'usr-alice' --session-tags '{"tenant":"acme"}')
  curl -s http://127.0.0.1:8080/mcp -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
    -H 'x-decided-role: arn:aws:iam::111122223333:role/quilt-mcp-target-acme' \
    -H 'x-source-identity: usr-alice' -H 'x-session-tags: {"tenant":"acme"}' -H "x-context-proof: $PROOF" \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'

  # Behind a proxy that forwards the public host name
  mcpsso mcp serve --addr :8080 --allowed-host mcp.example.com --allowed-origin https://app.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMCPServe(cmd, &f) },
	}
	goFlags := flag.NewFlagSet("mcp serve", flag.ContinueOnError)
	f.Register(goFlags)
	cmd.Flags().AddGoFlagSet(goFlags)
	return cmd
}

type mcpProveFlags struct {
	role, sourceIdentity, sessionTags, limits, method, path, secretFile string
}

func newMCPProveCommand() *cobra.Command {
	var f mcpProveFlags
	cmd := &cobra.Command{
		Use:   "prove --decided-role ARN --source-identity SI --session-tags JSON [--limits JSON] [--method M] [--path P]",
		Short: "Print the context proof the authorizer would make for a request, for x-context-proof",
		Long: `Print, on one line, the x-context-proof value the reference authorizer would make for a request of
--method to --path whose decided headers are the ones given, signed now with a fresh nonce, with
the secret of $` + mcpserver.EnvContextProofSecret + ` or --context-proof-secret-file (the one the MCP server
has). It stands in for the authorizer when calling the MCP server by hand, or when testing a
server of your own that checks proofs: give each header exactly as you will send it. A proof is
good for one request, within the server's window (default 60s).`,
		Example: `  export ` + mcpserver.EnvContextProofSecret + `=$(openssl rand -hex 32)
  mcpsso mcp prove --decided-role arn:aws:iam::111122223333:role/quilt-mcp-target-acme \
    --source-identity usr-alice --session-tags '{"tenant":"acme"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text, from := os.Getenv(mcpserver.EnvContextProofSecret), "$"+mcpserver.EnvContextProofSecret
			if f.secretFile != "" {
				raw, err := os.ReadFile(f.secretFile)
				if err != nil {
					return fmt.Errorf("--context-proof-secret-file: %w", err)
				}
				text, from = string(raw), "--context-proof-secret-file"
			}
			secret, err := contextproof.ParseSecret(text)
			if err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			for flagName, v := range map[string]string{"--decided-role": f.role, "--source-identity": f.sourceIdentity, "--session-tags": f.sessionTags} {
				if v == "" {
					return fmt.Errorf("%s: required (the value the gateway forwards)", flagName)
				}
			}
			h := http.Header{}
			h.Set(mcpserver.HeaderDecidedRole, f.role)
			h.Set(mcpserver.HeaderSourceIdentity, f.sourceIdentity)
			h.Set(mcpserver.HeaderSessionTags, f.sessionTags)
			if f.limits != "" {
				h.Set(mcpserver.HeaderLimits, f.limits)
			}
			if err := stack.SignContext(secret, f.method, f.path, h); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h.Get(mcpserver.HeaderContextProof))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.role, "decided-role", "", "x-decided-role as sent")
	cmd.Flags().StringVar(&f.sourceIdentity, "source-identity", "", "x-source-identity as sent")
	cmd.Flags().StringVar(&f.sessionTags, "session-tags", "", "x-session-tags as sent")
	cmd.Flags().StringVar(&f.limits, "limits", "", "x-limits as sent (default: none sent)")
	cmd.Flags().StringVar(&f.method, "method", http.MethodPost, "the request's method")
	cmd.Flags().StringVar(&f.path, "path", mcpserver.DefaultPath, "the request's path as the MCP server receives it")
	cmd.Flags().StringVar(&f.secretFile, "context-proof-secret-file", "", "read the secret from this file instead of $"+mcpserver.EnvContextProofSecret)
	return cmd
}

func runMCPServe(cmd *cobra.Command, f *mcpserver.Flags) error {
	opts, err := f.Options(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	opts = append(opts, mcpserver.WithOriginHint("mcpsso mcp serve --allowed-origin"))
	ctx := cmd.Context()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return failure{fmt.Errorf("loading the AWS SDK configuration: %w", err)}
	}
	s, err := mcpserver.Start(ctx, awsCfg, opts...)
	if err != nil {
		if strings.Contains(err.Error(), "listen") {
			return failure{err}
		}
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "ready %s\n", s.URL())
	if s.MetricsURL() != "" {
		fmt.Fprintf(out, "metrics %s\n", s.MetricsURL())
	}
	<-ctx.Done()
	return shutDown(s)
}
