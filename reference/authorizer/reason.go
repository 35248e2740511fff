package authorizer

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Reason is the stable, machine-readable cause of a decision: the `reason` log key, the
// `reason` label of the decision counter and the `authStatus` context value.
type Reason string

// The reasons. Each deny reason belongs to one Outcome, which decides how an adapter answers.
const (
	// ReasonOK: the token is valid, the user is mapped and no policy forbids the request.
	ReasonOK Reason = "ok"

	// Unauthenticated (REST: 401 through the error "Unauthorized").
	ReasonMissingToken     Reason = "missing_token"     // no Authorization header, or an empty one
	ReasonMalformedHeader  Reason = "malformed_header"  // not exactly one "Bearer <token>" credential (RFC 6750 §2.1)
	ReasonTokenInQuery     Reason = "token_in_query"    // an access_token query parameter (RFC 6750 §2.3 is not accepted)
	ReasonTokenTooLarge    Reason = "token_too_large"   // over the configured size bound
	ReasonMalformedToken   Reason = "malformed_token"   // not a compact JWS with a JSON payload
	ReasonInvalidSignature Reason = "invalid_signature" // algorithm not allowed, unknown kid, or a signature that does not verify
	ReasonWrongIssuer      Reason = "wrong_issuer"      // iss is not exactly the configured issuer
	ReasonWrongAudience    Reason = "wrong_audience"    // aud contains none of the accepted audiences (or is missing)
	ReasonTokenExpired     Reason = "token_expired"     // exp has passed
	ReasonTokenNotYetValid Reason = "token_not_yet_valid"
	ReasonWrongTokenType   Reason = "wrong_token_type" // an ID or refresh token, or any token without the access-token marker
	ReasonMissingSubject   Reason = "missing_subject"
	ReasonInvalidClaim     Reason = "invalid_claim" // a claim of the wrong type or shape (exp missing, sub, email, agent claims)
	ReasonUnsafeTenant     Reason = "unsafe_tenant" // the tenant claim fails the safe pattern

	// Forbidden (REST: a Deny policy, 403; HTTP API: isAuthorized false, 403).
	ReasonInsufficientScope Reason = "insufficient_scope" // a valid token lacks a scope WithRequiredScopes requires (RFC 6750 §3.1)
	ReasonUnknownUser       Reason = "unknown_user"       // the role store has no mapping for the subject (and tenant)
	ReasonTenantMismatch    Reason = "tenant_mismatch"    // the token's tenant differs from the mapping's tenant tag
	ReasonNoTenant          Reason = "no_tenant"          // neither the token nor the mapping names a tenant
	ReasonInvalidMapping    Reason = "invalid_mapping"    // the mapping breaks a rule (role ARN, tags, limits): an operator error
	ReasonPolicyDenied      Reason = "policy_denied"      // the Cedar policy set did not permit the request
	ReasonPolicyError       Reason = "policy_error"       // a Cedar policy failed to evaluate: denied, never skipped

	// Unavailable (both adapters: an error, which API Gateway answers with 500 and does not cache).
	ReasonIdPUnavailable       Reason = "idp_unavailable"        // the JWKS (or discovery) could not be fetched
	ReasonRoleStoreUnavailable Reason = "role_store_unavailable" // the role store failed
	ReasonContextProofError    Reason = "context_proof_error"    // the context proof could not be signed: never allow without it
)

// Reasons lists every reason, ReasonOK first.
func Reasons() []Reason {
	return []Reason{ReasonOK, ReasonMissingToken, ReasonMalformedHeader, ReasonTokenInQuery, ReasonTokenTooLarge,
		ReasonMalformedToken, ReasonInvalidSignature, ReasonWrongIssuer, ReasonWrongAudience, ReasonTokenExpired,
		ReasonTokenNotYetValid, ReasonWrongTokenType, ReasonMissingSubject, ReasonInvalidClaim, ReasonUnsafeTenant,
		ReasonInsufficientScope, ReasonUnknownUser, ReasonTenantMismatch, ReasonNoTenant, ReasonInvalidMapping, ReasonPolicyDenied,
		ReasonPolicyError, ReasonIdPUnavailable, ReasonRoleStoreUnavailable, ReasonContextProofError}
}

// Outcome is how a reason is answered.
type Outcome int

