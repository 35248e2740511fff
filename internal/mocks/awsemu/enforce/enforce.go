// Package enforce is an enforcing proxy in front of an AWS-compatible upstream that enforces
// nothing itself (LocalStack's free edition, moto_server). It verifies SigV4, learns session
// credentials from the AssumeRole responses it relays, reads roles, their policies and bucket
// policies from the upstream's own IAM and S3 APIs, and denies what AWS would deny using the
// same iampolicy engine as the mcpsso emulator — so a LocalStack- or moto-backed stack enforces
// trust policies (sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity) and ABAC
// (${aws:PrincipalTag/tenant}) too. Every decision is a CloudTrail record like the emulator's.
//
// Callers the proxy knows: the upstream's admin key (LocalStack-style "test"/"test", an
// allow-all identity), sessions it saw issued through it (AssumeRole relayed with
// credentials it knows) and task-role sessions it issued itself (Proxy.TaskRole). Any other
// access key is InvalidClientTokenId. The proxy fails closed: when it cannot read a policy from
// the upstream it answers 503 and relays nothing.
//
// What is enforced:
//   - STS AssumeRole: input validation as the emulator's STS; the role read with GetRole,
//     ListRolePolicies/GetRolePolicy and ListAttachedRolePolicies/GetPolicy/GetPolicyVersion;
//     sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity each authorized against the
//     trust policy and the caller's identity policies; immutable source identity and
//     transitive tags across role chaining; chaining and MaxSessionDuration limits; inline
//     session policies. GetCallerIdentity needs no permission, as on AWS.
//   - S3: every operation the emulator's S3 classifies (GetObject, HeadObject, PutObject,
//     CopyObject with s3:GetObject on the source, DeleteObject, ListObjects[V2], buckets,
//     bucket policies, multipart…) against the caller's identity policies and the bucket policy
//     (GetBucketPolicy), with S3's condition keys. Unclassified requests (?acl, ?tagging, …,
//     DeleteObjects) pass only for an allow-all identity.
//   - Other IAM/STS actions and other services: "<service>:<Action>" on "*" must be allowed by
//     the caller's identity policies (conservative: a grant on a narrower resource is not
//     enough).
//   - CloudTrail LookupEvents is answered from the proxy's own records (after
//     cloudtrail:LookupEvents is authorized), not relayed: the upstream records nothing useful.
//   - IAM SimulatePrincipalPolicy of a role is answered by the emulator's simulation over the
//     role as the upstream has it (moto does not implement it), and AssumeRole answers carry
//     the session's SourceIdentity as STS's do (moto's never do; chaining inherits it).
//
// WithLocalBucketPolicies keeps bucket policies in the proxy instead of the upstream, for
// upstreams (moto) that misapply them.
//
// Roles and bucket policies are cached for WithCacheTTL; IAM writes and bucket-policy writes
// relayed through the proxy drop the cache. Not enforced: permissions boundaries (a role with
// one is denied everything), managed session policies (PolicyArns are refused), cross-account
// access (one upstream account), anonymous requests (refused). Requests are relayed as they
// came: the upstream is expected to ignore signatures, as LocalStack and moto do. So that the
// upstream runs what the proxy authorized, requests it could read otherwise are refused (400):
// a query string Go cannot parse whole, and STS or IAM calls not shaped as the SDKs send them
// (X-Amz-Target, a POST that is not a form or has parameters in its URL, a GET with a body).
package enforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
	"github.com/mcpsso/mcpsso/internal/serve"
)

// Defaults: LocalStack's conventions (moto's default account is 123456789012; Start asks the
// upstream which account its admin key belongs to unless WithAccount says).
const (
	DefaultAccount   = "000000000000"
	DefaultAdminKey  = "test"
	DefaultSecret    = "test"
	DefaultRegion    = "us-east-1"
	DefaultCacheTTL  = 5 * time.Second
	ECSTasksService  = "ecs-tasks.amazonaws.com"
	taskRoleLifetime = 6 * time.Hour
)

// Option configures a Proxy.
type Option func(*settings) error

type settings struct {
	adminKey, adminSecret string
	account, adminARN     string
	accountSet            bool
	logger                *slog.Logger
	clock                 func() time.Time
	ttl                   time.Duration
	client                *http.Client
	addr                  string
	localPolicies         bool
}

