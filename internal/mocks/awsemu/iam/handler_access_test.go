package iam

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// newLimitedUser creates user bob whose only permission is the given inline policy, and returns
// his client.
func newLimitedUser(t *testing.T, env *testEnv, policy string) *iamsdk.Client {
	t.Helper()
	c := env.adminClient()
	ctx := t.Context()
	u := must[*iamsdk.CreateUserOutput](t)(c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("bob"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("data")}}})).User
	if aws.ToString(u.Arn) != "arn:aws:iam::111122223333:user/bob" || !strings.HasPrefix(aws.ToString(u.UserId), "AIDA") {
		t.Fatalf("CreateUser = %+v", u)
	}
	key := must[*iamsdk.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("bob")})).AccessKey
	if aws.ToString(key.UserName) != "bob" || key.Status != iamtypes.StatusTypeActive || !strings.HasPrefix(aws.ToString(key.AccessKeyId), "AKIA") || len(aws.ToString(key.SecretAccessKey)) != 40 {
		t.Fatalf("CreateAccessKey = %+v", key)
	}
	must[*iamsdk.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("only"), PolicyDocument: aws.String(policy)}))
	return env.client(AccessKey{ID: aws.ToString(key.AccessKeyId), Secret: aws.ToString(key.SecretAccessKey)})
}

func TestEveryIAMCallIsAuthorized(t *testing.T) {
	env := newEnv(t)
	admin := env.adminClient()
	ctx := t.Context()
	createRole(t, admin, "readable")
	createRole(t, admin, "secret")
	bob := newLimitedUser(t, env, `{"Version":"2012-10-17","Statement":[{"Sid":"ReadOneRole","Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::111122223333:role/readable"}]}`)

	if _, err := bob.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("readable")}); err != nil {
		t.Fatalf("bob may read the role his policy names: %v", err)
	}
	cases := []struct {
		name     string
		call     func() error
		action   string
		resource string
	}{
		{"reading another role is denied", func() error {
			_, err := bob.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("secret")})
			return err
		}, "iam:GetRole", "arn:aws:iam::111122223333:role/secret"},
		{"reading a role that does not exist is denied before it is found missing", func() error {
			_, err := bob.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("ghost")})
			return err
		}, "iam:GetRole", "arn:aws:iam::111122223333:role/ghost"},
		{"creating a role is denied", func() error {
			_, err := bob.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("mine"), AssumeRolePolicyDocument: aws.String(trustECS), Path: aws.String("/x/")})
			return err
		}, "iam:CreateRole", "arn:aws:iam::111122223333:role/x/mine"},
		{"listing roles is denied on every resource", func() error {
			_, err := bob.ListRoles(ctx, &iamsdk.ListRolesInput{})
			return err
		}, "iam:ListRoles", "*"},
		{"reading himself needs iam:GetUser too", func() error {
			_, err := bob.GetUser(ctx, &iamsdk.GetUserInput{})
			return err
		}, "iam:GetUser", "arn:aws:iam::111122223333:user/bob"},
		{"granting himself more is denied", func() error {
			_, err := bob.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("more"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			return err
		}, "iam:PutUserPolicy", "arn:aws:iam::111122223333:user/bob"},
		{"simulating another principal is denied on that principal", func() error {
			_, err := bob.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::111122223333:role/secret"), ActionNames: []string{"s3:GetObject"}})
			return err
		}, "iam:SimulatePrincipalPolicy", "arn:aws:iam::111122223333:role/secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(), "AccessDenied", "User: arn:aws:iam::111122223333:user/bob", tc.action, "on resource: "+tc.resource)
		})
	}
	if _, err := admin.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("mine")}); errCode(err) != "NoSuchEntity" {
		t.Errorf("a denied CreateRole created the role anyway: %v", err)
	}
	pols := must[*iamsdk.ListRolePoliciesOutput](t)(admin.ListRolePolicies(ctx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String("secret")}))
	if len(pols.PolicyNames) != 0 {
		t.Errorf("secret role policies = %v", pols.PolicyNames)
	}
}

