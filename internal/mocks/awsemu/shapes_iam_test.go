package awsemu_test

import (
	"fmt"
	"strings"
	"testing"
)

// IAM and STS checks of the recorded-shape suite (see shapes_test.go).

const shapeTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func (e *shapeEnv) createShapeRole(t *testing.T, name, path string, extra map[string]string) {
	t.Helper()
	p := map[string]string{"RoleName": name, "Path": path, "AssumeRolePolicyDocument": shapeTrust}
	for k, v := range extra {
		p[k] = v
	}
	e.mustQuery(t, "iam", "CreateRole", p)
}

func (e *shapeEnv) withTrust() *shapeEnv {
	if e.vars == nil {
		e.vars = map[string]string{}
	}
	e.vars["trust"] = shapeTrust
	return e
}

// CreateRole returns Path, RoleName, RoleId, Arn, CreateDate, AssumeRolePolicyDocument (URL-encoded),
// and Description and Tags when given — but not MaxSessionDuration or RoleLastUsed, which only
// GetRole returns. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
// (response example) and the recorded CreateRole answers in LocalStack's AWS-validated snapshots.
func checkCreateRoleShape(t *testing.T, e *shapeEnv) []string {
	w := e.mustQuery(t, "iam", "CreateRole", map[string]string{"RoleName": "shape-create", "Path": "/shapes/",
		"AssumeRolePolicyDocument": shapeTrust, "Description": "made by the shape suite",
		"Tags.member.1.Key": "team", "Tags.member.1.Value": "blue"})
	return e.withTrust().expect("CreateRole", w, 200, `<CreateRoleResponse><CreateRoleResult><Role>
		<Path>/shapes/</Path>
		<RoleName>shape-create</RoleName>
		<RoleId>{{re:AROA[A-Z0-9]{17}}}</RoleId>
		<Arn>arn:aws:iam::${acct}:role/shapes/shape-create</Arn>
		<CreateDate>{{date}}</CreateDate>
		<AssumeRolePolicyDocument>{{policy:trust}}</AssumeRolePolicyDocument>
		<Description>made by the shape suite</Description>
		<Tags><member><Key>team</Key><Value>blue</Value></member></Tags>
	</Role></CreateRoleResult>`+responseMetadata+`</CreateRoleResponse>`)
}

// GetRole adds MaxSessionDuration and RoleLastUsed, which is an empty element when the role was
// never used. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html and
// API_RoleLastUsed.html ("This field is null if the role has not been used within the IAM-tracked
// period"; AWS sends it as an empty element, as recorded: RoleLastUsed {}).
func checkGetRoleShape(t *testing.T, e *shapeEnv) []string {
	e.createShapeRole(t, "shape-get", "/", map[string]string{"Description": "d"})
	w := e.query(t, "iam", "GetRole", map[string]string{"RoleName": "shape-get"})
	return e.withTrust().expect("GetRole", w, 200, `<GetRoleResponse><GetRoleResult><Role>
		<Path>/</Path>
		<RoleName>shape-get</RoleName>
		<RoleId>{{re:AROA[A-Z0-9]{17}}}</RoleId>
		<Arn>arn:aws:iam::${acct}:role/shape-get</Arn>
		<CreateDate>{{date}}</CreateDate>
		<AssumeRolePolicyDocument>{{policy:trust}}</AssumeRolePolicyDocument>
		<Description>d</Description>
		<MaxSessionDuration>3600</MaxSessionDuration>
		<RoleLastUsed></RoleLastUsed>
	</Role></GetRoleResult>`+responseMetadata+`</GetRoleResponse>`)
}

