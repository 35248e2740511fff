// Package abac is the suite of tenant isolation: through the MCP tools every user reads and
// writes only their own tenant's bucket, and no session of another AWS account gets in by
// tagging itself with a victim's tenant.
package abac

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// crossOp is one way of touching another tenant's bucket through the tools.
type crossOp struct {
	op     fw.Op
	action string // the IAM action a denial names, when the deployment's denials name one
	// vars are the probe's values against the victim's bucket; they may use the victim's own
	// session first, so a denial cannot be blamed on an empty or broken bucket.
	vars func(ctx context.Context, victim *session) fw.ProbeVars
}

var _ = fw.Describe("Tenant isolation", fw.ABAC, func() {
	fw.ConformanceIt("lets every mapped user list, read and write their own tenant's bucket through the tools", func() {
		ctx := context.Background()
		fw.RequireProbe(fw.OpList, fw.OpRead, fw.OpWrite)
		for _, u := range mappedUsers() {
			s := connect(ctx, u)
			key := s.ownKey(ctx)
			s.read(ctx, key)
			written := "mcpsso-abac/" + u.Name + "-" + randomSuffix() + ".txt"
			content := "written by " + u.Name + " for tenant " + u.Tenant + "\n"
			deleteAfter(u.Bucket, written)
			s.mustCall(ctx, fw.OpWrite, fw.ProbeVars{Bucket: u.Bucket, Key: written, Content: content})
			Expect(s.read(ctx, written)).To(Equal(content),
				"%s read back another content than it wrote to s3://%s/%s", u.Name, u.Bucket, written)
		}
	})

	DescribeTable("denies every user",
		func(op crossOp) {
			ctx := context.Background()
			fw.RequireProbe(op.op, fw.OpList)
			if p := fw.ProbeOf(op.op); !p.Uses("bucket") && !p.Uses("uri") {
				Skip(fmt.Sprintf("the %s probe's tool %s takes no bucket ({bucket} or {uri}), so a caller cannot name another tenant's", op.op, p.Tool))
			}
			users := mappedUsers()
			pairs := 0
			for _, u := range users {
				for _, v := range users {
					if u.Tenant == v.Tenant {
						continue
					}
					pairs++
					vars := op.vars(ctx, connect(ctx, v))
					vars.Bucket = v.Bucket
					intruder := connect(ctx, u)
					// The intruder's own access works: a denial is about the victim's bucket,
					// not a session the server could not make.
					intruder.ownKey(ctx)
					r := intruder.call(ctx, op.op, vars)
					Expect(r.OK()).To(BeFalse(), "%s (tenant %s) on tenant %s's bucket succeeded: %s", u.Name, u.Tenant, v.Tenant, r)
					Expect(r.Denied()).To(BeTrue(), "%s (tenant %s) on tenant %s's bucket: want %s, got %s", u.Name, u.Tenant, v.Tenant, r.DenialRule(), r)
					if strings.Contains(r.Text, "AccessDenied") && strings.Contains(r.Text, "s3:") {
						// A denial that names the IAM action must name this one.
						Expect(r.Text).To(ContainSubstring(op.action), "%s (tenant %s) on tenant %s's bucket: the denial names another action than %s: %s", u.Name, u.Tenant, v.Tenant, op.action, r)
					}
				}
			}
			if pairs == 0 {
				Skip("target " + fw.Current().Name() + " has users of only one tenant")
			}
		},
		Entry(fw.EntryText("reading an object in another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{op: fw.OpRead, action: "s3:GetObject",
			vars: func(ctx context.Context, v *session) fw.ProbeVars { return fw.ProbeVars{Key: v.ownKey(ctx)} }}),
		Entry(fw.EntryText("writing an object to another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{op: fw.OpWrite, action: "s3:PutObject",
			vars: func(ctx context.Context, v *session) fw.ProbeVars {
				v.ownKey(ctx) // the victim's own access works: the denial is about the intruder
				key := "mcpsso-abac/intrusion-" + randomSuffix() + ".txt"
				deleteAfter(v.user.Bucket, key) // should the write get through
				return fw.ProbeVars{Key: key, Content: "intrusion\n"}
			}}),
		Entry(fw.EntryText("listing another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{op: fw.OpList, action: "s3:ListBucket",
			vars: func(ctx context.Context, v *session) fw.ProbeVars {
				v.ownKey(ctx)
				return fw.ProbeVars{}
			}}),
	)

	DescribeTable("denies a session of another account that tags itself with a victim's tenant",
		func(op func(ctx context.Context, c *s3.Client, bucket, key string) error, what string) {
			fw.Require(fw.CapAWSAdmin)
			ctx := context.Background()
			t := fw.Current()
			accts := t.Accounts()
			if len(accts) < 2 {
				Skip("target " + t.Name() + " has no second AWS account to attack from")
			}
			victim := mappedUsers()[0]
			key := "mcpsso-abac/canary-" + randomSuffix() + ".txt"
			owner := s3Client(adminConfig(accts[0]))
			_, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(victim.Bucket), Key: aws.String(key), Body: strings.NewReader("canary\n")})
			Expect(err).NotTo(HaveOccurred(), "the deployment account's administrator could not put a canary in s3://%s", victim.Bucket)
			deleteAfter(victim.Bucket, key)

			attackerRole := "arn:aws:iam::" + accts[1] + ":role/attacker"
			out, err := sts.NewFromConfig(adminConfig(accts[1])).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(attackerRole),
				RoleSessionName: aws.String("spoof"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(victim.Tenant)}}})
			Expect(err).NotTo(HaveOccurred(), "account %s could not assume its own role %s with tag tenant=%s", accts[1], attackerRole, victim.Tenant)
			attacker := adminConfig(accts[1])
			attacker.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)

			err = op(ctx, s3Client(attacker), victim.Bucket, key)
			if err == nil {
				Fail(fmt.Sprintf("%s (a session of %s in account %s tagged tenant=%s) %s s3://%s: the bucket policy admits any account's principal by its own tenant tag "+
					"(tutorial mistake: Principal \"*\" with aws:PrincipalTag/tenant compared with itself and no aws:PrincipalAccount or aws:PrincipalOrgID condition)",
					aws.ToString(out.AssumedRoleUser.Arn), attackerRole, accts[1], victim.Tenant, what, victim.Bucket))
			}
			var ae smithy.APIError
			Expect(errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied").To(BeTrue(), "want AccessDenied, got %v", err)
		},
		Entry(fw.EntryText("reading the victim's objects", fw.CapAWSAdmin, fw.Spoofing, fw.Tutorial, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Spoofing, fw.Tutorial, fw.Conformance),
			func(ctx context.Context, c *s3.Client, bucket, key string) error {
				_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				return err
			}, "read a canary object from"),
		Entry(fw.EntryText("writing to the victim's bucket", fw.CapAWSAdmin, fw.Spoofing, fw.Tutorial, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Spoofing, fw.Tutorial, fw.Conformance),
			func(ctx context.Context, c *s3.Client, bucket, key string) error {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("overwritten by another account\n")})
				return err
			}, "overwrote a canary object in"),
		Entry(fw.EntryText("listing the victim's bucket", fw.CapAWSAdmin, fw.Spoofing, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Spoofing, fw.Conformance),
			func(ctx context.Context, c *s3.Client, bucket, _ string) error {
				_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
				return err
			}, "listed"),
	)
})
