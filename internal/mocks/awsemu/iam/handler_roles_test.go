package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestRoleRoundTrip(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()

	created := createRole(t, c, "quilt-mcp-target-acme", func(in *iamsdk.CreateRoleInput) {
		in.Path = aws.String("/tenants/")
		in.Description = aws.String("per-tenant role")
		in.MaxSessionDuration = aws.Int32(7200)
		in.Tags = []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}
	})
	if got, want := aws.ToString(created.Arn), "arn:aws:iam::111122223333:role/tenants/quilt-mcp-target-acme"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if !strings.HasPrefix(aws.ToString(created.RoleId), "AROA") || created.CreateDate == nil || created.CreateDate.IsZero() {
		t.Errorf("RoleId %q / CreateDate %v are not IAM-like", aws.ToString(created.RoleId), created.CreateDate)
	}
	// CreateRole's Role has no MaxSessionDuration on AWS (GetRole's has); see shapes_test.go.
	if created.MaxSessionDuration != nil || aws.ToString(created.Description) != "per-tenant role" || aws.ToString(created.Path) != "/tenants/" {
		t.Errorf("CreateRole echoed %+v", created)
	}
	if len(created.Tags) != 1 || aws.ToString(created.Tags[0].Key) != "tenant" {
		t.Errorf("Tags = %+v", created.Tags)
	}
	if raw := aws.ToString(created.AssumeRolePolicyDocument); strings.ContainsAny(raw, `{}":`) {
		t.Errorf("CreateRole returned the trust policy unencoded: %s", raw)
	}
	if got := unescape(t, created.AssumeRolePolicyDocument); got != trustECS {
		t.Errorf("trust policy after unescaping = %s, want %s", got, trustECS)
	}

	got := must[*iamsdk.GetRoleOutput](t)(c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("quilt-mcp-target-acme")})).Role
	if unescape(t, got.AssumeRolePolicyDocument) != trustECS || aws.ToString(got.RoleId) != aws.ToString(created.RoleId) {
		t.Errorf("GetRole = %+v", got)
	}

	newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	must[*iamsdk.UpdateAssumeRolePolicyOutput](t)(c.UpdateAssumeRolePolicy(ctx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyDocument: aws.String(newTrust)}))
	got = must[*iamsdk.GetRoleOutput](t)(c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("quilt-mcp-target-acme")})).Role
	if unescape(t, got.AssumeRolePolicyDocument) != newTrust {
		t.Errorf("trust policy after UpdateAssumeRolePolicy = %s", unescape(t, got.AssumeRolePolicyDocument))
	}

	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"}]}`
	must[*iamsdk.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyName: aws.String("data"), PolicyDocument: aws.String(inline)}))
	rp := must[*iamsdk.GetRolePolicyOutput](t)(c.GetRolePolicy(ctx, &iamsdk.GetRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyName: aws.String("data")}))
	if unescape(t, rp.PolicyDocument) != inline || aws.ToString(rp.PolicyName) != "data" || aws.ToString(rp.RoleName) != "quilt-mcp-target-acme" {
		t.Errorf("GetRolePolicy = %+v", rp)
	}
	names := must[*iamsdk.ListRolePoliciesOutput](t)(c.ListRolePolicies(ctx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String("quilt-mcp-target-acme")}))
	if fmt.Sprint(names.PolicyNames) != "[data]" || names.IsTruncated {
		t.Errorf("ListRolePolicies = %v (truncated %v)", names.PolicyNames, names.IsTruncated)
	}

	_, err := c.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("quilt-mcp-target-acme")})
	wantErr(t, err, "DeleteConflict", "must delete policies first")
	var conflict *iamtypes.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("the SDK did not map DeleteConflict to its typed error: %T", err)
	}

	must[*iamsdk.DeleteRolePolicyOutput](t)(c.DeleteRolePolicy(ctx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyName: aws.String("data")}))
	must[*iamsdk.DeleteRoleOutput](t)(c.DeleteRole(ctx, &iamsdk.DeleteRoleInput{RoleName: aws.String("quilt-mcp-target-acme")}))
	_, err = c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("quilt-mcp-target-acme")})
	wantErr(t, err, "NoSuchEntity", "quilt-mcp-target-acme")
	var missing *iamtypes.NoSuchEntityException
	if !errors.As(err, &missing) {
		t.Errorf("the SDK did not map NoSuchEntity to its typed error: %T", err)
	}
}