// ListRoles entries carry MaxSessionDuration but never RoleLastUsed, Tags or PermissionsBoundary:
// "This operation does not return the following attributes, even though they are an attribute of
// the returned object: PermissionsBoundary, RoleLastUsed, Tags".
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html
func checkListRolesShape(t *testing.T, e *shapeEnv) []string {
	e.createShapeRole(t, "shape-list", "/shape-list/", map[string]string{"Description": "listed",
		"Tags.member.1.Key": "team", "Tags.member.1.Value": "blue"})
	w := e.query(t, "iam", "ListRoles", map[string]string{"PathPrefix": "/shape-list/"})
	return e.withTrust().expect("ListRoles", w, 200, `<ListRolesResponse><ListRolesResult>
		<IsTruncated>false</IsTruncated>
		<Roles><member>
			<Path>/shape-list/</Path>
			<RoleName>shape-list</RoleName>
			<RoleId>{{re:AROA[A-Z0-9]{17}}}</RoleId>
			<Arn>arn:aws:iam::${acct}:role/shape-list/shape-list</Arn>
			<CreateDate>{{date}}</CreateDate>
			<AssumeRolePolicyDocument>{{policy:trust}}</AssumeRolePolicyDocument>
			<Description>listed</Description>
			<MaxSessionDuration>3600</MaxSessionDuration>
		</member></Roles>
	</ListRolesResult>`+responseMetadata+`</ListRolesResponse>`)
}

// Tags come back ordered by key, in GetRole and ListRoleTags alike, whatever order they were
// given or added in. AWS does not document the order; sorted by key is the reading moto (built
// against AWS) takes, and the only one stable under TagRole, so the suite holds to it.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoleTags.html
func checkRoleTagsOrder(t *testing.T, e *shapeEnv) []string {
	e.createShapeRole(t, "shape-tags", "/", map[string]string{
		"Tags.member.1.Key": "zone", "Tags.member.1.Value": "z",
		"Tags.member.2.Key": "app", "Tags.member.2.Value": "a",
		"Tags.member.3.Key": "owner", "Tags.member.3.Value": "o"})
	e.mustQuery(t, "iam", "TagRole", map[string]string{"RoleName": "shape-tags", "Tags.member.1.Key": "budget", "Tags.member.1.Value": "b"})
	tags := `<member><Key>app</Key><Value>a</Value></member><member><Key>budget</Key><Value>b</Value></member>` +
		`<member><Key>owner</Key><Value>o</Value></member><member><Key>zone</Key><Value>z</Value></member>`
	out := e.expect("ListRoleTags", e.query(t, "iam", "ListRoleTags", map[string]string{"RoleName": "shape-tags"}), 200,
		`<ListRoleTagsResponse><ListRoleTagsResult><IsTruncated>false</IsTruncated><Tags>`+tags+`</Tags></ListRoleTagsResult>`+responseMetadata+`</ListRoleTagsResponse>`)
	return append(out, e.withTrust().expect("GetRole", e.query(t, "iam", "GetRole", map[string]string{"RoleName": "shape-tags"}), 200,
		`<GetRoleResponse><GetRoleResult><Role>
		<Path>/</Path><RoleName>shape-tags</RoleName><RoleId>{{re:AROA[A-Z0-9]{17}}}</RoleId>
		<Arn>arn:aws:iam::${acct}:role/shape-tags</Arn><CreateDate>{{date}}</CreateDate>
		<AssumeRolePolicyDocument>{{policy:trust}}</AssumeRolePolicyDocument>
		<MaxSessionDuration>3600</MaxSessionDuration><RoleLastUsed></RoleLastUsed>
		<Tags>`+tags+`</Tags>
	</Role></GetRoleResult>`+responseMetadata+`</GetRoleResponse>`)...)
}

const shapeAllowPut = `{"Version":"2012-10-17","Statement":{"Sid":"","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}}`

// AttachUserPolicy answers with metadata only; ListAttachedUserPolicies lists PolicyName and
// PolicyArn; a policy that does not exist is NoSuchEntity "Policy <arn> does not exist or is not
// attachable.". https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html,
// API_ListAttachedUserPolicies.html; the message as recorded from AWS.
func checkAttachUserPolicy(t *testing.T, e *shapeEnv) []string {
	e.mustQuery(t, "iam", "CreateUser", map[string]string{"UserName": "shape-attach"})
	e.mustQuery(t, "iam", "CreatePolicy", map[string]string{"PolicyName": "shape-attach-policy", "PolicyDocument": shapeAllowPut})
	arn := "arn:aws:iam::" + e.account + ":policy/shape-attach-policy"
	out := e.expect("AttachUserPolicy", e.query(t, "iam", "AttachUserPolicy", map[string]string{"UserName": "shape-attach", "PolicyArn": arn}), 200,
		`<AttachUserPolicyResponse>`+responseMetadata+`</AttachUserPolicyResponse>`)
	out = append(out, e.expect("ListAttachedUserPolicies", e.query(t, "iam", "ListAttachedUserPolicies", map[string]string{"UserName": "shape-attach"}), 200,
		`<ListAttachedUserPoliciesResponse><ListAttachedUserPoliciesResult>
			<AttachedPolicies><member><PolicyName>shape-attach-policy</PolicyName><PolicyArn>`+arn+`</PolicyArn></member></AttachedPolicies>
			<IsTruncated>false</IsTruncated>
		</ListAttachedUserPoliciesResult>`+responseMetadata+`</ListAttachedUserPoliciesResponse>`)...)
	missing := "arn:aws:iam::" + e.account + ":policy/shape-no-such-policy"
	return append(out, e.expect("AttachUserPolicy of a missing policy", e.query(t, "iam", "AttachUserPolicy", map[string]string{"UserName": "shape-attach", "PolicyArn": missing}), 404,
		queryError("ErrorResponse", "NoSuchEntity", "Policy "+missing+" does not exist or is not attachable."))...)
}

