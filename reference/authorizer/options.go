package authorizer

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Defaults.
const (
	// DefaultAudience is the access tokens' audience (the tutorial's aud = api://quilt-mcp).
	DefaultAudience = "api://quilt-mcp"
	// DefaultTenantClaim names the claim that carries the tenant (Cognito: "custom:tenant",
	// Auth0 organizations: "org_id", Okta: a custom claim).
	DefaultTenantClaim = "tenant"
	// DefaultEmailClaim names the email claim.
	DefaultEmailClaim = "email"
	// DefaultMaxTokenBytes bounds the token: below API Gateway's 10 240-byte request-line and
	// header limit, and far above any real access token.
	DefaultMaxTokenBytes = 8 << 10
	// DefaultJWKSRefetchInterval is the least time between two JWKS fetches: short, so that a
	// token signed with a newly rotated key is accepted within seconds (an IdP's key rotation
	// is not an outage), yet bounded, so that forged kids cannot flood the IdP (at most 12
	// fetches a minute, however many tokens arrive).
	DefaultJWKSRefetchInterval = 5 * time.Second
	// DefaultJWKSMaxAge is how old cached keys may get before a token triggers a refresh.
	DefaultJWKSMaxAge = time.Hour
	// DefaultTokenCacheEntries and DefaultTokenCacheTTL size the verified-token cache.
	DefaultTokenCacheEntries = 10000
	DefaultTokenCacheTTL     = 5 * time.Minute
	// DefaultHTTPTimeout bounds each JWKS or discovery request.
	DefaultHTTPTimeout = 5 * time.Second
)

// DefaultAlgorithms are the signature algorithms accepted unless WithAlgorithms says otherwise.
var DefaultAlgorithms = []string{"RS256", "ES256"}

// Option configures an Authorizer. Each validates its input; New checks the whole.
type Option func(*config) error

type config struct {
	issuer           string
	jwksURL          string
	audiences        []string
	requiredScopes   []string
	algs             []string
	typ              TokenType
	tenantClaim      string
	emailClaim       string
	maxTokenBytes    int
	now              func() time.Time
	client           *http.Client
	refetchInterval  time.Duration
	jwksMaxAge       time.Duration
	discoveryTimeout time.Duration
	cacheEntries     int // 0: no token cache
	cacheTTL         time.Duration
	store            RoleStore
	policy           *CedarPolicy
	logger           *slog.Logger
	proofKey         *contextproof.Key // nil: allows carry no context proof
}

func defaultConfig() config {
	return config{
		audiences:        []string{DefaultAudience},
		algs:             slices.Clone(DefaultAlgorithms),
		typ:              DefaultTokenType,
		tenantClaim:      DefaultTenantClaim,
		emailClaim:       DefaultEmailClaim,
		maxTokenBytes:    DefaultMaxTokenBytes,
		now:              time.Now,
		client:           &http.Client{Timeout: DefaultHTTPTimeout},
		refetchInterval:  DefaultJWKSRefetchInterval,
		jwksMaxAge:       DefaultJWKSMaxAge,
		discoveryTimeout: DefaultHTTPTimeout,
		cacheEntries:     DefaultTokenCacheEntries,
		cacheTTL:         DefaultTokenCacheTTL,
		logger:           slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %s: must be an absolute http or https URL", field, quote(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s %s: must not have a query, fragment or user information", field, quote(raw))
	}
	return nil
}

// WithIssuer sets the issuer (required): tokens' iss must equal it exactly, and discovery
// starts from it unless WithJWKSURL is given.
func WithIssuer(issuer string) Option {
	return func(c *config) error {
		if err := checkURL("issuer", issuer); err != nil {
			return err
		}
		c.issuer = issuer
		return nil
	}
}

// WithJWKSURL sets the JWKS URL, so that New skips OpenID discovery (no IdP call at cold
// start: keys are fetched on the first token).
func WithJWKSURL(jwksURL string) Option {
	return func(c *config) error {
		if err := checkURL("JWKS URL", jwksURL); err != nil {
			return err
		}
		c.jwksURL = jwksURL
		return nil
	}
}

// WithDiscoveryTimeout bounds the discovery New makes without WithJWKSURL (default 5s).
func WithDiscoveryTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("discovery timeout %v: must be positive", d)
		}
		c.discoveryTimeout = d
		return nil
	}
}

// WithAudience sets the audiences a token may be for: its aud must contain at least one of
// them (default: api://quilt-mcp alone). An MCP deployment lists the MCP server's canonical
// URI, the resource its protected-resource metadata advertises and that spec-following clients
// ask the IdP for (RFC 8707), and may add an alias such as the tutorial's api://quilt-mcp. A
// token for any other audience is refused: that is what stops a token minted for another
// resource from being replayed here (the MCP spec's confused-deputy case).
func WithAudience(auds ...string) Option {
	return func(c *config) error {
		if len(auds) == 0 {
			return errors.New("audience: at least one is required")
		}
		var set []string
		for _, aud := range auds {
			if aud == "" || strings.ContainsFunc(aud, func(r rune) bool { return r <= ' ' || r == ',' }) {
				return fmt.Errorf("audience %s: must be non-empty without spaces or commas", quote(aud))
			}
			if !slices.Contains(set, aud) {
				set = append(set, aud)
			}
		}
		c.audiences = set
		return nil
	}
}