func TestConditionKeysOfIAMActions(t *testing.T) {
	env := newEnv(t)
	admin := env.adminClient()
	ctx := t.Context()
	createRole(t, admin, "acme-role", func(in *iamsdk.CreateRoleInput) {
		in.Tags = []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}
	})
	createRole(t, admin, "globex-role", func(in *iamsdk.CreateRoleInput) {
		in.Tags = []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("globex")}}
	})
	bob := newLimitedUser(t, env, `{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadOwnTenant","Effect":"Allow","Action":"iam:GetRole","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/tenant":"acme"}}},
		{"Sid":"CreateOnlyTagged","Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/tenant":"acme"},"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]}}}]}`)

	if _, err := bob.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("acme-role")}); err != nil {
		t.Errorf("aws:ResourceTag/tenant=acme should allow GetRole of acme-role: %v", err)
	}
	_, err := bob.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("globex-role")})
	wantErr(t, err, "AccessDenied")
	_, err = bob.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("untagged"), AssumeRolePolicyDocument: aws.String(trustECS)})
	wantErr(t, err, "AccessDenied")
	_, err = bob.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("tagged"), AssumeRolePolicyDocument: aws.String(trustECS),
		Tags: []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}})
	if err != nil {
		t.Errorf("aws:RequestTag/tenant=acme should allow CreateRole: %v", err)
	}
}

func TestPermissionsBoundaryDelegation(t *testing.T) {
	env := newEnv(t)
	admin := env.adminClient()
	ctx := t.Context()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	boundary := must[*iamsdk.CreatePolicyOutput](t)(admin.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("boundary"), PolicyDocument: aws.String(doc)})).Policy
	reader := must[*iamsdk.CreatePolicyOutput](t)(admin.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("reader"), PolicyDocument: aws.String(doc)})).Policy
	other := must[*iamsdk.CreatePolicyOutput](t)(admin.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("other"), PolicyDocument: aws.String(doc)})).Policy
	createRole(t, admin, "bounded", func(in *iamsdk.CreateRoleInput) { in.PermissionsBoundary = boundary.Arn })
	createRole(t, admin, "unbounded")
	bob := newLimitedUser(t, env, `{"Version":"2012-10-17","Statement":[
		{"Sid":"AttachReaderWithinBoundary","Effect":"Allow","Action":["iam:AttachRolePolicy","iam:PutRolePolicy"],"Resource":"*",
		 "Condition":{"StringEquals":{"iam:PermissionsBoundary":"`+aws.ToString(boundary.Arn)+`"},"ArnEqualsIfExists":{"iam:PolicyARN":"`+aws.ToString(reader.Arn)+`"}}},
		{"Sid":"NoBoundaryNoTagging","Effect":"Deny","Action":"iam:TagRole","Resource":"*","Condition":{"StringNotEquals":{"iam:PermissionsBoundary":"`+aws.ToString(boundary.Arn)+`"}}},
		{"Sid":"Tagging","Effect":"Allow","Action":"iam:TagRole","Resource":"*"}]}`)
	attach := func(role string, p *iamtypes.Policy) error {
		_, err := bob.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: p.Arn})
		return err
	}
	if err := attach("bounded", reader); err != nil {
		t.Errorf("attaching reader to a role with the boundary should be allowed: %v", err)
	}
	wantErr(t, attach("bounded", other), "AccessDenied", "iam:AttachRolePolicy")
	wantErr(t, attach("unbounded", reader), "AccessDenied", "iam:AttachRolePolicy")
	if _, err := bob.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("bounded"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Errorf("PutRolePolicy on the bounded role: %v", err)
	}
	// TagRole has no iam:PermissionsBoundary key, so a Deny on StringNotEquals of it always applies.
	_, err := bob.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("bounded"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantErr(t, err, "AccessDenied", "iam:TagRole")
}

func TestUsersAndAccessKeys(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	me := must[*iamsdk.GetUserOutput](t)(c.GetUser(ctx, &iamsdk.GetUserInput{})).User
	if aws.ToString(me.UserName) != "admin" {
		t.Errorf("GetUser without a name = %+v, want the caller", me)
	}
	must[*iamsdk.CreateUserOutput](t)(c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("carol"), Path: aws.String("/people/")}))
	got := must[*iamsdk.GetUserOutput](t)(c.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("carol")})).User
	if aws.ToString(got.Arn) != "arn:aws:iam::111122223333:user/people/carol" {
		t.Errorf("GetUser carol = %+v", got)
	}
	_, err := c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("Carol")})
	wantErr(t, err, "EntityAlreadyExists")
	_, err = c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("dave"), PermissionsBoundary: aws.String("arn:aws:iam::111122223333:policy/b")})
	wantErr(t, err, "InvalidInput", "PermissionsBoundary")
	for range 2 {
		must[*iamsdk.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("carol")}))
	}
	_, err = c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("carol")})
	wantErr(t, err, "LimitExceeded", "AccessKeysPerUser")
	_, err = c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("nobody")})
	wantErr(t, err, "NoSuchEntity", "nobody")
	_, err = c.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("bad"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)})
	wantErr(t, err, "MalformedPolicyDocument", "Resource")
}

