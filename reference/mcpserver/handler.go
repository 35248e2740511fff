package mcpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Handler is the MCP endpoint: it checks the transport (Host, Origin), reads and validates the
// gateway's identity headers, applies the user's rate limit, and only then hands the request
// to mcp-go's Streamable HTTP server, whose tools act with the user's own STS session.
type Handler struct {
	cfg      config
	mcp      *server.StreamableHTTPServer
	sessions *sessionSource
	binder   *sessionBinder // nil when stateless
	limiter  *rateLimiter
	metrics  *metrics
	log      *slog.Logger
	stsUser  *sts.Client // no credentials of its own: each call passes the user's
	s3User   *s3.Client  // likewise
	maxBody  int64
	replay   *contextproof.ReplayGuard // nil without context proofs
	// awsTransport is the transport of the HTTP client New made for AWS calls, whose idle
	// connections Close closes; nil when the config brought its own client.
	awsTransport *http.Transport
}

// New builds the MCP endpoint. awsCfg is the SDK configuration of the task role, normally from
// config.LoadDefaultConfig (on ECS: the container-credentials endpoint): its credentials are
// used for STS AssumeRole and nothing else; every S3 and STS call for a user is made with that
// user's own session.
func New(awsCfg aws.Config, opts ...Option) (*Handler, error) {
	cfg := defaults()
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	if err := cfg.checkProofChoice(); err != nil {
		return nil, err
	}
	if awsCfg.Credentials == nil {
		return nil, errors.New("mcpserver: the AWS config has no credentials provider; the task role's credentials " +
			"(config.LoadDefaultConfig, on ECS the container-credentials endpoint) are what AssumeRole is called with")
	}
	if awsCfg.Region == "" {
		return nil, errors.New("mcpserver: the AWS config has no region; set AWS_REGION (STS and S3 calls need one)")
	}
	var awsTransport *http.Transport
	if awsCfg.HTTPClient == nil {
		awsCfg = awsCfg.Copy()
		awsCfg.HTTPClient, awsTransport = newAWSHTTPClient()
	}
	// The user-side clients get a provider that always fails: a code path that forgot to pass
	// the user's credentials errors out instead of falling back to the task role.
	userCfg := awsCfg.Copy()
	userCfg.Credentials = noAmbientCredentials{}
	h := &Handler{
		cfg:     cfg,
		limiter: newRateLimiter(cfg.clock),
		metrics: newMetrics(),
		log:     cfg.logger,
		stsUser: sts.NewFromConfig(userCfg),
		s3User: s3.NewFromConfig(userCfg, func(o *s3.Options) {
			o.UsePathStyle = cfg.s3PathStyle
			o.DisableLogOutputChecksumValidationSkipped = true // objects without checksums are normal
		}),
		// put_object's content may arrive base64-encoded inside JSON.
		maxBody:      cfg.maxObjectBytes*4/3 + 1<<20,
		awsTransport: awsTransport,
	}
	if cfg.proofKey != nil {
		h.replay = contextproof.NewReplayGuard(contextproof.DefaultReplayEntries)
	} else {
		cfg.logger.Warn("context proofs are off: every caller that reaches this port is believed (WithoutContextProof)", "reason", "context_proof_off")
	}
	h.sessions = &sessionSource{sts: sts.NewFromConfig(awsCfg), metrics: h.metrics, clock: cfg.clock, log: cfg.logger}
	if cc, ok := awsCfg.Credentials.(*aws.CredentialsCache); ok {
		h.sessions.renewTaskRole = cc.Invalidate // config.LoadDefaultConfig caches every provider this way
	}
	if cfg.sessionCache {
		h.sessions.cache = newSessionCache(cfg.sessionCacheSize, cfg.sessionCacheMaxAge, cfg.clock)
	}
	httpOpts := []server.StreamableHTTPOption{
		server.WithEndpointPath(cfg.path),
		// Host checks are ours (WithAllowedHosts), so that they can be configured for proxies.
		server.WithDisableLocalhostProtection(true),
		server.WithStreamableHTTPLogger(cfg.logger),
	}
	if cfg.sessions {
		h.binder = newSessionBinder()
		httpOpts = append(httpOpts, server.WithSessionIdManagerResolver(resolver{h.binder}),
			server.WithSessionIdleTTL(sessionIdleTTL))
	} else {
		httpOpts = append(httpOpts, server.WithStateLess(true))
	}
	h.mcp = server.NewStreamableHTTPServer(h.newMCPServer(), httpOpts...)
	return h, nil
}

// awsIdleConnsPerHost is how many idle connections to each AWS endpoint the server keeps. The
// SDK's default (10 per client) is below the calls in flight of a busy server: every call over
// it opened a connection and closed it after one request.
const awsIdleConnsPerHost = 256

