package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// DefaultAddr is where `mcpsso gateway serve` listens; Start listens on 127.0.0.1:0.
const DefaultAddr = "127.0.0.1:8480"

// Option configures a Gateway. Options are applied in order and each validates its input.
type Option func(*settings) error

type settings struct {
	config             *Config
	addr               string
	authorizers        map[string]Authorizer // by authorizer name; "" is every authorizer
	lambdaEndpoint     string
	integrationURL     *url.URL
	publicURL          string
	issuerURL          string
	authorizerTimeout  time.Duration
	integrationTimeout time.Duration
	logger             *slog.Logger
	now                func() time.Time
	allowedOrigins     []string
	originHint         string
	listener           net.Listener
}

// WithConfig sets the API to emulate (required; LoadConfig reads one from a file).
func WithConfig(c *Config) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("gateway: WithConfig: nil config")
		}
		s.config = c
		return nil
	}
}

// WithAddr sets the listen address of Start (default 127.0.0.1:0).
func WithAddr(addr string) Option {
	return func(s *settings) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("gateway: address %q: %v (want host:port)", addr, err)
		}
		s.addr = addr
		return nil
	}
}

// WithAuthorizer plugs in the code behind the config's authorizer name ("" for every
// authorizer): an HTTPAPIAuthorizer, HTTPAPIPolicyAuthorizer, RESTAuthorizer or TokenAuthorizer
// in-process, or a LambdaInvoke over HTTP. Its kind must fit the authorizer's config.
func WithAuthorizer(name string, a Authorizer) Option {
	return func(s *settings) error {
		if a == nil {
			return fmt.Errorf("gateway: WithAuthorizer(%q): nil authorizer", name)
		}
		if s.authorizers == nil {
			s.authorizers = map[string]Authorizer{}
		}
		s.authorizers[name] = a
		return nil
	}
}

// WithLambdaEndpoint invokes every authorizer that has no in-process code through the Lambda
// Invoke API at endpoint (a Runtime Interface Emulator's base URL, or a full invocations URL),
// with the function name of its authorizerUri.
func WithLambdaEndpoint(endpoint string) Option {
	return func(s *settings) error {
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("gateway: Lambda endpoint %q: want an http(s) URL such as http://127.0.0.1:9000", endpoint)
		}
		s.lambdaEndpoint = endpoint
		return nil
	}
}

// WithIntegrationURL points every HTTP_PROXY integration at another scheme and host (the NLB in
// front of the MCP server), keeping the integration URI's path.
func WithIntegrationURL(raw string) Option {
	return func(s *settings) error {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("gateway: integration URL %q: want an http(s) URL such as http://127.0.0.1:8080", raw)
		}
		s.integrationURL = u
		return nil
	}
}

// WithPublicURL sets the base URL clients call (${publicUrl}); by default the listen URL.
func WithPublicURL(raw string) Option {
	return func(s *settings) error {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("gateway: public URL %q: want an http(s) URL without a query", raw)
		}
		s.publicURL = strings.TrimSuffix(raw, "/")
		return nil
	}
}

// WithIssuerURL sets the OIDC issuer (${issuerUrl}, the protected resource's authorization server).
func WithIssuerURL(raw string) Option {
	return func(s *settings) error {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("gateway: issuer URL %q: want an absolute URL", raw)
		}
		s.issuerURL = raw
		return nil
	}
}

// WithAllowedOrigins adds browser origins (scheme://host[:port]) to every corsPreflight
// integration's allowOrigins, as a deployment parameter would; the API must have one.
func WithAllowedOrigins(origins ...string) Option {
	return func(s *settings) error {
		for _, o := range origins {
			if err := CheckOrigin(o); err != nil {
				return fmt.Errorf("gateway: allowed origin %w", err)
			}
		}
		s.allowedOrigins = append(s.allowedOrigins, origins...)
		return nil
	}
}

// WithOriginHint says, in the 403 a CORS preflight from an origin not allowed gets (and in its
// log line), how an operator allows one: the flag of the command that runs the gateway, such as
// "mcpsso up --allowed-origin" (default: the config's corsPreflight.allowOrigins or
// WithAllowedOrigins).
func WithOriginHint(hint string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(hint) == "" || strings.ContainsAny(hint, "\r\n") {
			return errors.New("gateway: WithOriginHint: want one non-empty line, such as \"mcpsso up --allowed-origin\"")
		}
		s.originHint = hint
		return nil
	}
}

// WithListener makes Start serve on ln instead of listening on WithAddr's address, so a caller
// can know the gateway's URL (and origin) before it starts: the stack tells the MCP server the
// gateway's origin that way. Start takes ln over: Close closes it.
func WithListener(ln net.Listener) Option {
	return func(s *settings) error {
		if ln == nil {
			return errors.New("gateway: WithListener: nil listener")
		}
		s.listener = ln
		return nil
	}
}

