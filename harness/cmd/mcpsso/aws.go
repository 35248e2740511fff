package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
)

func newAWSCommand() *cobra.Command {
	cmd := groupCommand("aws", "Run or measure the AWS emulator (STS, IAM, S3, CloudTrail)",
		`The AWS emulator serves STS, IAM, S3 and CloudTrail on one endpoint, verifies SigV4 for real and
enforces IAM policy the way AWS documents it: trust policies (sts:AssumeRole, sts:TagSession and
sts:SetSourceIdentity each on its own), conditions, policy variables, session policies,
permissions boundaries and bucket policies. Every call is a CloudTrail record.`)
	cmd.Example = `  mcpsso aws serve
  mcpsso aws bench --vs moto`
	cmd.AddCommand(newAWSServeCommand(), newAWSBenchCommand(), newAWSEnforceCommand())
	return cmd
}

type awsServeFlags struct {
	addr     string
	config   string
	profile  string
	data     string
	reseed   bool
	accounts []string
	// defaultAccount holds the "test" key (--default-account, or $MCPSSO_DEFAULT_ACCOUNT).
	defaultAccount string
	trail          string
	logLevel       string
	// cpuProfile: write a CPU profile of the whole run here (go tool pprof reads it).
	cpuProfile string
	// The ECS container-credentials endpoint for a task role, as the ECS agent serves it.
	taskRole, taskRoleAddr, taskRolePath, taskRoleToken string
}

