package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

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
	cmd.AddCommand(newMCPServeCommand())
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
  mcpsso mcp serve --addr 127.0.0.1:8080 --metrics-addr 127.0.0.1:9090 --session-cache

  # Call it as the gateway would, with the headers its authorizer decided
  curl -s http://127.0.0.1:8080/mcp -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
    -H 'x-decided-role: arn:aws:iam::111122223333:role/quilt-mcp-target-acme' \
    -H 'x-source-identity: usr-alice' -H 'x-session-tags: {"tenant":"acme"}' \
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
	if err := s.Close(); err != nil {
		return failure{fmt.Errorf("shutting down: %w", err)}
	}
	return nil
}
