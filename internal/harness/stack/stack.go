package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/gateway"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// Stack is a running deployment: IdP, AWS (STS, IAM, S3, CloudTrail), the ECS task-role
// credentials endpoint, the reference MCP server, the reference authorizer and the gateway.
type Stack struct {
	fixture *fixture.Fixture
	profile string
	backend AWSBackend
	// proven: the authorizer signs the decided context and the MCP server checks it (the
	// reference profile, unless WithoutContextProof).
	proven  bool
	aws     *awsemu.Server // nil with an upstream backend
	awsSide awsSide
	idp     *mockidp.Server
	origins []string // the browser origins allowed, the gateway's own first
	task    *ecscreds.Server
	mcp     mcpSide // the reference server, or the user's (WithMCPHandler)
	authz   *authorizer.Authorizer
	gw      *gateway.Server
	// scopes are the scopes an access token must carry (the fixture's mcp.scopes).
	scopes []string
	// sessions: the MCP server issues session ids (WithSessions).
	sessions bool
	// proofSecret is the context proof secret the authorizer and the MCP server share (only the
	// reference profile uses it: the seed's server believes any caller, as the tutorial's does).
	proofSecret []byte
	logs        *logBuffer
	closers     []func() error
	once        sync.Once
}

// Start brings the whole stack up on loopback and seeds it from the fixture through the AWS
// APIs. On error everything started so far is stopped.
func Start(ctx context.Context, opts ...Option) (_ *Stack, err error) {
	cfg := settings{profile: ProfileReference, level: slog.LevelInfo, hint: "stack.WithAllowedOrigins"}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.mcpHandler != nil && cfg.sessions {
		return nil, errors.New("stack: WithSessions configures the reference MCP server, which WithMCPHandler replaces: a handler of your own issues its own sessions or none")
	}
	if cfg.profile == ProfileSeed && len(cfg.origins) > 0 {
		return nil, fmt.Errorf("stack: allowed origins %s: the seed profile's API (the tutorial's HTTP API, as written) answers no CORS preflight, so no browser on another origin can call it; use the reference profile",
			strings.Join(cfg.origins, ", "))
	}
	if cfg.fixture == nil {
		cfg.fixture = fixture.Default()
	}
	f := cfg.fixture
	if f.TaskRole == "" {
		return nil, errors.New("stack: the fixture names no taskRole for the MCP server")
	}
	logs := newLogBuffer(logLines)
	var out io.Writer = logs
	if cfg.logTo != nil {
		out = io.MultiWriter(logs, cfg.logTo)
	}
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.level}))
	s := &Stack{fixture: f, profile: cfg.profile, logs: logs, proofSecret: []byte(contextproof.NewSecret()),
		proven: cfg.profile == ProfileReference && !cfg.unproven, scopes: slices.Clone(f.MCP.Scopes), sessions: cfg.sessions}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	// Components stop when the stack does, not when ctx (often a request's) ends.
	life := context.WithoutCancel(ctx)

	// The gateway's listener first: the MCP server, which starts before the gateway, allows
	// the gateway's origin (that of a browser-based client served from there), and a taken
	// port fails the start before anything is seeded.
	gwListener, err := net.Listen("tcp", addr(cfg.ports.Gateway))
	if err != nil {
		return nil, fmt.Errorf("stack: gateway: listen on %s: %w", addr(cfg.ports.Gateway), err)
	}
	s.closers = append(s.closers, func() error { // the gateway closes it once it serves on it
		if err := gwListener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	s.origins = append([]string{"http://" + gwListener.Addr().String()}, cfg.origins...)

	if cfg.backend != (AWSBackend{}) {
		one, dropped, err := f.OnlyDeploymentAccount()
		if err != nil {
			return nil, fmt.Errorf("stack: AWS backend %s: %w", cfg.backend.Name(), err)
		}
		if len(dropped) > 0 {
			log.Info("not deployed: the AWS backend serves one account", "component", "stack", "backend", cfg.backend.Name(), "dropped", dropped)
		}
		if cfg.backend.Bypass && cfg.backend.Moto {
			// moto applies every Deny of a bucket policy to every request whatever its
			// conditions, so the tenant policies would lock out even the MCP server's legitimate
			// reads; without the proxy to keep them, they are left out (and logged).
			one = withoutBucketPolicies(one, log)
		}
		f, s.fixture = one, one
	}
	s.backend = cfg.backend

	// WithoutSignatureVerification: every token is re-signed with the IdP's key (unverified.go).
	var weak *resigner
	if cfg.unverified {
		if weak, err = newResigner(); err != nil {
			return nil, err
		}
	}

	gwConfig, err := gateway.ShippedConfig(cfg.profile)
	if err != nil {
		return nil, err
	}
	// How the deployment sets its IdP up for MCP clients (idpsetup.go), by the IdP profile.
	idpProfile := cfg.idpProfile
	if idpProfile == "" {
		idpProfile = f.IdP.Profile
	}
	if idpProfile == "" {
		idpProfile = mockidp.ProfileGeneric
	}
	prof, err := mockidp.LookupProfile(idpProfile)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	var setup IdPSetup
	var mcpURL string
	if cfg.profile == ProfileReference {
		setup = IdPSetupFor(prof)
		if gwConfig.CustomDomain {
			mcpURL = s.origins[0] + or(gwConfig.MCPPath, "/mcp")
		}
	}

	// AWS and the IdP do not depend on each other: start them together.
	var wg sync.WaitGroup
	var awsErr, idpErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		if awsErr = s.startAWS(life, cfg, log); awsErr == nil {
			awsErr = SeedAWS(ctx, f, cfg.profile, s.AdminAWSConfig)
		}
	}()
	go func() {
		defer wg.Done()
		// The IdP grants the MCP resource's scopes to clients that ask for them.
		idpOpts := []mockidp.Option{mockidp.WithAddr(addr(cfg.ports.IdP)),
			mockidp.WithUsers(IdPUsers(f)...), mockidp.WithScopes(s.scopes...), mockidp.WithLogger(log.With("component", "idp"))}
		if f.IdP.Profile != "" {
			// The fixture's profile; a WithIdPOptions profile (--idp-profile) comes later and wins.
			idpOpts = append(idpOpts, mockidp.WithProfile(f.IdP.Profile))
		}
		idpOpts = append(idpOpts, setup.idpOptions(mcpURL)...)
		idpOpts = append(idpOpts, cfg.idpOpts...)
		if weak != nil {
			// The key to re-sign with; last, so that no option replaces it.
			idpOpts = append(idpOpts, mockidp.WithSigningKey(weak.key))
		}
		s.idp, idpErr = mockidp.Start(life, idpOpts...)
	}()
	wg.Wait()
	if s.idp != nil {
		s.closers = append(s.closers, s.idp.Close)
	}
	if err := errors.Join(awsErr, idpErr); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}

	// The task role reaches the MCP server as on Fargate: the container-credentials endpoint.
	taskARN := f.RoleARN(f.DeploymentAccount(), f.TaskRole)
	if s.task, err = ecscreds.Start(life, s.awsSide.taskRole(taskARN), ecscreds.WithAddr(addr(cfg.ports.TaskRole)),
		ecscreds.WithLogger(log.With("component", "ecs-credentials"))); err != nil {
		return nil, fmt.Errorf("stack: task role endpoint: %w", err)
	}
	s.closers = append(s.closers, s.task.Close)
	taskCreds := endpointcreds.New(s.task.URL(), func(o *endpointcreds.Options) { o.AuthorizationToken = s.task.AuthorizationToken() })
	taskCfg := aws.Config{Region: s.awsSide.region, BaseEndpoint: aws.String(s.awsSide.endpoint), Credentials: aws.NewCredentialsCache(taskCreds)}
	mcpOpts := []mcpserver.Option{mcpserver.WithAddr(addr(cfg.ports.MCP)), mcpserver.WithS3PathStyle(true),
		mcpserver.WithAllowedOrigins(s.origins...), mcpserver.WithOriginHint(cfg.hint),
		mcpserver.WithLogger(log.With("component", "mcp-server")), s.mcpProofOption(), mcpserver.WithSessions(cfg.sessions)}
	if cfg.ports.Metrics != 0 || cfg.ports == (Ports{}) {
		mcpOpts = append(mcpOpts, mcpserver.WithMetricsAddr(addr(cfg.ports.Metrics)))
	}
	if t := bucketTemplate(f); t != "" {
		mcpOpts = append(mcpOpts, mcpserver.WithBucketTemplate(t))
	}
	if cfg.mcpHandler != nil {
		if s.mcp, err = s.startUserServer(life, cfg.mcpHandler, addr(cfg.ports.MCP), taskCfg.Credentials, log.With("component", "mcp-server")); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	} else {
		var ref *mcpserver.Server
		if ref, err = mcpserver.Start(life, taskCfg, append(mcpOpts, cfg.mcpOpts...)...); err != nil {
			return nil, fmt.Errorf("stack: MCP server: %w", err)
		}
		s.mcp = ref
	}
	s.closers = append(s.closers, s.mcp.Close)

	store, err := roleStore(f)
	if err != nil {
		return nil, err
	}
	if setup.OwnASMetadata && !cfg.noASMetadata {
		if gwConfig, err = withOwnASMetadata(ctx, gwConfig, s.idp.DiscoveryURL()); err != nil {
			return nil, fmt.Errorf("stack: the deployment's own authorization server metadata: %w", err)
		}
	}
	if len(s.scopes) > 0 {
		if gwConfig.Type == gateway.HTTPAPI {
			// The authorizer still requires them; the tutorial's HTTP API can neither advertise
			// them (it serves no metadata) nor challenge for them (no gateway responses).
			log.Info("scopes not advertised: the seed profile's HTTP API has no protected resource metadata and no gateway responses",
				"component", "stack", "scopes", s.scopes)
		} else if gwConfig, err = gateway.DeclareScopes(gwConfig, s.scopes); err != nil {
			return nil, fmt.Errorf("stack: the fixture's mcp.scopes: %w", err)
		}
	}
	// The authorizer's audiences include the MCP URL the gateway's metadata advertises, known
	// once the gateway listens: the gateway starts with an authorizer that asks the real one,
	// which is in place before Start returns (until then every request is refused).
	var authz atomic.Pointer[authorizer.Authorizer]
	if weak != nil {
		for _, k := range s.idp.Keys() {
			if k.Active {
				weak.kid = k.ID
			}
		}
	}
	var gwAuthz gateway.Authorizer = gateway.RESTAuthorizer(func(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		if a := authz.Load(); a != nil {
			return a.REST(ctx, weak.rest(ev))
		}
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	})
	if gwConfig.Type == "http-api" {
		gwAuthz = gateway.HTTPAPIAuthorizer(func(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			if a := authz.Load(); a != nil {
				return a.HTTPAPI(ctx, weak.httpAPI(ev))
			}
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, nil
		})
	}
	gwOpts := []gateway.Option{gateway.WithConfig(gwConfig), gateway.WithListener(gwListener),
		gateway.WithAuthorizer("", gwAuthz), gateway.WithIntegrationURL(baseOf(s.mcp.URL())), gateway.WithIssuerURL(s.idp.IssuerURL()),
		gateway.WithOriginHint(cfg.hint), gateway.WithLogger(log.With("component", "gateway"))}
	if len(cfg.origins) > 0 {
		gwOpts = append(gwOpts, gateway.WithAllowedOrigins(cfg.origins...))
	}
	if s.gw, err = gateway.Start(life, gwOpts...); err != nil {
		return nil, fmt.Errorf("stack: gateway: %w", err)
	}
	s.closers = append(s.closers, s.gw.Close)

	alias := s.idp.Audience()
	if alias == "" {
		// An IdP profile whose tokens have no default audience (Cognito's, where client_id
		// proves it): a token bound to a resource still names the MCP URL, and the tutorial's
		// alias stays accepted.
		alias = mockidp.DefaultAudience
	}
	authzOpts := []authorizer.Option{authorizer.WithIssuer(s.idp.IssuerURL()), authorizer.WithRoleStore(store),
		authorizer.WithTenantClaim(s.idp.TenantClaim()), authorizer.WithAudience(Audiences(cfg.profile, s.gw.MCPURL(), alias)...),
		authorizer.WithRequiredScopes(s.scopes...), authorizer.WithLogger(log.With("component", "authorizer"))}
	authzOpts = append(authzOpts, IdPPresetOptions(s.idp.Profile(), clientIDs(s.idp.Clients()))...)
	if s.proven {
		authzOpts = append(authzOpts, authorizer.WithContextProofSecret(s.proofSecret))
	}
	if s.authz, err = authorizer.New(ctx, append(authzOpts, cfg.authzOpts...)...); err != nil {
		return nil, fmt.Errorf("stack: authorizer: %w", err)
	}
	authz.Store(s.authz)
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// IdPPresetOptions configure the reference authorizer for the tokens of the mock IdP's profile:
// the authorizer preset of the same name (authorizer.WithIdPPreset), and, where the client
// proves the audience (Cognito's client_id), the app clients the IdP issues tokens to. The
// generic profile keeps the authorizer's defaults. Google's preset is refused, so a stack under
// Google's profile does not start, and says why.
func IdPPresetOptions(p mockidp.Profile, clients []string) []authorizer.Option {
	if p.Name == mockidp.ProfileGeneric {
		return nil
	}
	opts := []authorizer.Option{authorizer.WithIdPPreset(p.Name)}
	if p.AudienceClaim == authorizer.AudienceFromClientID {
		opts = append(opts, authorizer.WithClientIDs(clients...))
	}
	return opts
}

