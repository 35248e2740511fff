package mcpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Defaults.
const (
	DefaultPath           = "/mcp"
	DefaultBucketTemplate = "quilt-tenant-{tenant}"
	DefaultRequestTimeout = 20 * time.Second
	DefaultMaxObjectBytes = 1 << 20
	// DefaultSessionCacheSize bounds the session cache's entries (one per role, source
	// identity and tag set).
	DefaultSessionCacheSize = 10000
	// DefaultSessionCacheMaxAge is how long a cached session serves at most (WithSessionCache):
	// the gateway's authorizer caches its decisions as long (TTL 300 s), so a change to the
	// role's trust policy reaches a cached user no later than a change to their role mapping.
	DefaultSessionCacheMaxAge = 5 * time.Minute
	tenantPlaceholder         = "{tenant}"
)

// Option configures a Handler (New) or a Server (Start).
type Option func(*config) error

type config struct {
	addr             string
	metricsAddr      string
	path             string
	bucketTemplate   string
	allowedOrigins   map[string]bool
	originHint       string
	allowedHosts     []string
	anyHost          bool
	sessions         bool
	sessionCache     bool
	sessionCacheSize int
	// sessionCacheMaxAge bounds a cached session's use (0: until shortly before it expires).
	sessionCacheMaxAge time.Duration
	requestTimeout     time.Duration
	maxObjectBytes     int64
	s3PathStyle        bool
	logger             *slog.Logger
	clock              func() time.Time
	// The context proof (proof.go): a key, or explicitly none.
	proofKey    *contextproof.Key
	proofOff    bool
	proofWindow time.Duration
}

func defaults() config {
	return config{
		addr:               "127.0.0.1:0",
		path:               DefaultPath,
		bucketTemplate:     DefaultBucketTemplate,
		allowedOrigins:     map[string]bool{},
		originHint:         "WithAllowedOrigins",
		sessionCacheSize:   DefaultSessionCacheSize,
		sessionCacheMaxAge: DefaultSessionCacheMaxAge,
		requestTimeout:     DefaultRequestTimeout,
		maxObjectBytes:     DefaultMaxObjectBytes,
		logger:             slog.New(slog.DiscardHandler),
		clock:              time.Now,
		proofWindow:        contextproof.DefaultWindow,
	}
}

func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return errors.New("mcpserver: nil Option")
		}
		if err := o(c); err != nil {
			return fmt.Errorf("mcpserver: %w", err)
		}
	}
	return nil
}

// WithAddr sets the MCP listener's address for Start (default 127.0.0.1:0).
func WithAddr(hostPort string) Option {
	return func(c *config) error {
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return fmt.Errorf("WithAddr(%q): %v (want HOST:PORT)", hostPort, err)
		}
		c.addr = hostPort
		return nil
	}
}

// WithMetricsAddr makes Start serve Prometheus metrics (/metrics) and a health check
// (/healthz) on a second listener, apart from the MCP endpoint (default: no metrics listener;
// Handler.Metrics serves the same in-process).
func WithMetricsAddr(hostPort string) Option {
	return func(c *config) error {
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return fmt.Errorf("WithMetricsAddr(%q): %v (want HOST:PORT)", hostPort, err)
		}
		c.metricsAddr = hostPort
		return nil
	}
}

// WithPath sets the MCP endpoint's path (default /mcp). Other paths get 404.
func WithPath(path string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# ") {
			return fmt.Errorf("WithPath(%q): must start with / and hold no query, fragment or space", path)
		}
		c.path = path
		return nil
	}
}

var bucketTemplateChars = regexp.MustCompile(`^[a-z0-9.-]*$`)

// WithBucketTemplate sets how a tenant's bucket is named: the template must contain
// "{tenant}" once, and the rest must be characters a bucket name may hold (default
// "quilt-tenant-{tenant}").
func WithBucketTemplate(template string) Option {
	return func(c *config) error {
		if strings.Count(template, tenantPlaceholder) != 1 {
			return fmt.Errorf("WithBucketTemplate(%q): must contain %s exactly once", template, tenantPlaceholder)
		}
		if !bucketTemplateChars.MatchString(strings.Replace(template, tenantPlaceholder, "", 1)) {
			return fmt.Errorf("WithBucketTemplate(%q): outside %s only lower-case letters, digits, '.' and '-' may appear", template, tenantPlaceholder)
		}
		if err := checkBucketName(strings.Replace(template, tenantPlaceholder, "abc", 1)); err != nil {
			return fmt.Errorf("WithBucketTemplate(%q): %v", template, err)
		}
		c.bucketTemplate = template
		return nil
	}
}

