package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpsso/mcpsso/internal/serve"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// MCPEnv is what an MCP server of the user's own is given when it runs in the reference
// server's place (WithMCPHandler): what such a server gets on AWS, nothing more.
type MCPEnv struct {
	// Region and AWSEndpoint are where the stack serves AWS (AWS_REGION, AWS_ENDPOINT_URL).
	Region, AWSEndpoint string
	// Credentials are the task role's, read from the ECS container-credentials endpoint as an
	// SDK on Fargate reads them (AWS_CONTAINER_CREDENTIALS_FULL_URI and its token).
	Credentials aws.CredentialsProvider
	// Logger writes into the stack's log (component "mcp-server").
	Logger *slog.Logger
	// AllowedOrigins are the browser origins the server must accept (an Origin header naming
	// any other is refused 403: MCP's transport rule against DNS rebinding).
	AllowedOrigins []string
	// VerifyContext checks a request's x-context-proof against its decided headers, once per
	// proof, as the reference server does; nil when the profile has no proof (seed).
	VerifyContext func(*http.Request) error
}

// WithMCPHandler runs build's handler in the reference MCP server's place, on its own loopback
// port behind the gateway, which forwards to it the decided headers (mcpserver.HeaderDecidedRole
// and the others) as to the reference server. It serves no metrics.
func WithMCPHandler(build func(MCPEnv) (http.Handler, error)) Option {
	return func(s *settings) error {
		if build == nil {
			return errors.New("stack: WithMCPHandler: nil function")
		}
		s.mcpHandler = build
		return nil
	}
}

// mcpSide is the MCP server the gateway forwards to: the reference server or the user's.
type mcpSide interface {
	URL() string
	MetricsURL() string
	Close() error
}

// userServer is the user's handler served on loopback.
type userServer struct{ srv *serve.Server }

func (u userServer) URL() string        { return u.srv.URL() + "/mcp" }
func (u userServer) MetricsURL() string { return "" }
func (u userServer) Close() error       { return u.srv.Close() }

// startUserServer builds and serves the user's handler.
func (s *Stack) startUserServer(life context.Context, build func(MCPEnv) (http.Handler, error), addr string, creds aws.CredentialsProvider, log *slog.Logger) (mcpSide, error) {
	env := MCPEnv{Region: s.awsSide.region, AWSEndpoint: s.awsSide.endpoint, Credentials: creds, Logger: log,
		AllowedOrigins: slices.Clone(s.origins)}
	if s.proven {
		key, err := contextproof.NewKey(s.proofSecret)
		if err != nil {
			return nil, err
		}
		guard := contextproof.NewReplayGuard(contextproof.DefaultReplayEntries)
		env.VerifyContext = func(r *http.Request) error { return verifyContext(key, guard, r) }
	}
	h, err := build(env)
	if err != nil {
		return nil, fmt.Errorf("your MCP handler: %w", err)
	}
	if h == nil {
		return nil, errors.New("your MCP handler: the function returned a nil handler")
	}
	ln, err := serve.Listen("stack: your MCP handler", addr)
	if err != nil {
		return nil, err
	}
	return userServer{srv: serve.Start(life, ln, h, serve.Config{})}, nil
}

// verifyContext checks r's context proof as the reference server does (mcpserver's checkProof):
// each decided header at most once, the signature over method, path and those headers, the
// time window, and no proof used twice.
func verifyContext(key *contextproof.Key, guard *contextproof.ReplayGuard, r *http.Request) error {
	c := contextproof.Context{Method: r.Method, Path: r.URL.Path}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{mcpserver.HeaderDecidedRole, &c.DecidedRole}, {mcpserver.HeaderSourceIdentity, &c.SourceIdentity},
		{mcpserver.HeaderSessionTags, &c.SessionTags}, {mcpserver.HeaderLimits, &c.Limits},
	} {
		switch vs := r.Header.Values(f.name); len(vs) {
		case 0:
		case 1:
			*f.dst = vs[0]
		default:
			return fmt.Errorf("header %s appears %d times; the gateway sends it once", strings.ToLower(f.name), len(vs))
		}
	}
	values := r.Header.Values(contextproof.Header)
	if len(values) > 1 {
		return fmt.Errorf("header %s appears %d times; the gateway sends exactly one proof", strings.ToLower(contextproof.Header), len(values))
	}
	value := ""
	if len(values) == 1 {
		value = values[0]
	}
	now := time.Now()
	p, err := key.Verify(value, c, now, contextproof.DefaultWindow)
	if err != nil {
		return fmt.Errorf("the decided headers are not proven: %w", err)
	}
	if err := guard.Admit(p, contextproof.DefaultWindow, now); err != nil {
		return fmt.Errorf("the decided headers are not proven: %w", err)
	}
	return nil
}
