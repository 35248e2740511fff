package iampolicy

import "testing"

// Policy variables.
// Source unless noted: "IAM policy elements: Variables and tags"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):
// the mybucket/${aws:username} example, the iam:*AccessKey* on user/${aws:username} example, the
// SQS ${aws:username}-queue example, the bucket/${aws:PrincipalTag/department} example, the
// special characters ${*} ${?} ${$}, default values ${key, 'default'}, "variables were introduced
// in version 2012-10-17 ... earlier versions treat them as literal strings", "you can use any
// single-valued context key as a policy variable, but not a multivalued one"
// (reference_policies_condition-single-vs-multi-valued-context-keys), and "Policy variables with no
// value" (the Resource entry or condition does not match).
var (
	dxUsernamePolicy = dxDoc(`
		{"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket"],"Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
		{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}`)
	dxOwnKeysPolicy = dxDoc(`{"Action":["iam:*AccessKey*"],"Effect":"Allow","Resource":["arn:aws:iam::111122223333:user/${aws:username}"]}`)
	dxQueuePolicy   = dxDoc(`{"Sid":"ListForConsole","Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"},
		{"Sid":"AllQueueActions","Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-2:*:${aws:username}-queue"}`)
	dxDeptPolicy    = dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::bucket/${aws:PrincipalTag/department}"]}`)
	dxDeptDefault   = dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::bucket/${aws:PrincipalTag/department, 'company-wide'}/*"]}`)
	dxTeamPrefix    = dxDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket","Condition":{"StringLike":{"s3:prefix":"${aws:PrincipalTag/team}/*"}}}`)
	dxTeamMatch     = dxAllowIf(`"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}`)
	dxUsername2008  = dxDoc2008(`{"Action":["s3:GetObject"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}`)
	dxUsernameNoVer = `{"Statement":[{"Action":["s3:GetObject"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket/${aws:username}/*"]}]}`
	dxStart         = func(opts ...dxOpt) *Request {
		return dxReq("ec2:StartInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", opts...)
	}
)

var dxVariableCases = []dxEvalCase{
	{name: "${aws:username} in a Resource admits the user's own objects",
		policy: dxUsernamePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", dxUser("David")), want: Allow},
	{name: "${aws:username} in a Resource excludes another user's objects",
		policy: dxUsernamePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/Adele/notes.txt", dxUser("David")), want: NoMatch},
	{name: "${aws:username} has no value for a role session, so the Resource entry does not match",
		policy: dxUsernamePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", dxSession("David", "David")), want: NoMatch},
	{name: "${aws:username} in a StringLike condition value admits the user's own prefix",
		policy: dxUsernamePolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::mybucket", dxUser("David"), dxKey("s3:prefix", "David/photos/")), want: Allow},
	{name: "${aws:username} in a condition has no value for a role session, so the condition is false",
		policy: dxUsernamePolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::mybucket", dxSession("David", "x"), dxKey("s3:prefix", "David/photos/")), want: NoMatch},
	{name: "A user may manage the access keys of the IAM user named like itself",
		policy: dxOwnKeysPolicy, req: dxReq("iam:CreateAccessKey", "arn:aws:iam::111122223333:user/David", dxUser("David")), want: Allow},
	{name: "A user may not manage another user's access keys",
		policy: dxOwnKeysPolicy, req: dxReq("iam:CreateAccessKey", "arn:aws:iam::111122223333:user/Bob", dxUser("David")), want: NoMatch},
	{name: "A variable inside a resource name admits the user's own queue in any account",
		policy: dxQueuePolicy, req: dxReq("sqs:SendMessage", "arn:aws:sqs:us-east-2:111122223333:David-queue", dxUser("David")), want: Allow},
	{name: "A variable inside a resource name excludes a queue named for someone else",
		policy: dxQueuePolicy, req: dxReq("sqs:SendMessage", "arn:aws:sqs:us-east-2:111122223333:Bob-queue", dxUser("David")), want: NoMatch},
	{name: "A variable key name is case-insensitive",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::mybucket/${AWS:UserName}/*"}`), req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/x", dxUser("David")), want: Allow},
	{name: "${aws:PrincipalTag/department} admits the bucket path named for the department",
		policy: dxDeptPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/hr", dxSession("Staff", "s"), dxTag("department", "hr")), want: Allow},
	{name: "${aws:PrincipalTag/department} without the tag makes the Resource entry not match",
		policy: dxDeptPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/hr", dxSession("Staff", "s")), want: NoMatch},
	{name: "A tag value of * substituted into a Resource is a literal character, not a wildcard",
		policy: dxDeptPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/finance", dxSession("Staff", "s"), dxTag("department", "*")), want: NoMatch},
	{name: "A tag value of * substituted into a Resource matches a literal asterisk",
		policy: dxDeptPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/*", dxSession("Staff", "s"), dxTag("department", "*")), want: Allow},
	{name: "A tag value of ?? substituted into a Resource does not match two arbitrary characters",
		policy: dxDeptPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/hr", dxSession("Staff", "s"), dxTag("department", "??")), want: NoMatch},
	{name: "A tag value of * substituted into a StringLike value is a literal character",
		policy: dxTeamPrefix, req: dxReq("s3:ListBucket", "arn:aws:s3:::bucket", dxSession("Staff", "s"), dxTag("team", "*"), dxKey("s3:prefix", "payroll/2025")), want: NoMatch},
	{name: "A tag value of * substituted into a StringLike value still leaves the policy's own wildcard working",
		policy: dxTeamPrefix, req: dxReq("s3:ListBucket", "arn:aws:s3:::bucket", dxSession("Staff", "s"), dxTag("team", "*"), dxKey("s3:prefix", "*/2025")), want: Allow},
	{name: "A default value is used when the tag is missing",
		policy: dxDeptDefault, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/company-wide/handbook.pdf", dxSession("Staff", "s")), want: Allow},
	{name: "The tag value wins over the default when the tag exists",
		policy: dxDeptDefault, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/hr/salaries.csv", dxSession("Staff", "s"), dxTag("department", "hr")), want: Allow},
	{name: "The default is not used when the tag exists",
		policy: dxDeptDefault, req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/company-wide/handbook.pdf", dxSession("Staff", "s"), dxTag("department", "hr")), want: NoMatch},
	{name: "An anonymous caller gets the default for ${aws:userid, 'anonymous'}",
		policy: dxAllowIf(`"StringEquals":{"s3:prefix":"${aws:userid, 'anonymous'}"}`), req: dxReq("s3:ListBucket", "arn:aws:s3:::bucket", dxKey("s3:prefix", "anonymous")), want: Allow},
	{name: "${aws:userid} substitutes the role-id:session-name of a role session",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:userid}/*"}`),
		req:    dxReq("s3:GetObject", "arn:aws:s3:::home/AROAEXAMPLEID:alice/x", dxSession("Staff", "alice"), dxUserID("AROAEXAMPLEID:alice")), want: Allow},
	{name: "${aws:SourceIdentity} substitutes the session's source identity",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::audit/${aws:SourceIdentity}/*"}`),
		req:    dxReq("s3:GetObject", "arn:aws:s3:::audit/usr-1/log", dxSession("Staff", "s"), dxSrcID("usr-1")), want: Allow},
	{name: "${aws:SourceIdentity} without a source identity makes the Resource entry not match",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::audit/${aws:SourceIdentity}/*"}`),
		req:    dxReq("s3:GetObject", "arn:aws:s3:::audit/usr-1/log", dxSession("Staff", "s")), want: NoMatch},
	{name: "${aws:PrincipalAccount} in a condition compares with the caller's account",
		policy: dxAllowIf(`"StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}`), req: dxStart(dxUser("Bob"), dxKey("aws:ResourceAccount", dxAcct)), want: Allow},
	{name: "${aws:PrincipalAccount} does not match a resource in another account",
		policy: dxAllowIf(`"StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}`), req: dxStart(dxUser("Bob"), dxKey("aws:ResourceAccount", dxOther)), want: NoMatch},
	{name: "A resource tag equal to the principal's tag matches",
		policy: dxTeamMatch, req: dxStart(dxUser("Bob"), dxTag("team", "eng"), dxKey("aws:ResourceTag/team", "eng")), want: Allow},
	{name: "A condition whose variable has no value is false",
		policy: dxTeamMatch, req: dxStart(dxUser("Bob"), dxKey("aws:ResourceTag/team", "eng")), want: NoMatch},
	{name: "A multivalued key used as a variable has no value",
		policy: dxDoc(`{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:us-east-1:111122223333:instance/${aws:TagKeys}"}`),
		req:    dxReq("ec2:CreateTags", "arn:aws:ec2:us-east-1:111122223333:instance/a", dxKey("aws:TagKeys", "a", "b")), want: NoMatch},
	{name: "${*} stands for a literal asterisk in a condition value",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/note":"a${*}b*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("note", "a*bcd")), want: Allow},
	{name: "${*} does not act as a wildcard",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/note":"a${*}b*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("note", "axbcd")), want: NoMatch},
	{name: "${?} stands for a literal question mark",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/note":"why${?}"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("note", "why?")), want: Allow},
	{name: "${?} does not match an arbitrary character",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/note":"why${?}"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("note", "whyX")), want: NoMatch},
	{name: "${$} stands for a literal dollar sign",
		policy: dxAllowIf(`"StringEquals":{"aws:PrincipalTag/price":"${$}100"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("price", "$100")), want: Allow},
	{name: "${*} in a Resource does not match an ordinary object name",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${*}"}`), req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/other", dxUser("Bob")), want: NoMatch},
	{name: "${*} in a Resource matches an object literally named *",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${*}"}`), req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/*", dxUser("Bob")), want: Allow},
	{name: "In a 2008-10-17 policy ${aws:username} is not substituted",
		policy: dxUsername2008, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", dxUser("David")), want: NoMatch},
	{name: "In a 2008-10-17 policy ${aws:username} matches its own literal text",
		policy: dxUsername2008, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/notes.txt", dxUser("David")), want: Allow},
	{name: "A policy without a Version treats ${aws:username} as literal text",
		policy: dxUsernameNoVer, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", dxUser("David")), want: NoMatch},
	{name: "${aws:username} is the friendly name, without the user's path",
		policy: dxUsernamePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", dxBy("arn:aws:iam::111122223333:user/division_abc/subdivision_xyz/David")), want: Allow},
	{name: "A NotResource entry whose variable has no value excludes nothing, so a Deny applies",
		policy: dxDoc(`{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::mybucket/${aws:username}/*"}`), req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/x", dxSession("David", "x")), want: Deny},
	{name: "A NotResource entry with a variable excludes the user's own objects",
		policy: dxDoc(`{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::mybucket/${aws:username}/*"}`), req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/David/x", dxUser("David")), want: NoMatch},
	{name: "StringNotEquals against a variable with no value is true: the request value is not equal to null (\"Policy variables with no value\")",
		policy: dxDenyIf(`"StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}`), req: dxStart(dxUser("Bob"), dxKey("aws:ResourceTag/team", "eng")), want: Deny},
}

func TestDocsPolicyVariables(t *testing.T) { dxRunEval(t, dxVariableCases) }

// Keys derived from the caller and keys a request sets explicitly.
// Sources: "AWS global condition context keys"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
// aws:PrincipalType is Account, User, FederatedUser, AssumedRole or Anonymous; aws:PrincipalArn
// of a role session is the role's ARN; aws:username exists only for IAM users; aws:userid is
// role-id:session-name for a role session; aws:SourceIdentity is the session's source identity.
// The Cognito trust policy of "Create a role for OpenID Connect federation"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html), with
// cognito-identity.amazonaws.com:aud and the multivalued :amr key.
var (
	dxTypeIs       = func(typ string) string { return dxAllowIf(`"StringEquals":{"aws:PrincipalType":"` + typ + `"}`) }
	dxPub          = func(opts ...dxOpt) *Request { return dxReq("sns:Publish", "*", opts...) }
	dxCognitoTrust = dxDoc(`{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-2:12345678-abcd-abcd-abcd-123456"},
		             "ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"unauthenticated"}}}`)
	dxWebIdentity = func(aud string, amr ...string) *Request {
		return dxReq("sts:AssumeRoleWithWebIdentity", dxRoleARN(dxAcct, "Cognito_Unauth"), dxFederated("cognito-identity.amazonaws.com"),
			dxKey("cognito-identity.amazonaws.com:aud", aud), dxKey("cognito-identity.amazonaws.com:amr", amr...))
	}
	dxNoSourceIdentityDeny = dxDenyIf(`"StringNotLike":{"aws:SourceIdentity":"usr-*"}`)
)

var dxDerivedKeyCases = []dxEvalCase{
	{name: "aws:PrincipalType is User for an IAM user", policy: dxTypeIs("User"), req: dxPub(dxUser("Bob")), want: Allow},
	{name: "aws:PrincipalType is AssumedRole for a role session", policy: dxTypeIs("AssumedRole"), req: dxPub(dxSession("Reader", "s1")), want: Allow},
	{name: "aws:PrincipalType is Account for the root user", policy: dxTypeIs("Account"), req: dxPub(dxBy("arn:aws:iam::111122223333:root")), want: Allow},
	{name: "aws:PrincipalType is FederatedUser for a GetFederationToken session", policy: dxTypeIs("FederatedUser"), req: dxPub(dxBy("arn:aws:sts::111122223333:federated-user/Bob")), want: Allow},
	{name: "aws:PrincipalType is Anonymous for an unauthenticated caller", policy: dxTypeIs("Anonymous"), req: dxPub(), want: Allow},
	{name: "aws:PrincipalArn of a role session is the role ARN, not the session ARN",
		policy: dxAllowIf(`"ArnEquals":{"aws:PrincipalArn":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}`), req: dxPub(dxSession("Reader", "s1")), want: NoMatch},
	{name: "aws:PrincipalArn of an IAM user is the user ARN",
		policy: dxAllowIf(`"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/Bob"}`), req: dxPub(dxUser("Bob")), want: Allow},
	{name: "aws:PrincipalAccount comes from the caller's ARN",
		policy: dxAllowIf(`"StringEquals":{"aws:PrincipalAccount":"111122223333"}`), req: dxPub(dxSession("Reader", "s1")), want: Allow},
	{name: "aws:username is absent for a role session",
		policy: dxAllowIf(`"Null":{"aws:username":"true"}`), req: dxPub(dxSession("Reader", "s1")), want: Allow},
	{name: "aws:userid of a role session is role-id:session-name",
		policy: dxAllowIf(`"StringLike":{"aws:userid":"AROA*:alice"}`), req: dxPub(dxSession("Reader", "alice"), dxUserID("AROAEXAMPLEID:alice")), want: Allow},
	{name: "A principal tag set explicitly in the context wins over the principal's own tag",
		policy: dxAllowIf(`"StringEquals":{"aws:PrincipalTag/team":"blue"}`), req: dxPub(dxUser("Bob"), dxTag("team", "red"), dxKey("aws:PrincipalTag/team", "blue")), want: Allow},
	{name: "aws:PrincipalArn set explicitly in the context wins over the derived one",
		policy: dxAllowIf(`"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/path/Reader"}`), req: dxPub(dxSession("Reader", "s1"), dxKey("aws:PrincipalArn", "arn:aws:iam::111122223333:role/path/Reader")), want: Allow},
	{name: "A Deny on StringNotLike aws:SourceIdentity spares a usr- source identity",
		policy: dxNoSourceIdentityDeny, req: dxPub(dxSession("Reader", "s1"), dxSrcID("usr-1")), want: NoMatch},
	{name: "A Deny on StringNotLike aws:SourceIdentity also hits a session without any source identity",
		policy: dxNoSourceIdentityDeny, req: dxPub(dxSession("Reader", "s1")), want: Deny},
	{name: "The Cognito trust policy allows an unauthenticated identity of the identity pool",
		kind: TrustPolicy, policy: dxCognitoTrust, req: dxWebIdentity("us-east-2:12345678-abcd-abcd-abcd-123456", "unauthenticated"), want: Allow},
	{name: "The Cognito trust policy rejects another identity pool",
		kind: TrustPolicy, policy: dxCognitoTrust, req: dxWebIdentity("us-east-2:99999999-abcd-abcd-abcd-123456", "unauthenticated"), want: NoMatch},
	{name: "The Cognito trust policy rejects an authenticated identity",
		kind: TrustPolicy, policy: dxCognitoTrust, req: dxWebIdentity("us-east-2:12345678-abcd-abcd-abcd-123456", "authenticated", "cognito-idp.us-east-2.amazonaws.com/us-east-2_123456789"), want: NoMatch},
}

func TestDocsDerivedKeys(t *testing.T) { dxRunEval(t, dxDerivedKeyCases) }
