package mcpssotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
	"github.com/mcpsso/mcpsso/internal/scenarios/targets"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// The profiles Start deploys (WithProfile).
const (
	// ProfileReference is the corrected deployment: the reference policies, a REST API gateway
	// whose 401 carries the MCP challenge, and a signed decided context. The default.
	ProfileReference = "reference"
	// ProfileSeed is the tutorial's deployment as written, mistakes included.
	ProfileSeed = "seed"
)

// Option configures Start.
type Option func(*config) error

type config struct {
	fixture    *fixture.Fixture
	profile    string
	idpProfile string
	awsBackend string
	logTo      io.Writer
	mcp        func(Env) http.Handler
}

// WithFixtureFile deploys the fixture (tenants, users, roles, buckets, mappings) read from the
// YAML file at path, instead of the default one (internal/harness/fixture/default.yaml).
func WithFixtureFile(path string) Option {
	return func(c *config) error {
		f, err := fixture.Load(path)
		if err != nil {
			return fmt.Errorf("mcpssotest: WithFixtureFile: %w", err)
		}
		c.fixture = f
		return nil
	}
}

// WithProfile deploys ProfileReference (the default) or ProfileSeed.
func WithProfile(name string) Option {
	return func(c *config) error {
		if name != ProfileReference && name != ProfileSeed {
			return fmt.Errorf("mcpssotest: WithProfile(%q): want %q or %q", name, ProfileReference, ProfileSeed)
		}
		c.profile = name
		return nil
	}
}

// WithIdPProfile makes the mock IdP issue tokens as the named provider does (generic, okta,
// entra, auth0, cognito, keycloak, …: `mcpsso idp profiles` lists them).
func WithIdPProfile(name string) Option {
	return func(c *config) error {
		if strings.TrimSpace(name) == "" {
			return errors.New("mcpssotest: WithIdPProfile: empty profile name")
		}
		c.idpProfile = name
		return nil
	}
}

// WithAWSBackend chooses what serves AWS: "emulator" (the default: the kit's own, which
// enforces IAM), "moto" (moto_server from PATH), or the http(s) URL of a running
// AWS-compatible service; all but the emulator run behind the kit's enforcing proxy, so the
// policies are enforced all the same.
func WithAWSBackend(backend string) Option {
	return func(c *config) error {
		if _, err := stack.ParseAWSBackend(backend, false); err != nil {
			return fmt.Errorf("mcpssotest: WithAWSBackend: %w", err)
		}
		c.awsBackend = backend
		return nil
	}
}

// WithLogOutput also writes every component's JSON log lines (IdP, AWS, authorizer, gateway,
// your server's Env.Logger) to w, at debug level; the Stack keeps them for Logs either way.
// testing.TB's Log does not fit here: the stack logs after the test ends too.
func WithLogOutput(w io.Writer) Option {
	return func(c *config) error {
		if w == nil {
			return errors.New("mcpssotest: WithLogOutput: nil writer")
		}
		c.logTo = w
		return nil
	}
}

// WithMCPServer runs your MCP server in the reference server's place: build is called once,
// with the Env the stack gives it, and the handler it returns serves the MCP endpoint (path
// /mcp) on its own loopback port behind the gateway, as the reference server would on ECS.
func WithMCPServer(build func(Env) http.Handler) Option {
	return func(c *config) error {
		if build == nil {
			return errors.New("mcpssotest: WithMCPServer: nil function")
		}
		c.mcp = build
		return nil
	}
}