func TestManagedPolicyDocuments(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"arn:aws:s3:::b\"}]\n}"
	pol := must[*iamsdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("list-b"), Path: aws.String("/app/"),
		PolicyDocument: aws.String(doc), Description: aws.String("lists b"), Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("data")}}})).Policy
	if aws.ToString(pol.Arn) != "arn:aws:iam::111122223333:policy/app/list-b" || !strings.HasPrefix(aws.ToString(pol.PolicyId), "ANPA") {
		t.Errorf("CreatePolicy = %+v", pol)
	}
	got := must[*iamsdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: pol.Arn})).Policy
	if aws.ToString(got.Description) != "lists b" || len(got.Tags) != 1 {
		t.Errorf("GetPolicy = %+v", got)
	}
	v := must[*iamsdk.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: pol.Arn, VersionId: aws.String("v1")})).PolicyVersion
	if unescape(t, v.Document) != doc || !v.IsDefaultVersion || aws.ToString(v.VersionId) != "v1" {
		t.Errorf("GetPolicyVersion = %+v", v)
	}
	if strings.Contains(aws.ToString(v.Document), "+") {
		t.Errorf("spaces must be %%20 (RFC 3986), not +: %s", aws.ToString(v.Document))
	}
	_, err := c.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: pol.Arn, VersionId: aws.String("v2")})
	wantErr(t, err, "NoSuchEntity", "v2")
	_, err = c.GetPolicyVersion(ctx, &iamsdk.GetPolicyVersionInput{PolicyArn: pol.Arn, VersionId: aws.String("latest")})
	wantErr(t, err, "ValidationError", "versionId")
	_, err = c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("LIST-B"), PolicyDocument: aws.String(doc)})
	wantErr(t, err, "EntityAlreadyExists")

	createRole(t, c, "bounded", func(in *iamsdk.CreateRoleInput) { in.PermissionsBoundary = pol.Arn })
	role := must[*iamsdk.GetRoleOutput](t)(c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("bounded")})).Role
	if role.PermissionsBoundary == nil || aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn) != aws.ToString(pol.Arn) ||
		role.PermissionsBoundary.PermissionsBoundaryType != iamtypes.PermissionsBoundaryAttachmentTypePolicy {
		t.Errorf("GetRole PermissionsBoundary = %+v (%s)", role.PermissionsBoundary, aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn))
	}
	got = must[*iamsdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: pol.Arn})).Policy
	if aws.ToInt32(got.PermissionsBoundaryUsageCount) != 1 {
		t.Errorf("PermissionsBoundaryUsageCount = %d, want 1", aws.ToInt32(got.PermissionsBoundaryUsageCount))
	}
	_, err = c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: pol.Arn})
	wantErr(t, err, "DeleteConflict")
}

func TestQueryProtocolStrictness(t *testing.T) {
	env := newEnv(t)
	cases := []struct {
		name      string
		form      url.Values
		status    int
		fragments []string
	}{
		{"an unknown parameter is an error naming it", url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {"x"}, "RoleNmae": {"y"}},
			400, []string{"<Code>InvalidParameter</Code>", "RoleNmae"}},
		{"an unknown action is InvalidAction", url.Values{"Action": {"CreateGroup"}, "Version": {"2010-05-08"}},
			400, []string{"<Code>InvalidAction</Code>", "Could not find operation CreateGroup for version 2010-05-08"}},
		{"another API version is InvalidAction", url.Values{"Action": {"GetRole"}, "Version": {"2011-06-15"}, "RoleName": {"x"}},
			400, []string{"<Code>InvalidAction</Code>", "for version 2011-06-15"}},
		{"a missing required parameter is a ValidationError worded as AWS words it", url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"x"}},
			400, []string{"<Code>ValidationError</Code>", "Value null at &#39;assumeRolePolicyDocument&#39; failed to satisfy constraint: Member must not be null"}},
		{"a tag without a value is a ValidationError", url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"x"}, "AssumeRolePolicyDocument": {trustECS},
			"Tags.member.1.Key": {"k"}}, 400, []string{"<Code>ValidationError</Code>", "tags.1.member.value"}},
		{"a gap in a list is a ValidationError", url.Values{"Action": {"UntagRole"}, "Version": {"2010-05-08"}, "RoleName": {"x"}, "TagKeys.member.2": {"k"}},
			400, []string{"<Code>ValidationError</Code>", "TagKeys.member.1 is missing"}},
		{"a role that does not exist answers 404 NoSuchEntity", url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {"nope"}},
			404, []string{"<Type>Sender</Type>", "<Code>NoSuchEntity</Code>", "The role with name nope cannot be found."}},
		{"an action without output has no Result element", url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"eve"}},
			200, []string{"<CreateUserResult><User>", "<UserName>eve</UserName>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.raw(tc.form)
			if status != tc.status {
				t.Errorf("status = %d, want %d: %s", status, tc.status, body)
			}
			for _, f := range tc.fragments {
				if !strings.Contains(body, f) {
					t.Errorf("response does not contain %q:\n%s", f, body)
				}
			}
		})
	}
	status, body := env.raw(url.Values{"Action": {"DeleteRole"}, "Version": {"2010-05-08"}, "RoleName": {"nope"}})
	if status != 404 {
		t.Errorf("DeleteRole of a missing role = %d %s", status, body)
	}
	status, body = env.raw(url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"bare"}, "AssumeRolePolicyDocument": {trustECS}})
	if status != 200 {
		t.Fatalf("CreateRole = %d %s", status, body)
	}
	status, body = env.raw(url.Values{"Action": {"DeleteRole"}, "Version": {"2010-05-08"}, "RoleName": {"bare"}})
	if status != 200 || strings.Contains(body, "DeleteRoleResult") || !strings.Contains(body, "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>") {
		t.Errorf("DeleteRole = %d %s", status, body)
	}
}

