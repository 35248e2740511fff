package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
)

// defaultEnforceAddr is next to LocalStack's 4566, which the upstream usually holds.
const defaultEnforceAddr = "127.0.0.1:4567"

type awsEnforceFlags struct {
	addr, upstream          string
	adminKey, adminSecret   string
	account                 string
	config, profile         string
	localBucketPolicies     bool
	trail, logLevel         string
	taskRole, taskRoleAddr  string
	taskRolePath, taskToken string
}

func newAWSEnforceCommand() *cobra.Command {
	var f awsEnforceFlags
	cmd := &cobra.Command{
		Use:   "enforce --upstream URL [--addr HOST:PORT] [--config F|default [--profile P]] [--local-bucket-policies] [--task-role NAME]",
		Short: "Enforce IAM in front of LocalStack, moto_server or any AWS-compatible endpoint",
		Long: `Serve an enforcing proxy in front of an AWS-compatible endpoint that enforces nothing itself
(free LocalStack, moto_server) until Ctrl-C. The proxy verifies SigV4, learns the sessions the
upstream issues through it, reads roles, their policies and bucket policies from the upstream, and
denies what AWS would deny: trust policies (sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity),
conditions, ${aws:PrincipalTag/...} variables, bucket policies. Allowed requests are relayed as
they came; denials never reach the upstream. Every decision is a CloudTrail record, answered by
cloudtrail:LookupEvents on the proxy's endpoint.

Callers the proxy accepts: the upstream's admin key (--admin-key/--admin-secret, allowed
everything), sessions issued through the proxy, and --task-role sessions. Any other key is
InvalidClientTokenId.

One account: the proxy enforces for the account the admin key belongs to at the upstream (asked
with GetCallerIdentity unless --account says). LocalStack maps a 12-digit access key to that
account ("--admin-key 111122223333"), moto_server uses MOTO_ACCOUNT_ID. With --config the
fixture's roles and buckets of that account are created through the proxy; those of other
accounts are not (each is logged as a warning naming its account), and a fixture that does not
declare the upstream's account is refused.

moto_server applies every Deny of a bucket policy to every request, conditions ignored, so the
reference tenant bucket policy would lock everyone out: use --local-bucket-policies with moto
(the proxy keeps bucket policies and never sends them upstream).

With --task-role it also serves that role's credentials on an ECS container-credentials
endpoint, as the ECS agent does (the role's trust policy must allow ecs-tasks.amazonaws.com).

When it accepts connections it prints "ready <endpoint>" on stdout, then the credentials.
Decisions are logged as JSON lines on stderr; CloudTrail records can also be written as JSON
lines with --trail.`,
		Example: `  # moto_server with the default fixture's account, the tutorial's deployment seeded through the proxy
  MOTO_ACCOUNT_ID=111122223333 moto_server -p 5000 &
  mcpsso aws enforce --upstream http://127.0.0.1:5000 --config default --local-bucket-policies \
    --task-role ecsTaskRole --task-role-addr 127.0.0.1:8090
  export AWS_ENDPOINT_URL=http://127.0.0.1:4567 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  aws sts get-caller-identity

  # Free LocalStack on :4566; the 12-digit admin key selects the account
  mcpsso aws enforce --upstream http://127.0.0.1:4566 --admin-key 111122223333 --config default --profile seed

  # Only enforce, seed nothing, and keep the records
  mcpsso aws enforce --upstream http://127.0.0.1:4566 --addr 0.0.0.0:4567 --trail trail.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAWSEnforce(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.upstream, "upstream", "", "the AWS-compatible endpoint to enforce for, an http(s) URL (required)")
	fl.StringVar(&f.addr, "addr", defaultEnforceAddr, "listen address HOST:PORT")
	fl.StringVar(&f.adminKey, "admin-key", enforce.DefaultAdminKey, "the upstream's admin access key; the proxy allows its holder everything")
	fl.StringVar(&f.adminSecret, "admin-secret", enforce.DefaultSecret, "the admin key's secret")
	fl.StringVar(&f.account, "account", "", "the 12-digit account the admin key belongs to (default: ask the upstream)")
	fl.StringVar(&f.config, "config", "", `seed this fixture (YAML), or "default" for the embedded one, through the proxy`)
	fl.StringVar(&f.profile, "profile", "reference", "with --config, which policies the fixture's references load: reference (corrected) or seed (the tutorial's, verbatim)")
	fl.BoolVar(&f.localBucketPolicies, "local-bucket-policies", false, "keep bucket policies in the proxy, never upstream (needed with moto_server)")
	fl.StringVar(&f.trail, "trail", "", "also write CloudTrail records as JSON lines to this file")
	fl.StringVar(&f.logLevel, "log-level", "info", "decision log level: debug, info, warn, error")
	fl.StringVar(&f.taskRole, "task-role", "", "also serve this role's credentials (a role ARN, or a role name in the proxy's account) on an ECS container-credentials endpoint; prints \"task-role <URL> AWS_CONTAINER_AUTHORIZATION_TOKEN=<token>\" before the ready line")
	fl.StringVar(&f.taskRoleAddr, "task-role-addr", "127.0.0.1:0", "listen address of the --task-role endpoint")
	fl.StringVar(&f.taskRolePath, "task-role-path", "", "URL path of the --task-role endpoint (default /v2/credentials/<random id>)")
	fl.StringVar(&f.taskToken, "task-role-token", "", "the AWS_CONTAINER_AUTHORIZATION_TOKEN the --task-role endpoint requires (default: random, printed)")
	return cmd
}

// check rejects bad flags before anything starts, naming the flag and the rule.
func (f awsEnforceFlags) check(cmd *cobra.Command) error {
	if f.upstream == "" {
		return errors.New("--upstream: required: the URL of LocalStack, moto_server or another AWS-compatible endpoint")
	}
	if u, err := url.Parse(f.upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--upstream %q: must be an http(s) URL with a host, e.g. http://127.0.0.1:4566", f.upstream)
	}
	for name, addr := range map[string]string{"--addr": f.addr, "--task-role-addr": f.taskRoleAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: must be HOST:PORT (%v)", name, addr, err)
		}
	}
	if f.adminKey == "" || f.adminSecret == "" {
		return errors.New("--admin-key and --admin-secret: must not be empty")
	}
	if f.account != "" && (len(f.account) != 12 || strings.Trim(f.account, "0123456789") != "") {
		return fmt.Errorf("--account %q: must be 12 digits", f.account)
	}
	if f.config == "" && cmd.Flags().Changed("profile") {
		return errors.New("--profile: only with --config (it picks the policies the fixture is seeded with)")
	}
	if f.config != "" {
		if err := checkProfile(f.profile); err != nil {
			return err
		}
	}
	if f.taskRole == "" {
		for _, name := range []string{"task-role-addr", "task-role-path", "task-role-token"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s: only with --task-role", name)
			}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	return nil
}

func runAWSEnforce(cmd *cobra.Command, f awsEnforceFlags) error {
	if err := f.check(cmd); err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.logLevel))
	logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	var fx *fixture.Fixture
	if f.config != "" {
		var err error
		if fx, err = loadFixture(f.config); err != nil {
			return err
		}
	}
	opts := []enforce.Option{enforce.WithAddr(f.addr), enforce.WithAdmin(f.adminKey, f.adminSecret), enforce.WithLogger(logger)}
	if f.account != "" {
		opts = append(opts, enforce.WithAccount(f.account, ""))
	}
	if f.localBucketPolicies {
		opts = append(opts, enforce.WithLocalBucketPolicies())
	}
	var trail *ndjsonTrail
	if f.trail != "" {
		file, err := os.OpenFile(f.trail, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--trail: %w", err)
		}
		defer file.Close()
		trail = &ndjsonTrail{w: file, log: logger}
	}

	ctx := cmd.Context()
	s, err := enforce.Start(ctx, f.upstream, opts...)
	if err != nil {
		return failure{fmt.Errorf("--upstream %s: %w", f.upstream, err)}
	}
	defer s.Close()
	if trail != nil {
		defer s.Trail().Subscribe(trail.write)()
	}
	if fx != nil {
		if err := seedThroughProxy(ctx, s, fx, f.profile, logger); err != nil {
			return fmt.Errorf("--config %s: %w", f.config, err)
		}
	}
	var task *ecscreds.Server
	if f.taskRole != "" {
		if task, err = startProxyTaskRole(ctx, s, f); err != nil {
			return failure{fmt.Errorf("--task-role %s: %w", f.taskRole, err)}
		}
		defer task.Close()
		fmt.Fprintf(cmd.OutOrStdout(), "task-role %s %s=%s\n", task.URL(), ecscreds.EnvAuthorizationToken, task.AuthorizationToken())
	}
	printEnforceReady(cmd.OutOrStdout(), s, f.upstream)
	<-ctx.Done()
	if task != nil {
		return shutDown(task, s)
	}
	return shutDown(s)
}

// seedThroughProxy creates the fixture's roles and buckets of the proxy's account through the
// proxy with its admin key. The proxy serves one account, so other accounts' resources are
// skipped, each with a warning naming its account; a fixture without that account is refused,
// since every ARN in its policies would name an account the upstream is not.
func seedThroughProxy(ctx context.Context, s *enforce.Server, fx *fixture.Fixture, profile string, log *slog.Logger) error {
	acct := s.Account()
	if !fixtureDeclares(fx, acct) {
		return fmt.Errorf("the upstream's account is %s, which the fixture does not declare (accounts: %s): the enforcing proxy serves only "+
			"the account its admin key belongs to; use --admin-key <12-digit id> with LocalStack or MOTO_ACCOUNT_ID with moto_server",
			acct, strings.Join(fx.AccountIDs(), ", "))
	}
	own := *fx
	own.Roles, own.Buckets = nil, nil
	for _, r := range fx.Roles {
		if r.Account == acct {
			own.Roles = append(own.Roles, r)
			continue
		}
		log.Warn("fixture role not seeded", "role", r.Name, "account", r.Account, "proxy_account", acct,
			"reason", "the enforcing proxy serves one account, the upstream's")
	}
	for _, b := range fx.Buckets {
		if b.Account == acct {
			own.Buckets = append(own.Buckets, b)
			continue
		}
		log.Warn("fixture bucket not seeded", "bucket", b.Name, "account", b.Account, "proxy_account", acct,
			"reason", "the enforcing proxy serves one account, the upstream's")
	}
	admin := s.AdminCredentials()
	err := stack.SeedAWS(ctx, &own, profile, func(account string) (aws.Config, error) {
		if account != acct {
			return aws.Config{}, fmt.Errorf("account %s: the enforcing proxy serves only %s", account, acct)
		}
		return aws.Config{Region: enforce.DefaultRegion, BaseEndpoint: aws.String(s.Endpoint()), Retryer: func() aws.Retryer { return enforce.ConnectionRetryer() },
			Credentials: credentials.StaticCredentialsProvider{Value: admin}}, nil
	})
	if err != nil {
		return failure{fmt.Errorf("seeding through the proxy: %w", err)}
	}
	return nil
}

func fixtureDeclares(fx *fixture.Fixture, account string) bool {
	for _, a := range fx.AccountIDs() {
		if a == account {
			return true
		}
	}
	return false
}

// startProxyTaskRole serves the role's credentials as the ECS agent would. It issues one set
// first, so that a missing role or a trust policy without ecs-tasks.amazonaws.com stops the
// command instead of failing the first caller.
func startProxyTaskRole(ctx context.Context, s *enforce.Server, f awsEnforceFlags) (*ecscreds.Server, error) {
	arn := f.taskRole
	if !strings.HasPrefix(arn, "arn:") {
		arn = "arn:aws:iam::" + s.Account() + ":role/" + arn
	}
	if _, err := s.TaskRole(ctx, arn); err != nil {
		return nil, err
	}
	opts := []ecscreds.Option{ecscreds.WithAddr(f.taskRoleAddr)}
	if f.taskRolePath != "" {
		opts = append(opts, ecscreds.WithPath(f.taskRolePath))
	}
	if f.taskToken != "" {
		opts = append(opts, ecscreds.WithAuthorizationToken(f.taskToken))
	}
	return ecscreds.Start(ctx, ecscreds.SourceFunc(func(ctx context.Context) (ecscreds.Credentials, error) {
		c, err := s.TaskRole(ctx, arn)
		if err != nil {
			return ecscreds.Credentials{}, err
		}
		return ecscreds.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			Expiration: c.Expires, RoleArn: arn}, nil
	}), opts...)
}

// ndjsonTrail writes each record as one JSON line; subscribers run on the recording
// goroutines, so writes are serialised here.
type ndjsonTrail struct {
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
}

func (t *ndjsonTrail) write(e cloudtrail.Event) {
	b, err := json.Marshal(e)
	if err == nil {
		t.mu.Lock()
		_, err = t.w.Write(append(b, '\n'))
		t.mu.Unlock()
	}
	if err != nil {
		// A record that cannot be written never fails the call it describes, as in CloudTrail.
		t.log.Error("trail write failed", "event_id", e.EventID, "reason", err.Error())
	}
}

func printEnforceReady(w io.Writer, s *enforce.Server, upstream string) {
	c := s.AdminCredentials()
	fmt.Fprintf(w, "ready %s\n", s.Endpoint())
	fmt.Fprintf(w, "region %s\n", enforce.DefaultRegion)
	fmt.Fprintf(w, "upstream %s\n", upstream)
	fmt.Fprintf(w, "account %s admin: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", s.Account(), c.AccessKeyID, c.SecretAccessKey)
	fmt.Fprintf(w, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
		s.Endpoint(), enforce.DefaultRegion, c.AccessKeyID, c.SecretAccessKey)
}