// Env is what your MCP server gets from the stack, as it would get it on AWS (ECS on Fargate
// behind API Gateway with the reference authorizer).
type Env struct {
	// Region is the AWS region (AWS_REGION).
	Region string
	// AWSEndpoint is the endpoint of every AWS service (AWS_ENDPOINT_URL): set it as the SDK's
	// BaseEndpoint, and use path-style S3 addressing.
	AWSEndpoint string
	// TaskRole is the task role's credentials, read from the ECS container-credentials
	// endpoint the way the SDK reads them on Fargate. Your server assumes each user's role
	// with them; it must never use them for a user's data.
	TaskRole aws.CredentialsProvider
	// Headers are the names of the headers the gateway forwards with each request, which say
	// what the authorizer decided about the caller.
	Headers Headers
	// AllowedOrigins are the browser origins your server must accept: a request whose Origin
	// header names any other must be refused 403 (MCP transports: servers validate Origin
	// against DNS rebinding). A request without Origin is not a browser's.
	AllowedOrigins []string
	// Logger writes into the stack's log (Stack.Logs), as component "mcp-server".
	Logger *slog.Logger
	// VerifyContext checks that a request's decided headers were signed by the stack's
	// authorizer (Headers.ContextProof), each proof once, as the reference server does: call
	// it before believing them, and refuse the request (403) when it fails. It is nil under
	// ProfileSeed, whose authorizer signs nothing.
	VerifyContext func(*http.Request) error
}

// AWSConfig is an SDK configuration for Region and AWSEndpoint with the task role's
// credentials: what your server starts from.
func (e Env) AWSConfig() aws.Config {
	return aws.Config{Region: e.Region, BaseEndpoint: aws.String(e.AWSEndpoint), Credentials: e.TaskRole}
}

// Headers are the names of the decided-context headers the gateway forwards.
type Headers struct {
	// DecidedRole is the ARN of the IAM role to act as for the caller.
	DecidedRole string
	// SourceIdentity is the STS SourceIdentity (and session name) to assume it with.
	SourceIdentity string
	// SessionTags are the STS session tags, as JSON: [{"Key":"tenant","Value":"acme"}].
	SessionTags string
	// Limits are the caller's optional limits, as JSON: {"requestsPerMinute":60,"sessionSeconds":900}.
	Limits string
	// ContextProof is the authorizer's signature over the others (Env.VerifyContext).
	ContextProof string
}

// TenantTag is the session tag that names the caller's tenant; the tenant policies compare
// ${aws:PrincipalTag/tenant} with the bucket's tenant.
const TenantTag = "tenant"

var decidedHeaders = Headers{DecidedRole: mcpserver.HeaderDecidedRole, SourceIdentity: mcpserver.HeaderSourceIdentity,
	SessionTags: mcpserver.HeaderSessionTags, Limits: mcpserver.HeaderLimits, ContextProof: contextproof.Header}

// Stack is a running deployment: the mock IdP, AWS, the authorizer, the gateway, and the
// reference MCP server or yours. Start stops it when the test ends.
type Stack struct {
	target *target
}

// Start brings the stack up on free loopback ports and stops it with tb.Cleanup; it fails
// tb (FailNow) when the stack cannot start. Stacks started in parallel tests are independent.
func Start(tb testing.TB, opts ...Option) *Stack {
	tb.Helper()
	// Conform's list of the specs, made by a child process while the stack starts; its
	// goroutine ends with that process.
	go func() { _, _ = specList() }()
	s, err := start(context.Background(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.target.Close(); err != nil {
			tb.Errorf("mcpssotest: stopping the stack: %v", err)
		}
	})
	return s
}

func start(ctx context.Context, opts ...Option) (*Stack, error) {
	c := config{profile: ProfileReference}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	var so []stack.Option
	if c.fixture == nil && c.profile == ProfileReference {
		// As `mcpsso conform` deploys it: the default fixture with a required scope, so that
		// the scope challenge is checked too.
		f, err := fixture.Default().WithMCPScopes(targets.ConformanceScope)
		if err != nil {
			return nil, fmt.Errorf("mcpssotest: %w", err)
		}
		c.fixture = f
	}
	if c.fixture != nil {
		so = append(so, stack.WithFixture(c.fixture))
	}
	if c.awsBackend != "" {
		b, err := stack.ParseAWSBackend(c.awsBackend, false)
		if err != nil {
			return nil, fmt.Errorf("mcpssotest: %w", err)
		}
		so = append(so, stack.WithAWSBackend(b))
	}
	if c.idpProfile != "" {
		so = append(so, stack.WithIdPProfile(c.idpProfile))
	}
	if c.logTo != nil {
		so = append(so, stack.WithLogOutput(c.logTo, slog.LevelDebug))
	}
	if c.mcp != nil {
		build := c.mcp
		so = append(so, stack.WithMCPHandler(func(e stack.MCPEnv) (h http.Handler, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("the WithMCPServer function panicked: %v", p)
				}
			}()
			return build(Env{Region: e.Region, AWSEndpoint: e.AWSEndpoint, TaskRole: e.Credentials, Headers: decidedHeaders,
				AllowedOrigins: e.AllowedOrigins, Logger: e.Logger, VerifyContext: e.VerifyContext}), nil
		}))
	}
	e, err := targets.StartEmbedded(ctx, c.profile, so...)
	if err != nil {
		return nil, fmt.Errorf("mcpssotest: %w", err)
	}
	return &Stack{target: &target{Embedded: e, own: c.mcp != nil}}, nil
}

