// Package mockidp is the mock OpenID Connect identity provider every mcpsso scenario logs in
// through, and the one `mcpsso up` offers real MCP clients.
//
// It is built on github.com/oauth2-proxy/mockoidc's exported handlers, mounted on its own mux
// beside what mockoidc lacks: the device authorization grant (RFC 8628), RFC 8414 metadata,
// public clients with PKCE (S256 required), HTTP Basic client authentication, RFC 8707
// resource indicators, Dynamic Client Registration (RFC 7591), RFC 9068 access tokens
// (typ at+jwt) with the claims an authorizer maps users by, RS256 and ES256 keys with
// rotation, a per-instance clock, and an API that forges each bad token negative tests need.
// That is the generic profile; WithProfile makes it issue tokens as Cognito, Entra ID, Okta,
// Auth0, Keycloak or Google do instead (profiles.go: one table of data per provider).
// mockoidc keeps the sessions: its authorize handler creates them and its token handler
// redeems codes and refresh tokens; the IdP serialises every call into it, because mockoidc's
// session map has no lock.
//
// Use it in-process (Start, or New and ServeHTTP under httptest) or as `mcpsso idp serve`.
// Login is headless for tests (QueueLogin, login_hint, ApproveDevice) and a page with one
// button per test user for people.
package mockidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Discovery paths (RFC 8414 §3, OpenID Connect Discovery §4). The other endpoints are the
// profile's (Profile.Endpoints).
const (
	pathDiscovery  = "/.well-known/openid-configuration"
	pathASMetadata = "/.well-known/oauth-authorization-server"
	pathJWKS       = "/.well-known/jwks.json"
)

// IdP is the mock identity provider: an http.Handler with typed getters. Its methods are
// safe for concurrent use.
type IdP struct {
	cfg     config
	profile *Profile
	issuer  string // exactly as in iss and the discovery document (a profile's may end in "/")
	origin  string // scheme://host[:port] of the issuer, where every endpoint is served
	prefix  string // the issuer's path without a trailing slash: "{issuer}" in endpoint paths
	keys    *keySet
	log     *slog.Logger
	mux     *http.ServeMux
	users   []User

	// mu serialises every call into mockoidc (its session map has no lock) and guards the
	// state below.
	mu         sync.Mutex
	mock       *mockoidc.MockOIDC
	clients    map[string]Client
	registered int
	// metadataClients caches clients learnt from Client ID Metadata Documents, by URL.
	metadataClients map[string]cachedMetadataClient
	logins          []*User
	codes           map[string]*pendingCode
	grants          map[string]*grant
	devices         map[string]*deviceAuth  // by device code
	userCodes       map[string]*deviceAuth  // by normalised user code
	opaque          map[string]*opaqueToken // opaque access tokens, by token
	pruneAt         int                     // state size that triggers the next sweep
}

// New builds an IdP without listening; WithIssuerURL is required (Start derives it).
func New(opts ...Option) (*IdP, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.issuerURL == "" {
		return nil, errors.New("mockidp: New needs WithIssuerURL (or use Start, which derives the issuer from its listener)")
	}
	if cfg.issuerPath != "" {
		return nil, errors.New("mockidp: give the issuer's path in WithIssuerURL, not WithIssuerPath, when calling New")
	}
	cfg.resolve()
	return newIdP(cfg)
}