// WithRequiredScopes sets the scopes a token must carry, every one, in its scope claim (RFC
// 9068 §2.2.3; or scp): a valid token lacking one is forbidden with reason insufficient_scope
// (REST: a Deny policy, which API Gateway answers with 403; its ACCESS_DENIED gateway response
// carries the WWW-Authenticate: Bearer error="insufficient_scope" challenge, RFC 6750 §3.1). The
// check comes right after the token's own, before the role lookup. Default: none required.
// Each is a scope-token of RFC 6749 §3.3 (printable ASCII without spaces, '"' or '\').
func WithRequiredScopes(scopes ...string) Option {
	return func(c *config) error {
		var set []string
		for _, s := range scopes {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' }) {
				return fmt.Errorf("required scope %s: must be a scope-token of RFC 6749 §3.3 (printable ASCII without spaces, '\"' or '\\')", quote(s))
			}
			if !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
		c.requiredScopes = set
		return nil
	}
}

// WithAlgorithms fixes the accepted signature algorithms (default RS256, ES256). Only
// asymmetric algorithms are allowed; the token's alg header never widens the list.
func WithAlgorithms(algs ...string) Option {
	return func(c *config) error {
		if len(algs) == 0 {
			return errors.New("algorithms: at least one is required")
		}
		for _, a := range algs {
			if !validAlg(a) {
				return fmt.Errorf("algorithm %s: not allowed (allowed: %s; symmetric and none never are)", quote(a), strings.Join(allowedAlgs, ", "))
			}
		}
		c.algs = slices.Clone(algs)
		return nil
	}
}

// WithTokenType sets how access tokens are recognised (default DefaultTokenType).
func WithTokenType(t TokenType) Option {
	return func(c *config) error {
		if err := t.validate(); err != nil {
			return err
		}
		t.Values = slices.Clone(t.Values)
		c.typ = t
		return nil
	}
}

func checkClaimName(what, name string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' }) {
		return fmt.Errorf("%s claim %s: must be a non-empty name without spaces", what, quote(name))
	}
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return fmt.Errorf("%s claim %s: a registered claim cannot carry it", what, quote(name))
	}
	return nil
}

// WithTenantClaim names the claim that carries the tenant (default "tenant").
func WithTenantClaim(name string) Option {
	return func(c *config) error {
		if err := checkClaimName("tenant", name); err != nil {
			return err
		}
		c.tenantClaim = name
		return nil
	}
}

// WithEmailClaim names the email claim (default "email").
func WithEmailClaim(name string) Option {
	return func(c *config) error {
		if err := checkClaimName("email", name); err != nil {
			return err
		}
		c.emailClaim = name
		return nil
	}
}

// WithMaxTokenBytes bounds the token's length (default 8 KiB).
func WithMaxTokenBytes(n int) Option {
	return func(c *config) error {
		if n < 256 || n > 64<<10 {
			return fmt.Errorf("max token bytes %d: must be 256-65536", n)
		}
		c.maxTokenBytes = n
		return nil
	}
}

// WithClock sets the clock for exp, nbf, iat and the JWKS rate limit (tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("clock: nil")
		}
		c.now = now
		return nil
	}
}

// WithHTTPClient sets the client for discovery and JWKS requests (default: 5s timeout).
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) error {
		if client == nil {
			return errors.New("HTTP client: nil")
		}
		c.client = client
		return nil
	}
}

// WithJWKSRefetchInterval sets the least time between two JWKS fetches (default 5 s): a token
// with an unknown kid refetches the JWKS only when the last fetch is older than this.
func WithJWKSRefetchInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("JWKS refetch interval %v: must be at least 1s", d)
		}
		c.refetchInterval = d
		return nil
	}
}

// WithoutTokenCache verifies every token's signature on every request.
func WithoutTokenCache() Option {
	return func(c *config) error { c.cacheEntries = 0; return nil }
}

// WithRoleStore sets the role store (required).
func WithRoleStore(s RoleStore) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("role store: nil")
		}
		c.store = s
		return nil
	}
}

// WithCedarPolicy turns on the Cedar policy check after the role lookup (off by default).
func WithCedarPolicy(p *CedarPolicy) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("cedar policy: nil")
		}
		c.policy = p
		return nil
	}
}

// WithContextProofSecret makes every allow carry a context proof (context key contextProof,
// which the gateway maps to x-context-proof): an HMAC-SHA256, keyed with secret, over the
// decided role, source identity, session tags and limits as the gateway forwards them, the
// request's method and path, a nonce (the gateway's request id) and the time, so that the MCP
// server, which has the same secret, believes only contexts this authorizer decided for that
// very request. Proofs name one request: keep the gateway's authorizer cache off.
func WithContextProofSecret(secret []byte) Option {
	return func(c *config) error {
		k, err := contextproof.NewKey(secret)
		if err != nil {
			return err
		}
		c.proofKey = k
		return nil
	}
}

// WithLogger sets the decision logger (default: JSON on stderr). The token is never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger: nil")
		}
		c.logger = l
		return nil
	}
}

func (c *config) validate() error {
	switch {
	case c.issuer == "":
		return errors.New("authorizer: WithIssuer is required")
	case c.store == nil:
		return errors.New("authorizer: WithRoleStore is required")
	case c.jwksMaxAge < c.refetchInterval:
		return fmt.Errorf("authorizer: JWKS max age %v must be at least the refetch interval %v", c.jwksMaxAge, c.refetchInterval)
	}
	return nil
}
