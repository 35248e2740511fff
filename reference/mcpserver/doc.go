// Package mcpserver is the reference MCP server of the SSO-on-AWS pattern: an "auth-dumb"
// Streamable HTTP server (mark3labs/mcp-go) that trusts only the identity headers its gateway
// injects and turns them, for every tool call, into the caller's own STS session.
//
// # What it trusts
//
// The gateway's authorizer verified the bearer token and decided the caller's role; the server
// never sees or reads the Authorization header and never reads any other client-sent identity
// header. Every request to the MCP endpoint must carry, exactly once each:
//
//	x-decided-role:    arn:aws:iam::111122223333:role/quilt-mcp-target-acme
//	x-source-identity: usr-00u8c2d9qkL4mT7xw5d7       (STS rule: 2-64 of [A-Za-z0-9_+=,.@-])
//	x-session-tags:    [{"Key":"tenant","Value":"acme"}]   or   {"tenant":"acme"}
//	x-limits:          {"requestsPerMinute":60,"sessionSeconds":900}   (optional)
//
// Session tags follow STS's rules (at most 50; keys 1-128 and values 0-256 of letters, digits,
// spaces and _.:/=+-@; no aws: prefix; no two keys equal ignoring case) and must include the
// key "tenant", whose value — 1-40 lower-case letters, digits or inner hyphens — names the
// tenant's bucket through the bucket template ("quilt-tenant-{tenant}"). x-limits has two
// optional fields: requestsPerMinute (1-100000; omitted: no limit) and sessionSeconds
// (900-43200, default 900). All JSON is decoded strictly: exact field names, the right types,
// no unknown or duplicate fields, nothing after the value. A header that is missing, empty,
// repeated or malformed gets HTTP 403 with a JSON body naming it and the rule it breaks, before
// any tool runs; there is never a default role.
//
// # Proof that the gateway sent them
//
// The headers are believed only with the authorizer's proof that it decided them for this
// request (x-context-proof, package contextproof: an HMAC-SHA256 over the method, path and the
// four headers as received, a nonce and the time, keyed with a secret the authorizer and the
// server share; WithContextProofSecret). A proof that is missing, malformed, signed with
// another secret or for another request, outside the window (WithContextProofWindow, default
// 60 s) or used before gets 403 (missing_context_proof, malformed_context_proof,
// invalid_context_proof, stale_context_proof, replayed_context_proof) before anything else is
// read and before any AWS call: a caller that reaches the port without the gateway — another
// process on the host, an SSRF in the VPC — cannot act as anyone. New refuses to build a
// server with neither a secret nor an explicit WithoutContextProof (the tutorial's design, in
// which only the network keeps callers away).
//
// # What it does per call
//
// Each tool call assumes x-decided-role with STS AssumeRole — RoleSessionName and
// SourceIdentity from x-source-identity, Tags from x-session-tags, DurationSeconds from
// x-limits — using the task role's credentials from the SDK's default chain (on ECS, the
// container-credentials endpoint), and then acts with that session only. The task role's own
// credentials never sign an S3 request. The tools are whoami, list_objects, get_object and
// put_object on the tenant's bucket; STS and S3 failures become tool errors that name the IAM
// action (AccessDenied on s3:GetObject of arn:aws:s3:::…). With WithSessionCache the session
// is reused per role, source identity, tag set and duration for at most WithSessionCacheMaxAge
// (default 5 minutes) and never within 5 minutes of its expiry.
//
// # Transport
//
// JSON-RPC is held to its rules before mcp-go sees a message, which echoes whatever it gets:
// an id that is an object, an array or a boolean, and a batch, get 400 with error -32600
// (Invalid Request, id null); a body over the limit (WithMaxObjectBytes, base64 allowed) 413.
//
// Stateless by default (protocol 2026-07-28, and 2025-11-25 without session ids); with
// WithSessions, 2025-11-25 session ids are bound to the source identity that opened them. A
// present Origin must be in WithAllowedOrigins; the Host header is checked against
// WithAllowedHosts, or by the DNS-rebinding guard when none are listed. x-limits'
// requestsPerMinute is enforced per source identity (429 with Retry-After).
//
// # Observability
//
// JSON logs through WithLogger (request_id, source_identity, tenant, role_arn, tool, outcome,
// latency_ms) and Prometheus metrics (Handler.Metrics, or a separate listener with
// WithMetricsAddr): sts_assume_role_total{result}, tool_calls_total{tool,result},
// access_denied_total{action}, http_requests_refused_total{reason}, and latency histograms.
package mcpserver
