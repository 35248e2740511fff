package iampolicy

import "testing"

// Set operators on multivalued context keys.
// Sources: "Multivalued context key examples"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html),
// whose tables give the expected Match / No match per request context, and "Single-valued vs.
// multivalued context keys"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
// ForAllValues is also true when the key is missing or empty; ForAnyValue needs the key.
var (
	dxDenyKey1Policy = dxDoc(`{"Sid":"DenyRestrictedTags","Effect":"Deny","Action":["iam:Tag*","iam:UnTag*"],"Resource":["*"],
		"Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}}`)
	dxDenyKey12Policy = dxDoc(`{"Sid":"DenyRestrictedTags","Effect":"Deny","Action":["iam:Tag*","iam:UnTag*"],"Resource":["*"],
		"Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":["key1*","key2*"]}}}`)
	dxAllowAnyKey1Policy = dxDoc(`{"Sid":"AllowKey1","Effect":"Allow","Action":["iam:Tag*","iam:UnTag*"],"Resource":["*"],
		"Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"key1*"}}}`)
	dxTagUser = func(keys ...string) *Request {
		if keys == nil {
			return dxReq("iam:TagUser", dxBobKey, dxUser("Admin"))
		}
		return dxReq("iam:TagUser", dxBobKey, dxUser("Admin"), dxKey("aws:TagKeys", keys...))
	}
	dxOnlyTenant        = dxAllowIf(`"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]}`)
	dxOnlyTenantGuarded = dxAllowIf(`"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:TagKeys":"false"}`)
	dxAnyTenant         = dxAllowIf(`"ForAnyValue:StringEquals":{"aws:TagKeys":["tenant"]}`)
	dxCreatedTagsOnly   = dxAllowIf(`"ForAllValues:StringLike":{"aws:TagKeys":"Created*"}`)
	dxTagResource       = func(opts ...dxOpt) *Request { return dxReq("ec2:CreateTags", "*", opts...) }
)