const (
	// Allowed: the request goes on with the decided role.
	Allowed Outcome = iota + 1
	// Unauthenticated: no usable token. REST adapters fail with "Unauthorized" (401, and the
	// UNAUTHORIZED gateway response can add WWW-Authenticate); HTTP API answers isAuthorized false.
	Unauthenticated
	// Forbidden: a valid token, but no access. REST: a Deny policy (403); HTTP API: false (403).
	Forbidden
	// Unavailable: a dependency failed, so nothing could be decided. Both adapters return an
	// error: API Gateway answers 500 and, unlike a deny, does not cache it.
	Unavailable
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "allowed"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

// Outcome classifies the reason. An unknown reason is Forbidden, never Allowed.
func (r Reason) Outcome() Outcome {
	switch r {
	case ReasonOK:
		return Allowed
	case ReasonMissingToken, ReasonMalformedHeader, ReasonTokenInQuery, ReasonTokenTooLarge, ReasonMalformedToken,
		ReasonInvalidSignature, ReasonWrongIssuer, ReasonWrongAudience, ReasonTokenExpired, ReasonTokenNotYetValid,
		ReasonWrongTokenType, ReasonMissingSubject, ReasonInvalidClaim, ReasonUnsafeTenant:
		return Unauthenticated
	case ReasonIdPUnavailable, ReasonRoleStoreUnavailable, ReasonContextProofError:
		return Unavailable
	}
	return Forbidden
}

// Tag is one STS session tag, in the shape STS and the MCP server's x-session-tags take.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Limits are per-user limits the MCP server enforces (its x-limits header). Zero means
// "not set": no request limit, and the server's default session length.
type Limits struct {
	// RequestsPerMinute: 1-100000, or 0 for no limit.
	RequestsPerMinute int `json:"requestsPerMinute,omitempty" yaml:"requestsPerMinute"`
	// SessionSeconds: the AssumeRole DurationSeconds, 900-43200, or 0 for the server's default.
	SessionSeconds int `json:"sessionSeconds,omitempty" yaml:"sessionSeconds"`
}

// Agent holds the optional OpenID Connect for Agents (OIDC-A 1.0 proposal) claims of a token
// whose subject is an AI agent acting for someone.
type Agent struct {
	Type         string   `json:"agent_type,omitempty"`
	Model        string   `json:"agent_model,omitempty"`
	Version      string   `json:"agent_version,omitempty"`
	Provider     string   `json:"agent_provider,omitempty"`
	InstanceID   string   `json:"agent_instance_id,omitempty"`
	DelegatorSub string   `json:"delegator_sub,omitempty"`
	Purpose      string   `json:"delegation_purpose,omitempty"`
	Capabilities []string `json:"agent_capabilities,omitempty"`
}

// Decision is the outcome of one authorization. Every field but Reason may be empty on a
// deny, depending on how far the decision got.
type Decision struct {
	Allow  bool
	Reason Reason
	// Detail explains a deny for people: the field and the rule. It never contains the token.
	Detail    string
	RequestID string

	Subject string
	Email   string
	// Tenant is the decided tenant (the mapping's tenant tag, else the token's tenant claim).
	Tenant string
	// SourceIdentity is derived from Subject (SourceIdentity).
	SourceIdentity string
	RoleARN        string
	// Tags are the session tags, sorted by key; the tenant tag is always among them.
	Tags   []Tag
	Limits Limits
	Agent  *Agent
	// Expiry is the token's exp.
	Expiry time.Time
	// ContextProof proves to the MCP server that this authorizer decided the role, source
	// identity, tags and limits for this request (package contextproof); "" on a deny or
	// without WithContextProofSecret.
	ContextProof string
}

// Context keys of the authorizer's answer (camelCase, so $context.authorizer.KEY parses).
const (
	ContextDecidedRole    = "decidedRole"    // the role ARN                       → x-decided-role
	ContextSourceIdentity = "sourceIdentity" // usr-…                              → x-source-identity
	ContextSessionTags    = "sessionTags"    // JSON [{"Key":"tenant","Value":"acme"}] → x-session-tags
	ContextTenant         = "tenant"         // acme
	ContextLimits         = "limits"         // JSON {"requestsPerMinute":60,"sessionSeconds":900} → x-limits
	ContextAuthStatus     = "authStatus"     // "ok", or the deny reason
	ContextContextProof   = "contextProof"   // v1.<seconds>.<nonce>.<HMAC>       → x-context-proof
)

// Context is the authorizer context of the decision. Values are strings only (REST APIs accept
// nothing else; lists and objects are JSON text). A deny carries only authStatus.
func (d Decision) Context() map[string]any {
	if !d.Allow {
		return map[string]any{ContextAuthStatus: string(d.Reason)}
	}
	c := map[string]any{
		ContextDecidedRole:    d.RoleARN,
		ContextSourceIdentity: d.SourceIdentity,
		ContextSessionTags:    tagsJSON(d.Tags),
		ContextTenant:         d.Tenant,
		ContextLimits:         limitsJSON(d.Limits),
		ContextAuthStatus:     string(ReasonOK),
	}
	if d.ContextProof != "" {
		c[ContextContextProof] = d.ContextProof
	}
	return c
}

// tagsJSON writes tags as the JSON list STS takes. Keys and values were validated against
// STS's character class, but they are escaped anyway.
func tagsJSON(tags []Tag) string {
	return string(appendTags(make([]byte, 0, 40*len(tags)+2), tags))
}

// appendTags appends tags as json.Marshal writes a []Tag ([] for none), without its
// reflection: Decision.Context writes them on every allowed decision.
func appendTags(b []byte, tags []Tag) []byte {
	b = append(b, '[')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Key":`...)
		b = appendJSONString(b, t.Key)
		b = append(b, `,"Value":`...)
		b = appendJSONString(b, t.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as json.Marshal writes it: printable ASCII other than quotes,
// backslashes and HTML's <, > and & as it is, anything else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string: cannot fail
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// limitsJSON writes the limits as json.Marshal does (zero fields omitted), by hand.
func limitsJSON(l Limits) string {
	b := make([]byte, 0, 64)
	b = append(b, '{')
	if l.RequestsPerMinute != 0 {
		b = strconv.AppendInt(append(b, `"requestsPerMinute":`...), int64(l.RequestsPerMinute), 10)
	}
	if l.SessionSeconds != 0 {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(b, `"sessionSeconds":`...), int64(l.SessionSeconds), 10)
	}
	return string(append(b, '}'))
}

// quote shows an untrusted value in a detail or log line, shortened so that a huge value
// cannot flood logs, and escaped so that it cannot forge log structure.
func quote(v string) string { return quoteUpTo(v, 64) }

// quoteUpTo is quote with another bound: issuers and audiences of the configuration, and the
// signed iss compared with them, are shown whole up to a URL's usual length.
func quoteUpTo(v string, limit int) string {
	if len(v) > limit {
		cut := limit
		for cut > 0 && !isRuneStart(v[cut]) {
			cut--
		}
		return jsonQuote(v[:cut]) + "…"
	}
	return jsonQuote(v)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func jsonQuote(s string) string {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(sb.String(), "\n")
}
