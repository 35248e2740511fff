package iampolicy

import (
	"strings"
	"testing"
)

// The tutorial's policies (its section 4, kept verbatim in reference/policies/seed) against
// their corrected forms (reference/policies/reference; the mistakes are listed in
// docs/concepts.md, "What the tutorial gets wrong"). The tutorial's JSON snippets are single
// statements; they are used verbatim inside a 2012-10-17 document, with <acct> = 111122223333
// and <ecsTaskRole> = ecsTaskRole.
var (
	// 4.2 Target Role Trust Policy, verbatim.
	dxTutorialTrust = dxDoc(`{ "Effect":"Allow", "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"}, "Action":["sts:AssumeRole","sts:TagSession"], "Condition":{ "StringLike":{"sts:SourceIdentity":"usr-*"}, "ForAllValues:StringEquals":{"sts:TagKeys":["tenant"]} } }`)
	// 4.1 ECS Task Role, verbatim.
	dxTutorialTask = dxDoc(`{ "Effect":"Allow", "Action":["sts:AssumeRole","sts:TagSession"], "Resource":["arn:aws:iam::111122223333:role/quilt-mcp-target-*"] }`)
	// 4.3 Resource Policy Example (S3 ABAC), verbatim.
	dxTutorialBucket = dxDoc(`{ "Effect":"Allow", "Principal":{"AWS":"*"}, "Action":["s3:GetObject","s3:PutObject"], "Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*", "Condition":{"StringEquals":{"aws:PrincipalTag/tenant":"${aws:PrincipalTag/tenant}"}} }`)

	// The first corrected form: one statement per action, each on that action's own keys, the
	// tenant tag only required present (Null); the kit pins it instead (dxPinnedTrust).
	dxCorrectTrust = dxDoc(`
  {"Sid":"AssumeForOneUserOfOneTenant","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:AssumeRole",
   "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"},
                "ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},
                "Null":{"aws:RequestTag/tenant":"false"}}},
  {"Sid":"SetUsrSourceIdentity","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:SetSourceIdentity",
   "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"}}},
  {"Sid":"TagOnlyTenant","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:TagSession",
   "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},
                "Null":{"aws:RequestTag/tenant":"false"}}}`)
	// The kit's reference trust policy of acme's role: the first corrected form with the tenant
	// tag pinned to the role's own tenant (StringEquals instead of Null), so that whoever passes
	// the tag cannot choose another tenant's role.
	dxPinnedTrust = dxDoc(`
  {"Sid":"AssumeForOneUserOfOneTenant","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:AssumeRole",
   "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"},
                "ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},
                "StringEquals":{"aws:RequestTag/tenant":"acme"}}},
  {"Sid":"SetUsrSourceIdentity","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:SetSourceIdentity",
   "Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"}}},
  {"Sid":"TagOnlyTenant","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},
   "Action":"sts:TagSession",
   "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},
                "StringEquals":{"aws:RequestTag/tenant":"acme"}}}`)
	// reference/policies/reference/task-role-policy.json: the task-role identity policy.
	dxCorrectTask = dxDoc(`{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"arn:aws:iam::111122223333:role/quilt-mcp-target-*"}`)
	// reference/policies/reference/target-role-policy.json: tenant data access by ABAC in the
	// target role's identity policy.
	dxTargetABAC = dxDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}"},
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"}`)
	// reference/policies/reference/tenant-bucket-policy.json: each tenant bucket's policy denies
	// principals outside the account.
	dxCorrectBucket = dxDoc(`{ "Effect":"Allow", "Principal":{"AWS":"*"}, "Action":["s3:GetObject","s3:PutObject"], "Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*", "Condition":{"StringEquals":{"aws:PrincipalTag/tenant":"${aws:PrincipalTag/tenant}"}} },
		{"Sid":"DenyOutsideAccount","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::quilt-tenant-acme","arn:aws:s3:::quilt-tenant-acme/*"],
		 "Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}`)

	dxTarget = dxRoleARN(dxAcct, "quilt-mcp-target-acme")
	// dxAssume builds one of the up-to-three actions an AssumeRole call authorizes, with the full
	// key set STS supplies for the call (the engine filters it per action).
	dxAssume = func(action, sourceIdentity string, tagKeys ...string) *Request {
		opts := []dxOpt{dxBy(dxTaskSession), dxKey("sts:RoleSessionName", "s")}
		if sourceIdentity != "" {
			opts = append(opts, dxKey("sts:SourceIdentity", sourceIdentity))
		}
		if len(tagKeys) > 0 {
			opts = append(opts, dxKey("aws:TagKeys", tagKeys...))
			for _, k := range tagKeys {
				opts = append(opts, dxKey("aws:RequestTag/"+k, "acme"))
			}
		}
		return dxReq(action, dxTarget, opts...)
	}
	// dxAssumeAs is dxAssume with one tag, tenant=tenant.
	dxAssumeAs = func(action, tenant string) *Request {
		return dxReq(action, dxTarget, dxBy(dxTaskSession), dxKey("sts:RoleSessionName", "s"), dxKey("sts:SourceIdentity", "usr-1"),
			dxKey("aws:TagKeys", "tenant"), dxKey("aws:RequestTag/tenant", tenant))
	}
	dxTenantObj = func(tenant string, opts ...dxOpt) *Request {
		return dxReq("s3:GetObject", "arn:aws:s3:::quilt-tenant-"+tenant+"/data.csv", opts...)
	}
	dxMCPSession = dxSessionARN(dxAcct, "quilt-mcp-target-acme", "usr-1")
)