func clientIDs(clients []mockidp.Client) []string {
	ids := make([]string, len(clients))
	for i, c := range clients {
		ids[i] = c.ID
	}
	return ids
}

// Audiences are the token audiences a deployment of profile accepts. The reference profile
// accepts the MCP server's canonical URI, the resource its protected-resource metadata
// advertises and that spec-following MCP clients request (RFC 8707; the MCP authorization
// spec's "Token Audience Binding and Validation"), and the tutorial's api://quilt-mcp as an
// alias. The seed profile is the tutorial as written: api://quilt-mcp alone.
func Audiences(profile, mcpURL, alias string) []string {
	if profile == ProfileSeed {
		return []string{alias}
	}
	return []string{mcpURL, alias}
}

// Close stops every component, last started first; each Close waits for what its component
// started, so nothing the stack started runs once Close returns. It is safe to call twice.
func (s *Stack) Close() error {
	var errs []error
	s.once.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			errs = append(errs, s.closers[i]())
		}
	})
	return errors.Join(errs...)
}

// Profile is the deployed profile.
func (s *Stack) Profile() string { return s.profile }

// Fixture is the deployed fixture.
func (s *Stack) Fixture() *fixture.Fixture { return s.fixture }

// MCPURL is the MCP endpoint clients use: through the gateway.
func (s *Stack) MCPURL() string { return s.gw.MCPURL() }

