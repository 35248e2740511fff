package mockidp

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of the mock IdP.
const (
	// DefaultAudience is the access-token audience when the client names no resource.
	DefaultAudience = "api://quilt-mcp"
	// DefaultTenantClaim names the claim that carries a user's tenant.
	DefaultTenantClaim = "tenant"
	// DefaultAddr is where `mcpsso idp serve` listens; Start listens on 127.0.0.1:0.
	DefaultAddr = "127.0.0.1:8400"
)

// Option configures the IdP. Options are applied in order and each validates its input.
type Option func(*config) error

type config struct {
	addr           string
	issuerURL      string
	issuerPath     string
	users          []User
	clients        []Client
	audience       string
	tenantClaim    string
	now            func() time.Time
	logger         *slog.Logger
	alg            string
	key            crypto.Signer
	overlap        time.Duration
	accessTTL      time.Duration
	refreshTTL     time.Duration
	codeTTL        time.Duration
	deviceTTL      time.Duration
	deviceInterval time.Duration
	plainPKCE      bool
	// resourceAsAudience: WithResourceParameterCompatibility.
	resourceAsAudience bool
	scopes             []string
	resources          []string
	registration       bool
	maxClients         int
	cimd               bool
	loopbackCIMD       bool
	cimdHTTP           *http.Client

	// profile is the provider the IdP imitates (WithProfile; nil until resolve: generic). The
	// *Set fields record the options given explicitly, which a profile does not override.
	profile        *Profile
	audienceSet    bool
	tenantClaimSet bool
	accessTTLSet   bool
}

// resolve applies the profile (generic when none was chosen) under the options given
// explicitly, once every option has run.
func (c *config) resolve() {
	if c.profile == nil {
		p, _ := LookupProfile(ProfileGeneric)
		c.profile = &p
	}
	p := c.profile
	if !c.audienceSet {
		c.audience = p.Audience
	}
	if !c.tenantClaimSet {
		c.tenantClaim = p.TenantClaim
	}
	if !c.accessTTLSet {
		c.accessTTL = p.AccessTTL
	}
	c.registration = c.registration && p.DCR != DCRNone
	c.cimd = c.cimd && p.CIMD
	c.plainPKCE = c.plainPKCE || p.PlainPKCE
}

func defaultConfig() config {
	return config{
		addr:           "127.0.0.1:0",
		users:          DefaultUsers(),
		clients:        DefaultClients(),
		audience:       DefaultAudience,
		tenantClaim:    DefaultTenantClaim,
		now:            time.Now,
		logger:         slog.New(slog.DiscardHandler),
		alg:            RS256,
		overlap:        time.Hour,
		accessTTL:      time.Hour,
		refreshTTL:     24 * time.Hour,
		codeTTL:        5 * time.Minute,
		deviceTTL:      10 * time.Minute,
		deviceInterval: time.Second,
		scopes:         []string{"openid", "profile", "email", "groups", "offline_access"},
		registration:   true,
		maxClients:     1000,
		cimd:           true,
	}
}

// WithAddr sets the listen address of Start (default 127.0.0.1:0).
func WithAddr(addr string) Option {
	return func(c *config) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("mockidp: address %q: %v (want host:port)", addr, err)
		}
		c.addr = addr
		return nil
	}
}

// WithIssuerURL fixes the issuer (the iss claim and the base of every endpoint). New requires
// it; Start derives the issuer from its listener unless it is given, for an IdP reached through
// a proxy or container name.
func WithIssuerURL(issuer string) Option {
	return func(c *config) error {
		u, err := url.Parse(issuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("mockidp: issuer URL %q: must be an absolute http or https URL", issuer)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("mockidp: issuer URL %q: must not have a query, fragment or user information (OIDC Discovery §3)", issuer)
		}
		c.issuerURL = strings.TrimSuffix(issuer, "/")
		return nil
	}
}

