// Package authorizer is the reference API Gateway Lambda authorizer of the SSO-on-AWS pattern:
// it verifies the caller's OIDC access token, maps the user to an IAM role, session tags and
// limits, and hands them to the gateway, which injects them into the MCP server's request. It
// is what users deploy (cmd/authorizer builds for provided.al2023), so it imports nothing from
// the harness or the mocks.
//
// # One decision, three adapters
//
// Decide is the core; HTTPAPI (HTTP API, payload 2.0, simple responses), REST (REST API
// REQUEST authorizer) and Token (REST API TOKEN authorizer) adapt it to the Lambda events. They
// answer each Outcome of a Reason as follows:
//
//	outcome          HTTP API                         REST / TOKEN
//	allowed          isAuthorized true + context      Allow policy on <api>/<stage>/* + context
//	unauthenticated  isAuthorized false (403)         error "Unauthorized" (401)
//	forbidden        isAuthorized false (403)         Deny policy + authStatus (403)
//	unavailable      error (500, not cached)          error (500, not cached)
//
// HTTP APIs cannot answer 401 from a Lambda authorizer; the kit shows that rather than hiding
// it. A failing dependency is an error rather than a deny so that API Gateway does not cache
// it for the authorizer's TTL.
//
// # Context keys (all values are strings)
//
//	decidedRole     arn:aws:iam::111122223333:role/quilt-mcp-target-acme   → x-decided-role
//	sourceIdentity  usr-00u8c2d9qkL4mT7xw5d7 (see SourceIdentity)          → x-source-identity
//	sessionTags     [{"Key":"tenant","Value":"acme"}] (sorted by key)      → x-session-tags
//	tenant          acme
//	limits          {"requestsPerMinute":120,"sessionSeconds":900}, {} when unset → x-limits
//	authStatus      ok, or the deny reason (denies carry only this key)
//	contextProof    v1.<seconds>.<nonce>.<HMAC> (WithContextProofSecret)   → x-context-proof
//
// With WithContextProofSecret every allow also carries a context proof: an HMAC-SHA256, with
// a secret the MCP server shares, over the four forwarded values, the request's method and
// path, a nonce (the gateway's request id) and the time (package contextproof has the
// format). The server believes the forwarded headers only with it, so a caller that reaches
// the server without the gateway cannot act as anyone.
//
// # Token checks
//
// The Authorization header must hold exactly one "Bearer <b64token>" credential (RFC 6750
// §2.1; the scheme in any case); an access_token query parameter is refused. The token is at
// most 8 KiB. go-oidc verifies the signature with a fixed list of asymmetric algorithms (default
// RS256, ES256), the exact issuer, a required exp and nbf (5-minute leeway). Then: an aud
// holding one of the accepted audiences (WithAudience; an MCP deployment lists the MCP server's
// canonical URI, which spec-following clients request per RFC 8707, and may add an alias such
// as api://quilt-mcp), the access-token marker (default: typ header at+jwt and
// token_use "access"; see TokenType), a non-empty printable sub of at most 255 bytes, iat not in
// the future, and the forwarded claims: email (default claim "email"), the tenant (default claim
// "tenant", TenantRule), the OIDC-A agent claims (agent_type, agent_model, agent_version,
// agent_provider, agent_instance_id, delegator_sub, delegation_purpose, agent_capabilities).
//
// With WithRequiredScopes, a token that passed those checks must also carry every required scope
// in its scope claim (space-separated, RFC 9068 §2.2.3; or scp, as a list or a string): one
// lacking any is forbidden as insufficient_scope, before the role lookup. On a REST API that is
// a Deny policy, which API Gateway answers with 403 and its ACCESS_DENIED gateway response,
// where the deployment puts the WWW-Authenticate: Bearer error="insufficient_scope", scope=…,
// resource_metadata=… challenge the MCP authorization spec asks for. A gateway response's
// headers are static values or values of the request, so every 403 of the authorizer carries
// that challenge, an unmapped user's too; the decision log names the reason.
//
// Keys come from the JWKS (WithJWKSURL, or discovery at New), fetched on the first token and
// again on an unknown kid, at once but at most once per 5 seconds (WithJWKSRefetchInterval;
// once a second after a failed fetch) whatever the tokens, so a rotated key is accepted within
// seconds and random kids cannot amplify into IdP requests; keys older than an hour are
// refreshed on use. While keys cannot be fetched, tokens the cached keys cannot verify are denied as
// idp_unavailable, never allowed. A token that passed every check is remembered (by its
// SHA-256) until its exp, for at most 5 minutes (WithoutTokenCache turns it off), so a
// client presenting it again skips the signature verification; the role lookup and the Cedar
// check run on every request.
//
// # Role stores
//
// A RoleStore maps (sub, tenant claim) to a Mapping: StaticStore (a YAML file, ParseStoreYAML,
// or built in code) and DynamoDBStore (table layout in dynamodb.go). The decided tenant is the
// mapping's "tenant" tag, else the token's tenant claim; when both exist they must agree.
//
// # Observability
//
// Every decision is one slog record, "authorization decision", with the keys request_id,
// decision, reason, detail (denies), sub, source_identity, tenant, role_arn, tags, agent_type
// and delegator_sub (agents), error (dependency failures), latency_ms — never the token.
// Prometheus (MetricsHandler): authorizer_decisions_total{decision,reason},
// authorizer_dependency_errors_total{dependency}, authorizer_jwks_fetches_total{result},
// authorizer_jwks_refetches_suppressed_total, authorizer_decision_duration_seconds.
//
// An optional Cedar policy (WithCedarPolicy, CedarPolicy) can deny a principal, tenant and
// route combination after the lookup.
package authorizer
