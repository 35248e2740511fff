package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

// awsSide is what the rest of the stack needs of its AWS backend.
type awsSide struct {
	endpoint, region string
	admin            func(account string) (aws.Credentials, error)
	// taskRole issues the task role's credentials as ECS does.
	taskRole func(roleARN string) ecscreds.Source
	trail    *cloudtrail.Store // nil when nothing records
}

// startAWS starts the backend cfg.backend names and fills s.awsSide.
func (s *Stack) startAWS(life context.Context, cfg settings, log *slog.Logger) error {
	f := s.fixture
	b := cfg.backend
	if b == (AWSBackend{}) {
		// The admin key "test" belongs to the deployment account, as it must at an upstream.
		emu, err := awsemu.Start(life, awsemu.WithAddr(addr(cfg.ports.AWS)), awsemu.WithLogger(log.With("component", "aws")),
			awsemu.WithDefaultAccount(f.DeploymentAccount()), awsemu.WithAccounts(otherAccounts(f)...))
		if err != nil {
			return err
		}
		s.aws = emu
		s.closers = append(s.closers, emu.Close)
		s.awsSide = awsSide{endpoint: emu.Endpoint(), region: emu.Region(), admin: emu.AdminCredentials, taskRole: emu.TaskRole, trail: emu.Trail()}
		return nil
	}

	acct := f.DeploymentAccount()
	upstream := b.Upstream
	if b.Moto {
		m, err := moto.Start(life, moto.WithAccount(acct))
		if err != nil {
			return err
		}
		s.closers = append(s.closers, m.Close)
		upstream = m.Endpoint()
	}
	adminCreds := aws.Credentials{AccessKeyID: enforce.DefaultAdminKey, SecretAccessKey: enforce.DefaultSecret, Source: "upstream admin"}
	admin := func(account string) (aws.Credentials, error) {
		if account != acct {
			return aws.Credentials{}, fmt.Errorf("stack: the AWS backend %s serves only the deployment account %s, not %s", b.Name(), acct, account)
		}
		return adminCreds, nil
	}
	if b.Bypass {
		got, err := accountOf(life, upstream, adminCreds)
		if err != nil {
			return err
		}
		if got != acct {
			return fmt.Errorf("stack: the upstream %s acts in account %s, the fixture's deployment account is %s", upstream, got, acct)
		}
		s.awsSide = awsSide{endpoint: upstream, region: awsemu.DefaultRegion, admin: admin,
			taskRole: func(roleARN string) ecscreds.Source { return unenforcedTaskRole(upstream, adminCreds, roleARN) }}
		log.Warn("the enforcing proxy is bypassed: the upstream decides alone and enforces no policy", "component", "stack", "upstream", upstream)
		return nil
	}
	// Bucket policies stay in the proxy: every one is put through it by the seeding, and moto
	// would apply their Deny statements to every request (see enforce.WithLocalBucketPolicies).
	p, err := enforce.Start(life, upstream, enforce.WithAddr(addr(cfg.ports.AWS)), enforce.WithLocalBucketPolicies(),
		enforce.WithLogger(log.With("component", "aws-enforce")))
	if err != nil {
		return err
	}
	s.closers = append(s.closers, p.Close)
	if p.Account() != acct {
		return fmt.Errorf("stack: the upstream %s acts in account %s, the fixture's deployment account is %s", upstream, p.Account(), acct)
	}
	s.awsSide = awsSide{endpoint: p.Endpoint(), region: enforce.DefaultRegion, admin: admin, trail: p.Trail(),
		taskRole: func(roleARN string) ecscreds.Source {
			return ecscreds.SourceFunc(func(ctx context.Context) (ecscreds.Credentials, error) {
				c, err := p.TaskRole(ctx, roleARN)
				if err != nil {
					return ecscreds.Credentials{}, err
				}
				return ecscreds.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
					Expiration: c.Expires, RoleArn: roleARN}, nil
			})
		}}
	return nil
}

// accountOf asks an upstream which account its admin key acts in.
func accountOf(ctx context.Context, endpoint string, c aws.Credentials) (string, error) {
	out, err := sts.NewFromConfig(upstreamConfig(endpoint, c)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("stack: ask %s for its account: %w", endpoint, err)
	}
	return aws.ToString(out.Account), nil
}

// unenforcedTaskRole is the task role as an upstream that enforces nothing issues it: the admin
// assumes the role and the upstream checks no trust policy.
func unenforcedTaskRole(endpoint string, admin aws.Credentials, roleARN string) ecscreds.Source {
	return ecscreds.SourceFunc(func(ctx context.Context) (ecscreds.Credentials, error) {
		var id [8]byte
		_, _ = rand.Read(id[:])
		out, err := sts.NewFromConfig(upstreamConfig(endpoint, admin)).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ecs-task-" + hex.EncodeToString(id[:]))})
		if err != nil {
			return ecscreds.Credentials{}, err
		}
		c := out.Credentials
		return ecscreds.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
			SessionToken: aws.ToString(c.SessionToken), Expiration: aws.ToTime(c.Expiration), RoleArn: roleARN}, nil
	})
}

func upstreamConfig(endpoint string, c aws.Credentials) aws.Config {
	return aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(endpoint), Retryer: func() aws.Retryer { return enforce.ConnectionRetryer() },
		Credentials: credentials.StaticCredentialsProvider{Value: c}}
}
