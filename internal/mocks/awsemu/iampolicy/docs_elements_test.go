package iampolicy

import "testing"

// Action and NotAction.
// Sources: "IAM JSON policy elements: Action" and "IAM JSON policy elements: NotAction"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html):
// action names are case-insensitive ("s3:GetObject" equals "S3:getobject"), "*" and "?"
// wildcards, "iam:*AccessKey*"; NotAction "iam:*" with Allow; the DenyAllUsersNotUsingMFA example
// (Deny NotAction with BoolIfExists aws:MultiFactorAuthPresent false); NotAction with a Resource
// limits the statement to that resource.
var (
	dxAllButIAM   = dxDoc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)
	dxDenyNoMFA   = dxDoc(`{"Sid":"DenyAllUsersNotUsingMFA","Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}`)
	dxAllS3ButDel = dxDoc(`{"Effect":"Allow","NotAction":"s3:DeleteBucket","Resource":"arn:aws:s3:::*"}`)
	dxActionIs    = func(pattern string) string {
		return dxDoc(`{"Effect":"Allow","Action":"` + pattern + `","Resource":"*"}`)
	}
)

var dxActionCases = []dxEvalCase{
	{name: "Action matches regardless of the case written in the policy", policy: dxActionIs("S3:getobject"), req: dxReq("s3:GetObject", "arn:aws:s3:::b/k"), want: Allow},
	{name: "Action matches regardless of the case sent in the request", policy: dxActionIs("s3:GetObject"), req: dxReq("S3:GETOBJECT", "arn:aws:s3:::b/k"), want: Allow},
	{name: "A wildcard inside an action name matches CreateAccessKey", policy: dxActionIs("iam:*AccessKey*"), req: dxReq("iam:CreateAccessKey", "*"), want: Allow},
	{name: "A wildcard inside an action name matches ListAccessKeys", policy: dxActionIs("iam:*AccessKey*"), req: dxReq("iam:ListAccessKeys", "*"), want: Allow},
	{name: "A wildcard inside an action name does not match an unrelated action", policy: dxActionIs("iam:*AccessKey*"), req: dxReq("iam:CreateUser", "*"), want: NoMatch},
	{name: "A prefix wildcard matches every action with the prefix", policy: dxActionIs("s3:Get*"), req: dxReq("s3:GetObjectAcl", "*"), want: Allow},
	{name: "A prefix wildcard does not match another verb", policy: dxActionIs("s3:Get*"), req: dxReq("s3:PutObject", "*"), want: NoMatch},
	{name: "A question mark matches one character of an action", policy: dxActionIs("s3:?etObject"), req: dxReq("s3:GetObject", "*"), want: Allow},
	{name: "A bare asterisk matches every action", policy: dxActionIs("*"), req: dxReq("dynamodb:Query", "*"), want: Allow},
	{name: "The service prefix must match exactly: s3:* does not cover s3express", policy: dxActionIs("s3:*"), req: dxReq("s3express:CreateSession", "*"), want: NoMatch},
	{name: "NotAction with Allow grants actions outside the listed service", policy: dxAllButIAM, req: dxReq("s3:GetObject", "arn:aws:s3:::b/k"), want: Allow},
	{name: "NotAction with Allow does not grant the listed service", policy: dxAllButIAM, req: dxReq("iam:CreateUser", "*"), want: NoMatch},
	{name: "NotAction matches case-insensitively", policy: dxDoc(`{"Effect":"Allow","NotAction":"S3:*","Resource":"*"}`), req: dxReq("s3:GetObject", "*"), want: NoMatch},
	{name: "Deny NotAction denies a non-IAM action without MFA", policy: dxDenyNoMFA, req: dxReq("s3:GetObject", "arn:aws:s3:::b/k", dxUser("Bob")), want: Deny},
	{name: "Deny NotAction leaves IAM actions alone without MFA", policy: dxDenyNoMFA, req: dxReq("iam:CreateVirtualMFADevice", "*", dxUser("Bob")), want: NoMatch},
	{name: "Deny NotAction does not deny with MFA", policy: dxDenyNoMFA, req: dxReq("s3:GetObject", "arn:aws:s3:::b/k", dxUser("Bob"), dxKey("aws:MultiFactorAuthPresent", "true")), want: NoMatch},
	{name: "NotAction with a Resource allows other S3 actions on S3 resources", policy: dxAllS3ButDel, req: dxReq("s3:ListBucket", "arn:aws:s3:::logs"), want: Allow},
	{name: "NotAction with a Resource does not allow the excluded action", policy: dxAllS3ButDel, req: dxReq("s3:DeleteBucket", "arn:aws:s3:::logs"), want: NoMatch},
	{name: "NotAction with a Resource does not reach resources of other services", policy: dxAllS3ButDel, req: dxReq("iam:CreateUser", "arn:aws:iam::111122223333:user/x"), want: NoMatch},
}