func TestCreateRoleRejects(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	createRole(t, c, "taken")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"` +
		strings.Repeat("x", 2000) + `"}}}]}`
	cases := []struct {
		name      string
		in        iamsdk.CreateRoleInput
		code      string
		fragments []string
	}{
		{"a trust policy with a Resource element is malformed", iamsdk.CreateRoleInput{RoleName: aws.String("r1"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}`)},
			"MalformedPolicyDocument", []string{"Resource"}},
		{"a trust policy with an unknown condition operator is malformed", iamsdk.CreateRoleInput{RoleName: aws.String("r2"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEqualz":{"sts:ExternalId":"x"}}}]}`)},
			"MalformedPolicyDocument", []string{"StringEqualz"}},
		{"a trust policy without a Principal is malformed", iamsdk.CreateRoleInput{RoleName: aws.String("r3"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)},
			"MalformedPolicyDocument", []string{"Principal"}},
		{"a trust policy over 2048 characters exceeds the quota", iamsdk.CreateRoleInput{RoleName: aws.String("r4"), AssumeRolePolicyDocument: aws.String(big)},
			"LimitExceeded", []string{"ACLSizePerRole", "2048"}},
		{"a second role with a name differing only in case already exists", iamsdk.CreateRoleInput{RoleName: aws.String("TAKEN"), AssumeRolePolicyDocument: aws.String(trustECS)},
			"EntityAlreadyExists", []string{"TAKEN"}},
		{"a role name with a space breaks the name pattern", iamsdk.CreateRoleInput{RoleName: aws.String("has space"), AssumeRolePolicyDocument: aws.String(trustECS)},
			"ValidationError", []string{"roleName", "[\\w+=,.@-]+"}},
		{"a max session duration under an hour is out of range", iamsdk.CreateRoleInput{RoleName: aws.String("r5"), AssumeRolePolicyDocument: aws.String(trustECS), MaxSessionDuration: aws.Int32(60)},
			"ValidationError", []string{"maxSessionDuration", "3600 and 43200"}},
		{"a path without slashes at both ends is invalid", iamsdk.CreateRoleInput{RoleName: aws.String("r6"), AssumeRolePolicyDocument: aws.String(trustECS), Path: aws.String("tenants")},
			"ValidationError", []string{"path"}},
		{"a tag key with the aws: prefix is reserved", iamsdk.CreateRoleInput{RoleName: aws.String("r7"), AssumeRolePolicyDocument: aws.String(trustECS),
			Tags: []iamtypes.Tag{{Key: aws.String("aws:tenant"), Value: aws.String("acme")}}}, "InvalidInput", []string{"aws:"}},
		{"two tag keys differing only in case are duplicates", iamsdk.CreateRoleInput{RoleName: aws.String("r8"), AssumeRolePolicyDocument: aws.String(trustECS),
			Tags: []iamtypes.Tag{{Key: aws.String("Tenant"), Value: aws.String("a")}, {Key: aws.String("tenant"), Value: aws.String("b")}}}, "InvalidInput", []string{"Duplicate"}},
		{"a permissions boundary that does not exist is no such entity", iamsdk.CreateRoleInput{RoleName: aws.String("r9"), AssumeRolePolicyDocument: aws.String(trustECS),
			PermissionsBoundary: aws.String("arn:aws:iam::111122223333:policy/nope")}, "NoSuchEntity", []string{"policy/nope"}},
		{"a trust policy naming a role that does not exist has an invalid principal", iamsdk.CreateRoleInput{RoleName: aws.String("r10"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ghost"},"Action":"sts:AssumeRole"}]}`)},
			"MalformedPolicyDocument", []string{"Invalid principal", "role/ghost"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateRole(t.Context(), &tc.in)
			wantErr(t, err, tc.code, tc.fragments...)
			if _, err := c.GetRole(t.Context(), &iamsdk.GetRoleInput{RoleName: tc.in.RoleName}); aws.ToString(tc.in.RoleName) != "TAKEN" && err == nil {
				t.Errorf("a rejected CreateRole left a role behind: %v", err)
			}
		})
	}
}

func TestAttachedPoliciesQuotaAndConflicts(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	createRole(t, c, "worker")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	var arns []string
	for i := range 11 {
		out := must[*iamsdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iamsdk.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%02d", i)), PolicyDocument: aws.String(doc)}))
		arns = append(arns, aws.ToString(out.Policy.Arn))
	}
	for _, arn := range arns[:10] {
		must[*iamsdk.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("worker"), PolicyArn: aws.String(arn)}))
	}
	_, err := c.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("worker"), PolicyArn: aws.String(arns[10])})
	wantErr(t, err, "LimitExceeded", "PoliciesPerRole", "10")

	first := must[*iamsdk.ListAttachedRolePoliciesOutput](t)(c.ListAttachedRolePolicies(ctx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("worker"), MaxItems: aws.Int32(4)}))
	if len(first.AttachedPolicies) != 4 || !first.IsTruncated || first.Marker == nil {
		t.Fatalf("first page = %d policies, truncated %v", len(first.AttachedPolicies), first.IsTruncated)
	}
	var all []string
	p := iamsdk.NewListAttachedRolePoliciesPaginator(c, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("worker"), MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		page := must[*iamsdk.ListAttachedRolePoliciesOutput](t)(p.NextPage(ctx))
		for _, ap := range page.AttachedPolicies {
			all = append(all, aws.ToString(ap.PolicyName))
		}
	}
	if got := strings.Join(all, ","); got != "p00,p01,p02,p03,p04,p05,p06,p07,p08,p09" {
		t.Errorf("paginated attached policies = %s", got)
	}

	_, err = c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arns[0])})
	wantErr(t, err, "DeleteConflict", "attached")
	pol := must[*iamsdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arns[0])})).Policy
	if aws.ToInt32(pol.AttachmentCount) != 1 || aws.ToString(pol.DefaultVersionId) != "v1" || !pol.IsAttachable {
		t.Errorf("GetPolicy = %+v", pol)
	}
	must[*iamsdk.DetachRolePolicyOutput](t)(c.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("worker"), PolicyArn: aws.String(arns[0])}))
	_, err = c.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("worker"), PolicyArn: aws.String(arns[0])})
	wantErr(t, err, "NoSuchEntity")
	must[*iamsdk.DeletePolicyOutput](t)(c.DeletePolicy(ctx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arns[0])}))
	_, err = c.GetPolicy(ctx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arns[0])})
	wantErr(t, err, "NoSuchEntity")
}

