// Package stack wires a whole deployment under test — IdP, AWS, authorizer, gateway, MCP
// server — from a fixture. Seeding goes through the real AWS APIs (aws-sdk-go-v2), so the
// same code seeds the embedded emulator, LocalStack behind the enforcing proxy, or real AWS.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

// AdminConfig returns an SDK configuration with administrator credentials for an account.
type AdminConfig func(account string) (aws.Config, error)

// SeedOption changes how SeedAWS treats what already exists.
type SeedOption func(*seeder)

// ReplaceDifferences makes SeedAWS overwrite what exists but differs from the fixture (a
// role's trust policy, tags or inline policies, a bucket's policy, an object) instead of
// reporting it as a DifferencesError.
func ReplaceDifferences() SeedOption { return func(s *seeder) { s.replace = true } }

// DifferencesError lists what exists in AWS but differs from the fixture; nothing was changed
// for those entities.
type DifferencesError struct{ Differences []string }

func (e *DifferencesError) Error() string {
	return fmt.Sprintf("%d difference(s) from the fixture, left as they are (replace them with --reseed, or stack.ReplaceDifferences):\n  %s",
		len(e.Differences), strings.Join(e.Differences, "\n  "))
}

type seeder struct {
	f       *fixture.Fixture
	profile string
	admin   AdminConfig
	replace bool
	diffs   []string
}

// SeedAWS creates the fixture's roles (trust, tags, inline policies) and buckets (policy,
// objects) for profile, in the order the fixture declares them, through IAM and S3. It is
// idempotent: what already exists and equals the fixture is kept (an emulator restarted on its
// data directory, a second run); what exists but differs is reported in a *DifferencesError
// and left alone, or replaced with ReplaceDifferences.
func SeedAWS(ctx context.Context, f *fixture.Fixture, profile string, admin AdminConfig, opts ...SeedOption) error {
	s := &seeder{f: f, profile: profile, admin: admin}
	for _, o := range opts {
		o(s)
	}
	for i, r := range f.Roles {
		if err := s.role(ctx, r, fmt.Sprintf("roles[%d] (%s in %s)", i, r.Name, r.Account)); err != nil {
			return fmt.Errorf("roles[%d] (%s in %s): %w", i, r.Name, r.Account, err)
		}
	}
	for i, b := range f.Buckets {
		if err := s.bucket(ctx, b, fmt.Sprintf("buckets[%d] (%s)", i, b.Name)); err != nil {
			return fmt.Errorf("buckets[%d] (%s): %w", i, b.Name, err)
		}
	}
	if len(s.diffs) > 0 {
		return &DifferencesError{Differences: s.diffs}
	}
	return nil
}

// differs records a difference, and reports whether to overwrite it.
func (s *seeder) differs(where, what string) bool {
	if s.replace {
		return true
	}
	s.diffs = append(s.diffs, where+": "+what)
	return false
}

func (s *seeder) role(ctx context.Context, r fixture.Role, where string) error {
	f, profile := s.f, s.profile
	admin := s.admin
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
	_, err = c.CreateRole(ctx, in)
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		if err := s.existingRole(ctx, c, in, where); err != nil {
			return err
		}
	case err != nil:
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
		if exists != nil {
			got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: in.RoleName, PolicyName: aws.String(p.Name)})
			var missing *iamtypes.NoSuchEntityException
			switch {
			case errors.As(err, &missing):
			case err != nil:
				return fmt.Errorf("GetRolePolicy %s: %w", p.Name, err)
			case samePolicy(aws.ToString(got.PolicyDocument), string(doc)):
				continue
			case !s.differs(where, "inline policy "+p.Name+" differs"):
				continue
			}
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(doc))}); err != nil {
			return fmt.Errorf("PutRolePolicy %s: %w", p.Name, err)
		}
	}
	return nil
}