// Resource and NotResource.
// Sources: "IAM JSON policy elements: Resource" (resource ARNs are case-sensitive; "*" and "?"
// wildcards in any ARN segment, where "*" may span ":" and "/"), and "IAM JSON policy elements:
// NotResource" with its HRBucket/Payroll examples in Allow and Deny form
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html).
var (
	dxAllowButPayroll = dxDoc(`{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}`)
	dxDenyButPayroll  = dxDoc(`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}`)
	dxResourceIs      = func(pattern string) string {
		return dxDoc(`{"Effect":"Allow","Action":"*","Resource":"` + pattern + `"}`)
	}
)

var dxResourceCases = []dxEvalCase{
	{name: "Resource ARNs match case-sensitively", policy: dxResourceIs("arn:aws:s3:::MyBucket/*"), req: dxReq("s3:GetObject", "arn:aws:s3:::mybucket/x"), want: NoMatch},
	{name: "Resource with the same case matches", policy: dxResourceIs("arn:aws:s3:::MyBucket/*"), req: dxReq("s3:GetObject", "arn:aws:s3:::MyBucket/x"), want: Allow},
	{name: "An asterisk in a Resource spans slashes", policy: dxResourceIs("arn:aws:s3:::*"), req: dxReq("s3:GetObject", "arn:aws:s3:::bucket/a/b/c"), want: Allow},
	{name: "An asterisk in a Resource spans colons", policy: dxResourceIs("arn:aws:s3:::logs/*"), req: dxReq("s3:GetObject", "arn:aws:s3:::logs/2026-01-01T00:00:00Z/app:1.log"), want: Allow},
	{name: "An asterisk in the account segment matches any account", policy: dxResourceIs("arn:aws:iam::*:user/division/*"), req: dxReq("iam:GetUser", "arn:aws:iam::111122223333:user/division/Bob"), want: Allow},
	{name: "An object pattern does not match the bucket ARN itself", policy: dxResourceIs("arn:aws:s3:::bucket/*"), req: dxReq("s3:ListBucket", "arn:aws:s3:::bucket"), want: NoMatch},
	{name: "A question mark in a Resource matches exactly one character", policy: dxResourceIs("arn:aws:s3:::log-??/*"), req: dxReq("s3:GetObject", "arn:aws:s3:::log-01/x"), want: Allow},
	{name: "A question mark in a Resource does not match two characters", policy: dxResourceIs("arn:aws:s3:::log-??/*"), req: dxReq("s3:GetObject", "arn:aws:s3:::log-001/x"), want: NoMatch},
	{name: "A region wildcard matches any region", policy: dxResourceIs("arn:aws:sqs:*:111122223333:orders"), req: dxReq("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:orders"), want: Allow},
	{name: "A Resource list is ORed", policy: dxDoc(`{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]}`), req: dxReq("s3:GetObject", "arn:aws:s3:::b/k"), want: Allow},
	{name: "Allow with NotResource grants a resource outside the payroll prefix", policy: dxAllowButPayroll, req: dxReq("s3:GetObject", "arn:aws:s3:::HRBucket/Benefits/plan.pdf"), want: Allow},
	{name: "Allow with NotResource does not grant the payroll folder", policy: dxAllowButPayroll, req: dxReq("s3:ListBucket", "arn:aws:s3:::HRBucket/Payroll"), want: NoMatch},
	{name: "Allow with NotResource does not grant objects under the payroll folder", policy: dxAllowButPayroll, req: dxReq("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv"), want: NoMatch},
	{name: "NotResource matches case-sensitively, so a differently cased payroll path is not excluded",
		policy: dxAllowButPayroll, req: dxReq("s3:GetObject", "arn:aws:s3:::hrbucket/payroll/jan.csv"), want: Allow},
	{name: "Deny with NotResource denies everything outside the payroll folder", policy: dxDenyButPayroll, req: dxReq("s3:GetObject", "arn:aws:s3:::HRBucket/Benefits/plan.pdf"), want: Deny},
	{name: "Deny with NotResource does not deny the payroll folder", policy: dxDenyButPayroll, req: dxReq("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv"), want: NoMatch},
}