// newIdP builds the IdP of a resolved config. An issuer URL without a path takes the profile's
// path (an explicit one keeps its own), and the profile's trailing slash.
func newIdP(cfg config) (*IdP, error) {
	issuer, err := url.Parse(cfg.issuerURL)
	if err != nil {
		return nil, fmt.Errorf("mockidp: issuer URL %q: %v", cfg.issuerURL, err)
	}
	base := cfg.issuerURL
	if issuer.Path == "" {
		base += cfg.profile.IssuerPath
		if issuer, err = url.Parse(base); err != nil {
			return nil, fmt.Errorf("mockidp: issuer URL %q: %v", base, err)
		}
	}
	iss := base
	if cfg.profile.IssuerTrailingSlash {
		iss += "/"
	}
	key := cfg.key
	if key == nil {
		if key, err = generateKey(cfg.alg); err != nil {
			return nil, fmt.Errorf("mockidp: %w", err)
		}
	}
	keys, err := newKeySet(key, cfg.overlap, cfg.now, kidFunc(cfg.profile.KeyID))
	if err != nil {
		return nil, fmt.Errorf("mockidp: signing key: %w", err)
	}
	mock, err := newMock()
	if err != nil {
		return nil, err
	}
	p := &IdP{cfg: cfg, profile: cfg.profile, issuer: iss, origin: issuer.Scheme + "://" + issuer.Host, prefix: issuer.EscapedPath(), keys: keys, log: cfg.logger,
		users: cfg.users, mock: mock, clients: map[string]Client{}, metadataClients: map[string]cachedMetadataClient{}, codes: map[string]*pendingCode{},
		grants: map[string]*grant{}, devices: map[string]*deviceAuth{}, userCodes: map[string]*deviceAuth{}, opaque: map[string]*opaqueToken{}}
	for _, c := range cfg.clients {
		p.clients[c.ID] = c
	}
	p.routes()
	return p, nil
}

// newMock makes the mockoidc instance that keeps sessions. Its key signs only the tokens
// mockoidc hands back to the IdP in-process; they never leave, so a small key (never
// mockoidc's hard-coded default) will do.
func newMock() (*mockoidc.MockOIDC, error) {
	internal, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil, fmt.Errorf("mockidp: internal session key: %w", err)
	}
	m, err := mockoidc.NewServer(internal)
	if err != nil {
		return nil, fmt.Errorf("mockidp: mockoidc: %w", err)
	}
	// The IdP enforces its own lifetimes with its own clock; mockoidc's refresh tokens must
	// simply outlive them.
	m.RefreshTTL = 24 * 365 * time.Hour
	m.CodeChallengeMethodsSupported = []string{mockoidc.CodeChallengeMethodS256, mockoidc.CodeChallengeMethodPlain}
	// Never started; it only has to exist for mockoidc's Issuer() and Config().
	m.Server = &http.Server{Addr: "mockoidc.internal"}
	return m, nil
}

func (p *IdP) routes() {
	p.mux = http.NewServeMux()
	seen := map[string]bool{}
	handle := func(path string, h http.HandlerFunc, cors bool) {
		if path == "" || seen[path] { // no such endpoint, or two forms that are one URL
			return
		}
		seen[path] = true
		if cors {
			h = withCORS(h)
		}
		p.mux.Handle(path, h)
	}
	d := p.profile.Discovery
	handle(p.prefix+pathDiscovery, p.handleMetadata, true)
	if p.prefix != "" && d.OIDCPathInsertion {
		// The OIDC path-insertion form MCP clients also try for an issuer with a path.
		handle(pathDiscovery+p.prefix, p.handleMetadata, true)
	}
	if d.RFC8414Inserted {
		handle(pathASMetadata+p.prefix, p.handleMetadata, true) // RFC 8414 §3.1
	}
	if d.RFC8414Appended {
		handle(p.prefix+pathASMetadata, p.handleMetadata, true)
	}
	e := p.profile.Endpoints
	handle(p.path(e.JWKS), p.handleJWKS, true)
	handle(p.path(e.Authorize), p.handleAuthorize, false)
	handle(p.path(e.Token), p.handleToken, true)
	handle(p.path(e.Userinfo), p.handleUserinfo, true)
	if p.profile.DeviceGrant {
		handle(p.path(e.DeviceAuthorization), p.handleDeviceAuthorization, true)
		handle(p.path(e.DeviceVerification), p.handleDeviceVerification, false)
	}
	if p.cfg.registration {
		handle(p.path(e.Registration), p.handleRegister, true)
	}
	handle(p.path(e.Tokeninfo), p.handleTokeninfo, true)
}

// path is an endpoint path of the profile on this IdP ("" when it has none).
func (p *IdP) path(template string) string {
	return strings.ReplaceAll(template, "{issuer}", p.prefix)
}

// endpoint is an endpoint's URL ("" when the profile has none).
func (p *IdP) endpoint(template string) string {
	if template == "" {
		return ""
	}
	return p.origin + p.path(template)
}

type ctxKey struct{}

