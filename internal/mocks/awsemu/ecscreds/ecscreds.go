// Package ecscreds serves the ECS container-credentials endpoint for a task role, so a program
// whose AWS SDK uses the default credential chain gets the task role exactly as on Fargate.
//
// The program under test is started with AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN (Server.Env); its SDK then GETs the URI with the token in the
// Authorization header and receives the JSON document the ECS agent serves:
//
//	{"AccessKeyId":"ASIA…","SecretAccessKey":"…","Token":"…","Expiration":"2026-11-26T03:04:05Z","RoleArn":"arn:aws:iam::…:role/…"}
//
// Credentials come from a Source (the emulator backs it with STS-issued task-role sessions). The
// Handler caches them and asks the Source again once they are within the refresh window of their
// expiry, the way Fargate rotates task-role credentials well before they expire. It fails closed:
// a missing or wrong token is refused, a Source error is a 500, and expired credentials are never
// served.
package ecscreds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Environment variables read by the AWS SDKs' container credential provider.
const (
	EnvFullURI            = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvAuthorizationToken = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	// EnvRelativeURI is what a Fargate task gets: a path on TaskAddress, fetched without a
	// token (only the task's own network namespace reaches that address).
	EnvRelativeURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
)

// TaskAddress is the link-local address of the ECS agent's credentials endpoint, the host the
// SDKs put in front of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (port 80, plain HTTP).
const TaskAddress = "169.254.170.2"

// DefaultRefreshWindow is how long before expiry cached credentials are replaced. It equals the
// SDKs' own expiry window for this provider, so a client never holds credentials the endpoint
// already considers due for rotation.
const DefaultRefreshWindow = 5 * time.Minute

// Credentials are one set of temporary task-role credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	RoleArn         string
}

// Source issues task-role credentials. It is called on the first request and whenever the
// cached credentials are within the refresh window of expiry; calls are serialised.
type Source interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Credentials, error)

// Credentials calls f.
func (f SourceFunc) Credentials(ctx context.Context) (Credentials, error) { return f(ctx) }

// Option configures New and Start.
type Option func(*settings) error

type settings struct {
	token         string
	path          string
	refreshWindow time.Duration
	logger        *slog.Logger
	now           func() time.Time
	addr          string // Start only
}

// WithAuthorizationToken sets the token clients must send in the Authorization header. By
// default a random 256-bit token is generated.
func WithAuthorizationToken(token string) Option {
	return func(c *settings) error {
		if token == "" {
			return errors.New("ecscreds: authorization token: must not be empty (the endpoint always requires one)")
		}
		for _, r := range token {
			// The SDK refuses tokens with CR/LF, and anything outside visible ASCII cannot be
			// carried verbatim in an HTTP header.
			if r < 0x21 || r > 0x7e {
				return fmt.Errorf("ecscreds: authorization token: character %q not allowed; use visible ASCII only", r)
			}
		}
		c.token = token
		return nil
	}
}

// WithPath sets the URL path the credentials are served on. By default it is
// /v2/credentials/<random id>, the shape the ECS agent uses.
func WithPath(path string) Option {
	return func(c *settings) error {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \t\r\n") {
			return fmt.Errorf("ecscreds: path %q: must start with / and contain no query, fragment or whitespace", path)
		}
		c.path = path
		return nil
	}
}

// WithRefreshWindow sets how long before expiry cached credentials are replaced by fresh ones
// from the Source (default DefaultRefreshWindow). Zero means only when expired.
func WithRefreshWindow(d time.Duration) Option {
	return func(c *settings) error {
		if d < 0 {
			return fmt.Errorf("ecscreds: refresh window %v: must not be negative", d)
		}
		c.refreshWindow = d
		return nil
	}
}