// MCPURL is the MCP endpoint behind the gateway: what an MCP client connects to.
func (s *Stack) MCPURL() string { return s.target.MCPURL() }

// Issuer is the mock IdP's issuer URL (its OpenID configuration is below it).
func (s *Stack) Issuer() string { return s.target.Stack().IssuerURL() }

// Users are the fixture's user names, the ones Token and UserSession take.
func (s *Stack) Users() []string {
	var out []string
	for _, u := range s.target.Users() {
		out = append(out, u.Name)
	}
	return out
}

// Token is an access token for user (a fixture user's name, email or subject) as the IdP
// issues it after a login, with the scopes the MCP server requires; it fails tb when the user
// is unknown.
func (s *Stack) Token(tb testing.TB, user string) string {
	tb.Helper()
	tok, err := s.target.Token(context.Background(), user)
	if err != nil {
		tb.Fatalf("mcpssotest: a token for %q: %v", user, err)
	}
	return tok
}

// Principal says whose AWS credentials AWSConfig gives: Administrator, TaskRole, or a user's
// session (UserSession).
type Principal struct {
	kind string
	user string
}

// The principals of AWSConfig.
var (
	// Administrator is the deployment account's administrator: set up and inspect anything.
	Administrator = Principal{kind: "administrator"}
	// TaskRole is the MCP server's task role, as ECS serves it.
	TaskRole = Principal{kind: "task role"}
)

// UserSession is the session the MCP server should hold for user: the task role's AssumeRole
// of the user's role with the user's SourceIdentity and session tags (the tenant tag), exactly
// as the authorizer decides them.
func UserSession(user string) Principal { return Principal{kind: "user session", user: user} }

// String names the principal.
func (p Principal) String() string {
	if p.user != "" {
		return p.kind + " of " + p.user
	}
	return p.kind
}

// AWSConfig is an SDK configuration (region, endpoint, credentials) acting as who.
func (s *Stack) AWSConfig(ctx context.Context, who Principal) (aws.Config, error) {
	st := s.target.Stack()
	switch who.kind {
	case "administrator":
		return st.AdminAWSConfig(st.Fixture().DeploymentAccount())
	case "task role":
		return st.TaskRoleAWSConfig(ctx)
	case "user session":
		return s.userSession(ctx, who.user)
	}
	return aws.Config{}, errors.New("mcpssotest: AWSConfig: the zero Principal; use Administrator, TaskRole or UserSession(user)")
}

func (s *Stack) userSession(ctx context.Context, user string) (aws.Config, error) {
	st := s.target.Stack()
	f := st.Fixture()
	u, ok := f.UserByName(user)
	if !ok {
		return aws.Config{}, fmt.Errorf("mcpssotest: AWSConfig: no user %q in the fixture (users: %s)", user, strings.Join(s.Users(), ", "))
	}
	m, ok := f.MappingFor(u.Sub)
	if !ok {
		return aws.Config{}, fmt.Errorf("mcpssotest: AWSConfig: user %q has no role mapping, so the authorizer refuses them and there is no session", user)
	}
	var who framework.User
	for _, fu := range s.target.Users() {
		if fu.Name == u.Username {
			who = fu
		}
	}
	task, err := st.TaskRoleAWSConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	var tags []ststypes.Tag
	for _, k := range sortedKeys(m.Tags) {
		tags = append(tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(m.Tags[k])})
	}
	out, err := sts.NewFromConfig(task).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(who.Role),
		RoleSessionName: aws.String(who.SourceIdentity), SourceIdentity: aws.String(who.SourceIdentity), Tags: tags})
	if err != nil {
		return aws.Config{}, fmt.Errorf("mcpssotest: AWSConfig: the task role's AssumeRole of %s for %s: %w", who.Role, user, err)
	}
	c := out.Credentials
	task.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return task, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TrailRecord is one CloudTrail record, in CloudTrail's JSON format (Raw), with the fields
