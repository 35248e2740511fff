// Package awsemu is the embedded AWS emulator: one HTTP endpoint (like LocalStack's :4566) for
// STS, IAM, S3 and CloudTrail that verifies SigV4 for real, resolves the caller to its IAM
// policies, enforces them through iampolicy, and records every request that reaches a service
// as a CloudTrail event.
//
// Conventions follow LocalStack's so scripts keep working: region us-east-1; the default
// account (111122223333 unless WithDefaultAccount) has the admin access key "test" with secret
// "test"; an access key ID of 12 digits is the admin key of that account, which it creates on
// first use, and any secret signs with it, as on LocalStack.
package awsemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sts"
	"github.com/mcpsso/mcpsso/internal/serve"
)

// Emulator-wide defaults.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "111122223333"
	DefaultAddr    = "127.0.0.1:4566"
	AdminSecret    = "test"
)

// Option configures the emulator.
type Option func(*settings) error

type settings struct {
	addr string
	// defaultAccount holds the "test" key; DefaultAccount unless WithDefaultAccount.
	defaultAccount string
	accounts       []string
	logger         *slog.Logger
	sink           io.Writer
	clock          func() time.Time
	s3Opts         []s3.Option
	dataDir        string
}

// WithAddr sets the listen address (default 127.0.0.1:0 in-process; the CLI uses :4566).
func WithAddr(addr string) Option {
	return func(s *settings) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("awsemu: address %q: %v (want host:port)", addr, err)
		}
		s.addr = addr
		return nil
	}
}

// EnvDefaultAccount names the environment variable the CLI reads for the default account
// (LocalStack's counterpart is 000000000000, fixed).
const EnvDefaultAccount = "MCPSSO_DEFAULT_ACCOUNT"

// WithDefaultAccount sets the account whose admin holds the "test" access key (default
// DefaultAccount, 111122223333).
func WithDefaultAccount(id string) Option {
	return func(s *settings) error {
		if !accountIDRe.MatchString(id) {
			return fmt.Errorf("awsemu: default account %q: an account ID is 12 digits", id)
		}
		s.defaultAccount = id
		return nil
	}
}

var accountIDRe = regexp.MustCompile(`^\d{12}$`)

// WithAccounts declares accounts besides the default one.
func WithAccounts(ids ...string) Option {
	return func(s *settings) error {
		s.accounts = append(s.accounts, ids...)
		return nil
	}
}

// WithLogger sets the structured logger for decisions and errors (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("awsemu: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithTrailSink writes every CloudTrail record as one JSON line to w.
func WithTrailSink(w io.Writer) Option {
	return func(s *settings) error { s.sink = w; return nil }
}

// WithClock sets the clock for sessions, signatures and records (tests).
func WithClock(now func() time.Time) Option {
	return func(s *settings) error { s.clock = now; return nil }
}

// WithDataDir keeps S3 objects, bucket owners and bucket policies, and the STS sessions issued
// (dir/sessions.jsonl, 0600: it holds their secrets), in dir across restarts, so a restart on the
// same directory is invisible to clients holding temporary credentials. IAM entities are not
// kept: seeding (idempotent) makes them again.
func WithDataDir(dir string) Option {
	return func(s *settings) error {
		s.dataDir = dir
		s.s3Opts = append(s.s3Opts, s3.WithDataDir(dir))
		return nil
	}
}

// Emulator is the AWS emulator's state and HTTP handler, usable without a listener
// (httptest, or mounted in another server).
type Emulator struct {
	store    *iam.Store
	trail    *cloudtrail.Store
	lookup   *cloudtrail.Handler
	verifier *sigv4.Verifier
	sts      *sts.Handler
	iam      *iam.Handler
	s3       *s3.Handler
	log      *slog.Logger
	now      func() time.Time
	admins   map[string]aws.Credentials
	// defaultAccount holds the "test" access key.
	defaultAccount string
}

