package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
)

// rieDefaultAddr is where `mcpsso lambda rie` listens by default: the host port AWS's emulator
// documentation maps to a container's 8080 (docker run -p 9000:8080), so the gateway's
// --authorizer-url http://127.0.0.1:9000 works either way. Inside a Lambda container image
// give --addr 0.0.0.0:8080, the port of the image contract.
const rieDefaultAddr = "127.0.0.1:9000"

// Variables AWS's emulator reads, honoured as flag defaults so that images built for it work.
const (
	envFunctionName    = "AWS_LAMBDA_FUNCTION_NAME"
	envFunctionTimeout = "AWS_LAMBDA_FUNCTION_TIMEOUT" // whole seconds
)

func newLambdaCommand() *cobra.Command {
	cmd := groupCommand("lambda", "Run a Lambda function locally behind the Lambda Invoke API",
		`Run the same binary you deploy to AWS Lambda (any runtime that speaks the Lambda Runtime API, such
as a Go program calling aws-lambda-go's lambda.Start) behind the Lambda Invoke API, so the API
Gateway emulator ("mcpsso gateway serve --authorizer-url") or any Invoke client can call it.`)
	cmd.Example = `  mcpsso lambda rie --function-name mcp-authorizer -- ./bootstrap`
	cmd.AddCommand(newLambdaRIECommand())
	return cmd
}

type lambdaRIEFlags struct {
	addr         string
	functionName string
	timeout      time.Duration
	memoryMB     int
	handlerName  string
	logLevel     string
}

func newLambdaRIECommand() *cobra.Command {
	var f lambdaRIEFlags
	cmd := &cobra.Command{
		Use:   "rie [--addr HOST:PORT] [--function-name NAME] [--timeout D] -- HANDLER [ARGS...]",
		Short: "Serve the Lambda Invoke API in front of a handler process (a Runtime Interface Emulator)",
		Long: `A Lambda Runtime Interface Emulator, as AWS's base images have: it starts HANDLER with the Lambda
environment (AWS_LAMBDA_RUNTIME_API on a loopback port of its own, AWS_LAMBDA_FUNCTION_NAME,
AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, _HANDLER, AWS_REGION and
AWS_DEFAULT_REGION when unset, and everything this command inherits) and serves

  POST /2015-03-31/functions/function/invocations
  POST /2015-03-31/functions/NAME/invocations        (NAME: --function-name)

It behaves as one Lambda execution environment: one invocation at a time (the others wait), a
6 MB limit on requests and responses, and a timeout per invocation (--timeout, Lambda's default
3s). Failures are answered as Lambda answers them, HTTP 200 with X-Amz-Function-Error: Unhandled
and an {"errorMessage","errorType"} body: the function's own errors; Sandbox.Timedout past the
timeout; Runtime.ExitError when the handler exits during an invocation or cannot start. After a
timeout or an exit the next invocation starts a new handler process (a cold start); a handler
that cannot start is not restarted in a loop.

When it accepts connections it prints "ready <URL>" on stdout (the Invoke API's base URL, what
--authorizer-url takes), then the full invocation URL. One JSON line per invocation (request_id,
outcome, error_type, duration_ms) and per handler start and exit goes to stderr, with the
handler's own output.

Defaults for AWS's emulator's variables: --function-name from AWS_LAMBDA_FUNCTION_NAME, --timeout
from AWS_LAMBDA_FUNCTION_TIMEOUT (seconds). --addr defaults to ` + rieDefaultAddr + ` (the host port AWS's
documentation maps to a container's 8080); a Lambda container image serves 0.0.0.0:8080.`,
		Example: `  # The reference authorizer as a REST API TOKEN authorizer, and one invocation by hand
  MCPSSO_AUTHORIZER_MODE=token MCPSSO_AUTHORIZER_ISSUER=http://127.0.0.1:8400 \
  MCPSSO_AUTHORIZER_ROLE_STORE=file:roles.yaml \
    mcpsso lambda rie --function-name mcp-authorizer -- ./authorizer
  curl -s -d '{"type":"TOKEN","authorizationToken":"Bearer x","methodArn":"arn:aws:execute-api:us-east-1:111122223333:api/prod/POST/mcp"}' \
    http://127.0.0.1:9000/2015-03-31/functions/function/invocations

  # The entry point of a Lambda container image (FROM scratch, no shell needed)
  ENTRYPOINT ["/mcpsso", "lambda", "rie", "--addr", "0.0.0.0:8080", "--", "/bootstrap"]`,
		RunE: func(cmd *cobra.Command, args []string) error { return runLambdaRIE(cmd, f, args) },
	}
	// Everything from HANDLER on is the handler's, even without "--".
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", rieDefaultAddr, "listen address HOST:PORT of the Invoke API")
	fl.StringVar(&f.functionName, "function-name", "", "the function's name, answered besides \"function\" (default $"+envFunctionName+", else \"function\")")
	fl.DurationVar(&f.timeout, "timeout", 0, "invocation timeout, at most 15m (default $"+envFunctionTimeout+" seconds, else 3s)")
	fl.IntVar(&f.memoryMB, "memory-size", lambdarie.DefaultMemorySize, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE told to the handler, 128 to 10240 (not enforced)")
	fl.StringVar(&f.handlerName, "handler", "", "the _HANDLER setting (default: HANDLER's base name)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

func runLambdaRIE(cmd *cobra.Command, f lambdaRIEFlags, args []string) error {
	if len(args) == 0 {
		return errors.New("no handler: give the handler command after the flags, e.g. mcpsso lambda rie -- ./bootstrap")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	name := f.functionName
	if name == "" {
		name = os.Getenv(envFunctionName)
	}
	if name == "" {
		name = lambdarie.DefaultFunctionName
	}
	timeout := f.timeout
	if !cmd.Flags().Changed("timeout") {
		timeout = lambdarie.DefaultTimeout
		if v := os.Getenv(envFunctionTimeout); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s=%q: must be a positive whole number of seconds", envFunctionTimeout, v)
			}
			timeout = time.Duration(n) * time.Second
		}
	}
	errOut := cmd.ErrOrStderr()
	opts := []lambdarie.Option{lambdarie.WithHandler(args[0], args[1:]...), lambdarie.WithAddr(f.addr),
		lambdarie.WithOutput(errOut), lambdarie.WithLogger(slog.New(slog.NewJSONHandler(errOut, &slog.HandlerOptions{Level: level})))}
	for _, o := range []struct {
		flag   string
		option lambdarie.Option
	}{
		{"--function-name", lambdarie.WithFunctionName(name)},
		{"--timeout", lambdarie.WithTimeout(timeout)},
		{"--memory-size", lambdarie.WithMemorySize(f.memoryMB)},
	} {
		// Validate here, so the error names the flag.
		if err := lambdarie.CheckOptions(o.option); err != nil {
			return fmt.Errorf("%s: %w", o.flag, err)
		}
		opts = append(opts, o.option)
	}
	if f.handlerName != "" {
		opts = append(opts, lambdarie.WithHandlerName(f.handlerName))
	}
	s, err := lambdarie.Start(cmd.Context(), opts...)
	if err != nil {
		if strings.Contains(err.Error(), "listen on") {
			return failure{err}
		}
		return err
	}
	defer s.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "ready %s\n", s.Endpoint())
	fmt.Fprintf(out, "invoke %s\n", s.InvokeURL())
	<-cmd.Context().Done()
	return shutDown(s)
}