func TestListRolesPagination(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	for _, n := range []string{"e", "a", "d", "c", "b"} {
		createRole(t, c, "role-"+n, func(in *iamsdk.CreateRoleInput) {
			if n == "c" || n == "e" {
				in.Path = aws.String("/apps/")
			}
		})
	}
	var pages [][]string
	var markers int
	in := &iamsdk.ListRolesInput{MaxItems: aws.Int32(2)}
	for {
		out := must[*iamsdk.ListRolesOutput](t)(c.ListRoles(ctx, in))
		var names []string
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
			if r.Tags != nil || r.PermissionsBoundary != nil {
				t.Errorf("ListRoles returned Tags or PermissionsBoundary, which IAM leaves out: %+v", r)
			}
			if aws.ToString(r.AssumeRolePolicyDocument) == "" {
				t.Errorf("ListRoles left out AssumeRolePolicyDocument of %s", aws.ToString(r.RoleName))
			}
		}
		pages = append(pages, names)
		if !out.IsTruncated {
			if out.Marker != nil {
				t.Errorf("the last page has a Marker")
			}
			break
		}
		markers++
		in.Marker = out.Marker
	}
	if got := fmt.Sprint(pages); got != "[[role-a role-b] [role-c role-d] [role-e]]" || markers != 2 {
		t.Errorf("pages = %s after %d markers", got, markers)
	}

	apps := must[*iamsdk.ListRolesOutput](t)(c.ListRoles(ctx, &iamsdk.ListRolesInput{PathPrefix: aws.String("/apps/")}))
	if len(apps.Roles) != 2 || aws.ToString(apps.Roles[0].RoleName) != "role-c" {
		t.Errorf("PathPrefix /apps/ listed %d roles", len(apps.Roles))
	}
	none := must[*iamsdk.ListRolesOutput](t)(c.ListRoles(ctx, &iamsdk.ListRolesInput{PathPrefix: aws.String("/nothing/")}))
	if len(none.Roles) != 0 || none.IsTruncated {
		t.Errorf("an empty listing = %+v", none)
	}

	_, err := c.ListRoles(ctx, &iamsdk.ListRolesInput{MaxItems: aws.Int32(0)})
	wantErr(t, err, "ValidationError", "maxItems", "greater than or equal to 1")
	_, err = c.ListRoles(ctx, &iamsdk.ListRolesInput{Marker: aws.String("not-a-marker")})
	wantErr(t, err, "InvalidInput", "Marker")
}

