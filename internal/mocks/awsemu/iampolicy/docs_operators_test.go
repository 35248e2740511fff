package iampolicy

import "testing"

// Condition operators, one table per operator family.
// Source for every group unless noted: IAM User Guide, "IAM JSON policy elements: Condition
// operators", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

// String condition operators: the "iamuser-admin job category" example and the S3 home-directory
// example of the String section.
var (
	dxJobCategoryPolicy = dxDoc(`{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/*",
		"Condition":{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}}`)
	dxHomeDirPolicy = dxDoc(`
		{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::BUCKET-NAME",
		 "Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/"]}}},
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::BUCKET-NAME/home/${aws:username}","arn:aws:s3:::BUCKET-NAME/home/${aws:username}/*"]}`)
	dxBobKey = "arn:aws:iam::111122223333:user/Bob"
)

var dxStringCases = []dxEvalCase{
	{name: "StringEquals matches a principal tagged with the exact value",
		policy: dxJobCategoryPolicy, req: dxReq("iam:CreateAccessKey", dxBobKey, dxUser("Bob"), dxTag("job-category", "iamuser-admin")), want: Allow},
	{name: "StringEquals compares values case-sensitively",
		policy: dxJobCategoryPolicy, req: dxReq("iam:CreateAccessKey", dxBobKey, dxUser("Bob"), dxTag("job-category", "IAMUser-Admin")), want: NoMatch},
	{name: "StringEquals is false for a user without the tag, so the request is implicitly denied",
		policy: dxJobCategoryPolicy, req: dxReq("iam:UpdateAccessKey", dxBobKey, dxUser("Bob")), want: NoMatch},
	{name: "A principal tag key matches whatever its case",
		policy: dxJobCategoryPolicy, req: dxReq("iam:CreateAccessKey", dxBobKey, dxUser("Bob"), dxTag("Job-Category", "iamuser-admin")), want: Allow},
	{name: "StringEquals treats an asterisk in the policy as a literal character",
		policy: dxAllowIf(`"StringEquals":{"aws:PrincipalTag/team":"*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "dev")), want: NoMatch},
	{name: "StringEquals with an asterisk matches a value that is a literal asterisk",
		policy: dxAllowIf(`"StringEquals":{"aws:PrincipalTag/team":"*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "*")), want: Allow},
	{name: "StringNotEquals is true when the value differs",
		policy: dxAllowIf(`"StringNotEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("job-category", "dev")), want: Allow},
	{name: "StringNotEquals is false when the value is equal",
		policy: dxAllowIf(`"StringNotEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("job-category", "iamuser-admin")), want: NoMatch},
	{name: "StringNotEquals is true when the key is missing from the request",
		policy: dxAllowIf(`"StringNotEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob")), want: Allow},
	{name: "StringEqualsIgnoreCase matches a value that differs only in case",
		policy: dxAllowIf(`"StringEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"IAMUSER-ADMIN"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("job-category", "iamuser-admin")), want: Allow},
	{name: "StringNotEqualsIgnoreCase is false for a value that differs only in case",
		policy: dxAllowIf(`"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"iamuser-admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("job-category", "IAMUSER-ADMIN")), want: NoMatch},
	{name: "StringNotEqualsIgnoreCase is true for a different value",
		policy: dxAllowIf(`"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"iamuser-admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("job-category", "auditor")), want: Allow},
	{name: "StringLike with a policy variable matches the user's own home prefix",
		policy: dxHomeDirPolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", dxUser("Bob"), dxKey("s3:prefix", "home/Bob/")), want: Allow},
	{name: "StringLike with an empty policy value matches the empty root prefix",
		policy: dxHomeDirPolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", dxUser("Bob"), dxKey("s3:prefix", "")), want: Allow},
	{name: "StringLike with a policy variable does not match another user's home prefix",
		policy: dxHomeDirPolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", dxUser("Bob"), dxKey("s3:prefix", "home/Alice/")), want: NoMatch},
	{name: "StringLike without a wildcard needs the whole value to match",
		policy: dxHomeDirPolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", dxUser("Bob"), dxKey("s3:prefix", "home/Bob/private/")), want: NoMatch},
	{name: "The home-directory policy lets the user read an object under its own home",
		policy: dxHomeDirPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::BUCKET-NAME/home/Bob/notes.txt", dxUser("Bob")), want: Allow},
	{name: "The home-directory policy does not let the user read another user's home",
		policy: dxHomeDirPolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::BUCKET-NAME/home/Alice/notes.txt", dxUser("Bob")), want: NoMatch},
	{name: "StringLike with a trailing wildcard matches a key that starts with the prefix",
		policy: dxAllowIf(`"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}`), req: dxReq("ec2:RunInstances", "*", dxKey("ec2:InstanceType", "t2.micro")), want: Allow},
	{name: "StringLike is case-sensitive",
		policy: dxAllowIf(`"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}`), req: dxReq("ec2:RunInstances", "*", dxKey("ec2:InstanceType", "T2.micro")), want: NoMatch},
	{name: "StringLike with a lone asterisk matches an empty tag value",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/cost-center":"*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("cost-center", "")), want: Allow},
	{name: "StringLike question mark matches exactly one character",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/project":"proj-??"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("project", "proj-42")), want: Allow},
	{name: "StringLike question mark does not match two characters",
		policy: dxAllowIf(`"StringLike":{"aws:PrincipalTag/project":"proj-??"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("project", "proj-421")), want: NoMatch},
	{name: "StringNotLike is false when the value matches the pattern",
		policy: dxAllowIf(`"StringNotLike":{"aws:PrincipalTag/team":"admin*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "admins")), want: NoMatch},
	{name: "StringNotLike is true when the value does not match the pattern",
		policy: dxAllowIf(`"StringNotLike":{"aws:PrincipalTag/team":"admin*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "dev")), want: Allow},
	{name: "StringNotLike is true when the key is missing",
		policy: dxAllowIf(`"StringNotLike":{"aws:PrincipalTag/team":"admin*"}`), req: dxReq("sns:Publish", "*", dxUser("Bob")), want: Allow},
}

// Numeric condition operators: the s3:max-keys example of the Numeric section, and the
// MFA-age bucket policy of the S3 User Guide ("Bucket policy examples", Managing access based on
// MFA: https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html).
var (
	dxMaxKeysPolicy = dxDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket",
		"Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}`)
	dxMFAAgePolicy = dxDoc(`{"Sid":"DenyOldMFA","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/taxdocuments/*",
		"Condition":{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"3600"}}}`)
	dxList = func(opts ...dxOpt) *Request { return dxReq("s3:ListBucket", "arn:aws:s3:::example_bucket", opts...) }
)

var dxNumericCases = []dxEvalCase{
	{name: "NumericLessThanEquals allows max-keys equal to the limit", policy: dxMaxKeysPolicy, req: dxList(dxKey("s3:max-keys", "10")), want: Allow},
	{name: "NumericLessThanEquals allows max-keys below the limit", policy: dxMaxKeysPolicy, req: dxList(dxKey("s3:max-keys", "5")), want: Allow},
	{name: "NumericLessThanEquals does not allow max-keys above the limit", policy: dxMaxKeysPolicy, req: dxList(dxKey("s3:max-keys", "11")), want: NoMatch},
	{name: "NumericLessThanEquals is false when max-keys is missing", policy: dxMaxKeysPolicy, req: dxList(), want: NoMatch},
	{name: "NumericEquals compares numbers, not strings",
		policy: dxAllowIf(`"NumericEquals":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "10.0")), want: Allow},
	{name: "NumericEquals accepts a decimal policy value",
		policy: dxAllowIf(`"NumericEquals":{"sqs:MaxMessages":"2.5"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "2.50")), want: Allow},
	{name: "NumericNotEquals is true for a different number",
		policy: dxAllowIf(`"NumericNotEquals":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "11")), want: Allow},
	{name: "NumericNotEquals is false for the same number",
		policy: dxAllowIf(`"NumericNotEquals":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "10")), want: NoMatch},
	{name: "NumericNotEquals is true when the key is missing",
		policy: dxAllowIf(`"NumericNotEquals":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*"), want: Allow},
	{name: "NumericLessThan is false at the boundary",
		policy: dxAllowIf(`"NumericLessThan":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "10")), want: NoMatch},
	{name: "NumericGreaterThanEquals is true at the boundary",
		policy: dxAllowIf(`"NumericGreaterThanEquals":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "10")), want: Allow},
	{name: "A numeric operator is false for a request value that is not a number",
		policy: dxAllowIf(`"NumericLessThan":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "ten")), want: NoMatch},
	{name: "NumericGreaterThan denies an MFA session older than an hour",
		kind: ResourcePolicy, policy: dxMFAAgePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/taxdocuments/2025.pdf", dxUser("Bob"), dxKey("aws:MultiFactorAuthAge", "7200")), want: Deny},
	{name: "NumericGreaterThan does not deny a fresh MFA session",
		kind: ResourcePolicy, policy: dxMFAAgePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/taxdocuments/2025.pdf", dxUser("Bob"), dxKey("aws:MultiFactorAuthAge", "600")), want: NoMatch},
	{name: "NumericGreaterThan does not deny a request without MFA (the key is missing)",
		kind: ResourcePolicy, policy: dxMFAAgePolicy, req: dxReq("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/taxdocuments/2025.pdf", dxUser("Bob")), want: NoMatch},
}

// Date condition operators: the aws:TokenIssueTime example of the Date section (ISO 8601 or epoch
// values, W3C date formats).
var dxTokenTimePolicy = dxDoc(`{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/*",
	"Condition":{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}}`)

var dxDateCases = []dxEvalCase{
	{name: "DateGreaterThan allows credentials issued after the date",
		policy: dxTokenTimePolicy, req: dxReq("iam:ListAccessKeys", dxBobKey, dxSession("Admin", "s"), dxKey("aws:TokenIssueTime", "2020-06-01T00:00:00Z")), want: Allow},
	{name: "DateGreaterThan does not allow credentials issued before the date",
		policy: dxTokenTimePolicy, req: dxReq("iam:ListAccessKeys", dxBobKey, dxSession("Admin", "s"), dxKey("aws:TokenIssueTime", "2019-12-31T23:59:59Z")), want: NoMatch},
	{name: "DateGreaterThan is false for long-term access keys, which carry no token issue time",
		policy: dxTokenTimePolicy, req: dxReq("iam:ListAccessKeys", dxBobKey, dxUser("Bob")), want: NoMatch},
	{name: "DateLessThan on aws:CurrentTime uses the request time",
		policy: dxAllowIf(`"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "DateLessThan on aws:CurrentTime is false after the date",
		policy: dxAllowIf(`"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}`), req: dxReq("sns:Publish", "*", dxAt("2031-01-01T00:00:00Z")), want: NoMatch},
	{name: "A date policy value may be given in epoch seconds",
		policy: dxAllowIf(`"DateGreaterThan":{"aws:CurrentTime":"1577836800"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "A date policy value may be a W3C date without a time",
		policy: dxAllowIf(`"DateGreaterThanEquals":{"aws:CurrentTime":"2026-05-01"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "A date policy value may carry a time-zone offset",
		policy: dxAllowIf(`"DateLessThan":{"aws:CurrentTime":"2026-05-01T12:00:00+03:00"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: NoMatch},
	{name: "aws:EpochTime compares against an ISO 8601 policy value",
		policy: dxAllowIf(`"DateLessThanEquals":{"aws:EpochTime":"2026-05-01T10:00:00Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "DateEquals matches the same instant written differently",
		policy: dxAllowIf(`"DateEquals":{"aws:TokenIssueTime":"2026-05-01T10:00:00Z"}`), req: dxReq("sns:Publish", "*", dxKey("aws:TokenIssueTime", "2026-05-01T12:00:00+02:00")), want: Allow},
	{name: "DateNotEquals is true when the key is missing",
		policy: dxAllowIf(`"DateNotEquals":{"aws:TokenIssueTime":"2026-05-01T10:00:00Z"}`), req: dxReq("sns:Publish", "*", dxUser("Bob")), want: Allow},
	{name: "A date policy value may carry fractional seconds",
		policy: dxAllowIf(`"DateGreaterThan":{"aws:CurrentTime":"2026-05-01T09:59:59.500Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "A date policy value may omit the seconds (W3C hh:mm)",
		policy: dxAllowIf(`"DateLessThan":{"aws:CurrentTime":"2026-05-01T10:01Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z")), want: Allow},
	{name: "An explicit aws:CurrentTime in the context wins over the request time",
		policy: dxAllowIf(`"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}`), req: dxReq("sns:Publish", "*", dxAt("2026-05-01T10:00:00Z"), dxKey("aws:CurrentTime", "2031-01-01T00:00:00Z")), want: NoMatch},
}

// Boolean and binary condition operators: the aws:SecureTransport example of the Boolean section,
// the BinaryEquals example of the Binary section, and the MFA examples of "AWS global condition
// context keys" (aws:MultiFactorAuthPresent,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
var (
	dxSecureTransportPolicy = dxDoc(`{"Sid":"BooleanExample","Action":"s3:*","Effect":"Deny",
		"Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
		"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	dxMFAIfExistsPolicy = dxDoc(`{"Sid":"DenyWithoutMFA","Effect":"Deny","Action":"ec2:StopInstances","Resource":"*",
		"Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}`)
	dxBinaryPolicy = dxAllowIf(`"BinaryEquals":{"custom:blob":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}`)
	dxObj          = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/report.csv"
)

var dxBoolBinaryCases = []dxEvalCase{
	{name: "Bool denies a request sent without TLS", policy: dxSecureTransportPolicy, req: dxReq("s3:GetObject", dxObj, dxKey("aws:SecureTransport", "false")), want: Deny},
	{name: "Bool does not deny a request sent over TLS", policy: dxSecureTransportPolicy, req: dxReq("s3:GetObject", dxObj, dxKey("aws:SecureTransport", "true")), want: NoMatch},
	{name: "Bool is false when aws:SecureTransport is missing", policy: dxSecureTransportPolicy, req: dxReq("s3:ListBucket", "arn:aws:s3:::DOC-EXAMPLE-BUCKET"), want: NoMatch},
	{name: "BoolIfExists denies a request signed with long-term keys (no MFA key at all)",
		policy: dxMFAIfExistsPolicy, req: dxReq("ec2:StopInstances", "*", dxUser("Bob")), want: Deny},
	{name: "BoolIfExists denies a session authenticated without MFA",
		policy: dxMFAIfExistsPolicy, req: dxReq("ec2:StopInstances", "*", dxKey("aws:MultiFactorAuthPresent", "false")), want: Deny},
	{name: "BoolIfExists does not deny a session authenticated with MFA",
		policy: dxMFAIfExistsPolicy, req: dxReq("ec2:StopInstances", "*", dxKey("aws:MultiFactorAuthPresent", "true")), want: NoMatch},
	{name: "Bool in an Allow is false for long-term keys, which carry no MFA key",
		policy: dxAllowIf(`"Bool":{"aws:MultiFactorAuthPresent":"true"}`), req: dxReq("ec2:StopInstances", "*", dxUser("Bob")), want: NoMatch},
	// A string Context carries a binary key base64-encoded (the engine's convention; the page
	// only says the policy side is base-64).
	{name: "BinaryEquals matches a request value with the same bytes",
		policy: dxBinaryPolicy, req: dxReq("custom:Do", "*", dxKey("custom:blob", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")), want: Allow},
	{name: "BinaryEquals does not match different bytes",
		policy: dxBinaryPolicy, req: dxReq("custom:Do", "*", dxKey("custom:blob", "QmluYXJ5VmFsdWVJbkJhc2U2NQ==")), want: NoMatch},
	{name: "BinaryEquals is false when the key is missing",
		policy: dxBinaryPolicy, req: dxReq("custom:Do", "*"), want: NoMatch},
}

// IP address condition operators: the 203.0.113.0/24 and mixed IPv4/IPv6 examples of the IP
// section, and the S3 bucket policy examples "Restrict access to specific IP addresses" and
// "Allowing IPv4 and IPv6 addresses" (S3 User Guide, example-bucket-policies.html).
var (
	dxSourceIPPolicy = dxDoc(`{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/*",
		"Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`)
	dxMixedIPPolicy = dxDoc(`{"Effect":"Allow","Action":"someservice:*","Resource":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}}`)
	dxS3DenyIPPolicy = dxDoc(`{"Sid":"SourceIP","Effect":"Deny","Principal":"*","Action":"s3:*",
		"Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
		"Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}`)
	dxS3MixedIPPolicy = dxDoc(`{"Sid":"IPAllow","Effect":"Allow","Principal":"*","Action":"s3:*",
		"Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
		"Condition":{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:DB8:1234:5678::/64"]},
		             "NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678:ABCD::/80"]}}}`)
	dxKeyReq = func(ip string) *Request {
		if ip == "" {
			return dxReq("iam:CreateAccessKey", dxBobKey, dxUser("Bob"))
		}
		return dxReq("iam:CreateAccessKey", dxBobKey, dxUser("Bob"), dxKey("aws:SourceIp", ip))
	}
	dxS3IP = func(ip string) *Request {
		if ip == "" {
			return dxReq("s3:GetObject", dxObj, dxUser("Bob"))
		}
		return dxReq("s3:GetObject", dxObj, dxUser("Bob"), dxKey("aws:SourceIp", ip))
	}
)

var dxIPCases = []dxEvalCase{
	{name: "IpAddress matches an address inside the CIDR range", policy: dxSourceIPPolicy, req: dxKeyReq("203.0.113.5"), want: Allow},
	{name: "IpAddress does not match an address outside the CIDR range", policy: dxSourceIPPolicy, req: dxKeyReq("203.0.114.1"), want: NoMatch},
	{name: "IpAddress is false when aws:SourceIp is missing (request through a VPC endpoint)", policy: dxSourceIPPolicy, req: dxKeyReq(""), want: NoMatch},
	{name: "An address without a prefix length means /32 and matches itself",
		policy: dxAllowIf(`"IpAddress":{"aws:SourceIp":"203.0.113.7"}`), req: dxReq("sns:Publish", "*", dxKey("aws:SourceIp", "203.0.113.7")), want: Allow},
	{name: "An address without a prefix length does not match its neighbour",
		policy: dxAllowIf(`"IpAddress":{"aws:SourceIp":"203.0.113.7"}`), req: dxReq("sns:Publish", "*", dxKey("aws:SourceIp", "203.0.113.8")), want: NoMatch},
	{name: "An IPv6 CIDR in upper case matches a lower-case IPv6 address in the range",
		policy: dxMixedIPPolicy, req: dxReq("someservice:Do", "*", dxKey("aws:SourceIp", "2001:db8:1234:5678::1")), want: Allow},
	{name: "An IPv6 address outside the /64 does not match",
		policy: dxMixedIPPolicy, req: dxReq("someservice:Do", "*", dxKey("aws:SourceIp", "2001:db8:1234:5679::1")), want: NoMatch},
	{name: "The IPv4 range of a mixed list still matches IPv4 callers",
		policy: dxMixedIPPolicy, req: dxReq("someservice:Do", "*", dxKey("aws:SourceIp", "203.0.113.200")), want: Allow},
	{name: "NotIpAddress does not deny a caller inside an allowed range", kind: ResourcePolicy, policy: dxS3DenyIPPolicy, req: dxS3IP("192.0.2.10"), want: NoMatch},
	{name: "NotIpAddress denies a caller outside every listed range", kind: ResourcePolicy, policy: dxS3DenyIPPolicy, req: dxS3IP("198.51.100.1"), want: Deny},
	{name: "NotIpAddress denies when aws:SourceIp is missing", kind: ResourcePolicy, policy: dxS3DenyIPPolicy, req: dxS3IP(""), want: Deny},
	{name: "IpAddress and NotIpAddress together allow an IPv6 address in the /64 but outside the /80",
		kind: ResourcePolicy, policy: dxS3MixedIPPolicy, req: dxS3IP("2001:db8:1234:5678::1"), want: Allow},
	{name: "IpAddress and NotIpAddress together exclude an IPv6 address inside the /80",
		kind: ResourcePolicy, policy: dxS3MixedIPPolicy, req: dxS3IP("2001:db8:1234:5678:abcd::1"), want: NoMatch},
	{name: "IpAddress and NotIpAddress together allow an IPv4 address in the allowed /24",
		kind: ResourcePolicy, policy: dxS3MixedIPPolicy, req: dxS3IP("192.0.2.1"), want: Allow},
	{name: "IpAddress and NotIpAddress together exclude the excluded IPv4 /24",
		kind: ResourcePolicy, policy: dxS3MixedIPPolicy, req: dxS3IP("203.0.113.9"), want: NoMatch},
}

// ARN condition operators: the "someservice" pattern contrasting StringLike and ArnLike, and the
// SQS queue policy with aws:SourceArn of the ARN section; aws:PrincipalArn examples of "AWS global
// condition context keys".
var (
	dxFinanceArn = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
	dxSQSPolicy  = dxDoc(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-2:123456789012:QUEUE-ID",
		"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-2:123456789012:TOPIC-ID"}}}`)
	dxSQSReq = func(opts ...dxOpt) *Request {
		return dxReq("sqs:SendMessage", "arn:aws:sqs:us-east-2:123456789012:QUEUE-ID", append([]dxOpt{dxBy("arn:aws:iam::123456789012:user/app")}, opts...)...)
	}
)

var dxArnCases = []dxEvalCase{
	{name: "StringLike lets an asterisk run across colons",
		policy: dxAllowIf(`"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}`), req: dxReq("someservice:Do", "*", dxKey("aws:SourceArn", dxFinanceArn)), want: Allow},
	{name: "ArnLike matches each colon-separated part separately, so the same pattern fails",
		policy: dxAllowIf(`"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}`), req: dxReq("someservice:Do", "*", dxKey("aws:SourceArn", dxFinanceArn)), want: NoMatch},
	{name: "ArnEquals allows the queue policy when the message comes from the named topic",
		kind: ResourcePolicy, policy: dxSQSPolicy, req: dxSQSReq(dxKey("aws:SourceArn", "arn:aws:sns:us-east-2:123456789012:TOPIC-ID")), want: Allow},
	{name: "ArnEquals is false when a user calls directly and aws:SourceArn is missing",
		kind: ResourcePolicy, policy: dxSQSPolicy, req: dxSQSReq(), want: NoMatch},
	{name: "ArnEquals does not match a different topic",
		kind: ResourcePolicy, policy: dxSQSPolicy, req: dxSQSReq(dxKey("aws:SourceArn", "arn:aws:sns:us-east-2:123456789012:OTHER")), want: NoMatch},
	{name: "ArnEquals accepts wildcards exactly like ArnLike",
		policy: dxAllowIf(`"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}`), req: dxReq("sqs:SendMessage", "*", dxKey("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:alerts")), want: Allow},
	{name: "ArnLike question mark matches one character of the account part",
		policy: dxAllowIf(`"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:11112222333?:topic"}`), req: dxReq("sqs:SendMessage", "*", dxKey("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic")), want: Allow},
	{name: "ArnLike lets a wildcard in the resource part span the colons inside that part",
		policy: dxAllowIf(`"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:111122223333:function:*"}`), req: dxReq("sqs:SendMessage", "*", dxKey("aws:SourceArn", "arn:aws:lambda:us-east-1:111122223333:function:my-fn:PROD")), want: Allow},
	{name: "ArnLike on aws:PrincipalArn matches a role session through its role ARN",
		policy: dxAllowIf(`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/dev-*"}`), req: dxReq("sns:Publish", "*", dxSession("dev-app", "s1")), want: Allow},
	{name: "ArnLike is case-sensitive",
		policy: dxAllowIf(`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin"}`), req: dxReq("sns:Publish", "*", dxSession("admin", "s1")), want: NoMatch},
	{name: "ArnLike does not match a value that is not an ARN",
		policy: dxAllowIf(`"ArnLike":{"aws:SourceArn":"arn:*:*:*:*:*"}`), req: dxReq("sns:Publish", "*", dxKey("aws:SourceArn", "not-an-arn")), want: NoMatch},
	{name: "ArnNotLike in a Deny spares the excepted role",
		policy: dxDenyIf(`"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin"}`), req: dxReq("sns:Publish", "*", dxSession("admin", "s1")), want: NoMatch},
	{name: "ArnNotLike in a Deny hits every other principal",
		policy: dxDenyIf(`"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin"}`), req: dxReq("sns:Publish", "*", dxUser("Bob")), want: Deny},
	{name: "ArnNotEquals is true when the key is missing",
		policy: dxAllowIf(`"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}`), req: dxReq("sns:Publish", "*"), want: Allow},
}

// Null and ...IfExists: the aws:TokenIssueTime Null example and the ec2:InstanceType IfExists
// example ("THISPOLICYDOESNOTWORK" and its fix) of the condition-operators page; the Null guard on
// aws:TagKeys from "Multivalued context key examples"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html).
var (
	dxNullTokenPolicy   = dxDoc(`{"Action":"ec2:*","Effect":"Allow","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}`)
	dxDoesNotWorkPolicy = dxDoc(`{"Sid":"THISPOLICYDOESNOTWORK","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*",
		"Condition":{"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}`)
	dxIfExistsPolicy = dxDoc(`{"Sid":"RunInstance","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*",
		"Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}`)
	dxRun = func(opts ...dxOpt) *Request {
		return dxReq("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1", opts...)
	}
)

var dxNullIfExistsCases = []dxEvalCase{
	{name: "Null true allows a user signing with long-term keys", policy: dxNullTokenPolicy, req: dxReq("ec2:DescribeInstances", "*", dxUser("Bob")), want: Allow},
	{name: "Null true does not allow temporary credentials, which carry aws:TokenIssueTime",
		policy: dxNullTokenPolicy, req: dxReq("ec2:DescribeInstances", "*", dxSession("Admin", "s"), dxKey("aws:TokenIssueTime", "2026-01-01T00:00:00Z")), want: NoMatch},
	{name: "Null false is true when the key is present",
		policy: dxAllowIf(`"Null":{"aws:RequestTag/tenant":"false"}`), req: dxReq("ec2:CreateTags", "*", dxKey("aws:RequestTag/tenant", "acme")), want: Allow},
	{name: "Null false is false when the key is absent",
		policy: dxAllowIf(`"Null":{"aws:RequestTag/tenant":"false"}`), req: dxReq("ec2:CreateTags", "*"), want: NoMatch},
	{name: "Null counts a key with an empty list of values as absent",
		policy: dxAllowIf(`"Null":{"aws:TagKeys":"true"}`), req: dxReq("ec2:CreateTags", "*", dxKey("aws:TagKeys")), want: Allow},
	{name: "Null false rejects a key with an empty list of values",
		policy: dxAllowIf(`"Null":{"aws:TagKeys":"false"}`), req: dxReq("ec2:CreateTags", "*", dxKey("aws:TagKeys")), want: NoMatch},
	{name: "StringLike fails on a resource that lacks the key (the policy that does not work)", policy: dxDoesNotWorkPolicy, req: dxRun(), want: NoMatch},
	{name: "StringLikeIfExists is true on a resource that lacks the key", policy: dxIfExistsPolicy, req: dxRun(), want: Allow},
	{name: "StringLikeIfExists still checks the value when the key exists",
		policy: dxIfExistsPolicy, req: dxRun(dxKey("ec2:InstanceType", "m5.large")), want: NoMatch},
	{name: "StringLikeIfExists allows a listed instance family",
		policy: dxIfExistsPolicy, req: dxRun(dxKey("ec2:InstanceType", "m3.medium")), want: Allow},
	{name: "A Deny with StringNotEqualsIfExists still denies when the tag is missing",
		policy: dxDenyIf(`"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"eng"}`), req: dxReq("sns:Publish", "*", dxUser("Bob")), want: Deny},
	{name: "A Deny with StringNotEqualsIfExists spares the matching tag",
		policy: dxDenyIf(`"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"eng"}`), req: dxReq("sns:Publish", "*", dxUser("Bob"), dxTag("team", "eng")), want: NoMatch},
	{name: "NumericLessThanEqualsIfExists is true when the key is missing",
		policy: dxAllowIf(`"NumericLessThanEqualsIfExists":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*"), want: Allow},
	{name: "NumericLessThanEqualsIfExists still compares a present value",
		policy: dxAllowIf(`"NumericLessThanEqualsIfExists":{"sqs:MaxMessages":"10"}`), req: dxReq("sqs:ReceiveMessage", "*", dxKey("sqs:MaxMessages", "20")), want: NoMatch},
	{name: "IpAddressIfExists is true when aws:SourceIp is missing",
		policy: dxAllowIf(`"IpAddressIfExists":{"aws:SourceIp":"203.0.113.0/24"}`), req: dxReq("sns:Publish", "*"), want: Allow},
	{name: "ArnLikeIfExists is true when aws:SourceArn is missing",
		policy: dxAllowIf(`"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}`), req: dxReq("sqs:SendMessage", "*"), want: Allow},
	{name: "DateGreaterThanIfExists still compares a present value",
		policy: dxAllowIf(`"DateGreaterThanIfExists":{"aws:TokenIssueTime":"2030-01-01T00:00:00Z"}`), req: dxReq("sns:Publish", "*", dxKey("aws:TokenIssueTime", "2026-01-01T00:00:00Z")), want: NoMatch},
}

func TestDocsStringOperators(t *testing.T)     { dxRunEval(t, dxStringCases) }
func TestDocsNumericOperators(t *testing.T)    { dxRunEval(t, dxNumericCases) }
func TestDocsDateOperators(t *testing.T)       { dxRunEval(t, dxDateCases) }
func TestDocsBoolBinaryOperators(t *testing.T) { dxRunEval(t, dxBoolBinaryCases) }
func TestDocsIPOperators(t *testing.T)         { dxRunEval(t, dxIPCases) }
func TestDocsArnOperators(t *testing.T)        { dxRunEval(t, dxArnCases) }
func TestDocsNullAndIfExists(t *testing.T)     { dxRunEval(t, dxNullIfExistsCases) }
