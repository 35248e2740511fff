package awsemu_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
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

// BenchmarkS3 compares S3 through the emulator (SigV4 verification, authorization,
// CloudTrail) with raw gofakes3 (no auth layer) for the same SDK client: the auth layer must
// not dominate (the target is within 2x for 1 MiB objects).
func BenchmarkS3(b *testing.B) {
	emu := startEmulator(b)
	raw := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithTimeSkewLimit(0), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	b.Cleanup(raw.Close)
	targets := []struct {
		name string
		cfg  aws.Config
	}{
		{"emulator", adminCfg(b, emu, acct)},
		{"gofakes3", cfgFor(raw.URL, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})},
	}
	ctx := context.Background()
	for _, size := range []int{1 << 10, 1 << 20} {
		body := bytes.Repeat([]byte("x"), size)
		for _, tg := range targets {
			c := s3Client(tg.cfg)
			bucket := fmt.Sprintf("bench-%d", size)
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				b.Fatal(err)
			}
			put := func() error {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: bytes.NewReader(body)})
				return err
			}
			if err := put(); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("PutObject/%dKiB/%s", size>>10, tg.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := put(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("GetObject/%dKiB/%s", size>>10, tg.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, out.Body)
					out.Body.Close()
				}
			})
		}
	}
}
