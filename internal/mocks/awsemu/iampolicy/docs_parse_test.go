package iampolicy

import "testing"

// Parse and validation. A policy IAM would refuse to save must be a *MalformedPolicyError, never a
// policy that silently evaluates to true or false.
// Sources: "IAM JSON policy element reference" and its element pages (Version, Effect, Principal,
// NotPrincipal, Action/NotAction, Resource/NotResource, Condition: "Some JSON policy elements are
// mutually exclusive ... Action and NotAction ... Principal/NotPrincipal and
// Resource/NotResource"; "You cannot use the Principal element in an identity-based policy"; "You
// must use the Principal element in resource-based policies"; "You cannot use a wildcard to match
// part of a principal name or ARN"; NotPrincipal "cannot be used in an IAM identity-based policy
// nor in an IAM role trust policy"); "Grammar of the IAM JSON policy language"
// (reference_policies_grammar: Sid unique, Effect "Allow"|"Deny" case-sensitive, Version
// "2008-10-17"|"2012-10-17"); "IAM JSON policy elements: Condition operators" (IfExists on
// everything "except the Null condition"; IP values in CIDR format; BinaryEquals values base-64);
// IAM Access Analyzer policy checks (unknown elements, data-type mismatch)
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html).
var (
	dxIdStmt = func(extra string) string {
		return dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"` + extra + `}`)
	}
	dxCondStmt = func(cond string) string { return dxIdStmt(`,"Condition":{` + cond + `}`) }
	dxResStmt  = func(principal string) string {
		return dxDoc(`{"Effect":"Allow","Principal":` + principal + `,"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	}
)

var dxParseCases = []dxParseCase{
	{name: "An unknown condition operator is rejected, never treated as true", doc: dxCondStmt(`"StringEqual":{"aws:PrincipalTag/team":"eng"}`), wantErr: true, stmt: 0},
	{name: "An unknown operator behind a set prefix is rejected", doc: dxCondStmt(`"ForAllValues:StringEqual":{"aws:TagKeys":"eng"}`), wantErr: true, stmt: 0},
	{name: "A statement without Effect is rejected", doc: dxDoc(`{"Action":"s3:GetObject","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "Effect in lower case is rejected", doc: dxDoc(`{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "An Effect other than Allow or Deny is rejected", doc: dxDoc(`{"Effect":"Permit","Action":"s3:GetObject","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "Principal in an identity policy is rejected", doc: dxIdStmt(`,"Principal":"*"`), wantErr: true, stmt: 0},
	{name: "NotPrincipal in an identity policy is rejected", doc: dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "A resource policy statement without Principal is rejected", kind: ResourcePolicy, doc: dxIdStmt(""), wantErr: true, stmt: 0},
	{name: "A trust policy statement without Principal is rejected", kind: TrustPolicy, doc: dxDoc(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), wantErr: true, stmt: 0},
	{name: "A trust policy statement with a Resource is rejected", kind: TrustPolicy,
		doc: dxDoc(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/r"}`), wantErr: true, stmt: 0},
	{name: "NotPrincipal in a trust policy is rejected", kind: TrustPolicy,
		doc: dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}`), wantErr: true, stmt: 0},
	{name: "Action and NotAction together are rejected", doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","NotAction":"iam:*","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "Resource and NotResource together are rejected", doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","NotResource":"arn:aws:s3:::b"}`), wantErr: true, stmt: 0},
	{name: "Principal and NotPrincipal together are rejected", kind: ResourcePolicy,
		doc: dxDoc(`{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`), wantErr: true, stmt: 0},
	{name: "A statement without Action or NotAction is rejected", doc: dxDoc(`{"Effect":"Allow","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "An identity policy statement without Resource or NotResource is rejected", doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject"}`), wantErr: true, stmt: 0},
	{name: "A Resource ARN with too few parts is rejected", doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3"}`), wantErr: true, stmt: 0},
	{name: "A Resource that is neither * nor an ARN is rejected", doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"my-bucket/key"}`), wantErr: true, stmt: 0},
	{name: "A partial wildcard in a user principal ARN is rejected", kind: ResourcePolicy, doc: dxResStmt(`{"AWS":"arn:aws:iam::123456789012:user/*"}`), wantErr: true, stmt: 0},
	{name: "A wildcard for all sessions of a role is rejected", kind: ResourcePolicy, doc: dxResStmt(`{"AWS":"arn:aws:sts::123456789012:assumed-role/Reader/*"}`), wantErr: true, stmt: 0},
	{name: "An unsupported Version is rejected", doc: `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, wantErr: true, stmt: -1},
	{name: "An unknown top-level field is rejected", doc: `{"Version":"2012-10-17","Statements":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, wantErr: true, stmt: -1},
	{name: "An unknown statement field is rejected", doc: dxIdStmt(`,"Conditions":{"Bool":{"aws:SecureTransport":"true"}}`), wantErr: true, stmt: 0},
	{name: "A non-numeric value for a Numeric operator is rejected", doc: dxCondStmt(`"NumericLessThan":{"s3:max-keys":"ten"}`), wantErr: true, stmt: 0},
	{name: "A value other than true or false for Bool is rejected", doc: dxCondStmt(`"Bool":{"aws:SecureTransport":"yes"}`), wantErr: true, stmt: 0},
	{name: "A value other than true or false for Null is rejected", doc: dxCondStmt(`"Null":{"aws:TokenIssueTime":"maybe"}`), wantErr: true, stmt: 0},
	{name: "A CIDR with an impossible prefix length is rejected", doc: dxCondStmt(`"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}`), wantErr: true, stmt: 0},
	{name: "An IPv4 address with an octet over 255 is rejected", doc: dxCondStmt(`"NotIpAddress":{"aws:SourceIp":"300.1.1.1"}`), wantErr: true, stmt: 0},
	{name: "A BinaryEquals value that is not base-64 is rejected", doc: dxCondStmt(`"BinaryEquals":{"custom:blob":"not base64!!"}`), wantErr: true, stmt: 0},
	{name: "A date value that is neither ISO 8601 nor epoch is rejected", doc: dxCondStmt(`"DateGreaterThan":{"aws:CurrentTime":"yesterday"}`), wantErr: true, stmt: 0},
	{name: "Two statements with the same Sid are rejected",
		doc: dxDoc(`{"Sid":"Same","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"Same","Effect":"Deny","Action":"s3:PutObject","Resource":"*"}`), wantErr: true, stmt: dxAnyStmt},
	{name: "ForAllValues:Null is accepted (Access Analyzer only suggests a change)", doc: dxCondStmt(`"ForAllValues:Null":{"aws:TagKeys":"true"}`)},
	{name: "NullIfExists is rejected", doc: dxCondStmt(`"NullIfExists":{"aws:TagKeys":"true"}`), wantErr: true, stmt: 0},
	{name: "An empty value list with a plain operator is rejected", doc: dxCondStmt(`"StringEquals":{"aws:TagKeys":[]}`), wantErr: true, stmt: 0},
	{name: "NullIfExists is rejected because IfExists does not apply to Null", doc: dxCondStmt(`"NullIfExists":{"aws:TokenIssueTime":"true"}`), wantErr: true, stmt: 0},
	{name: "A document that is not JSON is rejected", doc: `{"Version":"2012-10-17","Statement":[`, wantErr: true, stmt: -1},
	{name: "The error points at the offending statement, not the first one",
		doc: dxDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqual":{"k":"v"}}}`), wantErr: true, stmt: 1},
	{name: "A wildcard account in a principal ARN is rejected", kind: ResourcePolicy, doc: dxResStmt(`{"AWS":"arn:aws:iam::*:root"}`), wantErr: true, stmt: 0},
	// IAM's own MalformedPolicyDocument message: "Actions/Conditions must be prefaced by a vendor"
	// (an observed message, not a documented rule; the engine takes the stricter reading and
	// rejects both).
	{name: "An action without a service prefix is rejected", doc: dxDoc(`{"Effect":"Allow","Action":"GetObject","Resource":"*"}`), wantErr: true, stmt: 0},
	{name: "A condition key without a service prefix is rejected", doc: dxCondStmt(`"StringEquals":{"team":"eng"}`), wantErr: true, stmt: 0},
	// The NotPrincipal page: "NotPrincipal must be used with Effect Deny. Using it with Allow is
	// not supported." The engine takes the stricter reading: Parse rejects it (field NotPrincipal).
	{name: "NotPrincipal with Allow is rejected", kind: ResourcePolicy,
		doc: dxDoc(`{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), wantErr: true, stmt: 0},
	{name: "NotPrincipal with Allow is rejected in a later statement too", kind: ResourcePolicy,
		doc: dxDoc(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"},
			{"Sid":"Everyone","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), wantErr: true, stmt: 1},
	{name: "A policy variable in a Numeric value is rejected", doc: dxCondStmt(`"NumericLessThan":{"s3:max-keys":"${aws:PrincipalTag/limit}"}`), wantErr: true, stmt: 0},
	{name: "The top-level Id element is valid", doc: `{"Version":"2012-10-17","Id":"S3PolicyId1","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`},
	{name: "A date with fractional seconds is valid", doc: dxCondStmt(`"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00.000Z"}`)},
	{name: "A single statement object instead of a list is valid", doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`},
	{name: "A 2008-10-17 policy is valid", doc: dxDoc2008(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}`)},
	{name: "A policy without Version is valid", doc: `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`},
	{name: `A trust policy trusting "*" is valid`, kind: TrustPolicy, doc: dxTrustIs(`"*"`, "sts:AssumeRole")},
	{name: "Condition values given as JSON booleans and numbers are valid", doc: dxCondStmt(`"Bool":{"aws:SecureTransport":false},"NumericLessThanEquals":{"s3:max-keys":10}`)},
	{name: "An epoch number as a date value is valid", doc: dxCondStmt(`"DateGreaterThan":{"aws:EpochTime":1577836800}`)},
	{name: "An IPv6 CIDR is valid", doc: dxCondStmt(`"IpAddress":{"aws:SourceIp":["2001:DB8:1234:5678::/64","203.0.113.0/24"]}`)},
	{name: "A short account ID and an account ARN in one principal list are valid", kind: ResourcePolicy, doc: dxResStmt(`{"AWS":["123456789012","arn:aws:iam::555555555555:root"]}`)},
	{name: "A Deny with NotPrincipal in a resource policy is valid", kind: ResourcePolicy, doc: dxNotBob},
	{name: "The tutorial's trust policy is syntactically valid; its flaw is semantic", kind: TrustPolicy, doc: dxTutorialTrust},
	{name: "The corrected three-statement trust policy is valid", kind: TrustPolicy, doc: dxCorrectTrust},
	{name: "A session policy without Principal is valid", kind: SessionPolicy, doc: dxIdStmt("")},
	{name: "A permissions boundary without Principal is valid", kind: PermissionsBoundary, doc: dxIdStmt("")},
}

func TestDocsParseValidation(t *testing.T) { dxRunParse(t, dxParseCases) }

func TestDocsMustParsePanicsOnAMalformedPolicy(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic on an unknown condition operator")
		}
	}()
	MustParse(IdentityPolicy, "bad", dxCondStmt(`"StringEqual":{"k":"v"}`))
}

// TestDocsEvaluateDoesNotAllocate checks the documented contract of Policy.Evaluate on a policy
// with variables, wildcards and a set operator.
func TestDocsEvaluateDoesNotAllocate(t *testing.T) {
	p := MustParse(IdentityPolicy, "abac", dxTargetABAC)
	q := MustParse(TrustPolicy, "trust", dxCorrectTrust)
	r1 := dxTenantObj("acme", dxBy(dxMCPSession), dxTag("tenant", "acme"))
	r2 := dxAssume("sts:AssumeRole", "usr-1", "tenant")
	if got := p.Evaluate(r1).Effect; got != Allow {
		t.Fatalf("ABAC Evaluate = %s, want Allow", dxEffectName(got))
	}
	allocs := testing.AllocsPerRun(100, func() {
		p.Evaluate(r1)
		q.Evaluate(r2)
	})
	if allocs != 0 {
		t.Errorf("Evaluate allocates %.1f times per call pair, want 0", allocs)
	}
}
