package stack

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
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

// TestSeedingIsIdempotent: seeding what is already there succeeds and changes nothing; what
// differs from the fixture is reported, named, and left alone — or replaced when asked.
func TestSeedingIsIdempotent(t *testing.T) {
	ctx := t.Context()
	f := fixture.Default()
	s, err := awsemu.Start(ctx, awsemu.WithAccounts(f.AccountIDs()[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin := emulatorAdmin(s)
	if err := SeedAWS(ctx, f, ProfileReference, admin); err != nil {
		t.Fatal(err)
	}
	if err := SeedAWS(ctx, f, ProfileReference, admin); err != nil {
		t.Fatalf("seeding the same fixture again: %v", err)
	}

	// Someone changes an object, a bucket policy and a trust policy.
	cfg, _ := admin(f.DeploymentAccount())
	c3 := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("README.md"), Body: strings.NewReader("changed")}); err != nil {
		t.Fatal(err)
	}
	ci := iam.NewFromConfig(cfg)
	if _, err := ci.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	err = SeedAWS(ctx, f, ProfileReference, admin)
	var diffs *DifferencesError
	if !errors.As(err, &diffs) || len(diffs.Differences) != 2 ||
		!strings.Contains(err.Error(), "quilt-mcp-target-acme") || !strings.Contains(err.Error(), "trust policy differs") ||
		!strings.Contains(err.Error(), "buckets[0] (quilt-tenant-acme): object README.md differs") {
		t.Fatalf("seeding over two changes: %v", err)
	}
	if body := readObject(t, c3, "quilt-tenant-acme", "README.md"); body != "changed" {
		t.Fatalf("a reported difference was overwritten: %q", body)
	}
	if err := SeedAWS(ctx, f, ProfileReference, admin, ReplaceDifferences()); err != nil {
		t.Fatalf("with ReplaceDifferences: %v", err)
	}
	if body := readObject(t, c3, "quilt-tenant-acme", "README.md"); !strings.Contains(body, "tenant acme") {
		t.Fatalf("ReplaceDifferences left the object as %q", body)
	}
	if err := SeedAWS(ctx, f, ProfileReference, admin); err != nil {
		t.Fatalf("after the replacement: %v", err)
	}
}

func readObject(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}
