package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// authorizerFromEnv builds the reference authorizer from MCPSSO_AUTHORIZER_* variables, as the
// Lambda entry point does, for the gateway to call in-process.
func authorizerFromEnv(ctx context.Context) (gateway.Authorizer, error) {
	cfg, err := authorizer.ConfigFromEnv(os.Environ())
	if err != nil {
		return nil, err
	}
	aopts, err := cfg.Options(nil)
	if err != nil {
		return nil, err
	}
	a, err := authorizer.New(ctx, aopts...)
	if err != nil {
		return nil, err
	}
	switch cfg.Mode {
	case authorizer.ModeREST:
		return gateway.RESTAuthorizer(a.REST), nil
	case authorizer.ModeToken:
		return gateway.TokenAuthorizer(a.Token), nil
	default:
		return gateway.HTTPAPIAuthorizer(a.HTTPAPI), nil
	}
}

func newGatewayCommand() *cobra.Command {
	cmd := groupCommand("gateway", "Run the API Gateway emulator (HTTP API or REST API with a Lambda authorizer)",
		`The API Gateway emulator stands in front of an MCP server as API Gateway would: an HTTP API (faithful
to AWS, including what it cannot do: no WWW-Authenticate on its 401 and 403) or a REST API (gateway
responses that can carry a WWW-Authenticate challenge), a Lambda authorizer reached through the
Lambda Invoke API, the authorizer result cache, integration request parameter mapping, and a
streaming proxy to the integration (the NLB in front of the MCP server).`)
	cmd.Example = `  mcpsso gateway serve --profile reference --authorizer-url http://127.0.0.1:9000 --integration-url http://127.0.0.1:8080 --issuer http://127.0.0.1:8400`
	cmd.AddCommand(newGatewayServeCommand())
	return cmd
}

type gatewayServeFlags struct {
	config         string
	profile        string
	addr           string
	authorizerURL  string
	integrationURL string
	publicURL      string
	issuer         string
	logLevel       string
	authorizerEnv  bool
	allowedOrigins []string
}