// ServeHTTP gives every request an id (the X-Request-Id response header and the request_id
// log key) and routes it.
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := randomHex(8)
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	if strings.Contains(r.URL.Path, "//") && path.Clean(r.URL.Path) == p.prefix+pathDiscovery {
		// A client that appends the well-known path to an issuer ending in a slash (Auth0's)
		// asks for //.well-known/…: the mux would redirect to the clean path, which the go-sdk
		// refuses to follow into a loopback address (its SSRF guard) though it follows it on
		// the provider's public host. Served here, the kit on loopback behaves as the public
		// deployment does.
		withCORS(p.handleMetadata)(w, r)
		return
	}
	p.mux.ServeHTTP(w, r)
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// decision logs one allow or deny with the project's stable keys.
func (p *IdP) decision(r *http.Request, event, decision, reason string, attrs ...any) {
	level := slog.LevelInfo
	if decision == "deny" {
		level = slog.LevelWarn
	}
	attrs = append([]any{slog.String("request_id", requestID(r)), slog.String("decision", decision), slog.String("reason", reason)}, attrs...)
	p.log.Log(r.Context(), level, event, attrs...)
}

// withCORS lets browser-based MCP clients (MCP Inspector runs its OAuth flow in the page)
// read metadata, keys and tokens. Nothing here relies on cookies.
func withCORS(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h(w, r)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// IssuerURL is the issuer: the iss claim, and the base of discovery and every endpoint.
func (p *IdP) IssuerURL() string { return p.issuer }

// DiscoveryURL is the OpenID Connect discovery document's URL.
func (p *IdP) DiscoveryURL() string { return p.origin + p.prefix + pathDiscovery }

// JWKSURL is the URL of the published keys.
func (p *IdP) JWKSURL() string { return p.endpoint(p.profile.Endpoints.JWKS) }

// UserinfoURL is the OIDC userinfo endpoint.
func (p *IdP) UserinfoURL() string { return p.endpoint(p.profile.Endpoints.Userinfo) }

// DeviceVerificationURL is the page where a person approves a device code ("" when the
// profile offers no device grant).
func (p *IdP) DeviceVerificationURL() string {
	if !p.profile.DeviceGrant {
		return ""
	}
	return p.endpoint(p.profile.Endpoints.DeviceVerification)
}

// RegistrationURL is the RFC 7591 registration endpoint ("" when turned off or the profile
// has none; an endpoint that wants an administrator's token, as Okta's, counts).
func (p *IdP) RegistrationURL() string {
	if !p.cfg.registration {
		return ""
	}
	return p.endpoint(p.profile.Endpoints.Registration)
}

// TokeninfoURL is the introspection endpoint of a profile with opaque access tokens
// (Google's tokeninfo; "" for the others).
func (p *IdP) TokeninfoURL() string { return p.endpoint(p.profile.Endpoints.Tokeninfo) }

// Endpoint is the IdP's endpoint for golang.org/x/oauth2 (DeviceAuthURL is empty when the
// profile offers no device grant).
func (p *IdP) Endpoint() oauth2.Endpoint {
	e := oauth2.Endpoint{AuthURL: p.endpoint(p.profile.Endpoints.Authorize), TokenURL: p.endpoint(p.profile.Endpoints.Token)}
	if p.profile.DeviceGrant {
		e.DeviceAuthURL = p.endpoint(p.profile.Endpoints.DeviceAuthorization)
	}
	return e
}

// Profile is the provider the IdP imitates (see WithProfile).
func (p *IdP) Profile() Profile { return p.profile.clone() }

// ClientID is the public client (mcpsso-cli unless WithClients replaced it).
func (p *IdP) ClientID() string {
	if _, ok := p.Client(PublicClientID); ok {
		return PublicClientID
	}
	return p.cfg.clients[0].ID
}

// Client returns a registered client (static or dynamically registered).
func (p *IdP) Client(id string) (Client, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[id]
	return c, ok
}

// Clients lists the clients given at start (dynamically registered ones are left out).
func (p *IdP) Clients() []Client { return slices.Clone(p.cfg.clients) }

// OAuth2Config is an x/oauth2 configuration for a registered client, its secret included.
func (p *IdP) OAuth2Config(clientID, redirectURL string, scopes ...string) (*oauth2.Config, error) {
	c, ok := p.Client(clientID)
	if !ok {
		return nil, fmt.Errorf("mockidp: client %q is not registered", clientID)
	}
	return &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: scopes}, nil
}

