package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Authorizer decides requests. It is safe for concurrent use; build one per process (a Lambda
// execution environment keeps it, and its JWKS cache, across invocations).
type Authorizer struct {
	cfg      config
	verifier *tokenVerifier
	keys     *keySet
	log      *slog.Logger
	metrics  *metrics
}

// Request is what a decision reads from one API Gateway request, whatever the event format.
type Request struct {
	RequestID string
	// Authorization holds every Authorization header value received: none means the header
	// is missing, several that it was repeated.
	Authorization []string
	// RawQuery and QueryParameters are only searched for an access_token parameter, which is
	// refused (RFC 6750 §2.3 tokens end up in logs and Referer headers).
	RawQuery        string
	QueryParameters map[string][]string
	// Method, Path, RouteKey and SourceIP describe the request for the log and Cedar.
	Method, Path, RouteKey, SourceIP string
	// MCPMethod and MCPName are the MCP 2026-07-28 Mcp-Method and Mcp-Name headers, for Cedar.
	MCPMethod, MCPName string
}

// UnavailableError is Decide's error when a dependency (the IdP's JWKS, the role store)
// failed: the decision is a deny, and adapters answer with an error (HTTP 500) rather than a
// cached deny.
type UnavailableError struct {
	Reason Reason
	Err    error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("authorizer: cannot decide (%s): %v", e.Reason, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// New builds an Authorizer. Without WithJWKSURL it runs OpenID discovery on the issuer
// (bounded by WithDiscoveryTimeout) and fails if that fails; with it, New makes no network call
// and the keys are fetched on the first token.
func New(ctx context.Context, opts ...Option) (*Authorizer, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("authorizer: %w", err)
		}
	}
	cfg.applyPreset()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.jwksURL == "" {
		u, err := discoverJWKS(ctx, cfg)
		if err != nil {
			return nil, err
		}
		cfg.jwksURL = u
	}
	m := newMetrics()
	ks := &keySet{url: cfg.jwksURL, client: cfg.client, algs: joseAlgs(cfg.algs), now: cfg.now,
		minInterval: cfg.refetchInterval, maxAge: cfg.jwksMaxAge, log: cfg.logger, metrics: m}
	v := &tokenVerifier{
		oidc: oidc.NewVerifier(cfg.issuer, ks, &oidc.Config{
			// go-oidc checks one client ID; the audience set is checked in checkClaims.
			SkipClientIDCheck: true, SupportedSigningAlgs: cfg.algs, Now: cfg.now,
		}),
		issuer: cfg.issuer, audiences: cfg.audiences, algs: cfg.algs, now: cfg.now, maxBytes: cfg.maxTokenBytes,
		typ: cfg.typ, tenantClaim: cfg.tenantClaim, emailClaim: cfg.emailClaim, keys: ks,
		preset: cfg.preset, clientIDs: cfg.clientIDs, skipped: cfg.skipped,
		readScopes: len(cfg.requiredScopes) > 0, scopesOf: claimSet.scopes,
	}
	if cfg.scopesOf != nil {
		v.scopesOf = cfg.scopesOf
	}
	if cfg.cacheEntries > 0 {
		v.cache = newTokenCache(cfg.cacheEntries, cfg.cacheTTL)
	}
	return &Authorizer{cfg: cfg, verifier: v, keys: ks, log: cfg.logger, metrics: m}, nil
}

// discoverJWKS reads jwks_uri from the issuer's discovery document (go-oidc checks that the
// document's issuer is exactly ours).
func discoverJWKS(ctx context.Context, cfg config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.client), cfg.issuer)
	if err != nil {
		return "", fmt.Errorf("authorizer: discovery on %s (set WithJWKSURL to skip it): %w", cfg.issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", fmt.Errorf("authorizer: discovery on %s: %w", cfg.issuer, err)
	}
	if err := checkURL("discovered jwks_uri", meta.JWKSURI); err != nil {
		return "", fmt.Errorf("authorizer: discovery on %s: %w", cfg.issuer, err)
	}
	return meta.JWKSURI, nil
}

// JWKSURL is the URL keys are fetched from (given, or discovered).
func (a *Authorizer) JWKSURL() string { return a.cfg.jwksURL }

