// Package stack wires a whole deployment under test — IdP, AWS, authorizer, gateway, MCP
// server — from a fixture. Seeding goes through the real AWS APIs (aws-sdk-go-v2), so the
// same code seeds the embedded emulator, LocalStack behind the enforcing proxy, or real AWS.
package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mcpsso/mcpsso/harness/fixture"
)

// AdminConfig returns an SDK configuration with administrator credentials for an account.
type AdminConfig func(account string) (aws.Config, error)

// SeedAWS creates the fixture's roles (trust, tags, inline policies) and buckets (policy,
// objects) for profile, in the order the fixture declares them, through IAM and S3.
func SeedAWS(ctx context.Context, f *fixture.Fixture, profile string, admin AdminConfig) error {
	for i, r := range f.Roles {
		if err := seedRole(ctx, f, profile, r, admin); err != nil {
			return fmt.Errorf("roles[%d] (%s in %s): %w", i, r.Name, r.Account, err)
		}
	}
	for i, b := range f.Buckets {
		if err := seedBucket(ctx, f, profile, b, admin); err != nil {
			return fmt.Errorf("buckets[%d] (%s): %w", i, b.Name, err)
		}
	}
	return nil
}

func seedRole(ctx context.Context, f *fixture.Fixture, profile string, r fixture.Role, admin AdminConfig) error {
	cfg, err := admin(r.Account)
	if err != nil {
		return err
	}
	c := iam.NewFromConfig(cfg)
	trust, err := f.Document(r.Trust, profile, r.Account)
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(string(trust))}
	if r.Path != "" {
		in.Path = aws.String(r.Path)
	}
	if r.MaxSessionDuration != 0 {
		in.MaxSessionDuration = aws.Int32(int32(r.MaxSessionDuration))
	}
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(r.Tags[k])})
	}
	if _, err := c.CreateRole(ctx, in); err != nil {
		return fmt.Errorf("CreateRole: %w", err)
	}
	for _, p := range r.Inline {
		doc, err := f.Document(p.PolicyRef, profile, r.Account)
		if errors.Is(err, fixture.ErrNotInProfile) {
			continue
		}
		if err != nil {
			return fmt.Errorf("inline %s: %w", p.Name, err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(doc))}); err != nil {
			return fmt.Errorf("PutRolePolicy %s: %w", p.Name, err)
		}
	}
	return nil
}

func seedBucket(ctx context.Context, f *fixture.Fixture, profile string, b fixture.Bucket, admin AdminConfig) error {
	cfg, err := admin(b.Account)
	if err != nil {
		return err
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Name)}); err != nil {
		return fmt.Errorf("CreateBucket: %w", err)
	}
	if b.Policy != nil {
		doc, err := f.Document(*b.Policy, profile, b.Account)
		switch {
		case errors.Is(err, fixture.ErrNotInProfile):
		case err != nil:
			return fmt.Errorf("policy: %w", err)
		default:
			if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.Name), Policy: aws.String(string(doc))}); err != nil {
				return fmt.Errorf("PutBucketPolicy: %w", err)
			}
		}
	}
	for _, o := range b.Objects {
		in := &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: aws.String(o.Key), Body: bytes.NewReader([]byte(o.Content))}
		if o.ContentType != "" {
			in.ContentType = aws.String(o.ContentType)
		}
		if _, err := c.PutObject(ctx, in); err != nil {
			return fmt.Errorf("PutObject %s: %w", o.Key, err)
		}
	}
	return nil
}
