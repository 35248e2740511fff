package iampolicy

import "testing"

// Combining policies with Decide.
// Sources: "Policy evaluation logic" and "Cross-account policy evaluation logic"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
// an explicit deny in any policy wins; in one account an identity-based OR a resource-based allow
// suffices; across accounts both are needed. "AWS JSON policy elements: Principal": an account
// principal delegates to the account's own policies; a role principal is limited by session
// policies and permissions boundaries. "Session policies" and "Permissions boundaries for IAM
// entities" (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html): effective
// permissions are the intersection; a resource policy naming the session or user ARN directly is
// not limited by an implicit deny in a session policy or boundary (nor, per the Principal page,
// is one granting Principal "*" under an aws:PrincipalArn condition). S3 "Granting read-only
// permission to a public anonymous user" for the anonymous case.
var (
	dxBkt       = "arn:aws:s3:::DOC-EXAMPLE-BUCKET"
	dxBktObj    = dxBkt + "/report.csv"
	dxIdGet     = dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}`)
	dxIdList    = dxDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET"}`)
	dxIdAllS3   = dxDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	dxIdDenyGet = dxDoc(`{"Sid":"DenyGet","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)
	dxBucketFor = func(principal string) string {
		return dxDoc(`{"Sid":"Grant","Effect":"Allow","Principal":` + principal + `,"Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}`)
	}
	dxBucketDeny = dxDoc(`{"Sid":"Grant","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"},
		{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}`)
	dxBob       = dxUserARN(dxAcct, "Bob")
	dxReaderArn = dxRoleARN(dxAcct, "Reader")
	dxReaderS1  = dxSessionARN(dxAcct, "Reader", "s1")
	dxGetAs     = func(arn string, opts ...dxOpt) *Request {
		return dxReq("s3:GetObject", dxBktObj, append([]dxOpt{dxBy(arn)}, opts...)...)
	}
	// dxArnGrant is a bucket policy granting Principal "*" under condition c.
	dxArnGrant = func(c string) string {
		return dxDoc(`{"Sid":"ByArn","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*","Condition":{` + c + `}}`)
	}
	dxNotBobHere = dxDoc(`{"Sid":"AllButBob","Effect":"Deny","NotPrincipal":{"AWS":["` + dxBob + `","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}`)
)

