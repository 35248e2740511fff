package enforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// errUpstream is a failure to read policies from the upstream: the request is denied (503).
func errUpstream(what string, err error) error {
	return awserr.New(http.StatusServiceUnavailable, "ServiceUnavailable",
		"the enforcing proxy could not read %s from the upstream, so it denies the request: %v", what, err)
}

type roleEntry struct {
	role *iam.Role // nil: the role does not exist
	at   time.Time
}

type bucketEntry struct {
	policy *iampolicy.Policy // nil: no bucket policy (or no bucket)
	at     time.Time
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// decodeDoc undoes IAM's URL encoding of policy documents (moto and AWS encode them; some
// emulators do not).
func decodeDoc(doc string) string {
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc
	}
	if d, err := url.PathUnescape(doc); err == nil {
		return d
	}
	return doc
}

// invalidate drops cached roles (IAM writes) or one bucket's policy.
func (p *Proxy) invalidateRoles() {
	p.mu.Lock()
	clear(p.roles)
	p.mu.Unlock()
}

func (p *Proxy) invalidateBucket(bucket string) {
	p.mu.Lock()
	delete(p.buckets, bucket)
	p.mu.Unlock()
}

// roleByARN returns the role named by arn with its trust policy, tags and identity policies
// (inline and attached managed policies, each read from the upstream), nil when it does not
// exist, or an error when the upstream cannot be read or returns a policy the engine rejects.
func (p *Proxy) roleByARN(ctx context.Context, arn string) (*iam.Role, error) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok || len(rest) < 13 || rest[12] != ':' || !strings.HasPrefix(rest[13:], "role/") {
		return nil, nil
	}
	name := rest[strings.LastIndexByte(rest, '/')+1:]
	r, err := p.roleByName(ctx, name)
	if err != nil || r == nil || r.ARN != arn {
		return nil, err
	}
	return r, nil
}

func (p *Proxy) roleByName(ctx context.Context, name string) (*iam.Role, error) {
	key := strings.ToLower(name)
	p.mu.Lock()
	e, ok := p.roles[key]
	p.mu.Unlock()
	if ok && p.now().Sub(e.at) < p.cfg.ttl {
		return e.role, nil
	}
	r, err := p.readRole(ctx, name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.roles[key] = roleEntry{role: r, at: p.now()}
	p.mu.Unlock()
	return r, nil
}

func (p *Proxy) readRole(ctx context.Context, name string) (*iam.Role, error) {
	what := "role " + name
	out, err := p.iamc.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String(name)})
	if apiCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, errUpstream(what, err)
	}
	g := out.Role
	r := &iam.Role{Account: p.cfg.account, Name: aws.ToString(g.RoleName), Path: aws.ToString(g.Path), ARN: aws.ToString(g.Arn),
		ID: aws.ToString(g.RoleId), MaxSessionDuration: int(aws.ToInt32(g.MaxSessionDuration)), Inline: map[string]*iampolicy.Policy{}}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = iam.DefaultMaxSessionSecond
	}
	if parts := strings.Split(r.ARN, ":"); len(parts) > 4 && parts[4] != "" {
		r.Account = parts[4]
	}
	for _, t := range g.Tags {
		r.Tags = append(r.Tags, iam.Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
	}
	if r.TrustPolicy, err = iampolicy.Parse(iampolicy.TrustPolicy, "trust policy of role "+name, []byte(decodeDoc(aws.ToString(g.AssumeRolePolicyDocument)))); err != nil {
		return nil, errUpstream("the trust policy of "+what, err)
	}
	if g.PermissionsBoundary != nil {
		// The evaluation store does not hold managed policies: a role with a boundary is given
		// one that allows nothing (fail closed) — see the package limitations.
		r.BoundaryARN = aws.ToString(g.PermissionsBoundary.PermissionsBoundaryArn)
	}
	names, err := p.iamc.ListRolePolicies(ctx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String(name), MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil, errUpstream("the inline policies of "+what, err)
	}
	for _, pn := range names.PolicyNames {
		rp, err := p.iamc.GetRolePolicy(ctx, &iamsdk.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
		if err != nil {
			return nil, errUpstream(fmt.Sprintf("inline policy %s of %s", pn, what), err)
		}
		doc, err := iampolicy.Parse(iampolicy.IdentityPolicy, pn, []byte(decodeDoc(aws.ToString(rp.PolicyDocument))))
		if err != nil {
			return nil, errUpstream(fmt.Sprintf("inline policy %s of %s", pn, what), err)
		}
		r.Inline[pn] = doc
	}
	att, err := p.iamc.ListAttachedRolePolicies(ctx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String(name), MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil, errUpstream("the attached policies of "+what, err)
	}
	for _, ap := range att.AttachedPolicies {
		arn := aws.ToString(ap.PolicyArn)
		mp, err := p.iamc.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			return nil, errUpstream("managed policy "+arn, err)
		}
		v, err := p.iamc.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: mp.Policy.DefaultVersionId})
		if err != nil {
			return nil, errUpstream("managed policy "+arn, err)
		}
		doc, err := iampolicy.Parse(iampolicy.IdentityPolicy, arn, []byte(decodeDoc(aws.ToString(v.PolicyVersion.Document))))
		if err != nil {
			return nil, errUpstream("managed policy "+arn, err)
		}
		// Kept with the inline ones: the evaluation store resolves no managed-policy ARNs.
		r.Inline["managed:"+arn] = doc
	}
	return r, nil
}

// bucketPolicy returns a bucket's policy, nil when it has none or the bucket does not exist.
func (p *Proxy) bucketPolicy(ctx context.Context, bucket string) (*iampolicy.Policy, error) {
	if p.cfg.localPolicies {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.local[bucket].policy, nil
	}
	p.mu.Lock()
	e, ok := p.buckets[bucket]
	p.mu.Unlock()
	if ok && p.now().Sub(e.at) < p.cfg.ttl {
		return e.policy, nil
	}
	var pol *iampolicy.Policy
	out, err := p.s3c.GetBucketPolicy(ctx, &s3sdk.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch code := apiCode(err); {
	case code == "NoSuchBucketPolicy" || code == "NoSuchBucket":
	case err != nil:
		return nil, errUpstream("the policy of bucket "+bucket, err)
	default:
		if pol, err = iampolicy.Parse(iampolicy.ResourcePolicy, "bucket policy of "+bucket, []byte(aws.ToString(out.Policy))); err != nil {
			return nil, errUpstream("the policy of bucket "+bucket, err)
		}
	}
	p.mu.Lock()
	p.buckets[bucket] = bucketEntry{policy: pol, at: p.now()}
	p.mu.Unlock()
	return pol, nil
}