// WithIssuerPath serves the IdP under a path, as Okta (/oauth2/default) and Keycloak
// (/realms/x) do, so clients must find the metadata by path insertion (RFC 8414 §3.1).
func WithIssuerPath(path string) Option {
	return func(c *config) error {
		if path != "" && (!strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") ||
			strings.ContainsAny(path, "?#") || strings.Contains(path, "//")) {
			return fmt.Errorf("mockidp: issuer path %q: must start with / and not end with /, with no query or fragment", path)
		}
		c.issuerPath = path
		return nil
	}
}

// WithUsers replaces the default users.
func WithUsers(users ...User) Option {
	return func(c *config) error {
		if err := validateUsers(users); err != nil {
			return fmt.Errorf("mockidp: %w", err)
		}
		c.users = make([]User, len(users))
		for i, u := range users {
			c.users[i] = cloneUser(u)
		}
		return nil
	}
}

// WithClients replaces the default clients (mcpsso-cli and mcpsso-demo).
func WithClients(clients ...Client) Option {
	return func(c *config) error {
		if err := validateClients(clients); err != nil {
			return fmt.Errorf("mockidp: %w", err)
		}
		c.clients = slices.Clone(clients)
		return nil
	}
}

// WithAudience sets the access-token audience used when a request names no resource
// (default: the profile's; generic api://quilt-mcp).
func WithAudience(aud string) Option {
	return func(c *config) error {
		if err := checkResource(aud); err != nil {
			return fmt.Errorf("mockidp: audience: %w", err)
		}
		c.audience, c.audienceSet = aud, true
		return nil
	}
}

// WithAllowedResources restricts the RFC 8707 resource values clients may ask for; by
// default any absolute URI without a fragment is accepted and becomes the audience.
func WithAllowedResources(resources ...string) Option {
	return func(c *config) error {
		for i, r := range resources {
			if err := checkResource(r); err != nil {
				return fmt.Errorf("mockidp: resources[%d]: %w", i, err)
			}
		}
		c.resources = slices.Clone(resources)
		return nil
	}
}

// WithTenantClaim names the claim that carries the user's tenant (default: the profile's;
// generic "tenant").
func WithTenantClaim(name string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsFunc(name, isControlOrSpace) {
			return fmt.Errorf("mockidp: tenant claim %q: must be a non-empty name without spaces", name)
		}
		if slices.Contains(reservedClaims, name) {
			return fmt.Errorf("mockidp: tenant claim %q: the IdP sets this claim itself; choose another name", name)
		}
		c.tenantClaim, c.tenantClaimSet = name, true
		return nil
	}
}

// WithClock sets the IdP's clock: token times, code and device-code expiry, key overlap.
// Share it with the verifiers in a test (go-oidc's Config.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("mockidp: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithLogger sets the structured logger for decisions (default: discard). Tokens, codes and
// secrets are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("mockidp: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithSigningAlgorithm chooses the algorithm of a generated signing key: RS256 (default)
// or ES256. It replaces a key given earlier with WithSigningKey.
func WithSigningAlgorithm(alg string) Option {
	return func(c *config) error {
		if alg != RS256 && alg != ES256 {
			return fmt.Errorf("mockidp: signing algorithm %q: must be %s or %s", alg, RS256, ES256)
		}
		c.alg, c.key = alg, nil // the later of this and WithSigningKey wins
		return nil
	}
}

// WithSigningKey uses key (RSA of at least 2048 bits, or P-256) instead of generating one,
// which saves the key generation in tests that start many IdPs. It replaces an algorithm
// chosen earlier with WithSigningAlgorithm.
func WithSigningKey(key crypto.Signer) Option {
	return func(c *config) error {
		if key == nil {
			return errors.New("mockidp: WithSigningKey: nil key")
		}
		alg, err := algFor(key)
		if err != nil {
			return fmt.Errorf("mockidp: signing key: %w", err)
		}
		c.key, c.alg = key, alg
		return nil
	}
}

// WithRotationOverlap sets how long a rotated-out key stays in the JWKS (default 1h).
func WithRotationOverlap(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("mockidp: rotation overlap %v: must not be negative", d)
		}
		c.overlap = d
		return nil
	}
}

