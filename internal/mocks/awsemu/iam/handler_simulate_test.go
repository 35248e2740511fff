package iam

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// tenantData is a role's inline policy, pretty-printed so statement positions span lines.
const tenantData = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadTenant", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}", "arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"]},
    {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
  ]
}`

const writeFromVPC = `{"Version":"2012-10-17","Statement":[{"Sid":"WriteFromVPC","Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`

// summary renders results as "action resource decision [policy/type@start-end ...] missing=[...]".
func summary(rs []iamtypes.EvaluationResult) []string {
	var out []string
	for _, r := range rs {
		var ms []string
		for _, m := range r.MatchedStatements {
			s := aws.ToString(m.SourcePolicyId) + "/" + string(m.SourcePolicyType)
			if m.StartPosition != nil && m.EndPosition != nil {
				s += fmt.Sprintf("@%d:%d-%d:%d", m.StartPosition.Line, m.StartPosition.Column, m.EndPosition.Line, m.EndPosition.Column)
			}
			ms = append(ms, s)
		}
		missing := r.MissingContextValues
		for _, rr := range r.ResourceSpecificResults {
			missing = append(missing, rr.MissingContextValues...)
		}
		out = append(out, fmt.Sprintf("%s %s %s %v missing=%v", aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName), r.EvalDecision, ms, missing))
	}
	return out
}

// oneLine is the position of the only statement of a one-line policy written
// {"Version":"2012-10-17","Statement":[{…}]}: its "{" is column 38, and it ends before "]}".
func oneLine(doc string) string { return fmt.Sprintf("@1:38-1:%d", len(doc)-1) }

func wantSummary(t *testing.T, got []iamtypes.EvaluationResult, want ...string) {
	t.Helper()
	g := summary(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("evaluation results:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	role := createRole(t, c, "tenant-acme", func(in *iamsdk.CreateRoleInput) {
		in.Tags = []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}
	})
	must[*iamsdk.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("tenant-acme"), PolicyName: aws.String("data"), PolicyDocument: aws.String(tenantData)}))
	pol := must[*iamsdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("write-from-vpc"), PolicyDocument: aws.String(writeFromVPC)})).Policy
	must[*iamsdk.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("tenant-acme"), PolicyArn: pol.Arn}))

	// Statement positions: 1-based line and column of "{", and just past "}".
	lines := strings.Split(tenantData, "\n")
	read := fmt.Sprintf("data/role@4:5-4:%d", 5+len(strings.TrimSuffix(strings.TrimSpace(lines[3]), ",")))
	deny := fmt.Sprintf("data/role@5:5-5:%d", 5+len(strings.TrimSpace(lines[4])))
	vpc := "write-from-vpc/IAM Policy" + oneLine(writeFromVPC)

	acme, globex := "arn:aws:s3:::quilt-tenant-acme/k", "arn:aws:s3:::quilt-tenant-globex/k"
	out := must[*iamsdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{
		PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, ResourceArns: []string{acme, globex}}))
	wantSummary(t, out.EvaluationResults,
		"s3:GetObject "+acme+" allowed ["+read+"] missing=[]",
		"s3:GetObject "+globex+" implicitDeny [] missing=[]",
		"s3:PutObject "+acme+" implicitDeny [] missing=[aws:SourceIp]",
		"s3:PutObject "+globex+" implicitDeny [] missing=[aws:SourceIp]",
		"s3:DeleteObject "+acme+" explicitDeny ["+deny+"] missing=[]",
		"s3:DeleteObject "+globex+" explicitDeny ["+deny+"] missing=[]",
	)
	if r := out.EvaluationResults[0]; len(r.ResourceSpecificResults) != 1 || r.ResourceSpecificResults[0].EvalResourceDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
		aws.ToString(r.ResourceSpecificResults[0].EvalResourceName) != acme || r.EvalDecisionDetails == nil {
		t.Errorf("with ResourceArns a result carries its resource-specific result: %+v", r)
	}

	t.Run("context entries supply the keys a condition needs", func(t *testing.T) {
		out := must[*iamsdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{
			PolicySourceArn: role.Arn, ActionNames: []string{"s3:PutObject"},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"10.1.2.3"}}}}))
		wantSummary(t, out.EvaluationResults, "s3:PutObject * allowed ["+vpc+"] missing=[]")
		if len(out.EvaluationResults[0].ResourceSpecificResults) != 0 {
			t.Errorf("without ResourceArns there are no resource-specific results")
		}
	})

	t.Run("a permissions boundary caps the role and says so", func(t *testing.T) {
		out := must[*iamsdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{
			PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject", "s3:PutObject"}, ResourceArns: []string{acme},
			PermissionsBoundaryPolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`},
			ContextEntries:                     []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"10.1.2.3"}}}}))
		got := out.EvaluationResults
		if len(got) != 2 || got[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || got[1].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
			t.Fatalf("results = %v", summary(got))
		}
		if d := got[0].PermissionsBoundaryDecisionDetail; d == nil || !d.AllowedByPermissionsBoundary {
			t.Errorf("GetObject boundary detail = %+v", d)
		}
		if d := got[1].PermissionsBoundaryDecisionDetail; d == nil || d.AllowedByPermissionsBoundary {
			t.Errorf("PutObject boundary detail = %+v", d)
		}
	})

	t.Run("results page with MaxItems and Marker", func(t *testing.T) {
		var seen []string
		p := iamsdk.NewSimulatePrincipalPolicyPaginator(c, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn,
			ActionNames: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, MaxItems: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			page := must[*iamsdk.SimulatePrincipalPolicyOutput](t)(p.NextPage(ctx))
			pages++
			for _, r := range page.EvaluationResults {
				seen = append(seen, aws.ToString(r.EvalActionName))
			}
		}
		if pages != 2 || strings.Join(seen, ",") != "s3:GetObject,s3:PutObject,s3:DeleteObject" {
			t.Errorf("%d pages: %v", pages, seen)
		}
	})

	t.Run("the reason goes to the log, as IAM's API has no field for it", func(t *testing.T) {
		logs := env.logs.String()
		for _, want := range []string{`msg="iam simulation"`, "decision=implicitDeny", "action=s3:PutObject", "aws:SourceIp", "decision=explicitDeny", `NoDeletes`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the simulation log does not mention %q:\n%s", want, logs)
			}
		}
	})

	cases := []struct {
		name      string
		in        iamsdk.SimulatePrincipalPolicyInput
		code      string
		fragments []string
	}{
		{"a role that does not exist is no such entity", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::111122223333:role/ghost"), ActionNames: []string{"s3:GetObject"}},
			"NoSuchEntity", []string{"ghost"}},
		{"a role ARN with the wrong path is no such entity", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::111122223333:role/x/tenant-acme"), ActionNames: []string{"s3:GetObject"}},
			"NoSuchEntity", []string{"tenant-acme"}},
		{"a wildcard action name is refused", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:*"}},
			"InvalidInput", []string{"s3:*"}},
		{"a resource policy for a role needs a CallerArn", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject"},
			ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)},
			"InvalidInput", []string{"CallerArn"}},
		{"a CallerArn that is not a user is refused", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject"}, CallerArn: role.Arn},
			"InvalidInput", []string{"CallerArn"}},
		{"a context value that does not fit its type is refused", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject"},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"not-an-ip"}}}},
			"InvalidInput", []string{"aws:SourceIp", "not-an-ip"}},
		{"a single-valued context type with two values is refused", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject"},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:TagKeys"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{"a", "b"}}}},
			"InvalidInput", []string{"stringList"}},
		{"excluding policies is not emulated and says so", iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: role.Arn, ActionNames: []string{"s3:GetObject"},
			PolicyExclusionList: []iamtypes.PolicyIdentifier{&iamtypes.PolicyIdentifierMemberPolicyArn{Value: aws.ToString(pol.Arn)}}},
			"InvalidInput", []string{"PolicyExclusionList"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SimulatePrincipalPolicy(ctx, &tc.in)
			wantErr(t, err, tc.code, tc.fragments...)
		})
	}
}

func TestSimulatePrincipalPolicyForAUser(t *testing.T) {
	env := newEnv(t)
	const ownTeam = `{"Version":"2012-10-17","Statement":[{"Sid":"OwnTeam","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team}/*"}]}`
	newLimitedUser(t, env, ownTeam)
	c := env.adminClient()
	out := must[*iamsdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(t.Context(), &iamsdk.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::111122223333:user/bob"), ActionNames: []string{"s3:GetObject"},
		ResourceArns: []string{"arn:aws:s3:::team-data/x", "arn:aws:s3:::team-ops/x"}}))
	wantSummary(t, out.EvaluationResults,
		"s3:GetObject arn:aws:s3:::team-data/x allowed [only/user"+oneLine(ownTeam)+"] missing=[]",
		"s3:GetObject arn:aws:s3:::team-ops/x implicitDeny [] missing=[]")
}

func TestSimulateCustomPolicy(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	allowBucket := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`
	denyDelete := `{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}`
	aliceBucket := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	tenantOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/tenant":"acme"}}}]}`

	out := must[*iamsdk.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iamsdk.SimulateCustomPolicyInput{
		PolicyInputList: []string{allowBucket, denyDelete}, ActionNames: []string{"s3:GetObject", "s3:DeleteObject"}, ResourceArns: []string{"arn:aws:s3:::b/k"}}))
	wantSummary(t, out.EvaluationResults,
		"s3:GetObject arn:aws:s3:::b/k allowed [PolicyInputList.1/IAM Policy"+oneLine(allowBucket)+"] missing=[]",
		"s3:DeleteObject arn:aws:s3:::b/k explicitDeny [PolicyInputList.2/IAM Policy"+oneLine(denyDelete)+"] missing=[]")

	cases := []struct {
		name string
		in   iamsdk.SimulateCustomPolicyInput
		want string
	}{
		{"without ResourceArns the resource is * and a bucket-scoped allow does not match it",
			iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{allowBucket}, ActionNames: []string{"s3:GetObject"}},
			"s3:GetObject * implicitDeny [] missing=[]"},
		{"a condition on a principal tag nobody supplied is a missing context value",
			iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{tenantOnly}, ActionNames: []string{"s3:GetObject"}},
			"s3:GetObject * implicitDeny [] missing=[aws:PrincipalTag/tenant]"},
		{"a context entry supplies the principal tag",
			iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{tenantOnly}, ActionNames: []string{"s3:GetObject"},
				ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:PrincipalTag/tenant"), ContextKeyValues: []string{"acme"}, ContextKeyType: iamtypes.ContextKeyTypeEnumString}}},
			"s3:GetObject * allowed [PolicyInputList.1/IAM Policy" + oneLine(tenantOnly) + "] missing=[]"},
		{"a resource policy naming the caller grants on its own",
			iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{denyDelete}, ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::b/k"},
				CallerArn:      aws.String("arn:aws:iam::111122223333:user/alice"),
				ResourcePolicy: aws.String(aliceBucket)},
			"s3:GetObject arn:aws:s3:::b/k allowed [ResourcePolicy/resource" + oneLine(aliceBucket) + "] missing=[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := must[*iamsdk.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &tc.in))
			wantSummary(t, out.EvaluationResults, tc.want)
		})
	}

	errs := []struct {
		name      string
		in        iamsdk.SimulateCustomPolicyInput
		code      string
		fragments []string
	}{
		{"a malformed input policy names its place in the list", iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{allowBucket, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`}, ActionNames: []string{"s3:GetObject"}},
			"MalformedPolicyDocument", []string{"PolicyInputList.2", "Resource"}},
		{"a resource policy without a CallerArn is refused", iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{allowBucket}, ActionNames: []string{"s3:GetObject"},
			ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)},
			"InvalidInput", []string{"CallerArn"}},
		{"no action names is a validation error", iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{allowBucket}, ActionNames: []string{}},
			"ValidationError", []string{"actionNames"}},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SimulateCustomPolicy(ctx, &tc.in)
			wantErr(t, err, tc.code, tc.fragments...)
		})
	}

	call := env.lastCall()
	if !call.Trail.ReadOnly {
		t.Errorf("Simulate* is read-only in CloudTrail")
	}
}