// SimulatePrincipalPolicy: each result has EvalActionName, EvalResourceName, EvalDecision,
// MatchedStatements (an empty list when none matched), MissingContextValues (empty list),
// EvalDecisionDetails (present but empty for a same-account simulation with a resource ARN:
// "If the simulation evaluates policies within the same account and includes a resource ARN,
// then the parameter is present but the response is empty"), OrganizationsDecisionDetail and
// ResourceSpecificResults. https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html,
// API_Statement.html, API_ResourceSpecificResult.html; the recorded answer for a customer managed
// policy names its SourcePolicyType "IAM Policy".
func checkSimulatePrincipalPolicyShape(t *testing.T, e *shapeEnv) []string {
	e.mustQuery(t, "iam", "CreateUser", map[string]string{"UserName": "shape-sim"})
	e.mustQuery(t, "iam", "CreatePolicy", map[string]string{"PolicyName": "shape-sim-policy", "PolicyDocument": shapeAllowPut})
	e.mustQuery(t, "iam", "AttachUserPolicy", map[string]string{"UserName": "shape-sim", "PolicyArn": "arn:aws:iam::" + e.account + ":policy/shape-sim-policy"})
	w := e.query(t, "iam", "SimulatePrincipalPolicy", map[string]string{
		"PolicySourceArn": "arn:aws:iam::" + e.account + ":user/shape-sim", "ActionNames.member.1": "s3:PutObject",
		"ActionNames.member.2": "s3:DeleteObject", "ResourceArns.member.1": "arn:aws:s3:::shape-bucket"})
	matched := `<MatchedStatements><member>
		<SourcePolicyId>{{any}}</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType>
		<StartPosition><Line>{{int}}</Line><Column>{{int}}</Column></StartPosition>
		<EndPosition><Line>{{int}}</Line><Column>{{int}}</Column></EndPosition>
	</member></MatchedStatements>`
	result := func(action, decision, statements string) string {
		return `<member>
			<EvalActionName>` + action + `</EvalActionName>
			<EvalResourceName>arn:aws:s3:::shape-bucket</EvalResourceName>
			<EvalDecision>` + decision + `</EvalDecision>
			` + statements + `
			<MissingContextValues></MissingContextValues>
			<EvalDecisionDetails></EvalDecisionDetails>
			<OrganizationsDecisionDetail><AllowedByOrganizations>true</AllowedByOrganizations></OrganizationsDecisionDetail>
			<ResourceSpecificResults><member>
				<EvalResourceName>arn:aws:s3:::shape-bucket</EvalResourceName>
				<EvalResourceDecision>` + decision + `</EvalResourceDecision>
				` + statements + `
				<MissingContextValues></MissingContextValues>
			</member></ResourceSpecificResults>
		</member>`
	}
	return e.expect("SimulatePrincipalPolicy", w, 200, `<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult>
		<IsTruncated>false</IsTruncated>
		<EvaluationResults>`+result("s3:PutObject", "allowed", matched)+result("s3:DeleteObject", "implicitDeny", `<MatchedStatements></MatchedStatements>`)+`</EvaluationResults>
	</SimulatePrincipalPolicyResult>`+responseMetadata+`</SimulatePrincipalPolicyResponse>`)
}

