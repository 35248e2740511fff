package gosdkserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

var (
	// sourceIdentityRe is STS's rule for a SourceIdentity (2-64 of [A-Za-z0-9_+=,.@-]).
	sourceIdentityRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	// tenantRe is a tenant name: lower-case letters, digits and inner hyphens, at most 40.
	tenantRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
)

// principal is who a verified token speaks for.
type principal struct {
	Subject string
	Email   string
	// Tenant is the tenant claim, "" when the token has none.
	Tenant string
	// SourceIdentity is usr-<email>: the user as people know them, in CloudTrail.
	SourceIdentity string
}

// claims are the access token claims the server reads (go-oidc checked iss, aud, exp).
type claims struct {
	Subject string `json:"sub"`
	Email   string `json:"email"`
	Scope   string `json:"scope"`
}

// principalKey is where the verifier leaves the principal in TokenInfo.Extra.
const principalKey = "principal"

// verify is the SDK's TokenVerifier: the token's signature (by the issuer's published keys),
// issuer, audience (this server's resource URL) and expiry, then the claims the tools need.
func (s *Server) verify(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	idt, err := s.verifier.Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrInvalidToken, err)
	}
	var c claims
	all := map[string]any{}
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", auth.ErrInvalidToken, err)
	}
	if err := idt.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", auth.ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: the token has no sub claim", auth.ErrInvalidToken)
	}
	p := principal{Subject: c.Subject, Email: c.Email}
	if v, ok := all[TenantClaim]; ok {
		t, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("%w: the %s claim is not a string", auth.ErrInvalidToken, TenantClaim)
		}
		p.Tenant = t
	}
	if c.Email != "" {
		p.SourceIdentity = "usr-" + c.Email
	}
	return &auth.TokenInfo{UserID: c.Subject, Scopes: strings.Fields(c.Scope), Expiration: idt.Expiry,
		Extra: map[string]any{principalKey: p}}, nil
}

// refusal is why a verified token is not served, or "".
func (s *Server) refusal(p principal) string {
	switch {
	case p.Tenant == "":
		return fmt.Sprintf("the token carries no %s claim: the user belongs to no tenant, so there is no role to act as", TenantClaim)
	case !tenantRe.MatchString(p.Tenant):
		return fmt.Sprintf("the %s claim %q is not a tenant name (1-40 lower-case letters, digits or inner hyphens)", TenantClaim, p.Tenant)
	case p.Email == "":
		return "the token carries no email claim, from which the source identity is made"
	case !sourceIdentityRe.MatchString(p.SourceIdentity):
		return fmt.Sprintf("the email claim %q does not make an STS source identity (usr-<email> must be 2-64 of letters, digits and _+=,.@-)", p.Email)
	}
	return ""
}

// authenticate admits a request to next only with exactly one Authorization header holding a
// bearer token the verifier accepts, for a user with a tenant. A refusal is 401 with the
// challenge that names the protected resource metadata (the SDK's RequireBearerToken), or 403
// for a valid token the server will not serve.
func (s *Server) authenticate(next http.Handler) http.Handler {
	requireToken := auth.RequireBearerToken(s.verify, &auth.RequireBearerTokenOptions{ResourceMetadataURL: s.MetadataURL()})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := s.cfg.log.With("component", "gosdkserver", "method", r.Method, "path", r.URL.Path)
		if n := len(r.Header.Values("Authorization")); n > 1 {
			// Two components may read two headers two ways; refuse rather than pick one.
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q, error="invalid_request", error_description="more than one Authorization header"`, s.MetadataURL()))
			http.Error(w, "more than one Authorization header", http.StatusUnauthorized)
			log.Info("request refused", "decision", "deny", "reason", "more than one Authorization header")
			return
		}
		var verified *http.Request
		requireToken(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { verified = r })).
			ServeHTTP(&challengeWriter{ResponseWriter: w, bearer: bearerSent(r), bare: s.cfg.defect == OmitsResourceMetadata}, r)
		if verified == nil {
			log.Info("request refused", "decision", "deny", "reason", "no valid bearer token")
			return
		}
		p, _ := auth.TokenInfoFromContext(verified.Context()).Extra[principalKey].(principal)
		if why := s.refusal(p); why != "" {
			log.Info("request refused", "decision", "deny", "sub", p.Subject, "reason", why)
			http.Error(w, why, http.StatusForbidden)
			return
		}
		log.Debug("request admitted", slog.String("sub", p.Subject), slog.String("tenant", p.Tenant))
		next.ServeHTTP(w, verified)
	})
}

// bearerSent reports whether the request presented a bearer token (any, valid or not).
func bearerSent(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// challengeWriter adds error="invalid_token" to the SDK's 401 challenge when a bearer token was
// sent (RFC 6750 §3.1): the SDK's middleware names only the resource metadata.
type challengeWriter struct {
	http.ResponseWriter
	bearer bool
	// bare: the OmitsResourceMetadata defect's challenge, a realm and no resource_metadata.
	bare bool
}

func (w *challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized && w.bare {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcp"`)
	}
	if code == http.StatusUnauthorized && w.bearer {
		if ch := w.Header().Get("WWW-Authenticate"); ch != "" && !strings.Contains(ch, "error=") {
			w.Header().Set("WWW-Authenticate", ch+`, error="invalid_token"`)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}