// AllowedOrigins are the browser origins allowed to call the MCP server through the gateway:
// the gateway's own first, then those of WithAllowedOrigins.
func (s *Stack) AllowedOrigins() []string { return slices.Clone(s.origins) }

// GatewayURL is the gateway's base URL.
func (s *Stack) GatewayURL() string { return s.gw.PublicURL() }

// MCPDirectURL is the MCP server's own endpoint, bypassing the gateway, as a process on the
// same host reaches it. In the reference profile it refuses every request without the
// authorizer's context proof.
func (s *Stack) MCPDirectURL() string { return s.mcp.URL() }

// MetricsURL is the MCP server's Prometheus endpoint, "" for a server of the user's own
// (WithMCPHandler).
func (s *Stack) MetricsURL() string { return s.mcp.MetricsURL() }

// IssuerURL is the IdP's issuer.
func (s *Stack) IssuerURL() string { return s.idp.IssuerURL() }

// IdP is the mock IdP, for forging tokens and approving device codes.
func (s *Stack) IdP() *mockidp.IdP { return s.idp.IdP }

// AWSEndpoint is the AWS endpoint the stack uses (AWS_ENDPOINT_URL): the emulator's, the
// enforcing proxy's, or with Bypass the upstream's.
func (s *Stack) AWSEndpoint() string { return s.awsSide.endpoint }