// WithAuthorizerTimeout sets how long the gateway waits for an authorizer (default 10 s, as
// API Gateway); tests use short ones.
func WithAuthorizerTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("gateway: authorizer timeout %s: must be positive", d)
		}
		s.authorizerTimeout = d
		return nil
	}
}

// WithIntegrationTimeout overrides every integration's timeoutInMillis (default 30 s on HTTP
// APIs, 29 s on REST APIs); tests use short ones.
func WithIntegrationTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("gateway: integration timeout %s: must be positive", d)
		}
		s.integrationTimeout = d
		return nil
	}
}

// WithLogger sets the logger for access logs (message "access", keys from the access-log
// format) and authorizer failures (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("gateway: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithClock sets the clock of the result cache and of request times (tests).
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return errors.New("gateway: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// Gateway is the emulated API: an http.Handler usable without a listener.
type Gateway struct {
	api                *api
	subst              substitutions
	impls              map[string]Authorizer
	cache              *resultCache
	log                *slog.Logger
	now                func() time.Time
	authorizerTimeout  time.Duration
	integrationTimeout time.Duration
	proxy              *httputil.ReverseProxy
	transport          *http.Transport // the proxy's, whose idle connections Close closes
	calls              callCounter
	apiID, account     string
	region             string
	originHint         string
}

func applyOptions(opts []Option) (*settings, error) {
	s := &settings{addr: "127.0.0.1:0", authorizerTimeout: DefaultAuthorizerTimeout,
		logger: slog.New(slog.DiscardHandler), now: time.Now,
		originHint: "the config's corsPreflight.allowOrigins or WithAllowedOrigins"}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.config == nil {
		return nil, errors.New("gateway: no config: use WithConfig")
	}
	return s, nil
}

// New builds a gateway without listening. It needs the public URL (WithPublicURL or the config's
// publicUrl); Start supplies its listen URL instead.
func New(opts ...Option) (*Gateway, error) {
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return build(s)
}

func build(s *settings) (*Gateway, error) {
	c := s.config
	subst := substitutions{publicURL: s.publicURL, issuerURL: s.issuerURL}
	if subst.publicURL == "" {
		subst.publicURL = c.PublicURL
	}
	if subst.publicURL == "" {
		return nil, errors.New("gateway: no public URL: set publicUrl in the config or use WithPublicURL (Start uses its listen URL)")
	}
	if subst.issuerURL == "" {
		subst.issuerURL = c.IssuerURL
	}
	a, err := compile(c, subst)
	if err != nil {
		return nil, err
	}
	g := &Gateway{api: a, subst: subst, impls: map[string]Authorizer{}, cache: newResultCache(), log: s.logger, now: s.now,
		authorizerTimeout: s.authorizerTimeout, integrationTimeout: s.integrationTimeout,
		apiID: or(c.APIID, DefaultAPIID), account: or(c.AccountID, DefaultAccountID), region: or(c.Region, DefaultRegion),
		originHint: s.originHint}
	if len(s.allowedOrigins) > 0 {
		preflights := 0
		for _, in := range a.integrations {
			if in.cors != nil {
				preflights++
				for _, o := range s.allowedOrigins {
					in.cors.origins[strings.ToLower(o)] = true
				}
			}
		}
		if preflights == 0 {
			return nil, fmt.Errorf("gateway: allowed origins %s: the API has no corsPreflight integration (a MOCK integration on an OPTIONS route) to allow them in, so no browser on another origin could pass its preflight",
				strings.Join(s.allowedOrigins, ", "))
		}
	}
	for name, spec := range a.authorizers {
		impl := s.authorizers[name]
		if impl == nil {
			impl = s.authorizers[""]
		}
		if impl == nil && s.lambdaEndpoint != "" {
			if spec.function == "" && !strings.Contains(s.lambdaEndpoint, "/2015-03-31/functions/") {
				return nil, fmt.Errorf("gateway: authorizer %q has no authorizerUri, so no function name to invoke at %s", name, s.lambdaEndpoint)
			}
			impl = LambdaInvoke(s.lambdaEndpoint, spec.function)
		}
		if impl == nil {
			return nil, fmt.Errorf("gateway: authorizer %q has no implementation: plug one in with WithAuthorizer, or a Lambda endpoint with WithLambdaEndpoint (--authorizer-url)", name)
		}
		if !impl.serves(spec.kind) {
			return nil, fmt.Errorf("gateway: authorizer %q is %s, but the implementation given is a %T", name, spec.kind, impl)
		}
		g.impls[name] = impl
	}
	for _, in := range a.integrations {
		if in.uri != nil && s.integrationURL != nil {
			u := *in.uri
			u.Scheme, u.Host = s.integrationURL.Scheme, s.integrationURL.Host
			in.uri = &u
		}
	}
	g.transport = http.DefaultTransport.(*http.Transport).Clone()
	g.transport.MaxIdleConnsPerHost = 256
	// FlushInterval 0: an answer of known length (a JSON-RPC response) goes out in one write.
	// ReverseProxy still flushes every write of an event stream or of an answer of unknown
	// length on its own; -1 also did so for the rest, at the cost of a goroutine, a timer and a
	// separate write for the headers of every response.
	g.proxy = &httputil.ReverseProxy{Rewrite: g.rewrite, Transport: g.transport,
		ModifyResponse: g.modifyResponse, ErrorHandler: g.proxyError, ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BufferPool: copyBuffers{}}
	return g, nil
}

// copyBufferPool holds the buffers the proxy copies answers through. Without a BufferPool,
// ReverseProxy makes a fresh 32 KiB buffer for every answer: the largest allocation of a proxied
// call, zeroed each time, and work for the garbage collector.
var copyBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// copyBuffers is the proxy's httputil.BufferPool over copyBufferPool.
type copyBuffers struct{}

func (copyBuffers) Get() []byte { return copyBufferPool.Get().(*[32 << 10]byte)[:] }

func (copyBuffers) Put(b []byte) {
	if cap(b) == 32<<10 {
		copyBufferPool.Put((*[32 << 10]byte)(b[:32<<10]))
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Type is the API type, http-api or rest-api.
func (g *Gateway) Type() string { return g.api.typ }

// PublicURL is the base URL of the stage as clients call it (with /STAGE unless the stage is
// served at the root).
func (g *Gateway) PublicURL() string { return g.subst.publicURL + g.api.stagePrefix }

// MCPURL is the MCP endpoint as clients call it: the protected resource of the metadata.
func (g *Gateway) MCPURL() string { return g.api.mcpURL }

// ResourceMetadataURL is the RFC 9728 path-inserted metadata URL of the MCP endpoint.
func (g *Gateway) ResourceMetadataURL() string {
	u, err := url.Parse(g.api.mcpURL)
	if err != nil {
		return ""
	}
	u.Path = "/.well-known/oauth-protected-resource" + strings.TrimSuffix(u.Path, "/")
	return u.String()
}

// Warnings lists what in the config parses but probably does not do what was meant.
func (g *Gateway) Warnings() []string { return g.api.warnings }

// CachedResults is the number of authorizer results in the cache.
func (g *Gateway) CachedResults() int { return g.cache.Len() }

// Server is a running gateway.
type Server struct {
	*Gateway
	srv *serve.Server
}

// Bounds of Close.
const (
	// closeGrace is how long requests in flight get: an integration may stream for a while.
	closeGrace = 5 * time.Second
	// authorizerDrain is how long Close waits, once serving has stopped (and with it the
	// contexts of authorizer calls), for authorizer calls still running.
	authorizerDrain = time.Second
)

// Start builds a gateway and serves it until ctx ends or Close is called. Without a public URL
// the listen URL is the public URL.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	ln := s.listener
	if ln == nil {
		if ln, err = serve.Listen("gateway", s.addr); err != nil {
			return nil, err
		}
	}
	if s.publicURL == "" && s.config.PublicURL == "" {
		s.publicURL = "http://" + ln.Addr().String()
	}
	g, err := build(s)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &Server{Gateway: g, srv: serve.Start(ctx, ln, g, serve.Config{Grace: closeGrace,
		MaxHeaderBytes: 4 * MaxHeaderBytes, OnClose: g.release})}, nil
}

// release ends what the gateway's requests left behind: authorizer calls that outlived their
// request, and idle connections to integrations. An authorizer that ignores its context is
// named in the error rather than left behind unnoticed.
func (g *Gateway) release() error {
	g.transport.CloseIdleConnections()
	if n := g.calls.wait(authorizerDrain); n > 0 {
		return fmt.Errorf("gateway: %d authorizer call(s) still running %v after serving stopped and their contexts ended: an authorizer that ignores its context outlives Close", n, authorizerDrain)
	}
	return nil
}

// URL is the listen URL ("http://127.0.0.1:PORT").
func (s *Server) URL() string { return s.srv.URL() }

// Close stops the listener, lets requests in flight finish for up to five seconds, then closes
// every connection and waits for what the server started: authorizer calls for up to a second
// more (an error names those still running), and the integration's idle connections are
// closed. It also returns the error that stopped serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