func newAWSServeCommand() *cobra.Command {
	var f awsServeFlags
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--config F|default [--profile P]] [--account ID]... [--data DIR] [--trail FILE]",
		Short: "Serve the AWS emulator until interrupted",
		Long: `Serve STS, IAM, S3 and CloudTrail on one endpoint (like LocalStack's :4566) until Ctrl-C.
S3 answers path-style and virtual-hosted-style requests ("<bucket>.localhost:4566"); with
--data its objects, bucket owners and policies survive restarts.

With --config the emulator is seeded from a fixture through its own IAM and S3 APIs: the
accounts, the roles with their trust and inline policies, the buckets with their policies and
objects. --profile picks the policies: "reference" (corrected) or "seed" (the tutorial's
documents verbatim, which fail the way they would on AWS). See "mcpsso fixture print".
Seeding is idempotent, so a seeded emulator restarts on its --data directory: what exists and
equals the fixture is kept; what differs (an object or policy someone changed) is listed and
the start fails, unless --reseed replaces it with the fixture's.

Conventions, as LocalStack's: region us-east-1; the default account's admin has the access key
"test" with secret "test" (the default account is 111122223333, or --default-account, or
$MCPSSO_DEFAULT_ACCOUNT; LocalStack's is 000000000000, fixed). An access key ID of 12 digits is
the admin key of that account: an undeclared account is created on first use, and any secret
signs with it, as on LocalStack (the signature's format, date and scope are still checked).
Point any SDK or the AWS CLI at it with AWS_ENDPOINT_URL (which the AWS CLI reads only from
v2.13 on) or --endpoint-url.

When it accepts connections it prints "ready <endpoint>" on stdout, then the credentials.
Decisions are logged as JSON lines on stderr (keys: request_id, service, action, caller,
decision, reason, ...), written in batches: a line appears within 5 ms. CloudTrail records can also be written as JSON lines with --trail.`,
		Example: `  mcpsso aws serve &
  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  aws sts get-caller-identity
  aws iam create-role --role-name demo --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}'

  aws s3 mb s3://demo && echo hi | aws s3 cp - s3://demo/hi.txt

  # The tutorial's deployment (task role, target roles, tenant buckets) with its own policies
  mcpsso aws serve --config default --profile seed

  # Another account, undeclared: its ID is its access key, with any secret
  AWS_ACCESS_KEY_ID=444455556666 AWS_SECRET_ACCESS_KEY=anything aws sts get-caller-identity

  # LocalStack's default account for the "test" key
  mcpsso aws serve --default-account 000000000000

  # Two accounts, S3 data kept in ./awsdata, records to a file
  mcpsso aws serve --addr 127.0.0.1:4566 --account 444455556666 --data ./awsdata --trail trail.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAWSServe(cmd, f) },
	}
	cmd.Flags().StringVar(&f.addr, "addr", awsemu.DefaultAddr, "listen address HOST:PORT")
	cmd.Flags().StringArrayVar(&f.accounts, "account", nil, "declare another 12-digit account (repeatable)")
	defaultAccount := awsemu.DefaultAccount
	if env := os.Getenv(awsemu.EnvDefaultAccount); env != "" {
		defaultAccount = env
	}
	cmd.Flags().StringVar(&f.defaultAccount, "default-account", defaultAccount, "the account whose admin holds the access key \"test\" (default 111122223333, or $"+awsemu.EnvDefaultAccount+")")
	cmd.Flags().StringVar(&f.trail, "trail", "", "also write CloudTrail records as JSON lines to this file")
	cmd.Flags().StringVar(&f.config, "config", "", `seed from this fixture (YAML), or "default" for the embedded one`)
	cmd.Flags().StringVar(&f.profile, "profile", "reference", "which policies the fixture's references load: reference (corrected) or seed (the tutorial's, verbatim)")
	cmd.Flags().StringVar(&f.data, "data", "", "keep S3 objects, bucket owners, bucket policies and the STS sessions issued in this directory across restarts")
	cmd.Flags().BoolVar(&f.reseed, "reseed", false, "with --config: replace what exists but differs from the fixture (default: list it and fail)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "decision log level: debug, info, warn, error")
	cmd.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file when it stops (for go tool pprof)")
	cmd.Flags().StringVar(&f.taskRole, "task-role", "", "also serve this role's credentials (a role ARN, or a role name in the default account) on an ECS container-credentials endpoint; prints \"task-role <URL> AWS_CONTAINER_AUTHORIZATION_TOKEN=<token>\" before the ready line")
	cmd.Flags().StringVar(&f.taskRoleAddr, "task-role-addr", "127.0.0.1:0", "listen address of the --task-role endpoint")
	cmd.Flags().StringVar(&f.taskRolePath, "task-role-path", "", "URL path of the --task-role endpoint (default /v2/credentials/<random id>)")
	cmd.Flags().StringVar(&f.taskRoleToken, "task-role-token", "", "the AWS_CONTAINER_AUTHORIZATION_TOKEN the --task-role endpoint requires (default: random, printed)")
	return cmd
}

func runAWSServe(cmd *cobra.Command, f awsServeFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	if f.reseed && f.config == "" {
		return errors.New("--reseed: only with --config (it replaces what differs from that fixture)")
	}
	if f.cpuProfile != "" {
		file, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(file); err != nil {
			_ = file.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = file.Close()
		}()
	}
	var fx *fixture.Fixture
	if f.config != "" {
		var err error
		if fx, err = loadFixture(f.config); err != nil {
			return err
		}
		if err := checkProfile(f.profile); err != nil {
			return err
		}
		for _, a := range fx.AccountIDs() {
			if a != f.defaultAccount && !slices.Contains(f.accounts, a) {
				f.accounts = append(f.accounts, a)
			}
		}
	}
	// The decision log's lines are written to stderr in batches (within logFlushEvery); what
	// is waiting is written before the ready line and once the server has stopped.
	logOut := newBatchedWriter(cmd.ErrOrStderr(), logFlushEvery, logBatchBytes)
	defer logOut.Close()
	opts := []awsemu.Option{
		awsemu.WithAddr(f.addr),
		awsemu.WithDefaultAccount(f.defaultAccount),
		awsemu.WithAccounts(f.accounts...),
		awsemu.WithLogger(slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))),
	}
	if f.data != "" {
		opts = append(opts, awsemu.WithDataDir(f.data))
	}
	if f.trail != "" {
		file, err := os.OpenFile(f.trail, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--trail: %w", err)
		}
		defer file.Close()
		opts = append(opts, awsemu.WithTrailSink(file))
	}
	ctx := cmd.Context()
	s, err := awsemu.Start(ctx, opts...)
	if err != nil {
		if strings.Contains(err.Error(), "listen") {
			return failure{err}
		}
		return err
	}
	defer s.Close()
	if fx != nil {
		var seedOpts []stack.SeedOption
		if f.reseed {
			seedOpts = append(seedOpts, stack.ReplaceDifferences())
		}
		if err := stack.SeedAWS(ctx, fx, f.profile, func(account string) (aws.Config, error) {
			c, err := s.AdminCredentials(account)
			return aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()), Credentials: credentials.StaticCredentialsProvider{Value: c}}, err
		}, seedOpts...); err != nil {
			return failure{fmt.Errorf("seeding from %s: %w", f.config, err)}
		}
	}
	var task *ecscreds.Server
	if f.taskRole != "" {
		arn := f.taskRole
		if !strings.HasPrefix(arn, "arn:") {
			arn = "arn:aws:iam::" + f.defaultAccount + ":role/" + arn
		}
		opts := []ecscreds.Option{ecscreds.WithAddr(f.taskRoleAddr)}
		if f.taskRolePath != "" {
			opts = append(opts, ecscreds.WithPath(f.taskRolePath))
		}
		if f.taskRoleToken != "" {
			opts = append(opts, ecscreds.WithAuthorizationToken(f.taskRoleToken))
		}
		var err error
		if task, err = s.StartTaskRoleEndpoint(ctx, arn, opts...); err != nil {
			return failure{fmt.Errorf("--task-role %s: %w", f.taskRole, err)}
		}
		defer task.Close()
	}
	if task != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "task-role %s %s=%s\n", task.URL(), ecscreds.EnvAuthorizationToken, task.AuthorizationToken())
	}
	_ = logOut.Flush() // the seeding's lines come before the ready line
	printAWSReady(cmd.OutOrStdout(), s, append([]string{f.defaultAccount}, f.accounts...))
	<-ctx.Done()
	if task != nil {
		return shutDown(task, s)
	}
	return shutDown(s)
}

func printAWSReady(w io.Writer, s *awsemu.Server, accounts []string) {
	fmt.Fprintf(w, "ready %s\n", s.Endpoint())
	fmt.Fprintf(w, "region %s\n", s.Region())
	for _, a := range accounts {
		c, err := s.AdminCredentials(a)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "account %s admin: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", a, c.AccessKeyID, c.SecretAccessKey)
	}
	fmt.Fprintf(w, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n", s.Endpoint(), s.Region())
}