// Decide makes the decision for one request: bearer syntax, token verification, claims, role
// lookup, the optional Cedar check. It never allows on a failure. The error is non-nil (an
// *UnavailableError) exactly when the reason's Outcome is Unavailable; the Decision is then a
// deny too. Every decision is logged and counted.
func (a *Authorizer) Decide(ctx context.Context, req Request) (Decision, error) {
	start := time.Now()
	d := Decision{RequestID: req.RequestID}
	dn := a.decide(ctx, &req, &d)
	if dn == nil && a.cfg.proofKey != nil {
		dn = a.prove(&req, &d)
	}
	if dn == nil {
		d.Allow, d.Reason = true, ReasonOK
	} else {
		d.Allow, d.Reason, d.Detail = false, dn.reason, dn.detail
	}
	a.record(ctx, &d, dn, time.Since(start))
	if dn != nil && dn.reason.Outcome() == Unavailable {
		return d, &UnavailableError{Reason: dn.reason, Err: dn.err}
	}
	return d, nil
}

func (a *Authorizer) decide(ctx context.Context, req *Request, d *Decision) *denial {
	if queryToken(req.RawQuery, req.QueryParameters) {
		return deny(ReasonTokenInQuery, "the request carries an access_token query parameter; send the token only in the Authorization header (RFC 6750 §2.1)")
	}
	raw, dn := bearerCredential(req.Authorization)
	if dn != nil {
		return dn
	}
	// A cached token passed checkB64Token when it entered the cache: only a miss checks it.
	tok, key, hit := a.verifier.cached(raw)
	if !hit {
		if tok, dn = a.verifier.verifyUncached(ctx, raw, key, true); dn != nil {
			return dn
		}
	}
	d.Subject, d.Email, d.Agent, d.Expiry = tok.sub, tok.email, tok.agent, tok.expiry
	d.SourceIdentity, d.Tenant = tok.sourceIdentity, tok.tenant
	if missing := missingScopes(tok.scopes, a.cfg.requiredScopes); len(missing) > 0 {
		granted := strings.Join(tok.scopes, " ")
		if granted == "" {
			granted = "(none)"
		}
		return deny(ReasonInsufficientScope, "the token's scopes %s lack %s, which this MCP server requires (RFC 6750 §3.1): sign in again asking for them",
			quote(granted), quote(strings.Join(missing, " ")))
	}

	m, sorted, validated, err := a.lookup(ctx, tok.sub, tok.tenant)
	switch {
	case errors.Is(err, ErrNoMapping):
		return deny(ReasonUnknownUser, "%v", err)
	case errors.Is(err, ErrInvalidMapping):
		return &denial{reason: ReasonInvalidMapping, detail: err.Error(), err: err}
	case err != nil:
		a.metrics.dependencyErrors.WithLabelValues("role_store").Inc()
		return &denial{reason: ReasonRoleStoreUnavailable, detail: "the role store failed: " + err.Error(), err: err}
	}
	if !validated {
		if err := m.Validate(); err != nil {
			return &denial{reason: ReasonInvalidMapping, detail: fmt.Sprintf("the mapping of subject %s: %v", quote(tok.sub), err), err: err}
		}
	}
	d.RoleARN, d.Limits = m.RoleARN, m.Limits

	mapped, tagged := m.Tags[TenantTag]
	switch {
	case tagged && tok.tenant != "" && mapped != tok.tenant:
		return deny(ReasonTenantMismatch, "the token's tenant %s is not the mapping's tenant %s", quote(tok.tenant), quote(mapped))
	case tagged:
		d.Tenant = mapped
	case tok.tenant == "":
		return deny(ReasonNoTenant, "neither the token's %s claim nor the role mapping names a tenant", quote(a.cfg.tenantClaim))
	}
	d.Tags = make([]Tag, 0, len(m.Tags)+1)
	if sorted != nil { // a StaticStore's, sorted when it was built
		d.Tags = append(d.Tags, sorted...)
	} else {
		for k, v := range m.Tags {
			d.Tags = append(d.Tags, Tag{Key: k, Value: v})
		}
		slices.SortFunc(d.Tags, compareTagKeys)
	}
	if !tagged {
		if len(m.Tags) >= maxTags {
			return &denial{reason: ReasonInvalidMapping, detail: fmt.Sprintf("the mapping of subject %s has %d tags, leaving no room for the tenant tag (STS takes at most %d)", quote(tok.sub), len(m.Tags), maxTags)}
		}
		i, _ := slices.BinarySearchFunc(d.Tags, TenantTag, func(t Tag, key string) int { return strings.Compare(t.Key, key) })
		d.Tags = slices.Insert(d.Tags, i, Tag{Key: TenantTag, Value: d.Tenant})
	}

	if a.cfg.policy != nil {
		// A copy for the policy, which escape analysis cannot see through: without a policy,
		// the request stays off the heap.
		r := *req
		if dn := a.cfg.policy.check(cedarInput{sub: tok.sub, email: tok.email, tenant: d.Tenant,
			sourceIdentity: d.SourceIdentity, roleARN: d.RoleARN, agent: tok.agent, req: &r}); dn != nil {
			return dn
		}
	}
	return nil
}