func TestAnEmptyListFromTheSDKIsAccepted(t *testing.T) {
	env := newEnv(t)
	// The SDK serializes an empty list as "Tags=" with no members.
	createRole(t, env.adminClient(), "no-tags", func(in *iamsdk.CreateRoleInput) { in.Tags = []iamtypes.Tag{} })
	role := must[*iamsdk.GetRoleOutput](t)(env.adminClient().GetRole(t.Context(), &iamsdk.GetRoleInput{RoleName: aws.String("no-tags")})).Role
	if len(role.Tags) != 0 {
		t.Errorf("tags = %+v", role.Tags)
	}
}

// A malformed policy is answered in IAM's words, which do not say where the problem is; the
// decision log does, so the developer is not left guessing.
func TestMalformedPolicyIsWordedAsIAMAndLoggedInDetail(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	must[*iamsdk.CreateUserOutput](t)(c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("dora")}))
	_, err := c.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("dora"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"Grant","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)})
	wantErr(t, err, "MalformedPolicyDocument", "Policy document should not specify a principal.")
	if logs := env.logs.String(); !strings.Contains(logs, "iam malformed policy") || !strings.Contains(logs, `Statement[0] (Sid \"Grant\"): Principal`) {
		t.Errorf("the log does not say where the problem is:\n%s", logs)
	}
}

// A managed policy attached to a user grants what it allows until it is detached; attaching is
// limited to IAM's quota and detaching what is not attached is NoSuchEntity.
func TestUserManagedPolicyAttachments(t *testing.T) {
	env := newEnv(t)
	admin := env.adminClient()
	ctx := t.Context()
	must[*iamsdk.CreateUserOutput](t)(admin.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("erin")}))
	key, err := env.store.CreateAccessKey(testAccount, "erin")
	if err != nil {
		t.Fatal(err)
	}
	erin := env.client(key)
	arn := *must[*iamsdk.CreatePolicyOutput](t)(admin.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("read-users"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)})).Policy.Arn
	getSelf := func() error {
		_, err := erin.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("erin")})
		return err
	}
	wantErr(t, getSelf(), "AccessDenied", "iam:GetUser")
	must[*iamsdk.AttachUserPolicyOutput](t)(admin.AttachUserPolicy(ctx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("erin"), PolicyArn: aws.String(arn)}))
	if err := getSelf(); err != nil {
		t.Fatalf("GetUser with the attached policy: %v", err)
	}
	_, err = admin.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", "attached")
	must[*iamsdk.DetachUserPolicyOutput](t)(admin.DetachUserPolicy(ctx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("erin"), PolicyArn: aws.String(arn)}))
	wantErr(t, getSelf(), "AccessDenied", "iam:GetUser")
	if got := must[*iamsdk.ListAttachedUserPoliciesOutput](t)(admin.ListAttachedUserPolicies(ctx, &iamsdk.ListAttachedUserPoliciesInput{UserName: aws.String("erin")})).AttachedPolicies; len(got) != 0 {
		t.Errorf("ListAttachedUserPolicies after detaching: %+v", got)
	}
	_, err = admin.DetachUserPolicy(ctx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("erin"), PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", arn)
	for i := range MaxAttachedPerUser + 1 {
		p := *must[*iamsdk.CreatePolicyOutput](t)(admin.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)})).Policy.Arn
		_, err = admin.AttachUserPolicy(ctx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("erin"), PolicyArn: aws.String(p)})
	}
	wantErr(t, err, "LimitExceeded", "PoliciesPerUser")
}