// newAWSHTTPClient is the one HTTP client the server's STS and S3 clients share (with a config
// that brings none), so that the task role's AssumeRole and the user's S3 calls reuse one pool
// of kept-alive connections. It is a plain *http.Client: the SDK would copy a BuildableClient,
// and with it the pool, into each client. Like the SDK's own, it does not follow redirects.
func newAWSHTTPClient() (*http.Client, *http.Transport) {
	t := awshttp.NewBuildableClient().GetTransport() // the SDK's default transport settings
	t.MaxIdleConns = 4 * awsIdleConnsPerHost
	t.MaxIdleConnsPerHost = awsIdleConnsPerHost
	return &http.Client{Transport: oneWrite{t}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, t
}

// inlineBodyBytes is the largest request body oneWrite reads into memory before sending.
const inlineBodyBytes = 64 << 10

// oneWrite sends a small request body with the request's headers in one write. The SDK hands
// net/http its payload (an AssumeRole's form, a small put_object) behind a wrapper net/http does
// not know to be in memory, so it flushes the headers on their own and writes the body after:
// two system calls, and a read more for the server, on every such call.
type oneWrite struct{ base http.RoundTripper }

func (t oneWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength <= 0 || r.ContentLength > inlineBodyBytes {
		return t.base.RoundTrip(r)
	}
	b := make([]byte, r.ContentLength)
	_, err := io.ReadFull(r.Body, b)
	_ = r.Body.Close() // a RoundTripper closes the body, even on errors
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	in := *r // RoundTrip must not change the caller's request
	in.Body = io.NopCloser(bytes.NewReader(b))
	return t.base.RoundTrip(&in)
}

// noAmbientCredentials is the credentials provider of the user-side clients.
type noAmbientCredentials struct{}

func (noAmbientCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("mcpserver: no user session credentials were passed; refusing to sign with any other credentials")
}

// Metrics serves the Prometheus metrics of this Handler (Start serves it on its own listener).
func (h *Handler) Metrics() http.Handler { return h.metrics.handler }

// Path is the MCP endpoint's path.
func (h *Handler) Path() string { return h.cfg.path }

// Close ends MCP sessions and background work.
func (h *Handler) Close(ctx context.Context) error {
	err := h.mcp.Shutdown(ctx)
	if h.awsTransport != nil {
		h.awsTransport.CloseIdleConnections()
	}
	return err
}

// requestState is what ServeHTTP established about a request, for the tools.
type requestState struct {
	id        Identity
	bucket    string
	requestID string
	// proofNonce is the verified context proof's nonce (the gateway's request id), "" without
	// proofs: it ties the server's log lines to the authorizer's decision.
	proofNonce string
}

type stateKey struct{}

func stateFrom(ctx context.Context) (*requestState, bool) {
	st, ok := ctx.Value(stateKey{}).(*requestState)
	return st, ok && st != nil
}

// refusal is the JSON body of every response the server gives instead of running MCP.
type refusal struct {
	Error             string    `json:"error"`
	Header            string    `json:"header,omitempty"`
	Message           string    `json:"message"`
	Problems          []problem `json:"problems,omitempty"`
	RetryAfterSeconds int       `json:"retryAfterSeconds,omitempty"`
	RequestID         string    `json:"requestId"`
}

type problem struct {
	Error   string `json:"error"`
	Header  string `json:"header"`
	Message string `json:"message"`
}

// ServeHTTP refuses, in this order: another path (404), a Host not allowed (403), an Origin
// not allowed (403), a missing, invalid, stale or replayed context proof (403; 503 when the
// replay guard is full), missing or malformed identity headers (403), a user over their rate
// limit (429), another user's session id (403), a method other than POST (405; DELETE too
// with sessions), a body over the limit (413), and a JSON-RPC id that is an object, an array
// or a boolean, or a batch (400, error -32600). It never reads the Authorization header.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	w.Header().Set("X-Request-Id", rid)
	if r.URL.Path != h.cfg.path {
		h.refuse(w, rid, http.StatusNotFound, refusal{Error: "not_found",
			Message: fmt.Sprintf("nothing is served at %s; the MCP endpoint is %s", r.URL.Path, h.cfg.path)})
		return
	}
	if !h.hostAllowed(r) {
		h.refuse(w, rid, http.StatusForbidden, refusal{Error: "host_not_allowed", Header: "host",
			Message: fmt.Sprintf("Host %q is not allowed; list it with --allowed-host (without a list, a loopback address answers only loopback hosts, against DNS rebinding)", r.Host)})
		return
	}
	origins := r.Header.Values("Origin")
	if len(origins) > 0 && (len(origins) > 1 || !h.cfg.allowedOrigins[strings.ToLower(origins[0])]) {
		h.refuse(w, rid, http.StatusForbidden, refusal{Error: "origin_not_allowed", Header: "origin",
			Message: fmt.Sprintf("Origin %s is not allowed; only origins listed with %s may call from a browser", quote(strings.Join(origins, ", ")), h.cfg.originHint)})
		return
	}
	if len(origins) == 1 {
		// A listed origin's browser may read the answer (the gateway answers its preflight).
		w.Header().Set("Access-Control-Allow-Origin", origins[0])
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Access-Control-Expose-Headers", "Mcp-Session-Id, Retry-After, X-Request-Id")
	}
	var proofNonce string
	if h.cfg.proofKey != nil {
		nonce, status, ref := h.checkProof(r)
		if ref != nil {
			h.refuse(w, rid, status, *ref)
			return
		}
		proofNonce = nonce
	}
	id, err := ParseIdentity(r.Header)
	if err != nil {
		h.refuse(w, rid, http.StatusForbidden, identityRefusal(err))
		return
	}
	bucket, err := h.cfg.bucketFor(id.Tenant)
	if err != nil {
		h.refuse(w, rid, http.StatusForbidden, refusal{Error: "malformed_header", Header: strings.ToLower(HeaderSessionTags), Message: err.Error()})
		return
	}
	if rpm := id.Limits.RequestsPerMinute; rpm > 0 {
		if ok, wait := h.limiter.allow(id.SourceIdentity, rpm); !ok {
			secs := retryAfterSeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			h.refuse(w, rid, http.StatusTooManyRequests, refusal{Error: "rate_limited", RetryAfterSeconds: secs,
				Message: fmt.Sprintf("source identity %s is over its limit of %d requests per minute (x-limits); retry in %d s", id.SourceIdentity, rpm, secs)})
			return
		}
	}
	if sid := r.Header.Get("Mcp-Session-Id"); h.binder != nil && sid != "" {
		if owner, ok := h.binder.ownerOf(sid); ok && owner != id.SourceIdentity {
			h.refuse(w, rid, http.StatusForbidden, refusal{Error: "session_not_yours", Header: "mcp-session-id",
				Message: "the session id was issued to another source identity; start your own session"})
			return
		}
	}
	if allow := h.allowedMethods(); !slices.Contains(allow, r.Method) {
		// No standalone GET stream: the tools send no server-initiated messages, and a stream
		// without a session would be shared between users.
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.refuse(w, rid, http.StatusMethodNotAllowed, refusal{Error: "method_not_allowed",
			Message: fmt.Sprintf("method %s is not served; allowed: %s", r.Method, strings.Join(allow, ", "))})
		return
	}
	if r.Method == http.MethodPost && !h.checkJSONRPC(w, r, rid) {
		return
	}
	ctx := context.WithValue(r.Context(), stateKey{}, &requestState{id: id, bucket: bucket, requestID: rid, proofNonce: proofNonce})
	h.mcp.ServeHTTP(w, r.WithContext(ctx))
}