// WithAllowedOrigins lists the browser origins (scheme://host[:port]) allowed to call the
// server. A request without an Origin header (any non-browser client) is not affected; one
// whose Origin is not listed gets 403, as the MCP transport spec requires against DNS
// rebinding; the answer to a listed one carries Access-Control-Allow-Origin and exposes
// Mcp-Session-Id, so the browser lets the client read it (the CORS preflight is the gateway's
// to answer). Default: none.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return fmt.Errorf("WithAllowedOrigins: %q must be an origin, scheme://host[:port] with scheme http or https", o)
			}
			c.allowedOrigins[strings.ToLower(o)] = true
		}
		return nil
	}
}

// WithOriginHint names, in the 403 an unlisted Origin gets, how an operator lists one: the flag
// of the command that runs the server, such as "mcpsso mcp serve --allowed-origin" (default
// "WithAllowedOrigins").
func WithOriginHint(hint string) Option {
	return func(c *config) error {
		if strings.TrimSpace(hint) == "" || strings.ContainsAny(hint, "\r\n") {
			return fmt.Errorf("WithOriginHint(%q): want one non-empty line, such as \"mcpsso mcp serve --allowed-origin\"", hint)
		}
		c.originHint = hint
		return nil
	}
}

// WithAllowedHosts lists the Host header values the server answers to: "name" matches any
// port, "name:port" only that port, "*" any host. Behind a proxy or load balancer that keeps
// the public host name, list that name. Default: the DNS-rebinding guard — a request that
// arrives on a loopback address must name a loopback host (localhost, 127.0.0.1, [::1]);
// requests on other addresses are not checked.
func WithAllowedHosts(hosts ...string) Option {
	return func(c *config) error {
		for _, h := range hosts {
			if h == "*" {
				c.anyHost = true
				continue
			}
			if h == "" || strings.ContainsAny(h, "/ ?#@") {
				return fmt.Errorf("WithAllowedHosts: %q must be a host name, host:port or *", h)
			}
			c.allowedHosts = append(c.allowedHosts, strings.ToLower(h))
		}
		return nil
	}
}

// WithSessions turns on MCP sessions (protocol 2025-11-25 and older; 2026-07-28 has none).
// Each session id is bound to the source identity that opened it: a request carrying another
// user's session id is refused with 403. Sessions never authenticate: every request is still
// checked on its own. Default: stateless, no session ids.
func WithSessions(on bool) Option {
	return func(c *config) error { c.sessions = on; return nil }
}

// WithSessionCache reuses each user's STS session across requests: credentials are cached
// per role ARN, source identity, full tag set and duration, refreshed before they expire, and
// never shared between two such keys. Default: off, a fresh AssumeRole for every tool call.
//
// What it trades: AssumeRole (and its CloudTrail record, with the source identity) happens once
// per cached session instead of once per tool call, so CloudTrail's AssumeRole records count
// sessions, not calls (the S3 calls still carry the session's source identity). Every request is
// still authorized by the gateway and proven (context proof) before the cache is consulted, so
// an expired or revoked token is refused as without the cache; what a cached session outlives
// is a change to the role's trust policy (or the task role's rights), which takes effect for a
// cached user after at most WithSessionCacheMaxAge (default 5 minutes). A change to the role's
// permission policies applies to cached sessions at once, as to every session in AWS.
func WithSessionCache(on bool) Option {
	return func(c *config) error { c.sessionCache = on; return nil }
}

// WithSessionCacheMaxAge bounds how long one AssumeRole's session serves tool calls from the
// session cache (default DefaultSessionCacheMaxAge, 5 minutes; 0: until 5 minutes before the
// session expires, at least 10 minutes for the shortest sessions). Shorter is safer: it is
// the longest a trust-policy change takes to reach a user whose session is cached.
func WithSessionCacheMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithSessionCacheMaxAge(%v): must not be negative (0: until shortly before the session expires)", d)
		}
		c.sessionCacheMaxAge = d
		return nil
	}
}

