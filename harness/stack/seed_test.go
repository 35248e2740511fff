package stack

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/harness/fixture"
	"github.com/mcpsso/mcpsso/mocks/awsemu"
)

// emulatorAdmin is the AdminConfig of a running emulator.
func emulatorAdmin(s *awsemu.Server) AdminConfig {
	return func(account string) (aws.Config, error) {
		c, err := s.AdminCredentials(account)
		if err != nil {
			return aws.Config{}, err
		}
		return aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()),
			Credentials: credentials.StaticCredentialsProvider{Value: c}, RetryMaxAttempts: 1}, nil
	}
}

func TestSeedingTheDefaultFixtureBuildsTheTutorialsWorld(t *testing.T) {
	f := fixture.Default()
	for _, tc := range []struct {
		profile string
		wantErr string // what the task role's per-request AssumeRole gets
	}{{"reference", ""}, {"seed", "AccessDenied"}} {
		t.Run(tc.profile, func(t *testing.T) {
			ctx := t.Context()
			s, err := awsemu.Start(ctx, awsemu.WithAccounts(f.AccountIDs()[1:]...))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := SeedAWS(ctx, f, tc.profile, emulatorAdmin(s)); err != nil {
				t.Fatal(err)
			}
			// The task role's credentials, as ECS would deliver them.
			creds, err := s.TaskRole(f.RoleARN("111122223333", f.TaskRole)).Credentials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			task := aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()), RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)}
			m, _ := f.MappingFor("00u8c2d9qkL4mT7xw5d7") // alice
			out, err := sts.NewFromConfig(task).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(f.RoleARN(m.Account, m.Role)),
				RoleSessionName: aws.String("usr-alice"), SourceIdentity: aws.String("usr-alice"),
				Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(m.Tags["tenant"])}}})
			if tc.wantErr != "" {
				var ae smithy.APIError
				if err == nil || !asAPIError(err, &ae) || ae.ErrorCode() != tc.wantErr {
					t.Fatalf("AssumeRole: %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := out.Credentials
			alice := s3.NewFromConfig(aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()), RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)},
				func(o *s3.Options) { o.UsePathStyle = true })
			obj, err := alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("README.md")})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if !strings.Contains(string(body), "tenant acme") || aws.ToString(obj.ContentType) != "text/markdown" {
				t.Fatalf("README %q %s", body, aws.ToString(obj.ContentType))
			}
			if _, err := alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("quilt-tenant-globex"), Key: aws.String("README.md")}); err == nil {
				t.Fatal("alice read globex's bucket")
			}
		})
	}
}

func TestSeedingReportsWhichEntityFailed(t *testing.T) {
	ctx := context.Background()
	s, err := awsemu.Start(ctx) // the fixture's second account is not declared here
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = SeedAWS(ctx, fixture.Default(), "reference", emulatorAdmin(s))
	if err == nil || !strings.Contains(err.Error(), "roles[3] (attacker in 444455556666)") {
		t.Fatalf("%v", err)
	}
}

func asAPIError(err error, target *smithy.APIError) bool { return errors.As(err, target) }