// WithAdmin sets the upstream's admin access key and secret (default "test"/"test"). The proxy
// treats its holder as allowed everything (AdministratorAccess) and uses it to read IAM and S3.
func WithAdmin(accessKeyID, secret string) Option {
	return func(s *settings) error {
		if accessKeyID == "" || secret == "" {
			return errors.New("enforce: WithAdmin: empty access key or secret")
		}
		s.adminKey, s.adminSecret = accessKeyID, secret
		return nil
	}
}

// WithAccount sets the upstream account the admin key belongs to and the admin's ARN ("" for
// arn:aws:iam::<id>:root). Without it, Start asks the upstream (GetCallerIdentity).
func WithAccount(id, adminARN string) Option {
	return func(s *settings) error {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return fmt.Errorf("enforce: account ID %q must be 12 digits", id)
		}
		if adminARN == "" {
			adminARN = "arn:aws:iam::" + id + ":root"
		}
		s.account, s.adminARN, s.accountSet = id, adminARN, true
		return nil
	}
}

// WithLogger sets the decision log (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("enforce: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithClock sets the clock for signatures, sessions and records (tests).
func WithClock(now func() time.Time) Option {
	return func(s *settings) error { s.clock = now; return nil }
}

// WithCacheTTL sets how long roles and bucket policies read from the upstream are reused
// (default 5s; 0 reads them for every request). IAM and bucket-policy writes relayed through
// the proxy drop the cache at once.
func WithCacheTTL(d time.Duration) Option {
	return func(s *settings) error { s.ttl = d; return nil }
}

// WithHTTPClient sets the client for the upstream (default: a client with a 30s timeout and a
// transport of its own). Server.Close closes its idle connections.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error { s.client = c; return nil }
}

// WithLocalBucketPolicies keeps bucket policies in the proxy: PutBucketPolicy (validated as S3
// validates it), GetBucketPolicy and DeleteBucketPolicy are answered by the proxy and never
// reach the upstream, and authorization reads them from the proxy. For upstreams that misapply
// bucket policies themselves: moto applies every Deny statement of a bucket policy to every
// request, whatever its conditions, so the reference tenant policy (Deny unless the principal
// tag matches) would lock everyone out. Policies kept this way last as long as the proxy.
func WithLocalBucketPolicies() Option {
	return func(s *settings) error { s.localPolicies = true; return nil }
}

// WithAddr sets Start's listen address (default 127.0.0.1:0).
func WithAddr(addr string) Option {
	return func(s *settings) error { s.addr = addr; return nil }
}

// Proxy is the enforcing proxy, an http.Handler.
type Proxy struct {
	cfg      settings
	upstream *url.URL
	verifier *sigv4.Verifier
	store    *iam.Store // empty: used only to evaluate policies of callers built here
	trail    *cloudtrail.Store
	iamc     *iamsdk.Client
	s3c      *s3sdk.Client
	stsc     *stssdk.Client
	log      *slog.Logger
	now      func() time.Time

	lookup *cloudtrail.Handler

	mu       sync.Mutex
	sessions map[string]*iam.Session
	roles    map[string]roleEntry   // by role name, lower-cased
	buckets  map[string]bucketEntry // by bucket name
	local    map[string]localPolicy // WithLocalBucketPolicies: by bucket name
}

func collect(opts []Option) (settings, error) {
	cfg := settings{adminKey: DefaultAdminKey, adminSecret: DefaultSecret, account: DefaultAccount,
		logger: slog.New(slog.DiscardHandler), clock: time.Now, ttl: DefaultCacheTTL,
		client: &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}, addr: "127.0.0.1:0"}
	cfg.adminARN = "arn:aws:iam::" + cfg.account + ":root"
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// New builds a proxy for upstream (e.g. "http://127.0.0.1:4566") without contacting it.
func New(upstream string, opts ...Option) (*Proxy, error) {
	cfg, err := collect(opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("enforce: upstream %q is not an http(s) URL", upstream)
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	trail, err := cloudtrail.NewStore(cloudtrail.WithClock(cfg.clock), cloudtrail.WithLogger(cfg.logger))
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, upstream: u, store: iam.NewStore(iam.WithClock(cfg.clock)), trail: trail, log: cfg.logger,
		now: cfg.clock, sessions: map[string]*iam.Session{}, roles: map[string]roleEntry{}, buckets: map[string]bucketEntry{},
		local: map[string]localPolicy{}, lookup: cloudtrail.NewHandler(trail)}
	if p.verifier, err = sigv4.NewVerifier(sigv4.CredentialStoreFunc(p.lookupKey), sigv4.WithClock(cfg.clock)); err != nil {
		return nil, err
	}
	awsCfg := adminConfig(upstream, cfg)
	p.iamc = iamsdk.NewFromConfig(awsCfg)
	p.stsc = stssdk.NewFromConfig(awsCfg)
	p.s3c = s3sdk.NewFromConfig(awsCfg, func(o *s3sdk.Options) { o.UsePathStyle = true })
	return p, nil
}