func TestRoleTags(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	createRole(t, c, "tagged", func(in *iamsdk.CreateRoleInput) {
		in.Tags = []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String("data")}, {Key: aws.String("env"), Value: aws.String("dev")}}
	})
	tag := func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	must[*iamsdk.TagRoleOutput](t)(c.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("tagged"), Tags: []iamtypes.Tag{tag("team", "platform"), tag("owner", "alice@acme")}}))
	list := func() string {
		out := must[*iamsdk.ListRoleTagsOutput](t)(c.ListRoleTags(ctx, &iamsdk.ListRoleTagsInput{RoleName: aws.String("tagged")}))
		var kv []string
		for _, t := range out.Tags {
			kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
		}
		return strings.Join(kv, ",")
	}
	if got := list(); got != "env=dev,owner=alice@acme,team=platform" {
		t.Errorf("after TagRole, tags = %s (a key differing only in case must replace the old tag)", got)
	}
	must[*iamsdk.UntagRoleOutput](t)(c.UntagRole(ctx, &iamsdk.UntagRoleInput{RoleName: aws.String("tagged"), TagKeys: []string{"ENV"}}))
	if got := list(); got != "owner=alice@acme,team=platform" {
		t.Errorf("after UntagRole ENV, tags = %s", got)
	}
	role := must[*iamsdk.GetRoleOutput](t)(c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("tagged")})).Role
	if len(role.Tags) != 2 {
		t.Errorf("GetRole tags = %+v", role.Tags)
	}

	cases := []struct {
		name string
		tags []iamtypes.Tag
		code string
		frag string
	}{
		{"a tag key with the aws: prefix is reserved", []iamtypes.Tag{tag("aws:team", "x")}, "InvalidInput", "aws:"},
		{"a tag key with a forbidden character breaks the pattern", []iamtypes.Tag{tag("team!", "x")}, "ValidationError", "tags.member.key"},
		{"an empty tag list is refused", []iamtypes.Tag{}, "ValidationError", "tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("tagged"), Tags: tc.tags})
			wantErr(t, err, tc.code, tc.frag)
		})
	}
	var many []iamtypes.Tag
	for i := range 49 {
		many = append(many, tag(fmt.Sprintf("k%d", i), "v"))
	}
	_, err := c.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("tagged"), Tags: many})
	wantErr(t, err, "LimitExceeded", "50")
	_, err = c.TagRole(ctx, &iamsdk.TagRoleInput{RoleName: aws.String("ghost"), Tags: []iamtypes.Tag{tag("a", "b")}})
	wantErr(t, err, "NoSuchEntity", "ghost")
}

func TestCloudTrailNotes(t *testing.T) {
	env := newEnv(t)
	c := env.adminClient()
	ctx := t.Context()
	createRole(t, c, "audited", func(in *iamsdk.CreateRoleInput) {
		in.Description = aws.String("d")
		in.Tags = []iamtypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}
	})
	call := env.lastCall()
	var req map[string]any
	if err := json.Unmarshal(call.Trail.RequestParameters, &req); err != nil {
		t.Fatal(err)
	}
	if req["roleName"] != "audited" || req["assumeRolePolicyDocument"] != trustECS || req["description"] != "d" || req["tags"] == nil {
		t.Errorf("CreateRole requestParameters = %s", call.Trail.RequestParameters)
	}
	var resp struct {
		Role map[string]any `json:"role"`
	}
	if err := json.Unmarshal(call.Trail.ResponseElements, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Role["arn"] != "arn:aws:iam::111122223333:role/audited" || strings.Contains(resp.Role["assumeRolePolicyDocument"].(string), "{") {
		t.Errorf("CreateRole responseElements = %s", call.Trail.ResponseElements)
	}
	if call.Trail.ReadOnly || len(call.Trail.Resources) != 1 || call.Trail.Resources[0].Type != "AWS::IAM::Role" {
		t.Errorf("CreateRole trail: readOnly %v, resources %+v", call.Trail.ReadOnly, call.Trail.Resources)
	}

	must[*iamsdk.GetRoleOutput](t)(c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("audited")}))
	if call := env.lastCall(); !call.Trail.ReadOnly || string(call.Trail.RequestParameters) != `{"roleName":"audited"}` || call.Trail.ResponseElements != nil {
		t.Errorf("GetRole trail = %+v", call.Trail)
	}

	must[*iamsdk.CreateUserOutput](t)(c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("bob")}))
	key := must[*iamsdk.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("bob")})).AccessKey
	call = env.lastCall()
	secret := aws.ToString(key.SecretAccessKey)
	if secret == "" || strings.Contains(string(call.Trail.ResponseElements), secret) || strings.Contains(string(call.Trail.RequestParameters), secret) {
		t.Errorf("CreateAccessKey's trail must not carry the secret: %s", call.Trail.ResponseElements)
	}
	if !strings.Contains(string(call.Trail.ResponseElements), aws.ToString(key.AccessKeyId)) {
		t.Errorf("CreateAccessKey's trail lacks the key ID: %s", call.Trail.ResponseElements)
	}
}
