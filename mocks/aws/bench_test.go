package awsemu_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	awsemu "github.com/mcpsso/mcpsso/mocks/aws"
)

// BenchmarkAssumeRoleAndGetCallerIdentity is one MCP request's AWS work through the real SDK
// over loopback HTTP: AssumeRole with a source identity and a session tag through the
// corrected trust policy, then GetCallerIdentity with the new credentials.
func BenchmarkAssumeRoleAndGetCallerIdentity(b *testing.B) {
	s := startEmulator(b)
	ctx := context.Background()
	admin := adminCfg(b, s, acct)
	c := iam.NewFromConfig(admin)
	createRole(b, c, "ecsTaskRole", accountTrust(acct), map[string]string{"task": loadPolicy(b, "reference", "task-role-policy")})
	target := createRole(b, c, "quilt-mcp-target-acme", loadPolicy(b, "reference", "target-role-trust-policy"), nil)
	task := mustAssume(b, admin, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/ecsTaskRole"), RoleSessionName: aws.String("task")})
	client := sts.NewFromConfig(task)
	in := &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("usr-alice"), SourceIdentity: aws.String("usr-alice"),
		Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}}
	b.ReportAllocs()
	for b.Loop() {
		out, err := client.AssumeRole(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		_, err = client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
			o.Credentials = credentials.StaticCredentialsProvider{Value: stsCreds(out.Credentials)}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartAndClose is the emulator's start-up (listener, accounts, admin keys) and
// shutdown.
func BenchmarkStartAndClose(b *testing.B) {
	for b.Loop() {
		s, err := awsemu.Start(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
