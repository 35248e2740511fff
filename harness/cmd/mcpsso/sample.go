package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/sample"
	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
)

// The `sample` group runs the go-sdk sample deployment, the server no one here shaped that
// docs/targets.md validates as a third party would. It is a demonstration, so it is hidden.
func newSampleCommand() *cobra.Command {
	cmd := groupCommand("sample", "Run the go-sdk sample deployment (a third-party-style MCP server)",
		`The go-sdk sample is an MCP server written the way a third party would write the pattern, with
the official MCP Go SDK and tools of its own (identity, read_file, search, write_file,
delete_file on s3:// URIs): it verifies tokens itself and assumes each user's tenant role. Its
target file maps the suites' operations onto its tools, so "mcpsso conform --target" judges it
like any deployment (docs/targets.md). Hidden: it is a demonstration, not part of the kit.`)
	cmd.Hidden = true
	cmd.AddCommand(newSampleServeCommand())
	return cmd
}

type sampleServeFlags struct {
	portBase          int
	defect, targetOut string
	logLevel          string
}

func newSampleServeCommand() *cobra.Command {
	var f sampleServeFlags
	names := []string{"none"}
	for _, d := range gosdkserver.Defects {
		names = append(names, string(d))
	}
	cmd := &cobra.Command{
		Use:   "serve [--port-base N] [--defect NAME] [--target-out FILE]",
		Short: "Run the go-sdk sample deployment until interrupted",
		Long: `Start the mock IdP and the AWS emulator seeded from the default fixture with the reference
policies, the task role's container-credentials endpoint, and the go-sdk sample server acting
from it; print "ready <MCP URL>" and the other endpoints, and serve until interrupted.

Ports from --port-base N (default 8580): the sample's MCP endpoint N, the IdP N+1, AWS N+2, the
task role's credentials N+3. internal/harness/sample/target.yaml is the target file for the default
ports; --target-out FILE writes the one for these ports, its token command running this binary.

--defect starts the server with one deliberate mistake, to see which specs catch it:
` + strings.Join(names, ", ") + `. With skips-source-identity the target roles
trust the task role without a SourceIdentity (a deployment whose server sets none).`,
		Example: `  mcpsso sample serve &
  export AUDIT_KEY_ID=test AUDIT_SECRET=test
  mcpsso conform --target internal/harness/sample/target.yaml

  # A defect, on other ports, with its own target file
  mcpsso sample serve --port-base 9580 --defect tenant-from-uri --target-out /tmp/sample.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSampleServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.portBase, "port-base", sample.DefaultPortBase, "lay the ports out from N (N to N+3)")
	fl.StringVar(&f.defect, "defect", "none", "a deliberate mistake: "+strings.Join(names, ", "))
	fl.StringVar(&f.targetOut, "target-out", "", "write the deployment's target file here")
	fl.StringVar(&f.logLevel, "log-level", "warn", "JSON log level on stderr: debug, info, warn, error")
	return cmd
}

func runSampleServe(cmd *cobra.Command, f sampleServeFlags) error {
	if f.portBase < 1024 || f.portBase > 65532 {
		return fmt.Errorf("--port-base %d: must be between 1024 and 65532 (it uses four ports from there)", f.portBase)
	}
	defect, err := gosdkserver.ParseDefect(f.defect)
	if err != nil {
		return fmt.Errorf("--defect: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	ctx := cmd.Context()
	d, err := sample.Start(ctx, sample.WithPorts(sample.PortsFrom(f.portBase)), sample.WithDefect(defect),
		sample.WithLogOutput(cmd.ErrOrStderr(), level))
	if err != nil {
		if errors.As(err, new(*net.OpError)) {
			return failure{err}
		}
		return err
	}
	if f.targetOut != "" {
		self, err := os.Executable()
		if err != nil {
			_ = d.Close()
			return failure{fmt.Errorf("--target-out: finding this binary for the token command: %w", err)}
		}
		if err := os.WriteFile(f.targetOut, d.TargetFile(self, false), 0o644); err != nil {
			_ = d.Close()
			return failure{fmt.Errorf("--target-out: %w", err)}
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "ready %s\n", d.MCPURL())
	fmt.Fprintf(out, "issuer %s\n", d.IssuerURL())
	fmt.Fprintf(out, "aws %s\n", d.AWSEndpoint())
	fmt.Fprintf(out, "defect %s\n", defect)
	if f.targetOut != "" {
		fmt.Fprintf(out, "target %s\n", f.targetOut)
	}
	<-ctx.Done()
	return shutDown(d)
}
