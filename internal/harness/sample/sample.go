// Package sample runs the go-sdk sample deployment (gosdkserver): the kit's mock IdP and AWS
// emulator seeded from the default fixture with the reference policies (trust policies that
// require a usr- SourceIdentity and only the tenant's own tag, ABAC on the tenant tag,
// CloudTrail), an ECS container-credentials endpoint for the task role, and the sample server
// acting from it. Nothing of the kit's reference authorizer, gateway or MCP server runs: the
// sample verifies tokens and assumes roles itself. Its target file, with the probes that map
// the suites' operations onto the sample's own tools, is target.yaml beside this file
// (TargetFile renders it for other ports), so `mcpsso conform --target` judges it as any
// third-party deployment.
package sample

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// trustWithoutSourceIdentity is the target roles' trust policy of a deployment whose server
// never sets a SourceIdentity (gosdkserver.SkipsSourceIdentity): the reference policy without
// its SourceIdentity conditions. Its owner would have written it so, or no AssumeRole would
// succeed and every tool would fail, hiding what the defect is really about.
//
//go:embed target-role-trust-without-source-identity.json
var trustWithoutSourceIdentity []byte

// Ports are the listen ports of the deployment; 0 picks a free one.
type Ports struct {
	MCP, IdP, AWS, TaskRole int
}

// DefaultPortBase is where `mcpsso sample serve` and the shipped target file put the
// deployment: the sample's MCP endpoint on 8580, the IdP on 8581, AWS on 8582, the task
// role's credentials on 8583 (beside `mcpsso up`'s 8480-8483 and 4566).
const DefaultPortBase = 8580

// PortsFrom lays the ports out from base: MCP base, IdP base+1, AWS base+2, task-role
// credentials base+3.
func PortsFrom(base int) Ports {
	return Ports{MCP: base, IdP: base + 1, AWS: base + 2, TaskRole: base + 3}
}

// Option configures Start.
type Option func(*settings) error

type settings struct {
	ports  Ports
	defect gosdkserver.Defect
	log    *slog.Logger
}

// WithPorts sets the listen ports (default: free ports).
func WithPorts(p Ports) Option {
	return func(s *settings) error {
		for _, port := range []int{p.MCP, p.IdP, p.AWS, p.TaskRole} {
			if port < 0 || port > 65535 {
				return fmt.Errorf("sample: port %d is out of range", port)
			}
		}
		s.ports = p
		return nil
	}
}

// WithDefect starts the sample server with one deliberate mistake; for
// gosdkserver.SkipsSourceIdentity the target roles trust the task role without a
// SourceIdentity (see trustWithoutSourceIdentity).
func WithDefect(d gosdkserver.Defect) Option {
	return func(s *settings) error {
		if _, err := gosdkserver.ParseDefect(string(d)); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		s.defect = d
		return nil
	}
}

// WithLogOutput writes every component's JSON log lines to w at level (default: none).
func WithLogOutput(w io.Writer, level slog.Level) Option {
	return func(s *settings) error {
		if w == nil {
			return errors.New("sample: WithLogOutput: nil writer")
		}
		s.log = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
		return nil
	}
}

// Deployment is the running sample deployment.
type Deployment struct {
	fixture *fixture.Fixture
	defect  gosdkserver.Defect
	aws     *awsemu.Server
	idp     *mockidp.Server
	task    *ecscreds.Server
	server  *gosdkserver.Server
	closers []func() error
}