// lookup asks the role store for the subject's mapping. A StaticStore's mappings were
// validated when it was built and are only read here, so they come without a copy, with their
// tags sorted by key (not nil), and validated is true; any other store's mapping is validated
// by the caller, and sorted is nil.
func (a *Authorizer) lookup(ctx context.Context, sub, tenant string) (m Mapping, sorted []Tag, validated bool, err error) {
	if s, ok := a.cfg.store.(*StaticStore); ok {
		m, sorted, err = s.lookupShared(ctx, sub, tenant)
		return m, sorted, true, err
	}
	m, err = a.cfg.store.Lookup(ctx, sub, tenant)
	return m, nil, false, err
}

// compareTagKeys orders tags by key, as the decision and the session tags list them.
func compareTagKeys(a, b Tag) int { return strings.Compare(a.Key, b.Key) }

// missingScopes are the required scopes granted does not hold, in the order required.
func missingScopes(granted, required []string) []string {
	var out []string
	for _, s := range required {
		if !slices.Contains(granted, s) {
			out = append(out, s)
		}
	}
	return out
}

// prove signs the decided context for this request, as the gateway will forward it: the
// headers' values are the context values of Decision.Context.
func (a *Authorizer) prove(req *Request, d *Decision) *denial {
	nonce := req.RequestID
	if !contextproof.ValidNonce(nonce) {
		nonce = contextproof.NewNonce()
	}
	p, err := a.cfg.proofKey.Sign(contextproof.Context{Method: req.Method, Path: req.Path, DecidedRole: d.RoleARN,
		SourceIdentity: d.SourceIdentity, SessionTags: tagsJSON(d.Tags), Limits: limitsJSON(d.Limits)}, nonce, a.cfg.now())
	if err != nil { // only a clock outside the format's range: never allow without the proof
		return &denial{reason: ReasonContextProofError, detail: "the context proof could not be made: " + err.Error(), err: err}
	}
	d.ContextProof = p
	return nil
}

// record logs and counts a decision. The keys are stable: request_id, decision, reason,
// detail (denies), sub, source_identity, tenant, role_arn, tags, agent_type and delegator_sub
// (agents), error (dependency failures), latency_ms. The token is never among them.
func (a *Authorizer) record(ctx context.Context, d *Decision, dn *denial, elapsed time.Duration) {
	a.metrics.decision(d.Reason)
	a.metrics.duration.Observe(elapsed.Seconds())
	level, decision := slog.LevelInfo, "allow"
	if !d.Allow {
		level, decision = slog.LevelWarn, "deny"
		switch d.Reason {
		case ReasonIdPUnavailable, ReasonRoleStoreUnavailable, ReasonInvalidMapping, ReasonPolicyError, ReasonContextProofError:
			level = slog.LevelError
		}
	}
	if !a.log.Enabled(ctx, level) {
		return
	}
	tags := d.Tags
	if tags == nil {
		tags = []Tag{}
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs,
		slog.String("request_id", d.RequestID),
		slog.String("decision", decision),
		slog.String("reason", string(d.Reason)),
	)
	if d.Detail != "" {
		attrs = append(attrs, slog.String("detail", d.Detail))
	}
	attrs = append(attrs,
		slog.String("sub", d.Subject),
		slog.String("source_identity", d.SourceIdentity),
		slog.String("tenant", d.Tenant),
		slog.String("role_arn", d.RoleARN),
		slog.Any("tags", tags),
	)
	if d.Agent != nil {
		attrs = append(attrs, slog.String("agent_type", d.Agent.Type), slog.String("delegator_sub", d.Agent.DelegatorSub))
	}
	if dn != nil && dn.err != nil {
		attrs = append(attrs, slog.String("error", dn.err.Error()))
	}
	attrs = append(attrs, slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000))
	a.log.LogAttrs(ctx, level, "authorization decision", attrs...)
}
