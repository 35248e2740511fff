package awsemu_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
	"github.com/mcpsso/mcpsso/reference/policies"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
)

func startEmulator(t testing.TB, opts ...awsemu.Option) *awsemu.Server {
	t.Helper()
	s, err := awsemu.Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// cfgFor is an SDK config for endpoint with static credentials; only a failed connection is
// retried, so that tests see each answer once.
func cfgFor(endpoint string, creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:       awsemu.DefaultRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		Retryer:      func() aws.Retryer { return enforce.ConnectionRetryer() },
	}
}

func adminCfg(t testing.TB, s *awsemu.Server, account string) aws.Config {
	t.Helper()
	c, err := s.AdminCredentials(account)
	if err != nil {
		t.Fatal(err)
	}
	return cfgFor(s.Endpoint(), c)
}

func stsCreds(c *ststypes.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// apiCode is the AWS error code of err ("" for nil).
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func loadPolicy(t testing.TB, profile, name string) string {
	t.Helper()
	doc, err := policies.Load(profile, name, map[string]string{"acct": acct, "ecsTaskRole": "ecsTaskRole", "tenant": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// tenantTrust is the reference target-role trust policy of tenant's role.
func tenantTrust(t testing.TB, tenant string) string {
	t.Helper()
	doc, err := policies.Load(policies.Reference, "target-role-trust-policy", map[string]string{"acct": acct, "ecsTaskRole": "ecsTaskRole", "tenant": tenant})
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

const ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func accountTrust(account string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
}

const allowSTS = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`

func createRole(t testing.TB, c *iam.Client, name, trust string, inline map[string]string) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	for pn, doc := range inline {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatalf("PutRolePolicy %s/%s: %v", name, pn, err)
		}
	}
	return *out.Role.Arn
}

func assume(ctx context.Context, cfg aws.Config, in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
	return sts.NewFromConfig(cfg).AssumeRole(ctx, in)
}

func mustAssume(t testing.TB, cfg aws.Config, in *sts.AssumeRoleInput) aws.Config {
	t.Helper()
	out, err := assume(context.Background(), cfg, in)
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", *in.RoleArn, err)
	}
	next := cfg.Copy()
	next.Credentials = credentials.StaticCredentialsProvider{Value: stsCreds(out.Credentials)}
	return next
}

func unescape(t testing.TB, s *string) string {
	t.Helper()
	out, err := url.QueryUnescape(aws.ToString(s))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