// AWS is the AWS emulator, nil with an upstream backend.
func (s *Stack) AWS() *awsemu.Server { return s.aws }

// AWSBackend is what serves AWS.
func (s *Stack) AWSBackend() AWSBackend { return s.backend }

// HasCloudTrail reports whether the stack records CloudTrail events (not with Bypass).
func (s *Stack) HasCloudTrail() bool { return s.awsSide.trail != nil }

// TaskRoleEnv is the environment that makes an SDK or the AWS CLI act as the MCP server's task
// role: the container-credentials endpoint's full URI and token, as ECS sets them.
func (s *Stack) TaskRoleEnv() []string { return s.task.Env() }

// TaskRoleAWSConfig is an SDK configuration with the MCP server's task-role credentials, as ECS
// delivers them.
func (s *Stack) TaskRoleAWSConfig(ctx context.Context) (aws.Config, error) {
	f := s.fixture
	c, err := s.awsSide.taskRole(f.RoleARN(f.DeploymentAccount(), f.TaskRole)).Credentials(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{Region: s.awsSide.region, BaseEndpoint: aws.String(s.awsSide.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}, nil
}

// TokenFor mints an access token for a user (username, email or subject) as the IdP would
// after a login that asked for the identity scopes and the scopes the MCP resource requires.
func (s *Stack) TokenFor(ctx context.Context, user string) (string, error) {
	return s.idp.TokenFor(ctx, user, s.TokenScopes())
}

// TokenScopes is the token option of the scopes TokenFor grants: openid, profile and email,
// and the scopes the MCP resource requires; pass it to IdP().Forge for a forgery that fails for
// its own reason, not for a missing scope.
func (s *Stack) TokenScopes() mockidp.TokenOption {
	return mockidp.WithTokenScopes(append([]string{"openid", "profile", "email"}, s.scopes...)...)
}

// Scopes are the scopes an access token must carry to reach the MCP server (the fixture's
// mcp.scopes), none when nothing is required.
func (s *Stack) Scopes() []string { return slices.Clone(s.scopes) }

// Sessions reports whether the MCP server issues session ids (WithSessions).
func (s *Stack) Sessions() bool { return s.sessions }

// AdminAWSConfig is an SDK configuration with the admin credentials of an account.
func (s *Stack) AdminAWSConfig(account string) (aws.Config, error) {
	c, err := s.awsSide.admin(account)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{Region: s.awsSide.region, BaseEndpoint: aws.String(s.awsSide.endpoint),
		Credentials: credentials.StaticCredentialsProvider{Value: c}}, nil
}

// CloudTrailEvents returns the recorded CloudTrail events that match the filter, newest first
// (none with Bypass: nothing records).
func (s *Stack) CloudTrailEvents(f cloudtrail.Filter) []cloudtrail.Event {
	if s.awsSide.trail == nil {
		return nil
	}
	return s.awsSide.trail.Events(f)
}

// Logs returns every component's JSON log lines so far, oldest first.
func (s *Stack) Logs() []string { return s.logs.lines() }

// Authorizer is the reference authorizer the gateway calls.
func (s *Stack) Authorizer() *authorizer.Authorizer { return s.authz }

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// baseOf is scheme://host of a URL.
func baseOf(u string) string {
	for i := len("http://"); i < len(u); i++ {
		if u[i] == '/' {
			return u[:i]
		}
	}
	return u
}

// bucketTemplate is how the fixture names every tenant's bucket ("acme-data-{tenant}"), for the
// MCP server, which derives a user's bucket from the tenant; "" when it is the server's default
// or the tenants' buckets follow no one template (the fixture's validation names them).
func bucketTemplate(f *fixture.Fixture) string {
	template := ""
	for _, t := range f.Tenants {
		i := strings.Index(t.Bucket, t.Name)
		if i < 0 {
			return ""
		}
		this := t.Bucket[:i] + "{tenant}" + t.Bucket[i+len(t.Name):]
		if template != "" && this != template {
			return ""
		}
		template = this
	}
	if template == mcpserver.DefaultBucketTemplate {
		return ""
	}
	return template
}

// withoutBucketPolicies is a copy of f whose buckets have no policy.
func withoutBucketPolicies(f *fixture.Fixture, log *slog.Logger) *fixture.Fixture {
	out := *f
	out.Buckets = slices.Clone(f.Buckets)
	for i := range out.Buckets {
		if out.Buckets[i].Policy != nil {
			log.Warn("bucket policy not deployed: moto would apply its Deny statements to every request", "component", "stack", "bucket", out.Buckets[i].Name)
			out.Buckets[i].Policy = nil
		}
	}
	return &out
}

func otherAccounts(f *fixture.Fixture) []string {
	var out []string
	for _, a := range f.AccountIDs() {
		if a != f.DeploymentAccount() {
			out = append(out, a)
		}
	}
	return out
}

// IdPUsers are the fixture's users as the mock IdP knows them.
func IdPUsers(f *fixture.Fixture) []mockidp.User {
	out := make([]mockidp.User, 0, len(f.Users))
	for _, u := range f.Users {
		mu := mockidp.User{Username: u.Username, Subject: u.Sub, Email: u.Email, Name: u.Name, Tenant: u.Tenant, Groups: u.Groups}
		if len(u.Claims) > 0 {
			mu.Claims = map[string]any{}
			for k, v := range u.Claims {
				mu.Claims[k] = v
			}
		}
		if a := u.Agent; a != nil {
			mu.Agent = &mockidp.Agent{Type: a.Type, Model: a.Model, Provider: a.Provider, DelegatorSub: a.DelegatorSub,
				Purpose: a.Purpose, Capabilities: a.Capabilities}
		}
		out = append(out, mu)
	}
	return out
}

// roleStore is the authorizer's role store from the fixture's mappings.
func roleStore(f *fixture.Fixture) (*authorizer.StaticStore, error) {
	var entries []authorizer.StoreEntry
	for _, m := range f.Mappings {
		entries = append(entries, authorizer.StoreEntry{Sub: m.Sub, Mapping: authorizer.Mapping{
			RoleARN: f.RoleARN(m.Account, m.Role), Tags: m.Tags,
			Limits: authorizer.Limits{RequestsPerMinute: m.Limits.RequestsPerMinute, SessionSeconds: m.Limits.SessionSeconds}}})
	}
	store, err := authorizer.NewStaticStore(entries...)
	if err != nil {
		return nil, fmt.Errorf("stack: role store from the fixture: %w", err)
	}
	return store, nil
}
