// Command mcpsso is the one binary of the mcpsso kit: a test harness and emulation kit for an MCP
// server on AWS that forces SSO and works for each user under that user's own IAM role.
//
// Each command group lives in its own file (policy.go for `mcpsso policy`); root.go holds the
// root command. main only maps errors to exit codes, so tests run the same command tree
// in-process through run.
//
// Exit codes: 0 when the command did its job (for `policy simulate`, whatever the decision),
// 1 when it could not, 2 for invalid input: bad flags or arguments, an unreadable or invalid
// request.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is the kit's version, set at build time with
// -ldflags "-X main.version=v1.2.3"; see versionString for the fallback.
var version = "dev"

const (
	exitFailure = 1
	exitInput   = 2
)

// failure marks an error as the command failing to do its job (exit 1) rather than
// rejecting its input (exit 2, the default for every other error).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

// shutDown closes what a serving command ran, in order, once it is told to stop; an error
// there (a server that had stopped serving on its own, say) is the command's failure.
func shutDown(servers ...interface{ Close() error }) error {
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return failure{fmt.Errorf("shutting down: %w", err)}
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Ctrl-C or SIGTERM ends long-running commands (serve, up) gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "mcpsso: %v\n", err)
	if errors.As(err, new(failure)) {
		return exitFailure
	}
	return exitInput
}
