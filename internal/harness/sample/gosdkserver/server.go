// Package gosdkserver is a second sample deployment of the pattern, written the way a third
// party would write "an MCP server on AWS with SSO that acts as each user's own IAM role" with
// the official MCP Go SDK (github.com/modelcontextprotocol/go-sdk) and nothing of the kit's
// reference code: it verifies the bearer JWT itself (coreos/go-oidc against the IdP's issuer,
// audience = its own resource URL per RFC 8707), serves its RFC 9728 protected resource
// metadata and the 401 challenge that names it (the SDK's auth package), derives the user and
// the tenant from the token's claims, assumes the tenant's role with STS AssumeRole from its
// own task-role credentials (SourceIdentity usr-<email>, session tag tenant=<tenant>) and calls
// S3 with that session. Its tools have their own names and shapes: identity (a nested answer),
// read_file, write_file and delete_file on s3://bucket/key URIs, and search.
//
// It exists to show that the scenario suites judge a deployment no one here shaped, through
// the probes of its target file (internal/harness/sample ships both), and it can be started with one
// deliberate Defect to show that the suites catch exactly that mistake. It imports nothing of
// the kit but internal/serve, the kit's server lifecycle.
package gosdkserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Defaults.
const (
	// DefaultPath is where the MCP endpoint is served.
	DefaultPath = "/mcp"
	// TenantClaim is the claim that carries the user's tenant.
	TenantClaim = "tenant"
	// DefaultTenantBucket is the tenant's bucket, {tenant} replaced.
	DefaultTenantBucket = "quilt-tenant-{tenant}"
	// SessionDuration is how long each tool call's STS session lasts (STS's minimum).
	SessionDuration = 15 * time.Minute
	// MaxRequestHeaderBytes bounds the request line and headers together, as API Gateway
	// does: a larger request is refused (431) before anything reads its token.
	MaxRequestHeaderBytes = 10 << 10
	// HeaderForwardedUser is the header the TrustsForwardedIdentity defect believes.
	HeaderForwardedUser = "X-Forwarded-User"
)