// tests most often read.
type TrailRecord struct {
	EventTime   time.Time
	EventSource string // e.g. sts.amazonaws.com
	EventName   string // e.g. AssumeRole
	// ARN is the caller's (userIdentity.arn).
	ARN string
	// SourceIdentity is the caller's session's source identity, "" when it has none.
	SourceIdentity string
	// ErrorCode is set for a refused call (AccessDenied, …).
	ErrorCode string
	Raw       json.RawMessage
}

// CloudTrail returns the records of every AWS call so far, newest first (none when the AWS
// backend records nothing).
func (s *Stack) CloudTrail() []TrailRecord {
	events := s.target.Stack().CloudTrailEvents(cloudtrail.Filter{})
	out := make([]TrailRecord, 0, len(events))
	for _, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			raw = nil
		}
		r := TrailRecord{EventTime: e.EventTime, EventSource: e.EventSource, EventName: e.EventName, ARN: e.UserIdentity.ARN,
			ErrorCode: e.ErrorCode, Raw: raw}
		if sc := e.UserIdentity.SessionContext; sc != nil {
			r.SourceIdentity = sc.SourceIdentity
		}
		out = append(out, r)
	}
	return out
}

// Decision is one decision of the authorizer, from its log.
type Decision struct {
	// Allow is true for an allow.
	Allow bool
	// Reason is the authorizer's short reason (allowed, token_expired, no_mapping, …).
	Reason string
	// Subject, SourceIdentity, Tenant and RoleARN are who the token spoke for and what was
	// decided for them ("" where the decision did not get that far).
	Subject, SourceIdentity, Tenant, RoleARN string
	// Line is the log line, JSON.
	Line string
}

// Decisions are the authorizer's decisions so far, oldest first.
func (s *Stack) Decisions() []Decision {
	var out []Decision
	for _, line := range s.Logs() {
		var d struct {
			Msg, Decision, Reason, Sub, Tenant string
			SourceIdentity                     string `json:"source_identity"`
			RoleARN                            string `json:"role_arn"`
		}
		if json.Unmarshal([]byte(line), &d) != nil || d.Msg != "authorization decision" {
			continue
		}
		out = append(out, Decision{Allow: d.Decision == "allow", Reason: d.Reason, Subject: d.Sub, SourceIdentity: d.SourceIdentity,
			Tenant: d.Tenant, RoleARN: d.RoleARN, Line: line})
	}
	return out
}

// Logs are every component's JSON log lines so far, oldest first.
func (s *Stack) Logs() []string { return s.target.Stack().Logs() }

// target is the stack as the suites see it: the embedded target, with the probes Conform is
// given and the capabilities a server of the user's own offers.
type target struct {
	*targets.Embedded
	own    bool
	probes *framework.Probes
}

func (t *target) Probes() *framework.Probes {
	if t.probes != nil {
		return t.probes
	}
	return t.Embedded.Probes()
}

// Capabilities: the embedded target's, but metrics with a server of the user's own, which
// serves none the kit knows of.
func (t *target) Capabilities() []framework.Capability {
	caps := t.Embedded.Capabilities()
	if t.own {
		caps = slices.DeleteFunc(caps, func(c framework.Capability) bool { return c == framework.CapMetrics })
	}
	return caps
}

func (t *target) MetricsURL() (string, error) {
	if t.own {
		return "", framework.ErrNotSupported
	}
	return t.Embedded.MetricsURL()
}
