// Command mcpserver runs the reference MCP server (package mcpserver) on its own: the binary of
// the container image. It takes the same flags as `mcpsso mcp serve`; run it with -help.
//
// Build a static binary and the image (FROM scratch) from the repository root:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o reference/mcpserver/mcpserver ./reference/mcpserver/cmd/mcpserver
//	docker build -f reference/mcpserver/Containerfile -t mcpsso/mcpserver reference/mcpserver
//
// Exit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when it cannot run (no AWS
// configuration, the address is taken), 2 for invalid flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/config"
	// An image FROM scratch has no CA certificates; this embeds Mozilla's as a fallback for
	// TLS to STS and S3.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f mcpserver.Flags
	f.Register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mcpserver [flags]\n\n%s\n\nFlags:\n", mcpserver.HelpText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has printed the error
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mcpserver: unexpected argument %q; every setting is a flag (see -help)\n", fs.Arg(0))
		return 2
	}
	opts, err := f.Options(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mcpserver: %v\n", err)
		return 2
	}
	opts = append(opts, mcpserver.WithOriginHint("mcpserver --allowed-origin"))
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "mcpserver: loading the AWS SDK configuration: %v\n", err)
		return 1
	}
	s, err := mcpserver.Start(ctx, awsCfg, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "mcpserver: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ready %s\n", s.URL())
	if s.MetricsURL() != "" {
		fmt.Fprintf(stdout, "metrics %s\n", s.MetricsURL())
	}
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "mcpserver: shutting down: %v\n", err)
		return 1
	}
	return 0
}
