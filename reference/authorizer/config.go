package authorizer

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Mode is which API Gateway authorizer a Lambda serves.
type Mode string

// The modes.
const (
	ModeHTTPAPI Mode = "http"  // HTTP API, payload 2.0, simple responses (HTTPAPI)
	ModeREST    Mode = "rest"  // REST API REQUEST authorizer (REST)
	ModeToken   Mode = "token" // REST API TOKEN authorizer (Token)
)

// EnvPrefix starts every environment variable ConfigFromEnv reads. An unknown variable with
// this prefix is an error, so a misspelt setting cannot be silently ignored.
const EnvPrefix = "MCPSSO_AUTHORIZER_"

// Environment variables (EnvPrefix + name), with their defaults:
//
//	MODE                   http | rest | token (default http)
//	ISSUER                 required: the issuer URL
//	JWKS_URL               the JWKS URL (default: OpenID discovery at start)
//	AUDIENCE               comma-separated audiences a token may be for (default api://quilt-mcp)
//	REQUIRED_SCOPES        space-separated scopes a token must carry, every one (default: none);
//	                       a valid token lacking one is denied as insufficient_scope (403)
//	ALGORITHMS             comma-separated (default RS256,ES256)
//	TENANT_CLAIM           default tenant
//	EMAIL_CLAIM            default email
//	TOKEN_TYPE_HEADER      required typ header (default at+jwt; "none" skips the check)
//	TOKEN_TYPE_CLAIM       access-token marker claim (default token_use; "none" skips the check)
//	TOKEN_TYPE_VALUES      comma-separated accepted values (default access when TOKEN_TYPE_CLAIM
//	                       is unset; with TOKEN_TYPE_CLAIM set and this unset, presence suffices)
//	ROLE_STORE             required: file:<path to YAML> or dynamodb:<table>
//	CEDAR_POLICY           a Cedar policy file (default: no policy check)
//	JWKS_REFETCH_INTERVAL  Go duration, at least 1s (default 5s)
//	MAX_TOKEN_BYTES        default 8192
//	LOG_LEVEL              debug | info | warn | error (default info)
//	CONTEXT_PROOF_SECRET   the secret shared with the MCP server, at least 32 bytes: every allow
//	                       then carries a context proof (default: none)
//	CONTEXT_PROOF_SECRET_FILE  the same, read from a file (give one of the two)
var envNames = []string{"MODE", "ISSUER", "JWKS_URL", "AUDIENCE", "REQUIRED_SCOPES", "ALGORITHMS", "TENANT_CLAIM", "EMAIL_CLAIM",
	"TOKEN_TYPE_HEADER", "TOKEN_TYPE_CLAIM", "TOKEN_TYPE_VALUES", "ROLE_STORE", "CEDAR_POLICY",
	"JWKS_REFETCH_INTERVAL", "MAX_TOKEN_BYTES", "LOG_LEVEL", "CONTEXT_PROOF_SECRET", "CONTEXT_PROOF_SECRET_FILE"}

// Config is the Lambda entry point's configuration.
type Config struct {
	Mode                Mode
	Issuer              string
	JWKSURL             string
	Audience            string
	RequiredScopes      []string
	Algorithms          []string
	TenantClaim         string
	EmailClaim          string
	TokenType           TokenType
	RoleStoreFile       string // from ROLE_STORE=file:<path>
	DynamoDBTable       string // from ROLE_STORE=dynamodb:<table>
	CedarPolicyFile     string
	JWKSRefetchInterval time.Duration
	MaxTokenBytes       int
	LogLevel            slog.Level
	// ContextProofSecret is the secret of WithContextProofSecret, nil for none.
	ContextProofSecret []byte
}