// New builds an emulator with its accounts and admin keys, without listening.
func New(opts ...Option) (*Emulator, error) {
	cfg := settings{addr: "127.0.0.1:0", logger: slog.New(slog.DiscardHandler), clock: time.Now, defaultAccount: DefaultAccount}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	storeOpts := []iam.StoreOption{iam.WithClock(cfg.clock), iam.WithAccountKeys(AdminSecret)}
	if cfg.dataDir != "" {
		if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("awsemu: data directory: %w", err)
		}
		storeOpts = append(storeOpts, iam.WithSessionFile(filepath.Join(cfg.dataDir, "sessions.jsonl")))
	}
	store := iam.NewStore(storeOpts...)
	if err := store.LoadError(); err != nil {
		return nil, fmt.Errorf("awsemu: %w", err)
	}
	trailOpts := []cloudtrail.StoreOption{cloudtrail.WithClock(cfg.clock), cloudtrail.WithLogger(cfg.logger)}
	if cfg.sink != nil {
		trailOpts = append(trailOpts, cloudtrail.WithSink(cfg.sink))
	}
	trail, err := cloudtrail.NewStore(trailOpts...)
	if err != nil {
		return nil, err
	}
	verifier, err := sigv4.NewVerifier(store, sigv4.WithClock(cfg.clock))
	if err != nil {
		return nil, err
	}
	s3h, err := s3.New(store, append([]s3.Option{s3.WithLogger(cfg.logger), s3.WithClock(cfg.clock)}, cfg.s3Opts...)...)
	if err != nil {
		return nil, err
	}
	e := &Emulator{store: store, s3: s3h, trail: trail, lookup: cloudtrail.NewHandler(trail), verifier: verifier,
		sts: sts.NewHandler(store, cfg.logger), iam: iam.NewHandler(store).WithLogger(cfg.logger), log: cfg.logger, now: cfg.clock,
		admins: map[string]aws.Credentials{}, defaultAccount: cfg.defaultAccount}
	for _, id := range append([]string{cfg.defaultAccount}, cfg.accounts...) {
		if err := e.AddAccount(id); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// AddAccount declares an account with its admin keys "<id>"/"test" (and "test"/"test" for the
// default account).
func (e *Emulator) AddAccount(id string) error {
	if _, err := e.store.AddAccount(id); err != nil {
		return fmt.Errorf("awsemu: account %s: %w", id, err)
	}
	keys := []string{id}
	if id == e.defaultAccount {
		keys = append(keys, "test")
	}
	for _, k := range keys {
		if _, err := e.store.AddAccessKey(id, "admin", k, AdminSecret); err != nil {
			return fmt.Errorf("awsemu: admin key %s of account %s: %w", k, id, err)
		}
	}
	e.admins[id] = aws.Credentials{AccessKeyID: id, SecretAccessKey: AdminSecret, Source: "mcpsso emulator admin"}
	return nil
}

// Store is the identity store (for seeding without going through the API).
func (e *Emulator) Store() *iam.Store { return e.store }

// Trail is the CloudTrail record store.
func (e *Emulator) Trail() *cloudtrail.Store { return e.trail }

// DefaultAccount is the account whose admin holds the "test" access key.
func (e *Emulator) DefaultAccount() string { return e.defaultAccount }

// AdminCredentials returns the admin credentials of an account: a declared one, or one that an
// access key of its 12-digit ID created.
func (e *Emulator) AdminCredentials(account string) (aws.Credentials, error) {
	c, ok := e.admins[account]
	if !ok && e.store.HasAccount(account) {
		return aws.Credentials{AccessKeyID: account, SecretAccessKey: AdminSecret, Source: "mcpsso emulator admin"}, nil
	}
	if !ok {
		return aws.Credentials{}, fmt.Errorf("awsemu: account %s is not declared (declared: %v)", account, e.store.Accounts())
	}
	return c, nil
}

// Server is a running emulator.
type Server struct {
	*Emulator
	srv *serve.Server
}

// closeGrace is how long Close lets requests in flight finish: an S3 transfer may take a while.
const closeGrace = 5 * time.Second

// Start builds an emulator and serves it until ctx ends or Close is called.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := settings{addr: "127.0.0.1:0"}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	e, err := New(opts...)
	if err != nil {
		return nil, err
	}
	ln, err := serve.Listen("awsemu", cfg.addr)
	if err != nil {
		return nil, err
	}
	return &Server{Emulator: e, srv: serve.Start(ctx, ln, e, serve.Config{Grace: closeGrace})}, nil
}

// Endpoint is the base URL for every service (AWS_ENDPOINT_URL).
func (s *Server) Endpoint() string { return s.srv.URL() }

// Region is the emulator's region.
func (s *Server) Region() string { return DefaultRegion }

// Close stops the listener, lets requests in flight finish for up to five seconds, then closes
// every connection and waits for what the server started. It returns the error that stopped
// serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