// existingRole compares a role that exists with the fixture's, and overwrites what differs
// when asked to (trust policy, tags; path and max session duration cannot change in place).
func (s *seeder) existingRole(ctx context.Context, c *iam.Client, want *iam.CreateRoleInput, where string) error {
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: want.RoleName})
	if err != nil {
		return fmt.Errorf("GetRole: %w", err)
	}
	r := got.Role
	if want.Path != nil && aws.ToString(r.Path) != aws.ToString(want.Path) {
		s.diffs = append(s.diffs, fmt.Sprintf("%s: path is %s, the fixture says %s (delete the role to change it)", where, aws.ToString(r.Path), aws.ToString(want.Path)))
	}
	if want.MaxSessionDuration != nil && aws.ToInt32(r.MaxSessionDuration) != aws.ToInt32(want.MaxSessionDuration) &&
		s.differs(where, fmt.Sprintf("max session duration is %d s, the fixture says %d s", aws.ToInt32(r.MaxSessionDuration), aws.ToInt32(want.MaxSessionDuration))) {
		if _, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: want.RoleName, MaxSessionDuration: want.MaxSessionDuration}); err != nil {
			return fmt.Errorf("UpdateRole: %w", err)
		}
	}
	if !samePolicy(aws.ToString(r.AssumeRolePolicyDocument), aws.ToString(want.AssumeRolePolicyDocument)) && s.differs(where, "trust policy differs") {
		if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: want.RoleName, PolicyDocument: want.AssumeRolePolicyDocument}); err != nil {
			return fmt.Errorf("UpdateAssumeRolePolicy: %w", err)
		}
	}
	have := map[string]string{}
	for _, t := range r.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	for _, t := range want.Tags {
		if v, ok := have[aws.ToString(t.Key)]; (!ok || v != aws.ToString(t.Value)) && s.differs(where, "tag "+aws.ToString(t.Key)+" differs") {
			if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: want.RoleName, Tags: []iamtypes.Tag{t}}); err != nil {
				return fmt.Errorf("TagRole: %w", err)
			}
		}
	}
	return nil
}

// samePolicy compares two policy documents as JSON; IAM answers them URL-encoded.
func samePolicy(got, want string) bool {
	if decoded, err := url.QueryUnescape(got); err == nil {
		got = decoded
	}
	var a, b any
	if json.Unmarshal([]byte(got), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return got == want
	}
	return reflect.DeepEqual(a, b)
}

func (s *seeder) bucket(ctx context.Context, b fixture.Bucket, where string) error {
	f, profile, admin := s.f, s.profile, s.admin
	cfg, err := admin(b.Account)
	if err != nil {
		return err
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Name)})
	var owned *s3types.BucketAlreadyOwnedByYou
	existed := errors.As(err, &owned)
	if err != nil && !existed {
		return fmt.Errorf("CreateBucket: %w", err)
	}
	if b.Policy != nil {
		doc, err := f.Document(*b.Policy, profile, b.Account)
		switch {
		case errors.Is(err, fixture.ErrNotInProfile):
		case err != nil:
			return fmt.Errorf("policy: %w", err)
		default:
			put := true
			if existed {
				got, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.Name)})
				switch {
				case err != nil && !isAPIError(err, "NoSuchBucketPolicy"):
					return fmt.Errorf("GetBucketPolicy: %w", err)
				case err == nil && samePolicy(aws.ToString(got.Policy), string(doc)):
					put = false
				case err == nil:
					put = s.differs(where, "bucket policy differs")
				}
			}
			if put {
				if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.Name), Policy: aws.String(string(doc))}); err != nil {
					return fmt.Errorf("PutBucketPolicy: %w", err)
				}
			}
		}
	}
	for _, o := range b.Objects {
		if existed {
			same, found, err := sameObject(ctx, c, b.Name, o)
			if err != nil {
				return err
			}
			if same || (found && !s.differs(where, "object "+o.Key+" differs")) {
				continue
			}
		}
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

// sameObject reports whether the bucket holds o as the fixture says (content and type), and
// whether it holds the key at all.
func sameObject(ctx context.Context, c *s3.Client, bucket string, o fixture.Object) (same, found bool, err error) {
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.Key)})
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("GetObject %s: %w", o.Key, err)
	}
	defer got.Body.Close()
	body, err := io.ReadAll(got.Body)
	if err != nil {
		return false, true, fmt.Errorf("GetObject %s: %w", o.Key, err)
	}
	typeOK := o.ContentType == "" || aws.ToString(got.ContentType) == o.ContentType
	return string(body) == o.Content && typeOK, true, nil
}

func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