func (h *Handler) allowedMethods() []string {
	if h.binder != nil {
		return []string{http.MethodPost, http.MethodDelete}
	}
	return []string{http.MethodPost}
}

// identityRefusal lists every header problem; the first one is also the top-level reason.
func identityRefusal(err error) refusal {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	ref := refusal{Error: "malformed_header"}
	var msgs []string
	for _, e := range list {
		var he *HeaderError
		if !errors.As(e, &he) {
			continue
		}
		p := problem{Error: he.Code(), Header: strings.ToLower(he.Header), Message: he.Error()}
		if len(ref.Problems) == 0 {
			ref.Error, ref.Header = p.Error, p.Header
		}
		ref.Problems = append(ref.Problems, p)
		msgs = append(msgs, p.Message)
	}
	ref.Message = strings.Join(msgs, "; ")
	return ref
}

func (h *Handler) refuse(w http.ResponseWriter, rid string, status int, ref refusal) {
	ref.RequestID = rid
	h.metrics.refused.WithLabelValues(ref.Error).Inc()
	h.log.Warn("request refused", "request_id", rid, "status", status, "reason", ref.Error, "header", ref.Header, "error", ref.Message)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ref)
}

// hostAllowed applies WithAllowedHosts, or by default the DNS-rebinding guard: a request that
// reached a loopback address must name a loopback host.
func (h *Handler) hostAllowed(r *http.Request) bool {
	if h.cfg.anyHost {
		return true
	}
	host := strings.ToLower(r.Host)
	if len(h.cfg.allowedHosts) > 0 {
		name, _ := splitHost(host)
		for _, a := range h.cfg.allowedHosts {
			if aName, aPort := splitHost(a); a == host || aPort == "" && aName == name {
				return true
			}
		}
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return true // not from a listener (an in-process test): no connection to rebind
	}
	if tcp, ok := local.(*net.TCPAddr); ok { // the usual listener: no address to format and parse
		if !tcp.IP.IsLoopback() {
			return true
		}
	} else if localName, _ := splitHost(local.String()); !isLoopback(localName) {
		return true
	}
	name, _ := splitHost(host)
	return isLoopback(name)
}

// splitHost splits "name:port", "[v6]:port", "name" or "[v6]" into a bare name and a port.
func splitHost(s string) (name, port string) {
	if n, p, err := net.SplitHostPort(s); err == nil {
		return n, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
}

func isLoopback(name string) bool {
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.IsLoopback()
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
