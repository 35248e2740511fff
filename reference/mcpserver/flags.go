package mcpserver

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// EnvContextProofSecret is the environment variable the command line reads the context proof
// secret from (ECS injects a Secrets Manager secret as one); --context-proof-secret-file reads
// it from a file instead.
const EnvContextProofSecret = "MCPSSO_CONTEXT_PROOF_SECRET"

// HelpText explains the server on the command line; cmd/mcpserver and `mcpsso mcp serve` both
// show it.
const HelpText = `Serve the reference MCP server (Streamable HTTP): an "auth-dumb" server for use behind a
gateway whose authorizer has already verified the caller's token. It trusts only the headers
the gateway injects, and never reads the Authorization header:

  x-decided-role     the role ARN to act as, e.g. arn:aws:iam::111122223333:role/quilt-mcp-target-acme
  x-source-identity  the STS source identity, e.g. usr-00u8c2d9 (2-64 of A-Za-z0-9_+=,.@-)
  x-session-tags     [{"Key":"tenant","Value":"acme"}] or {"tenant":"acme"}; "tenant" is required
  x-limits           optional {"requestsPerMinute":60,"sessionSeconds":900}
  x-context-proof    v1.<unix seconds>.<nonce>.<HMAC-SHA256>: the authorizer's proof that it
                     decided the four above for this request (method and path included)

It believes them only with a valid proof: signed with the secret it shares with the authorizer
(` + EnvContextProofSecret + `, or --context-proof-secret-file; at least 32 bytes, e.g.
openssl rand -hex 32), within --context-proof-window of its clock, and never used before. So a
caller that reaches its port without the gateway gets 403 (missing_context_proof,
invalid_context_proof, stale_context_proof, replayed_context_proof) and nothing reaches AWS.
Without a secret it refuses to start, unless --insecure-unproven-context says to believe every
caller that reaches the port (the tutorial's design; never deploy it).

A request missing a header, or with one malformed, gets 403 with a JSON body naming the header
and the rule; there is no default role. Each tool call assumes x-decided-role with STS AssumeRole
(SourceIdentity, RoleSessionName and Tags from the headers, DurationSeconds from x-limits,
default 900) using the task role's credentials from the AWS SDK default chain - on ECS the
container-credentials endpoint - and acts only with that session. Tools: whoami, list_objects,
get_object, put_object, on the tenant's bucket (--bucket-template). AWS endpoints and region
come from the standard variables (AWS_ENDPOINT_URL, AWS_REGION, ...).

Once listening it prints "ready <MCP URL>" (and "metrics <URL>" with --metrics-addr) on stdout;
logs are JSON lines on stderr (request_id, source_identity, tenant, role_arn, tool, outcome,
latency_ms). Prometheus metrics: sts_assume_role_total{result}, tool_calls_total{tool,result},
access_denied_total{action}, http_requests_refused_total{reason} and latency histograms.`

// Flags are the command-line settings shared by cmd/mcpserver and `mcpsso mcp serve`.
type Flags struct {
	Addr           string
	MetricsAddr    string
	Path           string
	BucketTemplate string
	AllowedOrigins []string
	AllowedHosts   []string
	Sessions       bool
	SessionCache   bool
	// SessionCacheMaxAge bounds a cached session's use (--session-cache-max-age).
	SessionCacheMaxAge time.Duration
	RequestTimeout     time.Duration
	MaxObjectBytes     int64
	S3PathStyle        bool
	LogLevel           string
	// The context proof: the secret from a file (or EnvContextProofSecret), its window, or
	// explicitly none.
	ContextProofSecretFile  string
	ContextProofWindow      time.Duration
	InsecureUnprovenContext bool
}

// DefaultAddr is where the command line serves MCP unless --addr says otherwise.
const DefaultAddr = "127.0.0.1:8080"

// Register defines the flags on fs, with their defaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", DefaultAddr, "listen address `HOST:PORT` for MCP (\":8080\" in a container)")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics and /healthz on this separate `HOST:PORT` (default: off)")
	fs.StringVar(&f.Path, "path", DefaultPath, "the MCP endpoint's `path`")
	fs.StringVar(&f.BucketTemplate, "bucket-template", DefaultBucketTemplate, "the tenant's bucket; {tenant} is replaced by the tenant tag")
	fs.Var((*stringsValue)(&f.AllowedOrigins), "allowed-origin", "a browser `ORIGIN` (scheme://host[:port]) allowed to call; repeatable or comma-separated; a request with any other Origin gets 403")
	fs.Var((*stringsValue)(&f.AllowedHosts), "allowed-host", "a Host header value (`HOST[:PORT]`, or * for any) to answer; repeatable. Needed behind a proxy that keeps the public host; by default a loopback connection must name a loopback host")
	fs.BoolVar(&f.Sessions, "sessions", false, "issue MCP session ids (protocol 2025-11-25), each bound to the caller's source identity (default: stateless)")
	fs.BoolVar(&f.SessionCache, "session-cache", false, "reuse each user's STS session per role, source identity and tags until shortly before it expires (default: AssumeRole on every tool call)")
	fs.DurationVar(&f.SessionCacheMaxAge, "session-cache-max-age", DefaultSessionCacheMaxAge, "with --session-cache: the longest one AssumeRole's session serves calls, and so the longest a trust-policy change takes to reach a cached user (0: until 5 minutes before the session expires)")
	fs.DurationVar(&f.RequestTimeout, "request-timeout", DefaultRequestTimeout, "deadline of each tool call, AssumeRole included")
	fs.Int64Var(&f.MaxObjectBytes, "max-object-bytes", DefaultMaxObjectBytes, "largest object get_object returns and put_object writes")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "address S3 path-style (endpoint/bucket), as emulators on a host name need")
	fs.StringVar(&f.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.ContextProofSecretFile, "context-proof-secret-file", "", "read the context proof secret (shared with the authorizer) from this `FILE` instead of $"+EnvContextProofSecret)
	fs.DurationVar(&f.ContextProofWindow, "context-proof-window", contextproof.DefaultWindow, "how far a context proof's time may be from this server's clock, either way")
	fs.BoolVar(&f.InsecureUnprovenContext, "insecure-unproven-context", false, "believe the decided headers of every caller that reaches the port, without a context proof (the tutorial's design; never deploy it)")
}