// NoSuchEntity (404) words, as IAM writes them: "The role with name X cannot be found.", "The user
// with name X cannot be found.", "The role policy with name X cannot be found.".
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html (Errors) and the recorded
// messages.
func checkNoSuchEntityMessages(t *testing.T, e *shapeEnv) []string {
	out := e.expect("GetRole", e.query(t, "iam", "GetRole", map[string]string{"RoleName": "shape-missing"}), 404,
		queryError("ErrorResponse", "NoSuchEntity", "The role with name shape-missing cannot be found."))
	out = append(out, e.expect("GetUser", e.query(t, "iam", "GetUser", map[string]string{"UserName": "shape-missing"}), 404,
		queryError("ErrorResponse", "NoSuchEntity", "The user with name shape-missing cannot be found."))...)
	e.createShapeRole(t, "shape-nopolicy", "/", nil)
	return append(out, e.expect("GetRolePolicy", e.query(t, "iam", "GetRolePolicy", map[string]string{"RoleName": "shape-nopolicy", "PolicyName": "nope"}), 404,
		queryError("ErrorResponse", "NoSuchEntity", "The role policy with name nope cannot be found."))...)
}

// EntityAlreadyExists (409): "Role with name X already exists.", "User with name X already
// exists.", "A policy called X already exists. Duplicate names are not allowed.".
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (Errors).
func checkEntityAlreadyExistsMessages(t *testing.T, e *shapeEnv) []string {
	e.createShapeRole(t, "shape-dup", "/", nil)
	out := e.expect("CreateRole", e.query(t, "iam", "CreateRole", map[string]string{"RoleName": "shape-dup", "AssumeRolePolicyDocument": shapeTrust}), 409,
		queryError("ErrorResponse", "EntityAlreadyExists", "Role with name shape-dup already exists."))
	e.mustQuery(t, "iam", "CreateUser", map[string]string{"UserName": "shape-dup"})
	out = append(out, e.expect("CreateUser", e.query(t, "iam", "CreateUser", map[string]string{"UserName": "shape-dup"}), 409,
		queryError("ErrorResponse", "EntityAlreadyExists", "User with name shape-dup already exists."))...)
	e.mustQuery(t, "iam", "CreatePolicy", map[string]string{"PolicyName": "shape-dup", "PolicyDocument": shapeAllowPut})
	return append(out, e.expect("CreatePolicy", e.query(t, "iam", "CreatePolicy", map[string]string{"PolicyName": "shape-dup", "PolicyDocument": shapeAllowPut}), 409,
		queryError("ErrorResponse", "EntityAlreadyExists", "A policy called shape-dup already exists. Duplicate names are not allowed."))...)
}