var (
	roleTemplateRe   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/{}-]+$`)
	bucketTemplateRe = regexp.MustCompile(`^[a-z0-9.{}-]+$`)
)

// Option configures Start.
type Option func(*config) error

type config struct {
	addr, issuer, resource string
	roleTemplate           string
	bucketTemplate         string
	pathStyle              bool
	defect                 Defect
	log                    *slog.Logger
}

// WithAddr sets the listen address (default 127.0.0.1:0, a free port).
func WithAddr(addr string) Option {
	return func(c *config) error {
		if addr == "" {
			return errors.New("gosdkserver: WithAddr: empty address")
		}
		c.addr = addr
		return nil
	}
}

// WithIssuer names the OIDC issuer whose access tokens the server accepts (required): its
// discovery document and keys are fetched at Start.
func WithIssuer(issuer string) Option {
	return func(c *config) error {
		u, err := url.Parse(issuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("gosdkserver: WithIssuer: %q must be an absolute http(s) URL", issuer)
		}
		c.issuer = issuer
		return nil
	}
}

// WithResource sets the server's resource identifier, the URL clients call and the audience
// its tokens must carry (RFC 8707); default: http://<listen address>/mcp. Set it when the
// server is reached through a proxy or under another name.
func WithResource(resource string) Option {
	return func(c *config) error {
		u, err := url.Parse(resource)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("gosdkserver: WithResource: %q must be an absolute http(s) URL without a fragment", resource)
		}
		c.resource = resource
		return nil
	}
}

// WithTenantRole sets the ARN of each tenant's role, {tenant} replaced by the tenant
// (required), e.g. arn:aws:iam::111122223333:role/quilt-mcp-target-{tenant}.
func WithTenantRole(template string) Option {
	return func(c *config) error {
		if !roleTemplateRe.MatchString(template) || !strings.Contains(template, "{tenant}") {
			return fmt.Errorf("gosdkserver: WithTenantRole: %q must be an IAM role ARN holding {tenant}, e.g. arn:aws:iam::111122223333:role/quilt-mcp-target-{tenant}", template)
		}
		c.roleTemplate = template
		return nil
	}
}

// WithTenantBucket sets each tenant's bucket, {tenant} replaced (default quilt-tenant-{tenant}):
// search lists it when given no bucket.
func WithTenantBucket(template string) Option {
	return func(c *config) error {
		if !bucketTemplateRe.MatchString(template) || strings.Count(template, "{tenant}") != 1 {
			return fmt.Errorf("gosdkserver: WithTenantBucket: %q must be a bucket name holding {tenant} once", template)
		}
		c.bucketTemplate = template
		return nil
	}
}

// WithS3PathStyle addresses buckets in the path (http://endpoint/bucket/key), as S3 emulators
// on loopback need.
func WithS3PathStyle(on bool) Option {
	return func(c *config) error { c.pathStyle = on; return nil }
}

// WithDefect starts the server with one deliberate mistake (default NoDefect).
func WithDefect(d Defect) Option {
	return func(c *config) error {
		if _, err := ParseDefect(string(d)); err != nil {
			return fmt.Errorf("gosdkserver: WithDefect: %w", err)
		}
		c.defect = d
		return nil
	}
}

// WithLogger sets where the server logs, as JSON lines (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("gosdkserver: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// Server is a running sample server.
type Server struct {
	cfg      config
	srv      *serve.Server
	resource string
	aws      aws.Config
	verifier *oidc.IDTokenVerifier
}

// Start serves the sample on its own listener until Close or until ctx ends. awsCfg is what
// the server acts with: its task role's credentials (on ECS, the default chain's
// container-credentials provider), region and endpoint. The issuer's discovery document is
// fetched before Start returns, so an unreachable IdP fails the start.
func Start(ctx context.Context, awsCfg aws.Config, opts ...Option) (*Server, error) {
	cfg := config{addr: "127.0.0.1:0", bucketTemplate: DefaultTenantBucket,
		log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.issuer == "":
		return nil, errors.New("gosdkserver: WithIssuer is required: the server verifies the IdP's tokens itself")
	case cfg.roleTemplate == "":
		return nil, errors.New("gosdkserver: WithTenantRole is required: it names the role each tenant's users act as")
	case awsCfg.Credentials == nil:
		return nil, errors.New("gosdkserver: the AWS configuration has no credentials (the task role's)")
	}
	discover, cancel := context.WithTimeout(oidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second}), 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(discover, cfg.issuer)
	if err != nil {
		return nil, fmt.Errorf("gosdkserver: the issuer %s: %w", cfg.issuer, err)
	}
	ln, err := serve.Listen("gosdkserver", cfg.addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, aws: awsCfg, resource: cfg.resource}
	if s.resource == "" {
		s.resource = "http://" + ln.Addr().String() + DefaultPath
	}
	// The audience is the server's own resource URL and nothing else (RFC 8707; the MCP
	// authorization spec's token audience binding).
	s.verifier = provider.VerifierContext(context.WithoutCancel(ctx), &oidc.Config{ClientID: s.resource,
		InsecureSkipSignatureCheck: cfg.defect == SkipsSignatureCheck})
	// net/http's MaxHeaderBytes is only a coarse cap (it does not hold a request that reuses a
	// connection to the limit): limitHeaders counts each request.
	s.srv = serve.Start(ctx, ln, limitHeaders(s.routes()), serve.Config{MaxHeaderBytes: 4 * MaxRequestHeaderBytes, IdleTimeout: 2 * time.Minute})
	cfg.log.Info("listening", "component", "gosdkserver", "mcp_url", s.resource, "issuer", cfg.issuer, "defect", cfg.defect.String())
	return s, nil
}

// routes are the protected resource metadata (at both well-known URLs a client tries, RFC
// 9728 §3.1) and the MCP endpoint behind its checks.
func (s *Server) routes() http.Handler {
	u, _ := url.Parse(s.resource) // validated: WithResource, or built from the listener
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	metadata := auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource: s.resource, AuthorizationServers: []string{s.cfg.issuer}, BearerMethodsSupported: []string{"header"},
		ResourceName: "S3 files (go-sdk sample)"})
	server := mcp.NewServer(&mcp.Implementation{Name: "s3-files", Title: "S3 files (go-sdk sample)", Version: "1.0.0"},
		&mcp.ServerOptions{Logger: s.cfg.log.With("component", "gosdkserver")})
	s.addTools(server)
	// Stateless: every request stands alone with its own token (the 2026-07-28 protocol needs
	// it; older clients' initialize is answered all the same), so no session id can ever carry
	// one user's identity to another.
	endpoint := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, Logger: s.cfg.log.With("component", "gosdkserver")})

	mux := http.NewServeMux()
	mux.Handle("GET "+s.MetadataURLPath(), metadata)
	mux.Handle("GET /.well-known/oauth-protected-resource", metadata)
	// A browser page on another site must not reach the tools with the user's token (DNS
	// rebinding, CSRF): requests whose Origin is not the server's own are refused with 403.
	mux.Handle(path, http.NewCrossOriginProtection().Handler(s.authenticate(endpoint)))
	return mux
}

// limitHeaders refuses a request whose request line and headers are over
// MaxRequestHeaderBytes with 431.
func limitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: ") + len(r.Host) + 2
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxRequestHeaderBytes {
			http.Error(w, fmt.Sprintf("the request line and headers are %d bytes, over the limit of %d", n, MaxRequestHeaderBytes), http.StatusRequestHeaderFieldsTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// MetadataURLPath is the path of the protected resource metadata of the MCP endpoint.
func (s *Server) MetadataURLPath() string {
	u, _ := url.Parse(s.resource)
	return "/.well-known/oauth-protected-resource" + strings.TrimSuffix(u.EscapedPath(), "/")
}

// URL is http:// and the listen address.
func (s *Server) URL() string { return s.srv.URL() }

// MCPURL is the MCP endpoint, the server's resource identifier.
func (s *Server) MCPURL() string { return s.resource }

// MetadataURL is the URL of the server's protected resource metadata, which its 401 names.
func (s *Server) MetadataURL() string {
	u, _ := url.Parse(s.resource)
	return u.Scheme + "://" + u.Host + s.MetadataURLPath()
}

// Defect is the deliberate mistake the server runs with.
func (s *Server) Defect() Defect { return s.cfg.defect }

// Close stops the server and waits for its requests.
func (s *Server) Close() error { return s.srv.Close() }
