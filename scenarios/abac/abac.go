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

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
)

// crossOp is one way of touching another tenant's bucket through the tools.
type crossOp struct {
	tool   string
	action string // the IAM action the denial must name
	args   func(ctx context.Context, victim *session) map[string]any
}

var _ = fw.Describe("Tenant isolation", fw.ABAC, func() {
	fw.ConformanceIt("lets every mapped user list, read and write their own tenant's bucket through the tools", func() {
		ctx := context.Background()
		for _, u := range mappedUsers() {
			s := connect(ctx, u)
			key := s.ownKey(ctx)
			s.mustCall(ctx, "get_object", map[string]any{"key": key})
			written := "mcpsso-abac/" + u.Name + "-" + randomSuffix() + ".txt"
			content := "written by " + u.Name + " for tenant " + u.Tenant + "\n"
			deleteAfter(u.Bucket, written)
			s.mustCall(ctx, "put_object", map[string]any{"key": written, "content": content})
			Expect(s.mustCall(ctx, "get_object", map[string]any{"key": written})).To(Equal(content),
				"%s read back another content than it wrote to s3://%s/%s", u.Name, u.Bucket, written)
		}
	})

	DescribeTable("denies every user",
		func(op crossOp) {
			ctx := context.Background()
			users := mappedUsers()
			pairs := 0
			for _, u := range users {
				for _, v := range users {
					if u.Tenant == v.Tenant {
						continue
					}
					pairs++
					victim := connect(ctx, v)
					args := op.args(ctx, victim)
					args["bucket"] = v.Bucket
					text, isErr := connect(ctx, u).call(ctx, op.tool, args)
					Expect(isErr).To(BeTrue(), "%s (tenant %s) called %s %v on tenant %s's bucket and it succeeded: %s",
						u.Name, u.Tenant, op.tool, args, v.Tenant, text)
					Expect(text).NotTo(ContainSubstring("sts:AssumeRole"),
						"%s's own session could not be made, so the denial of tenant %s's bucket proves nothing: %s", u.Name, v.Tenant, text)
					Expect(text).To(SatisfyAll(ContainSubstring("AccessDenied"), ContainSubstring(op.action)),
						"%s (tenant %s) calling %s on tenant %s's bucket: want a tool error saying AccessDenied on %s", u.Name, u.Tenant, op.tool, v.Tenant, op.action)
				}
			}
			if pairs == 0 {
				Skip("target " + fw.Current().Name() + " has users of only one tenant")
			}
		},
		Entry(fw.EntryText("reading an object in another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{tool: "get_object", action: "s3:GetObject",
			args: func(ctx context.Context, v *session) map[string]any { return map[string]any{"key": v.ownKey(ctx)} }}),
		Entry(fw.EntryText("writing an object to another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{tool: "put_object", action: "s3:PutObject",
			args: func(ctx context.Context, v *session) map[string]any {
				v.ownKey(ctx) // the victim's own access works: the denial is about the intruder
				return map[string]any{"key": "mcpsso-abac/intrusion-" + randomSuffix() + ".txt", "content": "intrusion\n"}
			}}),
		Entry(fw.EntryText("listing another tenant's bucket", fw.Conformance), fw.Labels(fw.Conformance), crossOp{tool: "list_objects", action: "s3:ListBucket",
			args: func(ctx context.Context, v *session) map[string]any {
				v.ownKey(ctx)
				return map[string]any{}
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