// Start brings the deployment up on loopback. On error everything started so far is stopped.
func Start(ctx context.Context, opts ...Option) (_ *Deployment, err error) {
	cfg := settings{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	f, err := deployedFixture(cfg.defect)
	if err != nil {
		return nil, err
	}
	d := &Deployment{fixture: f, defect: cfg.defect}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	life := context.WithoutCancel(ctx) // the components stop with Close, not with ctx
	log := cfg.log

	var others []string
	for _, a := range f.AccountIDs() {
		if a != awsemu.DefaultAccount {
			others = append(others, a)
		}
	}
	if d.aws, err = awsemu.Start(life, awsemu.WithAddr(addr(cfg.ports.AWS)), awsemu.WithLogger(log.With("component", "aws")),
		awsemu.WithAccounts(others...)); err != nil {
		return nil, fmt.Errorf("sample: AWS emulator: %w", err)
	}
	d.closers = append(d.closers, d.aws.Close)
	if err := stack.SeedAWS(ctx, f, stack.ProfileReference, d.AdminAWSConfig); err != nil {
		return nil, fmt.Errorf("sample: seeding AWS: %w", err)
	}
	if d.idp, err = mockidp.Start(life, mockidp.WithAddr(addr(cfg.ports.IdP)), mockidp.WithUsers(stack.IdPUsers(f)...),
		mockidp.WithLogger(log.With("component", "idp"))); err != nil {
		return nil, fmt.Errorf("sample: IdP: %w", err)
	}
	d.closers = append(d.closers, d.idp.Close)
	account := f.DeploymentAccount()
	if d.task, err = d.aws.StartTaskRoleEndpoint(life, f.RoleARN(account, f.TaskRole), ecscreds.WithAddr(addr(cfg.ports.TaskRole)),
		ecscreds.WithLogger(log.With("component", "ecs-credentials"))); err != nil {
		return nil, fmt.Errorf("sample: task role endpoint: %w", err)
	}
	d.closers = append(d.closers, d.task.Close)

	// The server's own credentials come from the container-credentials endpoint, as on Fargate.
	taskCreds := endpointcreds.New(d.task.URL(), func(o *endpointcreds.Options) { o.AuthorizationToken = d.task.AuthorizationToken() })
	awsCfg := aws.Config{Region: d.aws.Region(), BaseEndpoint: aws.String(d.aws.Endpoint()), Credentials: aws.NewCredentialsCache(taskCreds)}
	if d.server, err = gosdkserver.Start(life, awsCfg, gosdkserver.WithAddr(addr(cfg.ports.MCP)), gosdkserver.WithIssuer(d.idp.IssuerURL()),
		gosdkserver.WithTenantRole("arn:aws:iam::"+account+":role/quilt-mcp-target-{tenant}"), gosdkserver.WithS3PathStyle(true),
		gosdkserver.WithDefect(cfg.defect), gosdkserver.WithLogger(log)); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	d.closers = append(d.closers, d.server.Close)
	return d, nil
}

// deployedFixture is the default fixture, with the target roles' trust policy of a deployment
// whose server sets no SourceIdentity for that defect.
func deployedFixture(defect gosdkserver.Defect) (*fixture.Fixture, error) {
	f := fixture.Default()
	if defect != gosdkserver.SkipsSourceIdentity {
		return f, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(trustWithoutSourceIdentity, &doc); err != nil {
		return nil, fmt.Errorf("sample: the trust policy without SourceIdentity: %w", err)
	}
	for i, r := range f.Roles {
		if r.Trust.Policy == "target-role-trust-policy" {
			f.Roles[i].Trust = fixture.PolicyRef{Document: doc, Vars: r.Trust.Vars}
		}
	}
	return f, nil
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// MCPURL is the sample server's MCP endpoint (and resource identifier).
func (d *Deployment) MCPURL() string { return d.server.MCPURL() }

// IssuerURL is the mock IdP's issuer.
func (d *Deployment) IssuerURL() string { return d.idp.IssuerURL() }

// IdP is the mock IdP, for tokens of any shape (IdP().TokenFor).
func (d *Deployment) IdP() *mockidp.IdP { return d.idp.IdP }

// AWSEndpoint is the AWS emulator's endpoint.
func (d *Deployment) AWSEndpoint() string { return d.aws.Endpoint() }

// Defect is the sample server's deliberate mistake.
func (d *Deployment) Defect() gosdkserver.Defect { return d.defect }

// Fixture is what was deployed.
func (d *Deployment) Fixture() *fixture.Fixture { return d.fixture }

// AdminAWSConfig is an SDK configuration with the administrator credentials of an account.
func (d *Deployment) AdminAWSConfig(account string) (aws.Config, error) {
	c, err := d.aws.AdminCredentials(account)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{Region: d.aws.Region(), BaseEndpoint: aws.String(d.aws.Endpoint()), Credentials: credentials.StaticCredentialsProvider{Value: c}}, nil
}

// TargetFile is the deployment's target file: the sample's MCP URL, tokens from the mock IdP
// through `<mcpsso> token` for the sample's resource (or, with tokenEnv, preissued in the
// environment TokenEnv makes), the default fixture's users, CloudTrail read with the
// emulator's administrator (from $AUDIT_KEY_ID and $AUDIT_SECRET: AuditEnv), and the probes
// for the sample's tools. mcpsso is how to run the kit's binary ("mcpsso" on PATH, or a path).
func (d *Deployment) TargetFile(mcpsso string, tokenEnv bool) []byte {
	return RenderTargetFile(TargetParams{MCPURL: d.MCPURL(), Issuer: d.IssuerURL(), AWSEndpoint: d.AWSEndpoint(), Mcpsso: mcpsso, TokenEnv: tokenEnv})
}

// TokenEnv mints an access token for each of the target file's users, for the sample's
// resource, exactly as the IdP's token endpoint would issue it, as SAMPLE_TOKEN_<USER>=token.
func (d *Deployment) TokenEnv(ctx context.Context) ([]string, error) {
	var env []string
	for _, u := range TargetUsers {
		tok, err := d.idp.TokenFor(ctx, u, mockidp.WithTokenAudience(d.MCPURL()))
		if err != nil {
			return nil, fmt.Errorf("sample: a token for %s: %w", u, err)
		}
		env = append(env, "SAMPLE_TOKEN_"+strings.ToUpper(u)+"="+tok)
	}
	return env, nil
}

// AuditEnv is the environment the target file's CloudTrail reader takes its credentials from
// ($AUDIT_KEY_ID, $AUDIT_SECRET): the emulator's administrator of the deployment account.
func (d *Deployment) AuditEnv() ([]string, error) {
	c, err := d.aws.AdminCredentials(d.fixture.DeploymentAccount())
	if err != nil {
		return nil, err
	}
	return []string{"AUDIT_KEY_ID=" + c.AccessKeyID, "AUDIT_SECRET=" + c.SecretAccessKey}, nil
}

// Close stops every component, last started first.
func (d *Deployment) Close() error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// shellWord quotes s for sh when it holds anything but safe characters.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < 128 && (r == '/' || r == '.' || r == '_' || r == '-' || r == ':' || r == '+' || r == '=' || r == ',' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