// WithLogger sets the logger for access decisions (keys: decision, reason, remote_addr, and
// role_arn and expiration when credentials are served). Secrets, session tokens and the
// authorization token are never logged. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *settings) error {
		if l == nil {
			return errors.New("ecscreds: logger: must not be nil")
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock used to decide when cached credentials are due for rotation or
// expired (default time.Now). Tests use it to rotate without waiting.
func WithClock(now func() time.Time) Option {
	return func(c *settings) error {
		if now == nil {
			return errors.New("ecscreds: clock: must not be nil")
		}
		c.now = now
		return nil
	}
}

// WithAddr sets the address Start listens on (default 127.0.0.1:0). The SDKs accept an http
// FULL_URI only on loopback or the ECS/EKS link-local addresses. New ignores it.
func WithAddr(addr string) Option {
	return func(c *settings) error {
		if addr == "" {
			return errors.New("ecscreds: addr: must not be empty")
		}
		c.addr = addr
		return nil
	}
}

func newConfig(opts []Option) (*settings, error) {
	c := &settings{
		refreshWindow: DefaultRefreshWindow,
		logger:        slog.New(slog.DiscardHandler),
		now:           time.Now,
		addr:          "127.0.0.1:0",
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.token == "" {
		c.token = randomString(32)
	}
	if c.path == "" {
		c.path = "/v2/credentials/" + randomID()
	}
	return c, nil
}

// Handler serves the credentials document on one path. It is safe for concurrent use.
type Handler struct {
	source    Source
	tokenHash [sha256.Size]byte
	cfg       *settings

	// lock is a one-slot semaphore rather than a mutex so that a request waiting behind a slow
	// Source call gives up when its client goes away.
	lock   chan struct{}
	cached *Credentials
}

// New returns a Handler serving credentials from source.
func New(source Source, opts ...Option) (*Handler, error) {
	if source == nil {
		return nil, errors.New("ecscreds: source: must not be nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Handler{
		source:    source,
		tokenHash: sha256.Sum256([]byte(cfg.token)),
		cfg:       cfg,
		lock:      make(chan struct{}, 1),
	}, nil
}

// AuthorizationToken is the token clients must send (AWS_CONTAINER_AUTHORIZATION_TOKEN).
func (h *Handler) AuthorizationToken() string { return h.cfg.token }

// Path is the URL path the credentials are served on.
func (h *Handler) Path() string { return h.cfg.path }

// Invalidate drops the cached credentials, so the next request asks the Source again — a
// rotation on demand, e.g. after a test changed what the Source issues.
func (h *Handler) Invalidate() {
	h.lock <- struct{}{}
	h.cached = nil
	<-h.lock
}

// errorBody is the ECS agent's error document; the SDK reads code and message from it.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// credentialsBody is the ECS agent's credentials document, field for field.
type credentialsBody struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.cfg.logger.With("remote_addr", r.RemoteAddr)
	if r.URL.Path != h.cfg.path {
		log.Info("credentials request refused", "decision", "deny", "reason", "unknown path")
		writeJSON(w, http.StatusNotFound, errorBody{"NotFound", "no credentials are served on this path"})
		return
	}
	if r.Method != http.MethodGet {
		log.Info("credentials request refused", "decision", "deny", "reason", "method "+r.Method+" not allowed")
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{"MethodNotAllowed", "only GET is allowed"})
		return
	}
	got := r.Header.Values("Authorization")
	if len(got) == 0 || got[0] == "" {
		log.Info("credentials request refused", "decision", "deny", "reason", "missing authorization token")
		writeJSON(w, http.StatusUnauthorized, errorBody{"Unauthorized", "the Authorization header with the container authorization token is required"})
		return
	}
	// Hashing first makes the comparison constant-time in the token's length too.
	gotHash := sha256.Sum256([]byte(got[0]))
	if len(got) != 1 || subtle.ConstantTimeCompare(gotHash[:], h.tokenHash[:]) != 1 {
		log.Info("credentials request refused", "decision", "deny", "reason", "wrong authorization token")
		writeJSON(w, http.StatusForbidden, errorBody{"AccessDenied", "the authorization token is not valid for this endpoint"})
		return
	}

	creds, err := h.current(r.Context())
	if err != nil {
		log.Error("credentials request failed", "decision", "deny", "reason", err.Error())
		writeJSON(w, http.StatusInternalServerError, errorBody{"InternalServerError", "task role credentials are unavailable: " + err.Error()})
		return
	}
	log.Info("credentials served", "decision", "allow", "reason", "authorization token matched",
		"role_arn", creds.RoleArn, "expiration", creds.Expiration.UTC().Format(time.RFC3339))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, credentialsBody{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		// Rounded down so a client never believes credentials live longer than they do.
		Expiration: creds.Expiration.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"),
		RoleArn:    creds.RoleArn,
	})
}

// current returns the cached credentials, or fresh ones from the Source once the cached ones
// are within the refresh window of expiry.
func (h *Handler) current(ctx context.Context) (Credentials, error) {
	select {
	case h.lock <- struct{}{}:
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
	defer func() { <-h.lock }()

	now := h.cfg.now()
	if c := h.cached; c != nil && now.Before(c.Expiration.Add(-h.cfg.refreshWindow)) {
		return *c, nil
	}
	// A failed refresh is an error even while the old credentials are unexpired (the ECS agent
	// would keep serving them): a test that breaks the Source must see it at once.
	h.cached = nil
	c, err := h.source.Credentials(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("source: %w", err)
	}
	switch {
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return Credentials{}, errors.New("source returned credentials without an access key id or secret")
	case c.Expiration.IsZero():
		// Without an expiry the SDK would cache the credentials forever and never rotate.
		return Credentials{}, errors.New("source returned credentials without an expiration")
	case !now.Before(c.Expiration):
		return Credentials{}, fmt.Errorf("source returned credentials that expired at %s", c.Expiration.UTC().Format(time.RFC3339))
	}
	h.cached = &c
	return c, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only plain strings are marshalled; cannot happen
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Exactly "application/json": the SDK parses an error's code and message only then.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