// proofOptions reads the context proof secret from --context-proof-secret-file or
// EnvContextProofSecret: exactly one of them, or --insecure-unproven-context.
func (f *Flags) proofOptions() ([]Option, error) {
	env, inEnv := os.LookupEnv(EnvContextProofSecret)
	switch {
	case f.InsecureUnprovenContext && (f.ContextProofSecretFile != "" || inEnv):
		return nil, fmt.Errorf("--insecure-unproven-context turns context proofs off, but a secret is given (--context-proof-secret-file or $%s): give one or the other", EnvContextProofSecret)
	case f.InsecureUnprovenContext:
		return []Option{WithoutContextProof()}, nil
	case f.ContextProofSecretFile != "" && inEnv:
		return nil, fmt.Errorf("both --context-proof-secret-file and $%s are set: give the secret once", EnvContextProofSecret)
	case f.ContextProofSecretFile == "" && !inEnv:
		return nil, fmt.Errorf("no context proof secret: set $%s or --context-proof-secret-file to the secret the authorizer signs the decided headers with "+
			"(or --insecure-unproven-context to believe every caller that reaches the port, as the tutorial does)", EnvContextProofSecret)
	}
	text, from := env, "$"+EnvContextProofSecret
	if f.ContextProofSecretFile != "" {
		raw, err := os.ReadFile(f.ContextProofSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--context-proof-secret-file: %w", err)
		}
		text, from = string(raw), "--context-proof-secret-file "+f.ContextProofSecretFile
	}
	secret, err := contextproof.ParseSecret(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return []Option{WithContextProofSecret(secret), WithContextProofWindow(f.ContextProofWindow)}, nil
}

// Options turns the flags into Options, logging JSON to logOut; it validates them all, so an
// error here is always the user's input.
func (f *Flags) Options(logOut io.Writer) ([]Option, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.LogLevel)
	}
	opts := []Option{
		WithAddr(f.Addr), WithPath(f.Path), WithBucketTemplate(f.BucketTemplate), WithAllowedOrigins(f.AllowedOrigins...),
		WithAllowedHosts(f.AllowedHosts...), WithSessions(f.Sessions), WithSessionCache(f.SessionCache),
		WithSessionCacheMaxAge(f.SessionCacheMaxAge),
		WithRequestTimeout(f.RequestTimeout), WithMaxObjectBytes(f.MaxObjectBytes), WithS3PathStyle(f.S3PathStyle),
		WithLogger(slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))),
	}
	if f.MetricsAddr != "" {
		opts = append(opts, WithMetricsAddr(f.MetricsAddr))
	}
	check := defaults()
	if err := check.apply(opts); err != nil {
		return nil, flagError(err)
	}
	proof, err := f.proofOptions()
	if err != nil {
		return nil, err
	}
	if err := check.apply(proof); err != nil {
		return nil, flagError(err)
	}
	return append(opts, proof...), nil
}

// flagError names the flag behind an Option's error: `WithAddr("x"): reason` becomes
// `--addr "x": reason`.
func flagError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "mcpserver: ")
	for opt, flagName := range map[string]string{"WithAddr": "--addr", "WithMetricsAddr": "--metrics-addr", "WithPath": "--path",
		"WithBucketTemplate": "--bucket-template", "WithAllowedOrigins": "--allowed-origin", "WithAllowedHosts": "--allowed-host",
		"WithRequestTimeout": "--request-timeout", "WithMaxObjectBytes": "--max-object-bytes", "WithContextProofWindow": "--context-proof-window"} {
		if rest, ok := strings.CutPrefix(msg, opt+"("); ok {
			if value, reason, ok := strings.Cut(rest, "): "); ok {
				return fmt.Errorf("%s %s: %s", flagName, value, reason)
			}
		}
		if reason, ok := strings.CutPrefix(msg, opt+": "); ok {
			return fmt.Errorf("%s: %s", flagName, reason)
		}
	}
	return err
}

// stringsValue is a repeatable flag that also splits on commas.
type stringsValue []string

func (s *stringsValue) String() string { return strings.Join(*s, ",") }

func (s *stringsValue) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}
