package stack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/gateway"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// Profiles: which policies and which front door the stack deploys.
const (
	// ProfileReference deploys the corrected policies behind a REST API gateway whose 401
	// carries the MCP challenge.
	ProfileReference = "reference"
	// ProfileSeed deploys the tutorial's policies and HTTP API design verbatim.
	ProfileSeed = "seed"
)

// Ports are the listen ports of each component; 0 picks a free one.
type Ports struct {
	Gateway, IdP, AWS, MCP, TaskRole, Metrics int
}

// DefaultPorts are the stable ports of `mcpsso up`, so a client configuration keeps working.
var DefaultPorts = Ports{Gateway: 8480, IdP: 8400, AWS: 4566, MCP: 8481, TaskRole: 8482, Metrics: 8483}

// PortsFrom lays the ports out from base: gateway base, IdP base+1, AWS base+2, MCP server
// base+3, task-role credentials base+4, metrics base+5.
func PortsFrom(base int) Ports {
	return Ports{Gateway: base, IdP: base + 1, AWS: base + 2, MCP: base + 3, TaskRole: base + 4, Metrics: base + 5}
}

// Option configures Start.
type Option func(*settings) error

type settings struct {
	fixture *fixture.Fixture
	profile string
	ports   Ports
	logTo   io.Writer
	level   slog.Level
	backend AWSBackend
	idpOpts []mockidp.Option
	// authzOpts come after the stack's own authorizer options (WithAuthorizerOptions).
	authzOpts []authorizer.Option
	// mcpOpts come after the stack's own MCP server options (WithMCPServerOptions).
	mcpOpts []mcpserver.Option
	origins []string // browser origins beside the gateway's own
	hint    string   // how a refused browser origin is told to get listed
	// unproven puts back the tutorial's weakness in the reference profile (WithoutContextProof).
	unproven bool
	// unverified: the authorizer in effect never checks a token's signature
	// (WithoutSignatureVerification).
	unverified bool
	sessions   bool   // the MCP server issues session ids (WithSessions)
	idpProfile string // WithIdPProfile, over the fixture's
	// noASMetadata leaves out the deployment's own authorization server metadata
	// (WithoutAuthorizationServerMetadata).
	noASMetadata bool
	// mcpHandler replaces the reference MCP server (WithMCPHandler).
	mcpHandler func(MCPEnv) (http.Handler, error)
}

// AWSBackend is what serves AWS to the stack: the embedded emulator (the zero value), or an
// AWS-compatible service that enforces no policy (moto_server, LocalStack) fronted by the
// enforcing proxy (internal/mocks/awsemu/enforce), so the trust and tenant policies are enforced all the
// same. Such a backend serves one account: the fixture is reduced to its deployment account
// (fixture.OnlyDeploymentAccount), whose ID the upstream's admin key "test" must belong to.
type AWSBackend struct {
	// Moto starts moto_server from PATH (acting in the fixture's deployment account) and stops
	// it with the stack.
	Moto bool
	// Upstream is the endpoint of an already running AWS-compatible service instead.
	Upstream string
	// Bypass talks to the upstream directly, without the enforcing proxy: nothing is enforced
	// and nothing is recorded. It exists to show that the enforcement comes from the kit — the
	// scenario suites' enforcement specs fail this way.
	Bypass bool
}

// Name describes the backend: "emulator", "moto behind the enforcing proxy", …
func (b AWSBackend) Name() string {
	var up string
	switch {
	case b.Moto:
		up = "moto"
	case b.Upstream != "":
		up = b.Upstream
	default:
		return "emulator"
	}
	if b.Bypass {
		return up + " (enforcement bypassed)"
	}
	return up + " behind the enforcing proxy"
}

// ParseAWSBackend reads a backend as the CLI names it: "" or "emulator", "moto", or the http(s)
// URL of a running AWS-compatible service; bypass leaves the enforcing proxy out.
func ParseAWSBackend(name string, bypass bool) (AWSBackend, error) {
	var b AWSBackend
	switch {
	case name == "" || name == "emulator":
		if bypass {
			return b, errors.New("bypassing the enforcing proxy needs an AWS backend other than the emulator (moto or a URL): the emulator enforces by itself")
		}
		return b, nil
	case name == "moto":
		b.Moto = true
	case name == "localstack":
		return b, errors.New("LocalStack runs as a container: use the containers target, or give the URL of a LocalStack you run")
	case strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://"):
		b.Upstream = name
	default:
		return b, fmt.Errorf("AWS backend %q: want emulator, moto or an http(s) URL of an AWS-compatible service", name)
	}
	b.Bypass = bypass
	var s settings
	return b, WithAWSBackend(b)(&s)
}

// WithAWSBackend chooses what serves AWS (default: the embedded emulator).
func WithAWSBackend(b AWSBackend) Option {
	return func(s *settings) error {
		switch {
		case b.Moto && b.Upstream != "":
			return errors.New("stack: WithAWSBackend: give Moto or Upstream, not both")
		case b.Bypass && !b.Moto && b.Upstream == "":
			return errors.New("stack: WithAWSBackend: Bypass needs an upstream (Moto or Upstream): the emulator enforces by itself")
		case b.Upstream != "":
			if u, err := url.Parse(b.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("stack: WithAWSBackend: upstream %q is not an http(s) URL", b.Upstream)
			}
		}
		s.backend = b
		return nil
	}
}

// WithFixture deploys f (default: the embedded default fixture).
func WithFixture(f *fixture.Fixture) Option {
	return func(s *settings) error {
		if f == nil {
			return errors.New("stack: WithFixture: nil fixture")
		}
		s.fixture = f
		return nil
	}
}