// ConfigFromEnv reads the configuration from environment entries ("KEY=value", as
// os.Environ returns them).
func ConfigFromEnv(environ []string) (Config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, EnvPrefix)
		if !ok {
			continue
		}
		if !slices.Contains(envNames, name) {
			return Config{}, fmt.Errorf("%s: unknown setting (known: %s)", k, strings.Join(envNames, ", "))
		}
		env[name] = v
	}
	get := func(name, def string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return def
	}
	c := Config{
		Mode:     Mode(get("MODE", string(ModeHTTPAPI))),
		Issuer:   get("ISSUER", ""),
		JWKSURL:  get("JWKS_URL", ""),
		Audience: get("AUDIENCE", DefaultAudience),
		// Space-separated, as OAuth writes scopes: a scope-token may hold a comma.
		RequiredScopes: strings.Fields(get("REQUIRED_SCOPES", "")),
		Algorithms:     splitList(get("ALGORITHMS", strings.Join(DefaultAlgorithms, ","))),
		TenantClaim:    get("TENANT_CLAIM", DefaultTenantClaim),
		EmailClaim:     get("EMAIL_CLAIM", DefaultEmailClaim),
		TokenType: TokenType{
			Header: get("TOKEN_TYPE_HEADER", DefaultTokenType.Header),
			Claim:  get("TOKEN_TYPE_CLAIM", DefaultTokenType.Claim),
		},
		CedarPolicyFile:     get("CEDAR_POLICY", ""),
		JWKSRefetchInterval: DefaultJWKSRefetchInterval,
		MaxTokenBytes:       DefaultMaxTokenBytes,
	}
	field := func(name string) string { return EnvPrefix + name }
	switch c.Mode {
	case ModeHTTPAPI, ModeREST, ModeToken:
	default:
		return Config{}, fmt.Errorf("%s: %s must be http, rest or token", field("MODE"), quote(string(c.Mode)))
	}
	if c.Issuer == "" {
		return Config{}, fmt.Errorf("%s: required (the issuer URL tokens must carry in iss)", field("ISSUER"))
	}
	if c.TokenType.Header == "none" {
		c.TokenType.Header = ""
	}
	if c.TokenType.Claim == "none" {
		c.TokenType.Claim = ""
	}
	if v, ok := env["TOKEN_TYPE_VALUES"]; ok {
		c.TokenType.Values = splitList(v)
	} else if _, claimSet := env["TOKEN_TYPE_CLAIM"]; !claimSet {
		c.TokenType.Values = slices.Clone(DefaultTokenType.Values)
	}
	switch kind, value, _ := strings.Cut(get("ROLE_STORE", ""), ":"); {
	case kind == "file" && value != "":
		c.RoleStoreFile = value
	case kind == "dynamodb" && value != "":
		c.DynamoDBTable = value
	default:
		return Config{}, fmt.Errorf("%s: required, as file:<path to YAML> or dynamodb:<table>", field("ROLE_STORE"))
	}
	if v, ok := env["JWKS_REFETCH_INTERVAL"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %s must be a Go duration such as 1m", field("JWKS_REFETCH_INTERVAL"), quote(v))
		}
		c.JWKSRefetchInterval = d
	}
	if v, ok := env["MAX_TOKEN_BYTES"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %s must be a whole number of bytes", field("MAX_TOKEN_BYTES"), quote(v))
		}
		c.MaxTokenBytes = n
	}
	if v, ok := env["LOG_LEVEL"]; ok {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("%s: %s must be debug, info, warn or error", field("LOG_LEVEL"), quote(v))
		}
	}
	value, inline := env["CONTEXT_PROOF_SECRET"]
	file, fromFile := env["CONTEXT_PROOF_SECRET_FILE"]
	switch {
	case inline && fromFile:
		return Config{}, fmt.Errorf("%s and %s: give the secret once", field("CONTEXT_PROOF_SECRET"), field("CONTEXT_PROOF_SECRET_FILE"))
	case fromFile:
		raw, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", field("CONTEXT_PROOF_SECRET_FILE"), err)
		}
		if c.ContextProofSecret, err = contextproof.ParseSecret(string(raw)); err != nil {
			return Config{}, fmt.Errorf("%s %s: %w", field("CONTEXT_PROOF_SECRET_FILE"), file, err)
		}
	case inline:
		var err error
		if c.ContextProofSecret, err = contextproof.ParseSecret(value); err != nil {
			return Config{}, fmt.Errorf("%s: %w", field("CONTEXT_PROOF_SECRET"), err)
		}
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Options turns the configuration into Options, loading the YAML role store and the Cedar
// policy file. A DynamoDB role store needs an AWS client, which dynamo builds from the table
// name (the entry point passes one built from the SDK's default configuration).
func (c Config) Options(dynamo func(table string) (RoleStore, error)) ([]Option, error) {
	opts := []Option{
		WithIssuer(c.Issuer), WithAudience(splitList(c.Audience)...), WithRequiredScopes(c.RequiredScopes...), WithAlgorithms(c.Algorithms...),
		WithTenantClaim(c.TenantClaim), WithEmailClaim(c.EmailClaim), WithTokenType(c.TokenType),
		WithJWKSRefetchInterval(c.JWKSRefetchInterval), WithMaxTokenBytes(c.MaxTokenBytes),
		WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))),
	}
	if c.JWKSURL != "" {
		opts = append(opts, WithJWKSURL(c.JWKSURL))
	}
	if c.ContextProofSecret != nil {
		opts = append(opts, WithContextProofSecret(c.ContextProofSecret))
	}
	switch {
	case c.RoleStoreFile != "":
		s, err := LoadStoreFile(c.RoleStoreFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithRoleStore(s))
	case c.DynamoDBTable != "":
		if dynamo == nil {
			return nil, fmt.Errorf("%sROLE_STORE: dynamodb:%s needs an AWS client", EnvPrefix, c.DynamoDBTable)
		}
		s, err := dynamo(c.DynamoDBTable)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithRoleStore(s))
	}
	if c.CedarPolicyFile != "" {
		p, err := LoadCedarPolicy(c.CedarPolicyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithCedarPolicy(p))
	}
	return opts, nil
}