var dxTutorialCases = []dxEvalCase{
	{name: "The tutorial trust policy allows AssumeRole for a usr- source identity and a tenant tag",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:AssumeRole", "usr-1", "tenant"), want: Allow},
	{name: "The tutorial trust policy lets an extra session tag key through, because sts:TagKeys does not exist",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:AssumeRole", "usr-1", "tenant", "admin"), want: Allow},
	{name: "The tutorial's ForAllValues on sts:TagKeys constrains nothing even when a caller sets that key",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxReq("sts:AssumeRole", dxTarget, dxBy(dxTaskSession), dxKey("sts:SourceIdentity", "usr-1"), dxKey("sts:TagKeys", "admin")), want: Allow},
	{name: "The tutorial trust policy rejects a raw Auth0 subject as source identity",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:AssumeRole", "auth0|abc123", "tenant"), want: NoMatch},
	{name: "The tutorial trust policy rejects a raw Cognito subject as source identity",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:AssumeRole", "8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f", "tenant"), want: NoMatch},
	{name: "The tutorial trust policy denies sts:TagSession, which cannot see sts:SourceIdentity",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:TagSession", "usr-1", "tenant"), want: NoMatch},
	{name: "The tutorial trust policy does not allow sts:SetSourceIdentity at all",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxAssume("sts:SetSourceIdentity", "usr-1"), want: NoMatch},
	{name: "The tutorial trust policy does not trust another role of the account",
		kind: TrustPolicy, policy: dxTutorialTrust, req: dxReq("sts:AssumeRole", dxTarget, dxSession("other", "s"), dxKey("sts:SourceIdentity", "usr-1")), want: NoMatch},
	{name: "The corrected trust policy allows AssumeRole for usr- with exactly the tenant tag",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:AssumeRole", "usr-1", "tenant"), want: Allow},
	{name: "The corrected trust policy rejects an extra tag key on AssumeRole",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:AssumeRole", "usr-1", "tenant", "admin"), want: NoMatch},
	{name: "The corrected trust policy rejects AssumeRole without any session tag",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:AssumeRole", "usr-1"), want: NoMatch},
	{name: "The corrected trust policy rejects AssumeRole with an Okta subject as source identity",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:AssumeRole", "00u1abcdEFGH", "tenant"), want: NoMatch},
	{name: "The corrected trust policy rejects AssumeRole without a source identity",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:AssumeRole", "", "tenant"), want: NoMatch},
	{name: "The corrected trust policy allows SetSourceIdentity for usr-",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:SetSourceIdentity", "usr-1", "tenant"), want: Allow},
	{name: "The corrected trust policy rejects SetSourceIdentity for a raw subject",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:SetSourceIdentity", "auth0|abc123"), want: NoMatch},
	{name: "The corrected trust policy allows TagSession with only the tenant tag",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:TagSession", "usr-1", "tenant"), want: Allow},
	{name: "The corrected trust policy rejects TagSession with an extra tag key",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:TagSession", "usr-1", "tenant", "admin"), want: NoMatch},
	{name: "The corrected trust policy rejects TagSession without the tenant tag",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxAssume("sts:TagSession", "usr-1"), want: NoMatch},
	{name: "The corrected trust policy does not trust the same role name in another account",
		kind: TrustPolicy, policy: dxCorrectTrust, req: dxReq("sts:AssumeRole", dxTarget, dxBy(dxSessionARN(dxOther, "ecsTaskRole", "t")), dxKey("sts:SourceIdentity", "usr-1"), dxKey("aws:TagKeys", "tenant"), dxKey("aws:RequestTag/tenant", "acme")), want: NoMatch},
	{name: "The tutorial task role may call sts:AssumeRole on a target role",
		policy: dxTutorialTask, req: dxAssume("sts:AssumeRole", "usr-1", "tenant"), want: Allow},
	{name: "The tutorial task role may not call sts:SetSourceIdentity",
		policy: dxTutorialTask, req: dxAssume("sts:SetSourceIdentity", "usr-1"), want: NoMatch},
	{name: "The corrected task role may call sts:SetSourceIdentity",
		policy: dxCorrectTask, req: dxAssume("sts:SetSourceIdentity", "usr-1"), want: Allow},
	{name: "The corrected task role has no S3 access of its own",
		policy: dxCorrectTask, req: dxTenantObj("acme", dxBy(dxTaskSession)), want: NoMatch},
	{name: "The tutorial bucket policy matches a principal of any account that tags itself with the tenant",
		kind: ResourcePolicy, policy: dxTutorialBucket, req: dxTenantObj("acme", dxBy(dxSessionARN("999988887777", "attacker", "x")), dxTag("tenant", "acme")), want: Allow},
	{name: "The tutorial bucket policy does not match a principal without a tenant tag",
		kind: ResourcePolicy, policy: dxTutorialBucket, req: dxTenantObj("acme", dxBy(dxMCPSession)), want: NoMatch},
	{name: "The tutorial bucket policy keeps a tenant out of another tenant's bucket",
		kind: ResourcePolicy, policy: dxTutorialBucket, req: dxTenantObj("globex", dxBy(dxMCPSession), dxTag("tenant", "acme")), want: NoMatch},
	{name: "A tenant tag of * does not open every tenant bucket",
		kind: ResourcePolicy, policy: dxTutorialBucket, req: dxTenantObj("acme", dxBy(dxMCPSession), dxTag("tenant", "*")), want: NoMatch},
}

// End-to-end decisions for the tutorial and the corrected wiring (same sources).
var dxTutorialDecideCases = []dxDecideCase{
	{name: "With the tutorial's policies a per-request AssumeRole passing SourceIdentity fails: sts:SetSourceIdentity is allowed nowhere",
		identity: []string{dxTutorialTask}, resource: dxTutorialTrust, trust: true, req: dxAssume("sts:SetSourceIdentity", "usr-1", "tenant"), want: ImplicitDeny},
	{name: "With the tutorial's policies a tagged AssumeRole fails on sts:TagSession and reports sts:SourceIdentity as ignored",
		identity: []string{dxTutorialTask}, resource: dxTutorialTrust, trust: true, req: dxAssume("sts:TagSession", "usr-1", "tenant"), want: ImplicitDeny, ignored: []string{"sts:SourceIdentity"}},
	{name: "With the corrected policies sts:AssumeRole is allowed",
		identity: []string{dxCorrectTask}, resource: dxCorrectTrust, trust: true, req: dxAssume("sts:AssumeRole", "usr-1", "tenant"), want: Allowed, matchedSid: "AssumeForOneUserOfOneTenant"},
	{name: "With the corrected policies sts:TagSession is allowed",
		identity: []string{dxCorrectTask}, resource: dxCorrectTrust, trust: true, req: dxAssume("sts:TagSession", "usr-1", "tenant"), want: Allowed, matchedSid: "TagOnlyTenant"},
	{name: "With the corrected policies sts:SetSourceIdentity is allowed",
		identity: []string{dxCorrectTask}, resource: dxCorrectTrust, trust: true, req: dxAssume("sts:SetSourceIdentity", "usr-1", "tenant"), want: Allowed, matchedSid: "SetUsrSourceIdentity"},
	{name: "With the corrected policies an extra tag key is denied on sts:TagSession",
		identity: []string{dxCorrectTask}, resource: dxCorrectTrust, trust: true, req: dxAssume("sts:TagSession", "usr-1", "tenant", "admin"), want: ImplicitDeny},
	{name: "With the tutorial's policies acme's role passes sts:AssumeRole with tenant=globex: no condition ties the tag to the role",
		identity: []string{dxTutorialTask}, resource: dxTutorialTrust, trust: true, req: dxAssumeAs("sts:AssumeRole", "globex"), want: Allowed},
	{name: "With the first corrected form acme's role still takes tenant=globex (Null only asks for a tag)",
		identity: []string{dxCorrectTask}, resource: dxCorrectTrust, trust: true, req: dxAssumeAs("sts:TagSession", "globex"), want: Allowed, matchedSid: "TagOnlyTenant"},
	{name: "With the tenant pinned acme's role is assumed with tenant=acme",
		identity: []string{dxCorrectTask}, resource: dxPinnedTrust, trust: true, req: dxAssumeAs("sts:AssumeRole", "acme"), want: Allowed, matchedSid: "AssumeForOneUserOfOneTenant"},
	{name: "With the tenant pinned acme's role tags its session tenant=acme",
		identity: []string{dxCorrectTask}, resource: dxPinnedTrust, trust: true, req: dxAssumeAs("sts:TagSession", "acme"), want: Allowed, matchedSid: "TagOnlyTenant"},
	{name: "With the tenant pinned acme's role refuses sts:AssumeRole with tenant=globex",
		identity: []string{dxCorrectTask}, resource: dxPinnedTrust, trust: true, req: dxAssumeAs("sts:AssumeRole", "globex"), want: ImplicitDeny},
	{name: "With the tenant pinned acme's role refuses sts:TagSession with tenant=globex",
		identity: []string{dxCorrectTask}, resource: dxPinnedTrust, trust: true, req: dxAssumeAs("sts:TagSession", "globex"), want: ImplicitDeny},
	{name: "With the tenant pinned the tag value is compared case-sensitively: tenant=ACME is not acme",
		identity: []string{dxCorrectTask}, resource: dxPinnedTrust, trust: true, req: dxAssumeAs("sts:AssumeRole", "ACME"), want: ImplicitDeny},
	{name: "The tutorial bucket policy lets a foreign account read a tenant's data by tagging its own session",
		identity: []string{dxIdAllS3}, resource: dxTutorialBucket, resAccount: dxAcct,
		req: dxTenantObj("acme", dxBy(dxSessionARN("999988887777", "attacker", "x")), dxTag("tenant", "acme")), want: Allowed},
	{name: "A Deny on StringNotEquals aws:PrincipalAccount stops the foreign account",
		identity: []string{dxIdAllS3}, resource: dxCorrectBucket, resAccount: dxAcct,
		req: dxTenantObj("acme", dxBy(dxSessionARN("999988887777", "attacker", "x")), dxTag("tenant", "acme")), want: ExplicitDeny, matchedSid: "DenyOutsideAccount"},
	{name: "ABAC in the target role lets the session read its own tenant's bucket",
		identity: []string{dxTargetABAC}, resAccount: dxAcct, req: dxTenantObj("acme", dxBy(dxMCPSession), dxTag("tenant", "acme")), want: Allowed},
	{name: "ABAC in the target role keeps the session out of another tenant's bucket",
		identity: []string{dxTargetABAC}, resAccount: dxAcct, req: dxTenantObj("globex", dxBy(dxMCPSession), dxTag("tenant", "acme")), want: ImplicitDeny},
	{name: "A tenant-tag Deny without a Null guard also locks out an admin who has no tenant tag",
		identity: []string{dxIdAllS3}, resAccount: dxAcct,
		resource: dxDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::quilt-tenant-acme/*","Condition":{"StringNotEquals":{"aws:PrincipalTag/tenant":"acme"}}}`),
		req:      dxTenantObj("acme", dxUser("admin")), want: ExplicitDeny},
	{name: "A tenant-tag Deny guarded by Null leaves an admin without a tenant tag alone",
		identity: []string{dxIdAllS3}, resAccount: dxAcct,
		resource: dxDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::quilt-tenant-acme/*","Condition":{"StringNotEquals":{"aws:PrincipalTag/tenant":"acme"},"Null":{"aws:PrincipalTag/tenant":"false"}}}`),
		req:      dxTenantObj("acme", dxUser("admin")), want: Allowed},
}

// Session tags and source identity in trust policies.
// Sources: "Pass session tags in AWS STS", example role trust policy for session tags (user
// test-session-tags, ExternalId Example987, Project/CostCenter/Department, transitive Project and
// Department) (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html); "Monitor
// and control actions taken with assumed roles", trust policy requiring sts:SourceIdentity to equal
// ${aws:username} for sts:AssumeRole and sts:SetSourceIdentity
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html).
var (
	dxSessionTagsTrust = dxDoc(`
		{"Sid":"AllowIamUserAssumeRole","Effect":"Allow","Action":"sts:AssumeRole",
		 "Principal":{"AWS":"arn:aws:iam::123456789012:user/test-session-tags"},
		 "Condition":{"StringLike":{"aws:RequestTag/Project":"*","aws:RequestTag/CostCenter":"*","aws:RequestTag/Department":"*"},
		              "StringEquals":{"sts:ExternalId":"Example987"}}},
		{"Sid":"AllowPassSessionTagsAndTransitive","Effect":"Allow","Action":"sts:TagSession",
		 "Principal":{"AWS":"arn:aws:iam::123456789012:user/test-session-tags"},
		 "Condition":{"StringLike":{"aws:RequestTag/Project":"*","aws:RequestTag/CostCenter":"*"},
		              "StringEquals":{"aws:RequestTag/Department":["Engineering","Marketing"]},
		              "ForAllValues:StringEquals":{"sts:TransitiveTagKeys":["Project","Department"]}}}`)
	dxSourceIdentityTrust = dxDoc(`{"Sid":"SetAwsUserNameAsSourceIdentity","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],
		"Condition":{"StringLike":{"sts:SourceIdentity":"${aws:username}"}}}`)
	// dxTagged builds the request AssumeRole makes for the CLI example of the page
	// (Project=Automation, CostCenter=12345, Department=dept, transitive keys, ExternalId).
	dxTagged = func(action, user, dept, externalID string, transitive ...string) *Request {
		opts := []dxOpt{dxBy("arn:aws:iam::123456789012:user/" + user),
			dxKey("aws:RequestTag/Project", "Automation"), dxKey("aws:RequestTag/CostCenter", "12345"),
			dxKey("aws:TagKeys", "Project", "CostCenter")}
		if dept != "" {
			opts = append(opts, dxKey("aws:RequestTag/Department", dept), dxKey("aws:TagKeys", "Project", "CostCenter", "Department"))
		}
		if externalID != "" {
			opts = append(opts, dxKey("sts:ExternalId", externalID))
		}
		if len(transitive) > 0 {
			opts = append(opts, dxKey("sts:TransitiveTagKeys", transitive...))
		}
		return dxReq(action, "arn:aws:iam::123456789012:role/my-role-example", opts...)
	}
	dxSIReq = func(action, user, si string) *Request {
		return dxReq(action, "arn:aws:iam::123456789012:role/CriticalRole", dxBy("arn:aws:iam::123456789012:user/"+user), dxKey("sts:SourceIdentity", si))
	}
)

var dxSessionTagCases = []dxEvalCase{
	{name: "AssumeRole is allowed with the three required tags and the external ID",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:AssumeRole", "test-session-tags", "Engineering", "Example987", "Project", "Department"), want: Allow},
	{name: "AssumeRole is not allowed without the Department tag",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:AssumeRole", "test-session-tags", "", "Example987"), want: NoMatch},
	{name: "AssumeRole is not allowed with the wrong external ID",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:AssumeRole", "test-session-tags", "Engineering", "Example123"), want: NoMatch},
	{name: "AssumeRole does not restrict the Department value; only TagSession does",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:AssumeRole", "test-session-tags", "Sales", "Example987"), want: Allow},
	{name: "TagSession is allowed with an allowed Department and allowed transitive keys",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:TagSession", "test-session-tags", "Marketing", "Example987", "Project"), want: Allow},
	{name: "TagSession is not allowed with a Department outside the list",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:TagSession", "test-session-tags", "Sales", "Example987"), want: NoMatch},
	{name: "TagSession is not allowed to make CostCenter transitive",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:TagSession", "test-session-tags", "Engineering", "Example987", "Project", "CostCenter"), want: NoMatch},
	{name: "TagSession is allowed with no transitive keys at all",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:TagSession", "test-session-tags", "Engineering", "Example987"), want: Allow},
	{name: "TagSession does not need the external ID, which it cannot see anyway",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:TagSession", "test-session-tags", "Engineering", ""), want: Allow},
	{name: "The session-tags trust policy does not trust another user",
		kind: TrustPolicy, policy: dxSessionTagsTrust, req: dxTagged("sts:AssumeRole", "someone-else", "Engineering", "Example987"), want: NoMatch},
	{name: "SetSourceIdentity is allowed when the source identity is the caller's user name",
		kind: TrustPolicy, policy: dxSourceIdentityTrust, req: dxSIReq("sts:SetSourceIdentity", "DiegoRamirez", "DiegoRamirez"), want: Allow},
	{name: "SetSourceIdentity is not allowed for someone else's name",
		kind: TrustPolicy, policy: dxSourceIdentityTrust, req: dxSIReq("sts:SetSourceIdentity", "DiegoRamirez", "MaryMajor"), want: NoMatch},
	{name: "AssumeRole applies the same source-identity rule",
		kind: TrustPolicy, policy: dxSourceIdentityTrust, req: dxSIReq("sts:AssumeRole", "DiegoRamirez", "DiegoRamirez"), want: Allow},
	{name: "A role session has no aws:username, so it cannot satisfy the ${aws:username} rule",
		kind: TrustPolicy, policy: dxSourceIdentityTrust,
		req: dxReq("sts:SetSourceIdentity", "arn:aws:iam::123456789012:role/CriticalRole", dxBy("arn:aws:sts::123456789012:assumed-role/Ops/DiegoRamirez"), dxKey("sts:SourceIdentity", "DiegoRamirez")), want: NoMatch},
}

func TestDocsTutorialPolicies(t *testing.T)        { dxRunEval(t, dxTutorialCases) }
func TestDocsTutorialDecisions(t *testing.T)       { dxRunDecide(t, dxTutorialDecideCases) }
func TestDocsSessionTagTrustPolicies(t *testing.T) { dxRunEval(t, dxSessionTagCases) }

// TestDocsSimulateTutorial runs the tutorial's flaw through the JSON contract of
// `mcpsso policy simulate` (docs/components/policies.md, "The request").
func TestDocsSimulateTutorial(t *testing.T) {
	req := `{"action":"sts:TagSession","resource":"arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
	 "principal":{"arn":"arn:aws:sts::111122223333:assumed-role/ecsTaskRole/task-1","account":"111122223333"},
	 "context":{"sts:SourceIdentity":"usr-1","aws:TagKeys":["tenant"],"aws:RequestTag/tenant":"acme"},
	 "identityPolicies":[` + dxTutorialTask + `],
	 "resourcePolicy":` + dxTutorialTrust + `}`
	d, err := Simulate([]byte(req))
	if err != nil {
		t.Fatalf("Simulate: %v", err)
	}
	if d.Decision != ImplicitDeny {
		t.Errorf("decision = %s (%s), want %s", d.Decision, d.Reason, ImplicitDeny)
	}
	found := false
	for _, k := range d.IgnoredContextKeys {
		found = found || strings.EqualFold(k, "sts:SourceIdentity")
	}
	if !found {
		t.Errorf("ignoredContextKeys = %v, want sts:SourceIdentity", d.IgnoredContextKeys)
	}

	fixed := strings.Replace(strings.Replace(req, dxTutorialTask, dxCorrectTask, 1), dxTutorialTrust, dxCorrectTrust, 1)
	d, err = Simulate([]byte(fixed))
	if err != nil {
		t.Fatalf("Simulate corrected: %v", err)
	}
	if d.Decision != Allowed {
		t.Errorf("corrected decision = %s (%s), want %s", d.Decision, d.Reason, Allowed)
	}
}