// WithProfile chooses ProfileReference (default) or ProfileSeed.
func WithProfile(p string) Option {
	return func(s *settings) error {
		if p != ProfileReference && p != ProfileSeed {
			return fmt.Errorf("stack: profile %q: must be %s or %s", p, ProfileReference, ProfileSeed)
		}
		s.profile = p
		return nil
	}
}

// WithPorts sets the listen ports (default: all free ports, for tests).
func WithPorts(p Ports) Option {
	return func(s *settings) error {
		for _, port := range []int{p.Gateway, p.IdP, p.AWS, p.MCP, p.TaskRole, p.Metrics} {
			if port < 0 || port > 65535 {
				return fmt.Errorf("stack: port %d is out of range", port)
			}
		}
		s.ports = p
		return nil
	}
}

// WithIdPProfile makes the mock IdP issue tokens as the named provider does
// (mockidp.ProfileNames), over the fixture's idp.profile.
func WithIdPProfile(name string) Option {
	return func(s *settings) error {
		if _, err := mockidp.LookupProfile(name); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		s.idpOpts = append(s.idpOpts, mockidp.WithProfile(name))
		s.idpProfile = name
		return nil
	}
}

// WithIdPOptions passes further options to the mock IdP, after the stack's own (users, address,
// logger), such as mockidp.WithLoopbackClientIDMetadataDocuments for a test that serves Client
// ID Metadata Documents itself.
func WithIdPOptions(opts ...mockidp.Option) Option {
	return func(s *settings) error { s.idpOpts = append(s.idpOpts, opts...); return nil }
}

// WithAuthorizerOptions passes further options to the reference authorizer, after the stack's
// own (issuer, role store, audiences, required scopes, context proof, logger), so they win: a
// test can weaken the authorizer one way (accept another audience, require no scope) and show
// that the suites catch it.
func WithAuthorizerOptions(opts ...authorizer.Option) Option {
	return func(s *settings) error { s.authzOpts = append(s.authzOpts, opts...); return nil }
}

// WithMCPServerOptions passes further options to the reference MCP server, after the stack's
// own (address, path-style S3, origins, logger, context proof, sessions), so they win: for
// example mcpserver.WithSessionCache(true), which `mcpsso bench e2e --session-cache` measures.
func WithMCPServerOptions(opts ...mcpserver.Option) Option {
	return func(s *settings) error { s.mcpOpts = append(s.mcpOpts, opts...); return nil }
}

// WithAllowedOrigins lets browser-based clients on these origins (scheme://host[:port]) call
// the MCP server through the gateway, beside the gateway's own origin, which every stack
// allows: the gateway approves their CORS preflights and the MCP server answers them. Only the
// reference profile's API answers preflights; the seed profile (the tutorial's HTTP API) takes
// none.
func WithAllowedOrigins(origins ...string) Option {
	return func(s *settings) error {
		for _, o := range origins {
			if err := gateway.CheckOrigin(o); err != nil {
				return fmt.Errorf("stack: WithAllowedOrigins: %w", err)
			}
		}
		s.origins = append(s.origins, origins...)
		return nil
	}
}

// WithOriginHint says how a refused browser origin gets listed, in the gateway's and the MCP
// server's 403 (default "stack.WithAllowedOrigins"); `mcpsso up` names its flag.
func WithOriginHint(hint string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(hint) == "" || strings.ContainsAny(hint, "\r\n") {
			return errors.New("stack: WithOriginHint: want one non-empty line, such as \"mcpsso up --allowed-origin\"")
		}
		s.hint = hint
		return nil
	}
}

// WithoutContextProof deploys the reference profile with the tutorial's weakness put back:
// the authorizer signs nothing and the MCP server believes the decided headers of any caller
// that reaches its port (as the seed profile's does). It exists to show that the suites'
// direct-mcp specs catch that weakness; never run a deployment this way.
func WithoutContextProof() Option {
	return func(s *settings) error { s.unproven = true; return nil }
}

// WithoutSignatureVerification deploys an authorizer that reads tokens without verifying
// their signature, the weakness of a verifier that decodes a JWT instead of verifying it: every
// bearer token whose header and payload are JSON is signed again with the IdP's key before the
// reference authorizer sees it, so its claims are checked and its signature never is. It
// exists to show that the suites' forged-token specs catch that weakness; never run a
// deployment this way.
func WithoutSignatureVerification() Option {
	return func(s *settings) error { s.unverified = true; return nil }
}

// WithoutAuthorizationServerMetadata deploys the reference profile without the workaround
// the stack applies for an IdP profile whose metadata lacks code_challenge_methods_supported
// (Cognito, Entra ID): the gateway then serves no authorization server metadata of its own
// and the protected resource metadata lists the IdP, whose metadata strict MCP clients
// refuse. It exists to show that the suites catch that and name the fix.
func WithoutAuthorizationServerMetadata() Option {
	return func(s *settings) error { s.noASMetadata = true; return nil }
}

// WithSessions runs the MCP server with stateful sessions (mcpserver.WithSessions): protocol
// 2025-11-25 session ids, each bound to the user who opened it. Default: stateless, as the
// reference server runs unless told otherwise (and protocol 2026-07-28 has no sessions).
func WithSessions() Option {
	return func(s *settings) error { s.sessions = true; return nil }
}

// WithLogOutput also writes every component's JSON log lines to w (the stack keeps them for
// Logs either way).
func WithLogOutput(w io.Writer, level slog.Level) Option {
	return func(s *settings) error { s.logTo, s.level = w, level; return nil }
}