var dxMultiValueCases = []dxEvalCase{
	{name: "ForAllValues:StringNotLike does not deny a single key1 tag", policy: dxDenyKey1Policy, req: dxTagUser("key1:legal"), want: NoMatch},
	{name: "ForAllValues:StringNotLike does not deny several key1 tags", policy: dxDenyKey1Policy, req: dxTagUser("key1:hr", "key1:personnel"), want: NoMatch},
	{name: "ForAllValues:StringNotLike denies a tag without the key1 prefix", policy: dxDenyKey1Policy, req: dxTagUser("key2:audit"), want: Deny},
	{name: "ForAllValues:StringNotLike denies when aws:TagKeys is missing", policy: dxDenyKey1Policy, req: dxTagUser(), want: Deny},
	{name: "ForAllValues:StringNotLike does not deny a mix where one tag has the key1 prefix", policy: dxDenyKey1Policy, req: dxTagUser("key1:hr", "key2:audit"), want: NoMatch},
	{name: "ForAllValues:StringNotLike with two patterns does not deny a key1 tag", policy: dxDenyKey12Policy, req: dxTagUser("key1:legal"), want: NoMatch},
	{name: "ForAllValues:StringNotLike with two patterns does not deny key1 and key2 tags", policy: dxDenyKey12Policy, req: dxTagUser("key1:hr", "key2:audit"), want: NoMatch},
	{name: "ForAllValues:StringNotLike with two patterns denies a key3 tag", policy: dxDenyKey12Policy, req: dxTagUser("key3:legal"), want: Deny},
	{name: "ForAllValues:StringNotLike with two patterns denies when aws:TagKeys is missing", policy: dxDenyKey12Policy, req: dxTagUser(), want: Deny},
	{name: "ForAnyValue:StringLike allows when one tag key has the prefix", policy: dxAllowAnyKey1Policy, req: dxTagUser("key2:audit", "key1:legal"), want: Allow},
	{name: "ForAnyValue:StringLike does not allow when no tag key has the prefix", policy: dxAllowAnyKey1Policy, req: dxTagUser("key2:audit"), want: NoMatch},
	{name: "ForAnyValue:StringLike is false when aws:TagKeys is missing", policy: dxAllowAnyKey1Policy, req: dxTagUser(), want: NoMatch},
	{name: "ForAllValues:StringEquals allows a subset of the listed keys", policy: dxOnlyTenant, req: dxTagResource(dxKey("aws:TagKeys", "tenant")), want: Allow},
	{name: "ForAllValues:StringEquals rejects an extra key", policy: dxOnlyTenant, req: dxTagResource(dxKey("aws:TagKeys", "tenant", "admin")), want: NoMatch},
	{name: "ForAllValues:StringEquals is true when the key is missing", policy: dxOnlyTenant, req: dxTagResource(), want: Allow},
	{name: "ForAllValues:StringEquals is true when the key has an empty list of values", policy: dxOnlyTenant, req: dxTagResource(dxKey("aws:TagKeys")), want: Allow},
	{name: "A Null false guard stops ForAllValues from passing a missing key", policy: dxOnlyTenantGuarded, req: dxTagResource(), want: NoMatch},
	{name: "A Null false guard stops ForAllValues from passing an empty key", policy: dxOnlyTenantGuarded, req: dxTagResource(dxKey("aws:TagKeys")), want: NoMatch},
	{name: "A Null false guard keeps ForAllValues passing a listed key", policy: dxOnlyTenantGuarded, req: dxTagResource(dxKey("aws:TagKeys", "tenant")), want: Allow},
	{name: "ForAnyValue:StringEquals is false for an empty list of values", policy: dxAnyTenant, req: dxTagResource(dxKey("aws:TagKeys")), want: NoMatch},
	{name: "ForAnyValue:StringEquals is true when any request value is listed", policy: dxAnyTenant, req: dxTagResource(dxKey("aws:TagKeys", "admin", "tenant")), want: Allow},
	{name: "ForAllValues:StringLike allows every key that starts with Created", policy: dxCreatedTagsOnly, req: dxTagResource(dxKey("aws:TagKeys", "CreatedBy", "CreatedAt")), want: Allow},
	{name: "ForAllValues:StringLike rejects a set with one key outside the pattern", policy: dxCreatedTagsOnly, req: dxTagResource(dxKey("aws:TagKeys", "CreatedBy", "Owner")), want: NoMatch},
	{name: "A plain StringEquals on a multivalued key is true if any request value matches",
		policy: dxAllowIf(`"StringEquals":{"aws:TagKeys":"tenant"}`), req: dxTagResource(dxKey("aws:TagKeys", "tenant", "admin")), want: Allow},
	{name: "A plain StringNotEquals on a multivalued key is false if any request value matches",
		policy: dxAllowIf(`"StringNotEquals":{"aws:TagKeys":"admin"}`), req: dxTagResource(dxKey("aws:TagKeys", "tenant", "admin")), want: NoMatch},
	{name: "A plain StringNotEquals on a multivalued key is true if no request value matches",
		policy: dxAllowIf(`"StringNotEquals":{"aws:TagKeys":"admin"}`), req: dxTagResource(dxKey("aws:TagKeys", "tenant", "project")), want: Allow},
	{name: "ForAnyValue:StringNotEquals is true when some request value is not listed",
		policy: dxAllowIf(`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["DataClass","Owner"]}`), req: dxTagResource(dxKey("aws:TagKeys", "Owner", "Project")), want: Allow},
	{name: "ForAnyValue:StringNotEquals is false when every request value is listed",
		policy: dxAllowIf(`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["DataClass","Owner"]}`), req: dxTagResource(dxKey("aws:TagKeys", "Owner", "DataClass")), want: NoMatch},
}

// AND / OR / NOR between operators, keys and values, and case-insensitive key names.
// Source: "Conditions with multiple context keys or values"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html):
// operators AND, keys AND, values OR, and for negated operators values NOR; its S3 bucket policy
// example with aws:PrincipalTag/department, aws:PrincipalTag/role and aws:PrincipalArn (Ana, Mary
// in account 222222222222), in an Allow and in the negated Deny form. Key names are
// case-insensitive: "Request information that you can use for policy variables" on
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
// ("aws:CurrentTime is equivalent to AWS:currenttime").
var (
	dxAnaMaryAllow = dxDoc(`{"Sid":"ExamplePolicy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},
		"Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket",
		"Condition":{"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]},
		             "ArnLike":{"aws:PrincipalArn":["arn:aws:iam::222222222222:user/Ana","arn:aws:iam::222222222222:user/Mary"]}}}`)
	dxAnaMaryDeny = dxDoc(`{"Sid":"ExamplePolicy","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:root"},
		"Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket",
		"Condition":{"StringNotEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]},
		             "ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::222222222222:user/Ana","arn:aws:iam::222222222222:user/Mary"]}}}`)
	dxList222 = func(user string, tags ...string) *Request {
		opts := []dxOpt{dxBy("arn:aws:iam::222222222222:user/" + user)}
		for i := 0; i+1 < len(tags); i += 2 {
			opts = append(opts, dxTag(tags[i], tags[i+1]))
		}
		return dxReq("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", opts...)
	}
)

