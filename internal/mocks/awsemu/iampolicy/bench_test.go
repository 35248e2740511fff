package iampolicy

import "testing"

// The tutorial's S3 ABAC resource policy, verbatim (wrapped in a document).
const tutorialS3Policy = `{"Version":"2012-10-17","Statement":[{ "Effect":"Allow", "Principal":{"AWS":"*"}, "Action":["s3:GetObject","s3:PutObject"], "Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*", "Condition":{"StringEquals":{"aws:PrincipalTag/tenant":"${aws:PrincipalTag/tenant}"}} }]}`

// The first corrected form of the tutorial's trust policy (docs_tutorial_test.go, dxCorrectTrust).
const correctedTrustPolicy = `{"Version":"2012-10-17","Statement":[
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
                "Null":{"aws:RequestTag/tenant":"false"}}}]}`

func benchS3Request() *Request {
	return &Request{
		Action:   "s3:GetObject",
		Resource: "arn:aws:s3:::quilt-tenant-acme/reports/2026/q3.csv",
		Principal: Principal{
			ARN:  "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/usr-alice",
			Tags: map[string]string{"tenant": "acme"},
		},
	}
}

func benchAssumeRoleRequest() *Request {
	r := &Request{
		Action:    "sts:AssumeRole",
		Resource:  "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
		Principal: Principal{ARN: "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/0123456789abcdef"},
	}
	r.Context.Set("sts:SourceIdentity", "usr-alice")
	r.Context.Set("sts:RoleSessionName", "usr-alice")
	r.Context.Set("aws:TagKeys", "tenant")
	r.Context.Set("aws:RequestTag/tenant", "acme")
	return r
}

func BenchmarkEvaluateTutorialS3Policy(b *testing.B) {
	p := MustParse(ResourcePolicy, "tutorial bucket policy", tutorialS3Policy)
	r := benchS3Request()
	if got := p.Evaluate(r).Effect; got != Allow {
		b.Fatalf("Evaluate = %v, want Allow", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(r)
	}
}

func BenchmarkEvaluateCorrectedTrustPolicy(b *testing.B) {
	p := MustParse(TrustPolicy, "corrected trust policy", correctedTrustPolicy)
	r := benchAssumeRoleRequest()
	if got := p.Evaluate(r).Effect; got != Allow {
		b.Fatalf("Evaluate = %v, want Allow", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(r)
	}
}

func BenchmarkDecideCorrectedTrustPolicy(b *testing.B) {
	p := MustParse(TrustPolicy, "corrected trust policy", correctedTrustPolicy)
	r := benchAssumeRoleRequest()
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(Input{Request: r, Resource: p}); !d.Allowed() {
			b.Fatal(d.Reason)
		}
	}
}

func BenchmarkParseCorrectedTrustPolicy(b *testing.B) {
	doc := []byte(correctedTrustPolicy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(TrustPolicy, "trust", doc); err != nil {
			b.Fatal(err)
		}
	}
}