func newGatewayServeCommand() *cobra.Command {
	var f gatewayServeFlags
	cmd := &cobra.Command{
		Use:   "serve (--config F | --profile seed|reference) [--addr HOST:PORT] [--authorizer-url URL] [--integration-url URL]",
		Short: "Serve one emulated API until interrupted",
		Long: `Serve the API described by a YAML config (--config F) or a shipped one (--profile):
  seed       the tutorial's HTTP API as written: REQUEST authorizer on Authorization, cache off,
             a VPC link to the NLB, the authorizer's hyphenated context keys mapped to headers
  reference  a REST API whose UNAUTHORIZED response carries
             WWW-Authenticate: Bearer resource_metadata="...", error="invalid_token", with the
             protected resource metadata served without a token

The authorizer is a Lambda function behind the Lambda Invoke API at --authorizer-url: the base URL
of a Lambda Runtime Interface Emulator (the function name comes from the config's authorizerUri;
set AWS_LAMBDA_FUNCTION_NAME to it in the container) or a full
.../2015-03-31/functions/NAME/invocations URL. --integration-url replaces the scheme and host of
every HTTP_PROXY integration (the NLB); --public-url is the URL clients call (default: the listen
URL), --issuer the OIDC issuer the metadata names.

Browser-based clients: a config's corsPreflight integration (the reference profile has one on
OPTIONS /{proxy+}) answers their CORS preflights without the authorizer, for its own origin
(${publicOrigin}) and those given with --allowed-origin; any other Origin gets 403.

When it accepts connections it prints "ready <URL>" on stdout, then the MCP URL. Access logs (one
JSON line per request, in API Gateway's $context shape) and config warnings go to stderr.`,
		Example: `  # The corrected REST API in front of an MCP server on :8080, its authorizer in a Lambda container on :9000
  mcpsso gateway serve --profile reference --authorizer-url http://127.0.0.1:9000 \
    --integration-url http://127.0.0.1:8080 --issuer http://127.0.0.1:8400

  # Your own API description, on a fixed port
  mcpsso gateway serve --config api.yaml --addr 127.0.0.1:8480 \
    --authorizer-url http://127.0.0.1:9000/2015-03-31/functions/function/invocations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGatewayServe(cmd, f) },
	}
	cmd.Flags().StringVar(&f.config, "config", "", "the API as a YAML file")
	cmd.Flags().StringVar(&f.profile, "profile", "", "a shipped API: "+strings.Join(gateway.ShippedConfigs(), " or "))
	cmd.Flags().StringVar(&f.addr, "addr", gateway.DefaultAddr, "listen address HOST:PORT")
	cmd.Flags().StringVar(&f.authorizerURL, "authorizer-url", "", "Lambda Invoke API endpoint of the authorizer function")
	cmd.Flags().StringVar(&f.integrationURL, "integration-url", "", "scheme and host of the integration (the NLB in front of the MCP server)")
	cmd.Flags().StringVar(&f.publicURL, "public-url", "", "the URL clients call (default: the listen URL)")
	cmd.Flags().StringVar(&f.issuer, "issuer", "", "the OIDC issuer named in the protected resource metadata")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringSliceVar(&f.allowedOrigins, "allowed-origin", nil, "a browser `ORIGIN` (scheme://host[:port]) whose CORS preflight the config's corsPreflight integration approves, beside the API's own; repeatable or comma-separated")
	cmd.Flags().BoolVar(&f.authorizerEnv, "authorizer-from-env", false, "run the reference authorizer in this process, configured from the "+
		authorizer.EnvPrefix+"* variables its Lambda entry point reads (ROLE_STORE file: only), instead of calling --authorizer-url")
	return cmd
}

func runGatewayServe(cmd *cobra.Command, f gatewayServeFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	var opts []gateway.Option
	switch {
	case f.config != "" && f.profile != "":
		return errors.New("give exactly one of --config and --profile")
	case f.config != "":
		c, err := gateway.LoadConfig(f.config)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		opts = append(opts, gateway.WithConfig(c))
	case f.profile != "":
		c, err := gateway.ShippedConfig(f.profile)
		if err != nil {
			return fmt.Errorf("--profile: %w", err)
		}
		opts = append(opts, gateway.WithConfig(c))
	default:
		return fmt.Errorf("no API: give --config FILE or --profile %s", strings.Join(gateway.ShippedConfigs(), "|"))
	}
	opts = append(opts, gateway.WithAddr(f.addr), gateway.WithLogger(logger), gateway.WithOriginHint("mcpsso gateway serve --allowed-origin"))
	for _, o := range f.allowedOrigins {
		if err := gateway.CheckOrigin(o); err != nil {
			return fmt.Errorf("--allowed-origin %w", err)
		}
	}
	if len(f.allowedOrigins) > 0 {
		opts = append(opts, gateway.WithAllowedOrigins(f.allowedOrigins...))
	}
	for _, o := range []struct {
		flag, value string
		option      func(string) gateway.Option
	}{
		{"--authorizer-url", f.authorizerURL, gateway.WithLambdaEndpoint},
		{"--integration-url", f.integrationURL, gateway.WithIntegrationURL},
		{"--public-url", f.publicURL, gateway.WithPublicURL},
		{"--issuer", f.issuer, gateway.WithIssuerURL},
	} {
		if o.value != "" {
			opts = append(opts, o.option(o.value))
		}
	}
	ctx := cmd.Context()
	if f.authorizerEnv {
		if f.authorizerURL != "" {
			return errors.New("give at most one of --authorizer-url and --authorizer-from-env")
		}
		impl, err := authorizerFromEnv(ctx)
		if err != nil {
			return fmt.Errorf("--authorizer-from-env: %w", err)
		}
		opts = append(opts, gateway.WithAuthorizer("", impl))
	}
	s, err := gateway.Start(ctx, opts...)
	if err != nil {
		if strings.Contains(err.Error(), "listen on") {
			return failure{err}
		}
		if strings.Contains(err.Error(), "has no implementation") {
			return fmt.Errorf("%w (give --authorizer-url)", err)
		}
		if strings.Contains(err.Error(), "no corsPreflight integration") {
			return fmt.Errorf("--allowed-origin: %w", err)
		}
		return err
	}
	defer s.Close()
	for _, w := range s.Warnings() {
		logger.Warn("config", "warning", w)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "ready %s\n", s.URL())
	fmt.Fprintf(out, "mcp %s\n", s.MCPURL())
	<-ctx.Done()
	return shutDown(s)
}