var dxDecideCases = []dxDecideCase{
	{name: "An identity policy alone allows a same-account request",
		identity: []string{dxIdGet}, req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	{name: "Without any allowing statement the request is implicitly denied",
		identity: []string{dxIdList}, req: dxGetAs(dxBob), resAccount: dxAcct, want: ImplicitDeny},
	{name: "An explicit deny in the resource policy overrides an identity allow",
		identity: []string{dxIdGet}, resource: dxBucketDeny, req: dxGetAs(dxBob), resAccount: dxAcct, want: ExplicitDeny, matchedSid: "DenyAll"},
	{name: "An explicit deny in an identity policy overrides a resource policy allow",
		identity: []string{dxIdDenyGet}, resource: dxBucketFor(`{"AWS":"` + dxBob + `"}`), req: dxGetAs(dxBob), resAccount: dxAcct, want: ExplicitDeny, matchedSid: "DenyGet"},
	{name: "A resource policy naming the user allows a same-account request without any identity policy",
		resource: dxBucketFor(`{"AWS":"` + dxBob + `"}`), req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed, matchedSid: "Grant"},
	{name: "A resource policy naming only the account delegates, so without an identity allow the request is denied",
		resource: dxBucketFor(`{"AWS":"111122223333"}`), req: dxGetAs(dxBob), resAccount: dxAcct, want: ImplicitDeny},
	{name: "A resource policy naming the account plus an identity allow is allowed",
		identity: []string{dxIdGet}, resource: dxBucketFor(`{"AWS":"arn:aws:iam::111122223333:root"}`), req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	{name: `A same-account resource policy with Principal "*" is sufficient on its own`,
		resource: dxBucketFor(`"*"`), req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	{name: "A resource policy naming the role allows the role's session without an identity policy",
		resource: dxBucketFor(`{"AWS":"` + dxReaderArn + `"}`), req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: "A resource policy naming the role is still limited by the session policy",
		resource: dxBucketFor(`{"AWS":"` + dxReaderArn + `"}`), session: []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: "A resource policy naming the session ARN is not limited by the session policy",
		resource: dxBucketFor(`{"AWS":"` + dxReaderS1 + `"}`), session: []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: "A resource policy naming the role is still limited by the permissions boundary",
		resource: dxBucketFor(`{"AWS":"` + dxReaderArn + `"}`), boundary: dxIdList, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: "A resource policy naming the IAM user is not limited by the user's permissions boundary",
		resource: dxBucketFor(`{"AWS":"` + dxBob + `"}`), boundary: dxIdList, req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	{name: "A resource policy naming the session ARN is not limited by the permissions boundary",
		resource: dxBucketFor(`{"AWS":"` + dxReaderS1 + `"}`), boundary: dxIdList, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: "Cross-account: a resource policy naming the caller's exact ARN is still capped by the caller's boundary",
		identity: []string{dxIdAllS3}, boundary: dxIdList, resource: dxBucketFor(`{"AWS":"` + dxUserARN(dxOther, "Ann") + `"}`),
		req: dxGetAs(dxUserARN(dxOther, "Ann")), resAccount: dxAcct, want: ImplicitDeny},
	{name: "Cross-account: a trust policy naming the caller's exact ARN still needs the caller's identity allow",
		resource: dxTrustIs(`{"AWS":"arn:aws:iam::444455556666:user/Ann"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "Shared"), dxBy(dxUserARN(dxOther, "Ann"))), want: ImplicitDeny},
	{name: "An identity allow inside the session policy is allowed",
		identity: []string{dxIdAllS3}, session: []string{dxIdGet}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: "An identity allow outside the session policy is denied",
		identity: []string{dxIdAllS3}, session: []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: "A session policy cannot grant what the identity policy does not",
		identity: []string{dxIdList}, session: []string{dxIdAllS3}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: "Several session policies count as one: any of them allowing is enough",
		identity: []string{dxIdAllS3}, session: []string{dxIdList, dxIdGet}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: "A permissions boundary that allows the action keeps the identity allow",
		identity: []string{dxIdGet}, boundary: dxIdAllS3, req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	{name: "A permissions boundary that does not allow the action caps the identity allow",
		identity: []string{dxIdAllS3}, boundary: dxIdList, req: dxGetAs(dxBob), resAccount: dxAcct, want: ImplicitDeny},
	{name: "A permissions boundary never grants anything by itself",
		identity: []string{dxIdList}, boundary: dxIdAllS3, req: dxGetAs(dxBob), resAccount: dxAcct, want: ImplicitDeny},
	{name: "An explicit deny in a session policy denies",
		identity: []string{dxIdAllS3}, session: []string{dxIdAllS3, dxIdDenyGet}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ExplicitDeny},
	{name: "An explicit deny in a permissions boundary denies",
		identity: []string{dxIdAllS3}, boundary: dxDoc(`{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`),
		req: dxGetAs(dxBob), resAccount: dxAcct, want: ExplicitDeny},
	{name: "Cross-account: a resource policy naming the foreign user is not enough without that user's identity allow",
		resource: dxBucketFor(`{"AWS":"` + dxUserARN(dxOther, "Ann") + `"}`), req: dxGetAs(dxUserARN(dxOther, "Ann")), resAccount: dxAcct, want: ImplicitDeny},
	{name: "Cross-account: the resource policy and the caller's identity policy together allow",
		identity: []string{dxIdGet}, resource: dxBucketFor(`{"AWS":"` + dxUserARN(dxOther, "Ann") + `"}`), req: dxGetAs(dxUserARN(dxOther, "Ann")), resAccount: dxAcct, want: Allowed},
	{name: "Cross-account: an identity policy alone is not enough without a resource policy",
		identity: []string{dxIdGet}, req: dxGetAs(dxUserARN(dxOther, "Ann")), resAccount: dxAcct, want: ImplicitDeny},
	{name: "Cross-account: a resource policy naming a third account does not help",
		identity: []string{dxIdGet}, resource: dxBucketFor(`{"AWS":"999988887777"}`), req: dxGetAs(dxUserARN(dxOther, "Ann")), resAccount: dxAcct, want: ImplicitDeny},
	{name: "Cross-account: a session policy still limits the caller",
		identity: []string{dxIdAllS3}, resource: dxBucketFor(`{"AWS":"` + dxOther + `"}`), session: []string{dxIdList},
		req: dxGetAs(dxSessionARN(dxOther, "Reader", "s1")), resAccount: dxAcct, want: ImplicitDeny},
	{name: "The resource account defaults to the account in the resource ARN",
		resource: dxDoc(`{"Effect":"Allow","Principal":{"AWS":"` + dxBob + `"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:444455556666:q"}`),
		req:      dxReq("sqs:SendMessage", "arn:aws:sqs:us-east-1:444455556666:q", dxBy(dxBob)), want: ImplicitDeny},
	{name: "An S3 ARN has no account, so the resource account defaults to the caller's",
		resource: dxBucketFor(`{"AWS":"` + dxBob + `"}`), req: dxGetAs(dxBob), want: Allowed},
	{name: "Cross-account trust naming the account needs the caller's identity allow",
		resource: dxTrustIs(`{"AWS":"arn:aws:iam::444455556666:root"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "Shared"), dxBy(dxUserARN(dxOther, "Ann"))), want: ImplicitDeny},
	{name: "Cross-account trust naming the account allows with the caller's identity allow",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/Shared"}`)},
		resource: dxTrustIs(`{"AWS":"arn:aws:iam::444455556666:root"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "Shared"), dxBy(dxUserARN(dxOther, "Ann"))), want: Allowed},
	{name: "A service principal named in a trust policy needs no identity policy",
		resource: dxTrustIs(`{"Service":"ecs-tasks.amazonaws.com"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "task"), dxService("ecs-tasks.amazonaws.com")), want: Allowed},
	{name: "A public-read bucket policy allows an anonymous caller",
		resource: dxBucketFor(`"*"`), req: dxReq("s3:GetObject", dxBktObj), resAccount: dxAcct, want: Allowed},
	// Per the Principal page ("IAM role principals"): "Identity-based policy types, such as
	// permissions boundaries or session policies, do not limit permissions granted using the
	// aws:PrincipalArn condition key with a wildcard (*) in the Principal element". The engine
	// exempts such a grant from session policies and boundaries in the same account, as it does a
	// grant naming the exact session ARN; a bare Principal "*" (or a negated aws:PrincipalArn
	// condition) stays capped, and across accounts the caller's side still caps it.
	{name: `Principal "*" with an aws:PrincipalArn condition is not limited by the session policy`,
		resource: dxArnGrant(`"ArnEquals":{"aws:PrincipalArn":"` + dxReaderArn + `"}`),
		session:  []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed, matchedSid: "ByArn"},
	{name: `Principal "*" with an aws:PrincipalArn condition is not limited by the permissions boundary`,
		resource: dxArnGrant(`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Read*"}`),
		boundary: dxIdList, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: Allowed},
	{name: `A bare Principal "*" grant is still limited by the session policy`,
		resource: dxBucketFor(`"*"`), session: []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: `A bare Principal "*" grant is still limited by the permissions boundary`,
		resource: dxBucketFor(`"*"`), boundary: dxIdList, req: dxGetAs(dxBob), resAccount: dxAcct, want: ImplicitDeny},
	{name: `Principal "*" with a condition on another key is still limited by the session policy`,
		resource: dxArnGrant(`"StringEquals":{"aws:PrincipalAccount":"111122223333"}`),
		session:  []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: `Principal "*" with a negated aws:PrincipalArn condition is still limited by the session policy`,
		resource: dxArnGrant(`"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Other"}`),
		session:  []string{dxIdList}, req: dxGetAs(dxReaderS1), resAccount: dxAcct, want: ImplicitDeny},
	{name: `Cross-account: Principal "*" with an aws:PrincipalArn condition is still limited by the caller's session policy`,
		identity: []string{dxIdAllS3}, resource: dxArnGrant(`"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::444455556666:role/Reader"}`),
		session: []string{dxIdList}, req: dxGetAs(dxSessionARN(dxOther, "Reader", "s1")), resAccount: dxAcct, want: ImplicitDeny},
	// Per the NotPrincipal page: "The NotPrincipal element with a Deny effect will always deny any
	// IAM principal that has a permissions boundary policy attached, regardless of the values
	// specified in the NotPrincipal element." The engine does exactly that; without a boundary
	// the listed principal is spared as before.
	{name: "A Deny with NotPrincipal denies a listed principal that has a permissions boundary",
		identity: []string{dxIdAllS3}, boundary: dxIdAllS3, resource: dxNotBobHere,
		req: dxGetAs(dxBob), resAccount: dxAcct, want: ExplicitDeny, matchedSid: "AllButBob"},
	{name: "A Deny with NotPrincipal spares a listed principal without a permissions boundary",
		identity: []string{dxIdAllS3}, resource: dxNotBobHere, req: dxGetAs(dxBob), resAccount: dxAcct, want: Allowed},
	// "Policy evaluation logic", identity-based with resource-based policies: "Role trust policies
	// and KMS key policies are exceptions to this logic, because they must explicitly allow access
	// for principals"; "Pass session tags in AWS STS" and the AssumeRole API reference
	// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): the role's
	// trust policy must allow the caller.
	{name: "A role trust policy must allow even when the caller's identity policy allows sts:AssumeRole in the same account",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}`)},
		resource: dxTrustIs(`{"AWS":"arn:aws:iam::111122223333:role/SomeoneElse"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "Target"), dxBy(dxBob)), want: ImplicitDeny},
	{name: "A role trust policy naming the account plus the caller's identity allow lets a same-account user assume the role",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}`)},
		resource: dxTrustIs(`{"AWS":"arn:aws:iam::111122223333:root"}`, "sts:AssumeRole"), trust: true,
		req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "Target"), dxBy(dxBob)), want: Allowed},
}

// Per-action condition keys (the strict reading: each action sees only the keys the Service
// Authorization Reference lists for it, plus the global keys; docs/components/aws-emulator.md
// says why). Sources: the Service Authorization Reference for AWS STS and Amazon S3
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html),
// "AWS global condition context keys" (global keys are present for every action), and
// "Pass session tags in AWS STS" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html),
// which lists aws:ResourceTag among the keys usable with sts:TagSession.
var (
	dxTaskSession = dxSessionARN(dxAcct, "ecsTaskRole", "task-1")
	dxTrustFor    = func(action, cond string) string {
		return dxDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},"Action":"` + action + `","Condition":{` + cond + `}}`)
	}
	dxSTS = func(action string, opts ...dxOpt) *Request {
		return dxReq(action, dxRoleARN(dxAcct, "quilt-mcp-target-acme"), append([]dxOpt{dxBy(dxTaskSession)}, opts...)...)
	}
	dxS3Get = func(opts ...dxOpt) *Request {
		return dxReq("s3:GetObject", dxBktObj, append([]dxOpt{dxUser("Bob")}, opts...)...)
	}
)

var dxStrictKeyCases = []dxDecideCase{
	{name: "sts:AssumeRole sees sts:SourceIdentity",
		resource: dxTrustFor("sts:AssumeRole", `"StringLike":{"sts:SourceIdentity":"usr-*"}`), trust: true, req: dxSTS("sts:AssumeRole", dxKey("sts:SourceIdentity", "usr-1")), want: Allowed},
	{name: "sts:TagSession does not see sts:SourceIdentity and reports it as ignored",
		resource: dxTrustFor("sts:TagSession", `"StringLike":{"sts:SourceIdentity":"usr-*"}`), trust: true, req: dxSTS("sts:TagSession", dxKey("sts:SourceIdentity", "usr-1")),
		want: ImplicitDeny, ignored: []string{"sts:SourceIdentity"}},
	{name: "The per-action key list applies whatever the case of the action name",
		resource: dxTrustFor("sts:TagSession", `"StringLike":{"sts:SourceIdentity":"usr-*"}`), trust: true, req: dxSTS("STS:tagsession", dxKey("sts:SourceIdentity", "usr-1")),
		want: ImplicitDeny, ignored: []string{"sts:SourceIdentity"}},
	{name: "sts:TagSession sees aws:RequestTag and aws:TagKeys",
		resource: dxTrustFor("sts:TagSession", `"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:RequestTag/tenant":"false"}`), trust: true,
		req: dxSTS("sts:TagSession", dxKey("aws:TagKeys", "tenant"), dxKey("aws:RequestTag/tenant", "acme")), want: Allowed},
	{name: "sts:SetSourceIdentity does not see aws:RequestTag",
		resource: dxTrustFor("sts:SetSourceIdentity", `"Null":{"aws:RequestTag/tenant":"false"}`), trust: true,
		req: dxSTS("sts:SetSourceIdentity", dxKey("aws:RequestTag/tenant", "acme"), dxKey("sts:SourceIdentity", "usr-1")), want: ImplicitDeny, ignored: []string{"aws:RequestTag/tenant"}},
	{name: "aws:TagKeys is not a global key, so sts:SetSourceIdentity does not see it",
		resource: dxTrustFor("sts:SetSourceIdentity", `"ForAnyValue:StringEquals":{"aws:TagKeys":["tenant"]}`), trust: true,
		req: dxSTS("sts:SetSourceIdentity", dxKey("aws:TagKeys", "tenant")), want: ImplicitDeny, ignored: []string{"aws:TagKeys"}},
	{name: "Global keys apply to sts:SetSourceIdentity",
		resource: dxTrustFor("sts:SetSourceIdentity", `"StringEquals":{"aws:PrincipalTag/team":"platform"},"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/ecsTaskRole"}`), trust: true,
		req: dxSTS("sts:SetSourceIdentity", dxTag("team", "platform")), want: Allowed},
	{name: "sts:AssumeRole sees sts:ExternalId",
		resource: dxTrustFor("sts:AssumeRole", `"StringEquals":{"sts:ExternalId":"Example987"}`), trust: true, req: dxSTS("sts:AssumeRole", dxKey("sts:ExternalId", "Example987")), want: Allowed},
	{name: "sts:TagSession does not see sts:ExternalId",
		resource: dxTrustFor("sts:TagSession", `"StringEquals":{"sts:ExternalId":"Example987"}`), trust: true, req: dxSTS("sts:TagSession", dxKey("sts:ExternalId", "Example987")),
		want: ImplicitDeny, ignored: []string{"sts:ExternalId"}},
	{name: "aws:SourceIp is global and applies to s3:GetObject",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`)},
		req:      dxS3Get(dxKey("aws:SourceIp", "203.0.113.1")), resAccount: dxAcct, want: Allowed},
	{name: "s3:GetObject does not see s3:prefix",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home/*"}}}`)},
		req:      dxS3Get(dxKey("s3:prefix", "home/Bob")), resAccount: dxAcct, want: ImplicitDeny, ignored: []string{"s3:prefix"}},
	{name: "An IfExists operator treats an ignored key as missing",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualsIfExists":{"s3:prefix":"home/"}}}`)},
		req:      dxS3Get(dxKey("s3:prefix", "other/")), resAccount: dxAcct, want: Allowed, ignored: []string{"s3:prefix"}},
	{name: "s3:ListBucket sees s3:prefix",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home/*"}}}`)},
		req:      dxReq("s3:ListBucket", dxBkt, dxUser("Bob"), dxKey("s3:prefix", "home/Bob")), resAccount: dxAcct, want: Allowed},
	{name: "An action without a key list keeps every key",
		identity: []string{dxDoc(`{"Effect":"Allow","Action":"iam:TagUser","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]},"Null":{"aws:TagKeys":"false"}}}`)},
		req:      dxReq("iam:TagUser", dxUserARN(dxAcct, "Ann"), dxUser("Bob"), dxKey("aws:TagKeys", "team")), want: Allowed, noIgnored: true},
	// Written per id_session-tags ("You can use the sts:TagSession action with the following
	// condition keys ... aws:ResourceTag"): the role's own tags are visible to sts:TagSession.
	{name: "sts:TagSession sees the tags of the role being assumed (aws:ResourceTag)",
		resource: dxTrustFor("sts:TagSession", `"StringEquals":{"aws:ResourceTag/team":"platform"}`), trust: true,
		req: dxSTS("sts:TagSession", dxKey("aws:ResourceTag/team", "platform")), want: Allowed},
}

func TestDocsDecide(t *testing.T)        { dxRunDecide(t, dxDecideCases) }
func TestDocsPerActionKeys(t *testing.T) { dxRunDecide(t, dxStrictKeyCases) }