// Audience is the default access-token audience: the aud of a token whose client named no
// resource ("" when such tokens have no aud, as Cognito's).
func (p *IdP) Audience() string { return p.cfg.audience }

// TenantClaim names the claim that carries the tenant.
func (p *IdP) TenantClaim() string { return p.cfg.tenantClaim }

// Now is the IdP's clock; give it to verifiers in tests.
func (p *IdP) Now() time.Time { return p.cfg.now() }

// Users lists the users who can log in.
func (p *IdP) Users() []User {
	out := make([]User, len(p.users))
	for i, u := range p.users {
		out[i] = cloneUser(u)
	}
	return out
}

// User finds a user by username, email or subject.
func (p *IdP) User(name string) (User, bool) {
	u, err := p.lookupUser(name)
	if err != nil {
		return User{}, false
	}
	return cloneUser(*u), true
}

func (p *IdP) lookupUser(name string) (*User, error) {
	for i := range p.users {
		u := &p.users[i]
		if name != "" && (u.Username == name || u.Subject == name || (u.Email != "" && u.Email == name)) {
			return u, nil
		}
	}
	names := make([]string, len(p.users))
	for i, u := range p.users {
		names[i] = u.Username
	}
	return nil, fmt.Errorf("unknown user %q (users: %s)", name, strings.Join(names, ", "))
}

// QueueLogin makes the next authorization request that names no user log in as username at
// once, without showing the login page (headless tests). Logins queue in order.
func (p *IdP) QueueLogin(username string) error {
	u, err := p.lookupUser(username)
	if err != nil {
		return fmt.Errorf("mockidp: QueueLogin: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logins = append(p.logins, u)
	return nil
}

// Keys lists the published signing keys, oldest first.
func (p *IdP) Keys() []KeyInfo { return p.keys.info() }

// RotateKey generates a key for alg (RS256 or ES256) and signs with it from now on; the
// previous key stays in the JWKS for the rotation overlap. It returns the new kid.
func (p *IdP) RotateKey(alg string) (string, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return "", fmt.Errorf("mockidp: RotateKey: %w", err)
	}
	k, err := p.keys.rotate(priv)
	if err != nil {
		return "", fmt.Errorf("mockidp: RotateKey: %w", err)
	}
	p.log.Info("signing key rotated", slog.String("kid", k.kid), slog.String("alg", k.alg),
		slog.Duration("overlap", p.cfg.overlap))
	return k.kid, nil
}

// RetireKey removes a rotated-out key from the JWKS now, ending its overlap early.
func (p *IdP) RetireKey(kid string) error {
	if err := p.keys.retire(kid); err != nil {
		return fmt.Errorf("mockidp: RetireKey: %w", err)
	}
	p.log.Info("signing key retired", slog.String("kid", kid))
	return nil
}

// Server is an IdP listening on a loopback (or given) address.
type Server struct {
	*IdP
	srv *serve.Server
}

// Start builds an IdP and serves it until ctx ends or Close is called. The issuer is
// http://<listen address><WithIssuerPath> unless WithIssuerURL says otherwise; without either
// path, the profile's (see Profile.Issuer).
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.issuerURL != "" && cfg.issuerPath != "" {
		return nil, errors.New("mockidp: give WithIssuerURL or WithIssuerPath, not both")
	}
	cfg.resolve()
	ln, err := serve.Listen("mockidp", cfg.addr)
	if err != nil {
		return nil, err
	}
	if cfg.issuerURL == "" {
		cfg.issuerURL = "http://" + ln.Addr().String() + cfg.issuerPath
	}
	p, err := newIdP(cfg)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &Server{IdP: p, srv: serve.Start(ctx, ln, p, serve.Config{})}, nil
}

// Close stops the listener, lets requests in flight finish for up to half a second
// (serve.DefaultGrace), then closes every connection and waits for what the server started.
// It returns the error that stopped serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