// Principal and NotPrincipal in resource-based and trust policies (Policy.Evaluate only; the
// delegation and sufficiency rules are in docs_decide_test.go).
// Sources: "AWS JSON policy elements: Principal" (account ID and account root ARN are the same;
// role principal; assumed-role session principal; user name part is case-sensitive; arrays are
// ORed; "*" means everyone; service and federated principals), the S3 example "Granting read-only
// permission to a public anonymous user", and "AWS JSON policy elements: NotPrincipal" with its
// Bob/444455556666 and cross-account-read-only-role/ReadOnlyUser examples ("you must also specify
// the account ARN of the principal ... otherwise the policy might deny access to the entire
// account"; "for a role session, include the session, the role, and the account")
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html).
var (
	dxPrincipalIs = func(principal string) string {
		return dxDoc(`{"Effect":"Allow","Principal":` + principal + `,"Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"}`)
	}
	dxTrustIs = func(principal, action string) string {
		return dxDoc(`{"Effect":"Allow","Principal":` + principal + `,"Action":"` + action + `"}`)
	}
	dxGet = func(opts ...dxOpt) *Request {
		return dxReq("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/index.html", opts...)
	}
	dxNotBob = dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]},
		"Action":"s3:*","Resource":["arn:aws:s3:::BUCKETNAME","arn:aws:s3:::BUCKETNAME/*"]}`)
	dxNotReadOnly = dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/ReadOnlyUser",
		"arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]},
		"Action":"s3:*","Resource":["arn:aws:s3:::BUCKETNAME","arn:aws:s3:::BUCKETNAME/*"]}`)
	dxNotBobOnly  = dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::444455556666:user/Bob"},"Action":"s3:*","Resource":"arn:aws:s3:::BUCKETNAME/*"}`)
	dxNotRoleOnly = dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]},
		"Action":"s3:*","Resource":"arn:aws:s3:::BUCKETNAME/*"}`)
	dxBucketObj = func(opts ...dxOpt) *Request {
		return dxReq("s3:GetObject", "arn:aws:s3:::BUCKETNAME/data.csv", opts...)
	}
)

var dxPrincipalCases = []dxEvalCase{
	{name: `Principal "*" matches an anonymous caller`, kind: ResourcePolicy, policy: dxPrincipalIs(`"*"`), req: dxGet(), want: Allow},
	{name: `Principal {"AWS":"*"} matches an anonymous caller`, kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"*"}`), req: dxGet(), want: Allow},
	{name: `Principal "*" matches an IAM user of any account`, kind: ResourcePolicy, policy: dxPrincipalIs(`"*"`), req: dxGet(dxBy(dxUserARN("999988887777", "eve"))), want: Allow},
	{name: "An account ID principal matches a user of that account", kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"123456789012"}`), req: dxGet(dxBy("arn:aws:iam::123456789012:user/Bob")), want: Allow},
	{name: "An account ID principal does not match a user of another account", kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"123456789012"}`), req: dxGet(dxBy("arn:aws:iam::555555555555:user/Bob")), want: NoMatch},
	{name: "An account root ARN principal matches a role session of that account, not only the root user",
		kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::123456789012:root"}`), req: dxGet(dxBy("arn:aws:sts::123456789012:assumed-role/Reader/s1")), want: Allow},
	{name: "A principal array is ORed over accounts", kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":["123456789012","555555555555"]}`), req: dxGet(dxBy("arn:aws:iam::555555555555:user/Ann")), want: Allow},
	{name: "A role principal matches a session of that role", kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::111122223333:role/Reader"}`), req: dxGet(dxSession("Reader", "s1")), want: Allow},
	{name: "A role principal does not match a session of another role", kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::111122223333:role/Reader"}`), req: dxGet(dxSession("Writer", "s1")), want: NoMatch},
	{name: "A role principal with a path matches a session when the role ARN is known",
		kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::111122223333:role/service/Reader"}`),
		req: dxGet(dxSession("Reader", "s1"), dxRoleOf("arn:aws:iam::111122223333:role/service/Reader")), want: Allow},
	{name: "A role principal does not match a same-named role in another account",
		kind: ResourcePolicy, policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::111122223333:role/Reader"}`), req: dxGet(dxBy(dxSessionARN(dxOther, "Reader", "s1"))), want: NoMatch},
	{name: "A session principal matches exactly that session", kind: ResourcePolicy,
		policy: dxPrincipalIs(`{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/alice"}`), req: dxGet(dxSession("Reader", "alice")), want: Allow},
	{name: "A session principal does not match another session of the same role", kind: ResourcePolicy,
		policy: dxPrincipalIs(`{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/alice"}`), req: dxGet(dxSession("Reader", "bob")), want: NoMatch},
	{name: "The user name part of a principal ARN is case-sensitive", kind: ResourcePolicy,
		policy: dxPrincipalIs(`{"AWS":"arn:aws:iam::111122223333:user/bob"}`), req: dxGet(dxUser("Bob")), want: NoMatch},
	{name: "A service principal matches that service", kind: TrustPolicy,
		policy: dxTrustIs(`{"Service":"ecs-tasks.amazonaws.com"}`, "sts:AssumeRole"), req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "task"), dxService("ecs-tasks.amazonaws.com")), want: Allow},
	{name: "A service principal does not match another service", kind: TrustPolicy,
		policy: dxTrustIs(`{"Service":"ecs-tasks.amazonaws.com"}`, "sts:AssumeRole"), req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "task"), dxService("lambda.amazonaws.com")), want: NoMatch},
	{name: "A federated principal matches the web identity provider", kind: TrustPolicy,
		policy: dxTrustIs(`{"Federated":"cognito-identity.amazonaws.com"}`, "sts:AssumeRoleWithWebIdentity"),
		req:    dxReq("sts:AssumeRoleWithWebIdentity", dxRoleARN(dxAcct, "app"), dxFederated("cognito-identity.amazonaws.com")), want: Allow},
	{name: "An AWS principal does not match a service caller", kind: TrustPolicy,
		policy: dxTrustIs(`{"AWS":"arn:aws:iam::111122223333:root"}`, "sts:AssumeRole"), req: dxReq("sts:AssumeRole", dxRoleARN(dxAcct, "task"), dxService("ecs-tasks.amazonaws.com")), want: NoMatch},
	{name: "NotPrincipal spares the listed user when its account is listed too", kind: ResourcePolicy, policy: dxNotBob, req: dxBucketObj(dxBy(dxUserARN(dxOther, "Bob"))), want: NoMatch},
	{name: "NotPrincipal denies another user of the listed account", kind: ResourcePolicy, policy: dxNotBob, req: dxBucketObj(dxBy(dxUserARN(dxOther, "Alice"))), want: Deny},
	{name: "NotPrincipal denies an anonymous caller", kind: ResourcePolicy, policy: dxNotBob, req: dxBucketObj(), want: Deny},
	{name: "NotPrincipal spares a role session when the session, role and account are listed",
		kind: ResourcePolicy, policy: dxNotReadOnly, req: dxBucketObj(dxBy(dxSessionARN(dxOther, "cross-account-read-only-role", "ReadOnlyUser"))), want: NoMatch},
	{name: "NotPrincipal denies another session of the listed role",
		kind: ResourcePolicy, policy: dxNotReadOnly, req: dxBucketObj(dxBy(dxSessionARN(dxOther, "cross-account-read-only-role", "Other"))), want: Deny},
	{name: "NotPrincipal listing a user without its account still denies that user",
		kind: ResourcePolicy, policy: dxNotBobOnly, req: dxBucketObj(dxBy(dxUserARN(dxOther, "Bob"))), want: Deny},
	{name: "NotPrincipal listing only the role and account still denies the role's session",
		kind: ResourcePolicy, policy: dxNotRoleOnly, req: dxBucketObj(dxBy(dxSessionARN(dxOther, "cross-account-read-only-role", "ReadOnlyUser"))), want: Deny},
}

func TestDocsActionElements(t *testing.T)    { dxRunEval(t, dxActionCases) }
func TestDocsResourceElements(t *testing.T)  { dxRunEval(t, dxResourceCases) }
func TestDocsPrincipalElements(t *testing.T) { dxRunEval(t, dxPrincipalCases) }