// WithTokenTTLs sets the lifetimes of access tokens (default: the profile's; generic 1h) and
// refresh tokens (default 24h).
func WithTokenTTLs(access, refresh time.Duration) Option {
	return func(c *config) error {
		if access < time.Second || refresh < time.Second {
			return fmt.Errorf("mockidp: token TTLs %v and %v: each must be at least 1s (expires_in is in whole seconds)", access, refresh)
		}
		c.accessTTL, c.refreshTTL, c.accessTTLSet = access, refresh, true
		return nil
	}
}

// WithDeviceFlow sets the device grant's polling interval (default 1s, so tests are quick)
// and how long a device code lives (default 10m).
func WithDeviceFlow(interval, ttl time.Duration) Option {
	return func(c *config) error {
		if interval < time.Second || interval%time.Second != 0 {
			return fmt.Errorf("mockidp: device polling interval %v: must be a whole number of seconds, at least 1s (RFC 8628 interval is in seconds)", interval)
		}
		if ttl < interval {
			return fmt.Errorf("mockidp: device code TTL %v: must be at least the polling interval %v", ttl, interval)
		}
		c.deviceInterval, c.deviceTTL = interval, ttl
		return nil
	}
}

// WithPlainPKCE also accepts the "plain" PKCE method, which is refused by default.
func WithPlainPKCE() Option {
	return func(c *config) error { c.plainPKCE = true; return nil }
}

// WithScopes adds scopes clients may request besides openid, profile, email, groups and
// offline_access (for example the scopes an MCP server's metadata lists). Unknown scopes are
// refused with invalid_scope.
func WithScopes(scopes ...string) Option {
	return func(c *config) error {
		for i, s := range scopes {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
				return fmt.Errorf("mockidp: scopes[%d] %q: must be non-empty printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)", i, s)
			}
			if !slices.Contains(c.scopes, s) {
				c.scopes = append(c.scopes, s)
			}
		}
		return nil
	}
}

// WithResourceParameterCompatibility turns on Auth0's tenant "Resource Parameter
// Compatibility Profile" [A2]: under a profile that takes an audience parameter (auth0), an
// RFC 8707 resource names the API as audience does (audience wins if both are sent), so an MCP
// client, which sends resource and knows nothing of audience, gets a JWT for the MCP server.
// Without it such a client's resource is ignored and its token is opaque [A8][A11].
func WithResourceParameterCompatibility() Option {
	return func(c *config) error { c.resourceAsAudience = true; return nil }
}

// WithoutDynamicRegistration turns off RFC 7591 Dynamic Client Registration (on by default,
// so MCP clients that register themselves can log in).
func WithoutDynamicRegistration() Option {
	return func(c *config) error { c.registration = false; return nil }
}

// WithoutClientIDMetadataDocuments stops the IdP accepting a client_id that is an HTTPS URL
// serving the client's metadata (accepted by default, as the MCP spec of 2025-11-25 asks;
// the metadata then omits client_id_metadata_document_supported).
func WithoutClientIDMetadataDocuments() Option {
	return func(c *config) error { c.cimd = false; return nil }
}

// WithLoopbackClientIDMetadataDocuments lets a client_id URL be on a loopback or private
// host, and plain http on loopback, so a test can serve the document itself. Off by default:
// a client_id must not be able to point the IdP at its own network (SSRF).
func WithLoopbackClientIDMetadataDocuments() Option {
	return func(c *config) error { c.loopbackCIMD = true; return nil }
}

// WithClientIDMetadataHTTPClient fetches Client ID Metadata Documents with hc (a test's TLS
// server's Client, say). Redirects are still never followed; the default client also refuses
// to connect to non-public addresses, which hc decides for itself.
func WithClientIDMetadataHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("mockidp: WithClientIDMetadataHTTPClient: nil client")
		}
		c.cimdHTTP = hc
		return nil
	}
}

// checkResource applies RFC 8707 §2: an absolute URI without a fragment.
func checkResource(r string) error {
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("%q: must be an absolute URI (RFC 8707 §2)", r)
	}
	if u.Fragment != "" || strings.Contains(r, "#") {
		return fmt.Errorf("%q: must not contain a fragment (RFC 8707 §2)", r)
	}
	return nil
}
