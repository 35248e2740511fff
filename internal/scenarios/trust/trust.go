// Package trust is the suite of the target roles' trust: only the MCP server's task role may
// assume a target role, only with a usr- source identity and only the tenant session tag, and
// the source identity survives role chaining — checked at STS directly and through the MCP
// server (whoami, CloudTrail).
package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

var _ = fw.Describe("Trust policies", fw.Trust, func() {
	fw.ConformanceIt("let the task role assume a target role with a usr- source identity and only the tenant tag",
		fw.Needs(fw.CapTaskRole), fw.Tutorial, func() {
			ctx := context.Background()
			s := firstMappedUser()
			_, out, err := assume(ctx, taskRoleConfig(), validRequest(s))
			must(err, explainDenial(fmt.Sprintf("AssumeRole of %s by the task role with SourceIdentity %s and tag tenant=%s",
				s.roleARN, s.sourceIdentity, s.user.Tenant), err))
			Expect(aws.ToString(out.SourceIdentity)).To(Equal(s.sourceIdentity), "STS answered another source identity than the one passed")
			Expect(aws.ToString(out.AssumedRoleUser.Arn)).To(ContainSubstring(":assumed-role/"+s.roleARN[strings.LastIndex(s.roleARN, "/")+1:]+"/"),
				"STS answered a session of another role")
		})

	fw.ConformanceIt("let the task role's own policy call sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity on the target role",
		fw.Needs(fw.CapTaskRole), fw.Needs(fw.CapAWSAdmin), fw.Tutorial, func() {
			ctx := context.Background()
			s := firstMappedUser()
			me, err := sts.NewFromConfig(taskRoleConfig()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			Expect(err).NotTo(HaveOccurred(), "GetCallerIdentity as the task role")
			taskRole := roleOfSession(aws.ToString(me.Arn))
			Expect(taskRole).NotTo(BeEmpty(), "the task role's credentials are not a role session: %s", aws.ToString(me.Arn))
			actions := []string{"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"}
			out, err := iam.NewFromConfig(adminConfig(fw.Current().Accounts()[0])).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String(taskRole), ActionNames: actions, ResourceArns: []string{s.roleARN},
				ContextEntries: []iamtypes.ContextEntry{
					{ContextKeyName: aws.String("sts:SourceIdentity"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{s.sourceIdentity}},
					{ContextKeyName: aws.String("aws:TagKeys"), ContextKeyType: iamtypes.ContextKeyTypeEnumStringList, ContextKeyValues: []string{"tenant"}},
					{ContextKeyName: aws.String("aws:RequestTag/tenant"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{s.user.Tenant}},
				}})
			must(err, fmt.Sprintf("SimulatePrincipalPolicy of %s failed: %v", taskRole, err))
			var denied []string
			for _, r := range out.EvaluationResults {
				if r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
					denied = append(denied, aws.ToString(r.EvalActionName)+" ("+string(r.EvalDecision)+")")
				}
			}
			Expect(out.EvaluationResults).To(HaveLen(len(actions)), "SimulatePrincipalPolicy answered %d results for %d actions", len(out.EvaluationResults), len(actions))
			if len(denied) > 0 {
				msg := fmt.Sprintf("the task role %s's own policies do not allow %s on %s", taskRole, strings.Join(denied, ", "), s.roleARN)
				if strings.Contains(strings.Join(denied, " "), "sts:SetSourceIdentity") {
					msg += " (tutorial mistake: its task-role policy allows only sts:AssumeRole and sts:TagSession, but passing a SourceIdentity also needs sts:SetSourceIdentity)"
				}
				Fail(msg)
			}
		})

	DescribeTable("refuse an AssumeRole by the task role",
		func(ctx SpecContext, mutate func(s subject, in *sts.AssumeRoleInput)) {
			fw.Require(fw.CapTaskRole)
			s := firstMappedUser()
			in := validRequest(s)
			mutate(s, in)
			_, _, err := assume(ctx, taskRoleConfig(), in)
			Expect(err).To(HaveOccurred(), "STS allowed the task role to assume %s with SourceIdentity %q and tags %s: the trust policy does not hold the request to a usr- source identity and the tenant tag alone",
				s.roleARN, aws.ToString(in.SourceIdentity), tagList(in.Tags))
			Expect(apiCode(err)).To(Equal("AccessDenied"), "want AccessDenied, got %v", err)
		},
		Entry(fw.EntryText("without a source identity", fw.CapTaskRole, fw.Conformance), fw.Labels(fw.CapTaskRole, fw.Conformance), func(_ subject, in *sts.AssumeRoleInput) { in.SourceIdentity = nil }),
		Entry(fw.EntryText("whose source identity is a raw IdP subject, not usr-*", fw.CapTaskRole, fw.Conformance), fw.Labels(fw.CapTaskRole, fw.Conformance), func(_ subject, in *sts.AssumeRoleInput) {
			in.SourceIdentity = aws.String("00u8c2d9qkL4mT7xw5d7")
			in.RoleSessionName = aws.String("00u8c2d9qkL4mT7xw5d7")
		}),
		Entry(fw.EntryText("without the tenant tag", fw.CapTaskRole, fw.Conformance), fw.Labels(fw.CapTaskRole, fw.Conformance), func(_ subject, in *sts.AssumeRoleInput) { in.Tags = nil }),
		Entry(fw.EntryText("with a tag other than tenant instead of it", fw.CapTaskRole, fw.Conformance), fw.Labels(fw.CapTaskRole, fw.Conformance), func(_ subject, in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{{Key: aws.String("project"), Value: in.Tags[0].Value}}
		}),
	)

	// The tutorial's tag condition (ForAllValues on the non-existent sts:TagKeys) constrains
	// nothing: only a request that differs from an allowed one by the extra key proves the
	// trust policy limits the keys.
	fw.ConformanceIt("refuse an extra session tag key beside tenant on a request that is otherwise allowed",
		fw.Needs(fw.CapTaskRole), fw.Tutorial, func() {
			ctx := context.Background()
			s := firstMappedUser()
			task := taskRoleConfig()
			_, _, err := assume(ctx, task, validRequest(s))
			must(err, explainDenial("the control request (AssumeRole with only tenant="+s.user.Tenant+"), without which the extra-key denial proves nothing,", err))
			in := validRequest(s)
			in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String("admin"), Value: aws.String("true")})
			_, _, err = assume(ctx, task, in)
			Expect(err).To(HaveOccurred(), "STS allowed session tags tenant and admin: the trust policy does not limit aws:TagKeys to tenant (tutorial mistake: it conditions on sts:TagKeys, which does not exist, under ForAllValues, which is true when the key is absent)")
			Expect(apiCode(err)).To(Equal("AccessDenied"), "want AccessDenied, got %v", err)
		})

	// Per-tenant roles separate tenants only if each trusts its own tenant's tag alone: a trust
	// policy that asks merely for some tenant tag lets whoever sets the tag (the MCP server, or
	// anything that can call STS as its task role) pick the tenant whatever the role. The
	// control request proves the denial is about the tag's value.
	fw.ConformanceIt("refuse a tenant's target role assumed with another tenant's tag, on a request that is otherwise allowed",
		fw.Needs(fw.CapTaskRole), func() {
			ctx := context.Background()
			s := firstMappedUser()
			other := otherTenant(s.user.Tenant)
			task := taskRoleConfig()
			_, _, err := assume(ctx, task, validRequest(s))
			must(err, explainDenial("the control request (AssumeRole of "+s.roleARN+" with its own tenant="+s.user.Tenant+"), without which the cross-tenant denial proves nothing,", err))
			in := validRequest(s)
			in.Tags = tenantTag(other)
			_, _, err = assume(ctx, task, in)
			Expect(err).To(HaveOccurred(), "STS let the task role assume %s (tenant %s) with session tag tenant=%s: the trust policy must require aws:RequestTag/tenant to equal the role's own tenant (StringEquals), or the role separation adds nothing — whoever sets the tag chooses the tenant",
				s.roleARN, s.user.Tenant, other)
			Expect(apiCode(err)).To(Equal("AccessDenied"), "want AccessDenied, got %v", err)
		})

	DescribeTable("let only the task role assume a target role, not",
		func(ctx SpecContext, caller func(ctx context.Context) (aws.Config, string)) {
			fw.Require(fw.CapAWSAdmin)
			s := firstMappedUser()
			cfg, who := caller(ctx)
			_, _, err := assume(ctx, cfg, validRequest(s))
			Expect(err).To(HaveOccurred(), "%s assumed %s with a usr- source identity and a tenant tag: the trust policy must name only the MCP server's task role", who, s.roleARN)
			Expect(apiCode(err)).To(Equal("AccessDenied"), "want AccessDenied for %s, got %v", who, err)
		},
		Entry(fw.EntryText("the deployment account's administrator", fw.CapAWSAdmin, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Conformance), func(ctx context.Context) (aws.Config, string) {
			acct := fw.Current().Accounts()[0]
			return adminConfig(acct), "the administrator of account " + acct
		}),
		Entry(fw.EntryText("another role of the deployment account that may call sts:* on any resource", fw.CapAWSAdmin, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Conformance), func(ctx context.Context) (aws.Config, string) {
			acct := fw.Current().Accounts()[0]
			admin := adminConfig(acct)
			arn := temporaryRole(ctx, admin, "mcpsso-trust-other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`,
				map[string]string{"sts": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`})
			cfg, _, err := assume(ctx, admin, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("mcpsso-trust-other")})
			Expect(err).NotTo(HaveOccurred(), "the administrator could not assume its own role %s", arn)
			return cfg, "a session of " + arn
		}),
		Entry(fw.EntryText("a role of another account that may call sts:* on any resource", fw.CapAWSAdmin, fw.Conformance), fw.Labels(fw.CapAWSAdmin, fw.Conformance), func(ctx context.Context) (aws.Config, string) {
			accts := fw.Current().Accounts()
			if len(accts) < 2 {
				Skip("target " + fw.Current().Name() + " has no second account")
			}
			arn := "arn:aws:iam::" + accts[1] + ":role/attacker"
			cfg, _, err := assume(ctx, adminConfig(accts[1]), &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("mcpsso-trust-attacker")})
			Expect(err).NotTo(HaveOccurred(), "the administrator of account %s could not assume %s", accts[1], arn)
			return cfg, "a session of " + arn
		}),
	)

	Describe("role chaining", func() {
		// chainFrom assumes the target role as the task role with a transitive tenant tag,
		// and makes a role that trusts the target role, for the session to chain into.
		chainFrom := func(ctx context.Context) (subject, aws.Config, string) {
			fw.Require(fw.CapTaskRole, fw.CapAWSAdmin)
			s := firstMappedUser()
			in := validRequest(s)
			in.TransitiveTagKeys = []string{"tenant"}
			sess, _, err := assume(ctx, taskRoleConfig(), in)
			must(err, explainDenial(fmt.Sprintf("the first hop (AssumeRole of %s by the task role with SourceIdentity %s and tag tenant=%s)", s.roleARN, s.sourceIdentity, s.user.Tenant), err))
			next := temporaryRole(ctx, adminConfig(fw.Current().Accounts()[0]), "mcpsso-trust-chain",
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+s.roleARN+`"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`, nil)
			return s, sess, next
		}

		fw.ConformanceIt("keeps the source identity when a target-role session assumes another role", fw.Needs(fw.CapTaskRole), fw.Needs(fw.CapAWSAdmin), func() {
			ctx := context.Background()
			s, sess, next := chainFrom(ctx)
			_, out, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained")})
			must(err, fmt.Sprintf("the chained AssumeRole of %s (trusting %s) failed: %v", next, s.roleARN, err))
			Expect(aws.ToString(out.SourceIdentity)).To(Equal(s.sourceIdentity), "the chained session lost or changed the source identity")
		})

		fw.ConformanceIt("refuses to change the source identity in a chained AssumeRole", fw.Needs(fw.CapTaskRole), fw.Needs(fw.CapAWSAdmin), func() {
			ctx := context.Background()
			s, sess, next := chainFrom(ctx)
			_, _, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained"), SourceIdentity: aws.String("usr-mallory")})
			Expect(err).To(HaveOccurred(), "a session with source identity %s chained into %s as usr-mallory", s.sourceIdentity, next)
			Expect(apiCode(err)).To(Equal("AccessDenied"), "want AccessDenied, got %v", err)
		})
	})

	Describe("through the MCP server", func() {
		fw.ConformanceIt("gives every mapped user an assumed-role session of their target role with their source identity", fw.Tutorial, func() {
			ctx := context.Background()
			t := fw.Current()
			fw.RequireIdentityFields("sourceIdentity")
			n := 0
			for _, u := range t.Users() {
				if u.Tenant == "" {
					continue
				}
				n++
				w := callWhoami(ctx, u.Name)
				account, roleName, _, ok := w.AssumedRole()
				Expect(ok).To(BeTrue(), "whoami as %s: the tools ran as %q, not as an assumed-role session of the user's role", u.Name, w.ARN)
				if w.Role != "" {
					Expect(w.Role).To(HaveSuffix("/"+roleName), "whoami as %s: the tools ran as %s, not as a session of the role %s it names", u.Name, w.ARN, w.Role)
				}
				if u.Role != "" {
					// Not only consistent with itself: the role the deployment maps the user to.
					Expect(u.Role).To(HaveSuffix("/"+roleName), "whoami as %s: the tools ran as %s, not as the user's role %s", u.Name, w.ARN, u.Role)
				}
				Expect(w.SourceIdentity).NotTo(BeEmpty(), "whoami as %s: the session carries no source identity, so CloudTrail cannot say who acted (tutorial mistake: AssumeRole without SourceIdentity)", u.Name)
				if u.SourceIdentity != "" {
					Expect(w.SourceIdentity).To(Equal(u.SourceIdentity), "whoami as %s", u.Name)
				}
				if t.Profile() != "" {
					// The kit's stacks derive it as usr-<subject>, within SourceIdentity's 64 characters.
					Expect(w.SourceIdentity).To(HavePrefix("usr-"), "whoami as %s: source identity %q", u.Name, w.SourceIdentity)
				}
				if fw.ProbeOf(fw.OpWhoami).Fields.Tenant != "" {
					Expect(w.Tenant).To(Equal(u.Tenant), "whoami as %s", u.Name)
				}
				if accts := t.Accounts(); len(accts) > 0 {
					Expect(account).To(Equal(accts[0]), "whoami as %s: the tools ran in another account than the deployment's", u.Name)
				}
			}
			if n == 0 {
				Skip("target " + t.Name() + " has no user mapped to a tenant")
			}
		})

		fw.ConformanceIt("records each user's AssumeRole with their source identity in CloudTrail", fw.Needs(fw.CapCloudTrail), fw.Observability, func() {
			ctx := context.Background()
			t := fw.Current()
			var u fw.User
			for _, c := range t.Users() {
				if c.Tenant != "" {
					u = c
					break
				}
			}
			if u.Name == "" {
				Skip("target " + t.Name() + " has no user mapped to a tenant")
			}
			fw.RequireIdentityFields("sourceIdentity")
			w := callWhoami(ctx, u.Name)
			_, roleName, _, ok := w.AssumedRole()
			Expect(ok).To(BeTrue(), "whoami as %s: the tools ran as %q, not as an assumed-role session", u.Name, w.ARN)
			// An AssumeRole without a source identity says nothing of who acted: a session that
			// has none must not find its equally empty record.
			want := u.SourceIdentity
			if want == "" {
				want = w.SourceIdentity
			}
			Expect(want).NotTo(BeEmpty(), "whoami as %s names no source identity, nor does the target: no CloudTrail record can say who acted", u.Name)
			events, err := t.CloudTrail(ctx, fw.TrailFilter{EventName: "AssumeRole"})
			Expect(err).NotTo(HaveOccurred())
			var denials []string
			for _, ev := range events {
				var p fw.AssumeRoleParameters
				if json.Unmarshal(ev.RequestParameters, &p) != nil || !strings.HasSuffix(p.RoleArn, "/"+roleName) || (w.Role != "" && p.RoleArn != w.Role) {
					continue
				}
				if ev.ErrorCode != "" {
					denials = append(denials, ev.ErrorCode+": "+ev.ErrorMessage)
					continue
				}
				if p.SourceIdentity == want {
					return
				}
			}
			Fail(fmt.Sprintf("CloudTrail has no successful AssumeRole of role %s with sourceIdentity %q for %s (%d AssumeRole records; denied ones for the role: %v)",
				roleName, want, u.Name, len(events), denials))
		})
	})
})

func tagList(tags []ststypes.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// roleOfSession is the role ARN of an assumed-role session ARN
// (arn:aws:sts::<acct>:assumed-role/<role>/<session>), or "".
func roleOfSession(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	role := strings.Split(parts[5], "/")
	if len(role) != 3 {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role[1]
}