// WithRequestTimeout bounds each tool call, AssumeRole included (default 20 s, under API Gateway's
// integration timeout). When STS or S3 is down or slow, the call ends with a tool error by then.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithRequestTimeout(%v): must be positive", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithMaxObjectBytes caps what get_object returns and put_object accepts (default 1 MiB).
func WithMaxObjectBytes(n int64) Option {
	return func(c *config) error {
		if n < 1 || n > 64<<20 {
			return fmt.Errorf("WithMaxObjectBytes(%d): must be from 1 to %d", n, 64<<20)
		}
		c.maxObjectBytes = n
		return nil
	}
}

// WithS3PathStyle makes S3 requests path-style (endpoint/bucket/key) rather than
// virtual-hosted (bucket.endpoint/key), as LocalStack and other emulators on a bare host name
// need (IP-address endpoints are path-style anyway).
func WithS3PathStyle(on bool) Option {
	return func(c *config) error { c.s3PathStyle = on; return nil }
}

// WithLogger sets the JSON-friendly structured logger (default: discard). Keys are stable:
// request_id, source_identity, tenant, role_arn, tool, outcome, latency_ms, error, reason.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock of the rate limiter and the session cache (tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithContextProofSecret makes the server believe the decided headers only with the proof
// that the deployment's authorizer decided them for this request (X-Context-Proof, package
// contextproof): an HMAC-SHA256 keyed with secret (32 to 4096 bytes), which the authorizer gets
// from the same secrets source. A request without a valid, fresh, unused proof gets 403 before
// any header is trusted or AWS is called. New requires this or WithoutContextProof.
func WithContextProofSecret(secret []byte) Option {
	return func(c *config) error {
		k, err := contextproof.NewKey(secret)
		if err != nil {
			return fmt.Errorf("WithContextProofSecret: %v", err)
		}
		c.proofKey = k
		return nil
	}
}

// WithoutContextProof makes the server believe the decided headers of any caller that reaches
// its port, with only the network between an attacker and every tenant's data: the tutorial's
// design, which the kit's seed profile reproduces. Never deploy it.
func WithoutContextProof() Option {
	return func(c *config) error { c.proofOff = true; return nil }
}

// WithContextProofWindow sets how far a proof's time may be from the server's clock, either
// way (default 60s, at most 10m): the transit from authorizer to server plus clock skew.
func WithContextProofWindow(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second || d > contextproof.MaxWindow {
			return fmt.Errorf("WithContextProofWindow(%v): must be from 1s to %v", d, contextproof.MaxWindow)
		}
		c.proofWindow = d
		return nil
	}
}

// checkProofChoice fails closed: a server that neither verifies proofs nor was told not to is
// a misconfiguration, not a default.
func (c *config) checkProofChoice() error {
	switch {
	case c.proofKey != nil && c.proofOff:
		return errors.New("mcpserver: WithContextProofSecret and WithoutContextProof contradict each other; give one")
	case c.proofKey == nil && !c.proofOff:
		return errors.New("mcpserver: no context proof secret: use WithContextProofSecret with the secret the authorizer signs the decided headers with " +
			"(or, to believe every caller that reaches the port as the tutorial does, WithoutContextProof)")
	}
	return nil
}

// bucketFor names tenant's bucket, checking the result is a valid bucket name.
func (c *config) bucketFor(tenant string) (string, error) {
	b := strings.Replace(c.bucketTemplate, tenantPlaceholder, tenant, 1)
	if err := checkBucketName(b); err != nil {
		return "", fmt.Errorf("tenant %q makes bucket name %q from template %q: %v", tenant, b, c.bucketTemplate, err)
	}
	return b, nil
}

// isBucketNameShape: `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`, matched by hand (every tool call
// checks its bucket; FuzzHeaderMatchersAgree holds it to the expression).
func isBucketNameShape(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '.' || b[0] == '-' || b[len(b)-1] == '.' || b[len(b)-1] == '-' {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// checkBucketName applies S3's general-purpose bucket naming rules.
func checkBucketName(b string) error {
	switch {
	case !isBucketNameShape(b):
		return errors.New("a bucket name is 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
	case strings.Contains(b, ".."), strings.Contains(b, ".-"), strings.Contains(b, "-."):
		return errors.New("a bucket name may not hold '..', '.-' or '-.'")
	case net.ParseIP(b) != nil:
		return errors.New("a bucket name may not be an IP address")
	case strings.HasPrefix(b, "xn--"), strings.HasPrefix(b, "sthree-"), strings.HasSuffix(b, "-s3alias"), strings.HasSuffix(b, "--ol-s3"):
		return errors.New("a bucket name may not use a prefix or suffix S3 reserves")
	}
	return nil
}