func adminConfig(upstream string, cfg settings) aws.Config {
	return aws.Config{Region: DefaultRegion, BaseEndpoint: aws.String(strings.TrimSuffix(upstream, "/")), HTTPClient: cfg.client,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.adminKey, cfg.adminSecret, ""),
		Retryer:     func() aws.Retryer { return ConnectionRetryer() }}
}

// ConnectionRetryer retries an SDK call whose connection failed — refused, or reset while the
// answer was read ("use of closed network connection", which loaded machines show now and then
// with moto and Go servers alike) — twice, quickly, and nothing else: an error the upstream
// answered is final, so the proxy still fails closed at once when the upstream refuses. The
// proxy reads the upstream with it; tests of AWS-compatible servers use it too.
func ConnectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.NewExponentialJitterBackoff(200 * time.Millisecond)
		o.RateLimiter = ratelimit.None
	})
}

// Trail is the store of the proxy's CloudTrail records.
func (p *Proxy) Trail() *cloudtrail.Store { return p.trail }

// Account is the upstream account the proxy enforces for.
func (p *Proxy) Account() string { return p.cfg.account }

// AdminCredentials are the upstream's admin credentials, which the proxy accepts too.
func (p *Proxy) AdminCredentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: p.cfg.adminKey, SecretAccessKey: p.cfg.adminSecret, Source: "enforce admin"}
}

// lookupKey is the SigV4 credential store: the admin key, then the learned sessions.
func (p *Proxy) lookupKey(_ context.Context, id string) (sigv4.Credential, error) {
	if id == p.cfg.adminKey {
		return sigv4.Credential{SecretAccessKey: p.cfg.adminSecret, Principal: id}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[id]
	if !ok {
		return sigv4.Credential{}, sigv4.ErrUnknownAccessKey
	}
	return sigv4.Credential{SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Expires: s.Expiration, Principal: id}, nil
}

// learn remembers a session the upstream issued, and forgets sessions expired for an hour.
func (p *Proxy) learn(s iam.Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for id, old := range p.sessions {
		if now.Sub(old.Expiration) > time.Hour {
			delete(p.sessions, id)
		}
	}
	p.sessions[s.AccessKeyID] = &s
}

// Server is a running proxy.
type Server struct {
	*Proxy
	srv *serve.Server
}

// closeGrace is how long Close lets requests in flight finish: each may wait on the upstream.
const closeGrace = 5 * time.Second

// Start builds a proxy for upstream and serves it until ctx ends or Close is called. Without
// WithAccount it first asks the upstream which account the admin key belongs to.
func Start(ctx context.Context, upstream string, opts ...Option) (*Server, error) {
	cfg, err := collect(opts)
	if err != nil {
		return nil, err
	}
	if !cfg.accountSet {
		out, err := stssdk.NewFromConfig(adminConfig(upstream, cfg)).GetCallerIdentity(ctx, &stssdk.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("enforce: ask %s for the admin key's account: %w", upstream, err)
		}
		opts = append(opts, WithAccount(aws.ToString(out.Account), aws.ToString(out.Arn)))
	}
	// The proxy uses the client that asked, so that Close releases its connection too.
	p, err := New(upstream, append(opts, WithHTTPClient(cfg.client))...)
	if err != nil {
		return nil, err
	}
	ln, err := serve.Listen("enforce", cfg.addr)
	if err != nil {
		return nil, err
	}
	release := func() error { p.cfg.client.CloseIdleConnections(); return nil }
	return &Server{Proxy: p, srv: serve.Start(ctx, ln, p, serve.Config{Grace: closeGrace, OnClose: release})}, nil
}

// Endpoint is the proxy's base URL (AWS_ENDPOINT_URL).
func (s *Server) Endpoint() string { return s.srv.URL() }

// Close stops the listener, lets requests in flight finish for up to five seconds, then closes
// every connection, waits for what the server started and closes the idle connections to the
// upstream. It returns the error that stopped serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