// MalformedPolicyDocument (400) carries IAM's reason word for word. "This policy contains invalid
// Json" is recorded from AWS; the others are IAM's validator messages as AWS returns them (see
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_policies.html and
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html, Errors).
func checkMalformedPolicyReasons(t *testing.T, e *shapeEnv) []string {
	e.createShapeRole(t, "shape-malformed", "/", nil)
	put := func(doc string) wire {
		return e.query(t, "iam", "PutRolePolicy", map[string]string{"RoleName": "shape-malformed", "PolicyName": "p", "PolicyDocument": doc})
	}
	cases := []struct{ what, doc, reason string }{
		{"invalid JSON", `{"Version":"2012-10-17","Statement":[`, "This policy contains invalid Json"},
		{"a principal in an identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}]}`,
			"Policy document should not specify a principal."},
		{"an action without a service prefix", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`,
			"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"a statement without an action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`,
			"Policy statement must contain actions."},
		{"duplicate Sids", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`,
			"Statement IDs (SID) in a single policy must be unique."},
	}
	var out []string
	for _, c := range cases {
		out = append(out, e.expect("PutRolePolicy with "+c.what, put(c.doc), 400, queryError("ErrorResponse", "MalformedPolicyDocument", c.reason))...)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}`
	return append(out, e.expect("CreateRole with a Resource in the trust policy",
		e.query(t, "iam", "CreateRole", map[string]string{"RoleName": "shape-malformed-trust", "AssumeRolePolicyDocument": trust}), 400,
		queryError("ErrorResponse", "MalformedPolicyDocument", "Has prohibited field Resource."))...)
}

// assumeWith calls AssumeRole on a role ARN of the environment's account with extra parameters.
func (e *shapeEnv) assumeWith(t *testing.T, params map[string]string) wire {
	p := map[string]string{"RoleArn": "arn:aws:iam::" + e.account + ":role/shape-sts", "RoleSessionName": "shape"}
	for k, v := range params {
		p[k] = v
	}
	return e.query(t, "sts", "AssumeRole", p)
}

// A RoleArn that is not an ARN is ValidationError "<value> is invalid" (400), before any
// authorization (not AccessDenied). Recorded from AWS (LocalStack's AWS-validated STS snapshot);
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (RoleArn).
func checkMalformedRoleArn(t *testing.T, e *shapeEnv) []string {
	var out []string
	for _, arn := range []string{"nothing-valid-in-here", "arn:a:::something/test-role"} {
		out = append(out, e.expect("RoleArn "+arn, e.assumeWith(t, map[string]string{"RoleArn": arn}), 400,
			queryError("ErrorResponse", "ValidationError", arn+" is invalid"))...)
	}
	return out
}

// The STS model's constraints, worded as AWS's validator words them: one violated bound at a
// time ("Member must have length less than or equal to 128", as recorded for roleSessionName),
// members named tags.N.member.key / .value. https://docs.aws.amazon.com/STS/latest/APIReference/API_Tag.html
const tagPattern = `[\p{L}\p{Z}\p{N}_.:/=+\-@]`

func checkInvalidTagKey(t *testing.T, e *shapeEnv) []string {
	long := strings.Repeat("k", 129)
	out := e.expect("tag key with |", e.assumeWith(t, map[string]string{"Tags.member.1.Key": "bad|key", "Tags.member.1.Value": "v"}), 400,
		queryError("ErrorResponse", "ValidationError", "1 validation error detected: Value 'bad|key' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: "+tagPattern+"+"))
	return append(out, e.expect("129-character tag key", e.assumeWith(t, map[string]string{"Tags.member.1.Key": long, "Tags.member.1.Value": "v"}), 400,
		queryError("ErrorResponse", "ValidationError", "1 validation error detected: Value '"+long+"' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"))...)
}

func checkInvalidTagValue(t *testing.T, e *shapeEnv) []string {
	long := strings.Repeat("v", 257)
	out := e.expect("tag value with |", e.assumeWith(t, map[string]string{"Tags.member.1.Key": "k", "Tags.member.1.Value": "bad|value"}), 400,
		queryError("ErrorResponse", "ValidationError", "1 validation error detected: Value 'bad|value' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: "+tagPattern+"*"))
	return append(out, e.expect("257-character tag value", e.assumeWith(t, map[string]string{"Tags.member.1.Key": "k", "Tags.member.1.Value": long}), 400,
		queryError("ErrorResponse", "ValidationError", "1 validation error detected: Value '"+long+"' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"))...)
}

// More than 50 tags is a ValidationError on 'tags' (how AWS renders the list value is not
// documented, so the check leaves it open); duplicate keys differing in case and transitive keys
// that are not tags are InvalidParameterValue with the messages recorded from AWS.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (Tags, TransitiveTagKeys).
func checkTagCountAndDuplicates(t *testing.T, e *shapeEnv) []string {
	many := map[string]string{}
	for i := 1; i <= 51; i++ {
		many[fmt.Sprintf("Tags.member.%d.Key", i)] = fmt.Sprintf("k%d", i)
		many[fmt.Sprintf("Tags.member.%d.Value", i)] = "v"
	}
	out := e.expect("51 tags", e.assumeWith(t, many), 400, queryError("ErrorResponse", "ValidationError",
		"{{re:1 validation error detected: Value '.*' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50}}"))
	out = append(out, e.expect("keys differing in case", e.assumeWith(t, map[string]string{"Tags.member.1.Key": "Team", "Tags.member.1.Value": "a",
		"Tags.member.2.Key": "team", "Tags.member.2.Value": "b"}), 400,
		queryError("ErrorResponse", "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive."))...)
	return append(out, e.expect("a transitive key that is not a tag", e.assumeWith(t, map[string]string{"Tags.member.1.Key": "team", "Tags.member.1.Value": "a",
		"TransitiveTagKeys.member.1": "other"}), 400,
		queryError("ErrorResponse", "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags."))...)
}