var dxLogicCases = []dxEvalCase{
	{name: "All keys and operators true: Mary in legal with the audit role is allowed",
		kind: ResourcePolicy, policy: dxAnaMaryAllow, req: dxList222("Mary", "department", "legal", "role", "audit"), want: Allow},
	{name: "Values of one key are ORed: Ana in hr with the security role is allowed",
		kind: ResourcePolicy, policy: dxAnaMaryAllow, req: dxList222("Ana", "department", "hr", "role", "security"), want: Allow},
	{name: "Keys of one operator are ANDed: a missing role tag fails the condition",
		kind: ResourcePolicy, policy: dxAnaMaryAllow, req: dxList222("Mary", "department", "legal"), want: NoMatch},
	{name: "A department outside the list fails the condition",
		kind: ResourcePolicy, policy: dxAnaMaryAllow, req: dxList222("Ana", "department", "marketing", "role", "audit"), want: NoMatch},
	{name: "Operators are ANDed: the right tags on an unlisted user fail ArnLike",
		kind: ResourcePolicy, policy: dxAnaMaryAllow, req: dxList222("Bob", "department", "finance", "role", "audit"), want: NoMatch},
	{name: "Negated values are NORed: a listed department makes StringNotEquals false",
		kind: ResourcePolicy, policy: dxAnaMaryDeny, req: dxList222("Bob", "department", "hr", "role", "intern"), want: NoMatch},
	{name: "The negated Deny hits an unlisted user with unlisted tags",
		kind: ResourcePolicy, policy: dxAnaMaryDeny, req: dxList222("Bob", "department", "marketing", "role", "intern"), want: Deny},
	{name: "The negated Deny hits an unlisted user with no tags at all, since missing keys make negated operators true",
		kind: ResourcePolicy, policy: dxAnaMaryDeny, req: dxList222("Bob"), want: Deny},
	{name: "The negated Deny spares Ana because ArnNotLike is false for her",
		kind: ResourcePolicy, policy: dxAnaMaryDeny, req: dxList222("Ana", "department", "marketing", "role", "intern"), want: NoMatch},
	{name: "The negated Deny spares Mary in legal with the audit role",
		kind: ResourcePolicy, policy: dxAnaMaryDeny, req: dxList222("Mary", "department", "legal", "role", "audit"), want: NoMatch},
	{name: "A condition key written in another case still names the same key",
		policy: dxAllowIf(`"DateGreaterThan":{"AWS:currenttime":"2020-01-01T00:00:00Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "A policy key in upper case matches a context key set in mixed case",
		policy: dxAllowIf(`"IpAddress":{"AWS:SOURCEIP":"203.0.113.0/24"}`), req: dxReq("sns:Publish", "*", dxKey("aws:SourceIp", "203.0.113.9")), want: Allow},
	{name: "A context key set in upper case matches a lower-case policy key",
		policy: dxAllowIf(`"StringLike":{"sqs:queuetag":"blue*"}`), req: dxReq("sqs:SendMessage", "*", dxKey("SQS:QueueTag", "blue-1")), want: Allow},
	{name: "Case-insensitive key names do not make values case-insensitive",
		policy: dxAllowIf(`"StringEquals":{"AWS:PrincipalTag/Team":"Blue"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "blue")), want: NoMatch},
	{name: "A statement with an Allow and a Deny that both match yields Deny",
		policy: dxDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"NoDeletes","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}`),
		req:    dxReq("s3:DeleteObject", "arn:aws:s3:::b/k", dxUser("Bob")), want: Deny},
}

func TestDocsMultiValuedKeys(t *testing.T) { dxRunEval(t, dxMultiValueCases) }
func TestDocsConditionLogic(t *testing.T)  { dxRunEval(t, dxLogicCases) }
