package iampolicy

import (
	"encoding/json"
	"testing"
)

// FuzzParse: no document makes Parse panic, and whatever it accepts evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{tutorialS3Policy, correctedTrustPolicy,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::${aws:username, 'x'}/${*}"}}`,
		`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333","arn:aws:sts::111122223333:assumed-role/r/s"]},"Action":"*","Resource":"*","Condition":{"ForAnyValue:IpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","::1"]}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}]}`,
	} {
		f.Add([]byte(seed), uint8(1))
	}
	f.Fuzz(func(t *testing.T, doc []byte, k uint8) {
		kind := Kind(k%5) + IdentityPolicy
		p, err := Parse(kind, "fuzz", doc)
		if err != nil {
			if _, ok := err.(*MalformedPolicyError); !ok {
				t.Fatalf("Parse error %T is not *MalformedPolicyError: %v", err, err)
			}
			return
		}
		r := benchS3Request()
		r.Context.Set("aws:TagKeys", "tenant", "x")
		p.Evaluate(r)
		Decide(Input{Request: r, Identity: []*Policy{p}})
	})
}

// FuzzEvaluate: random request contexts never panic, and a policy that allows nothing (an
// unparsable document is never compiled at all) never yields Allow.
func FuzzEvaluate(f *testing.F) {
	f.Add("s3:GetObject", "arn:aws:s3:::quilt-tenant-acme/k", "arn:aws:sts::111122223333:assumed-role/r/s", "tenant", "acme", "aws:SourceIp", "10.1.2.3")
	f.Add("sts:AssumeRole", "arn:aws:iam::111122223333:role/quilt-mcp-target-x", "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t", "tenant", "*", "sts:SourceIdentity", "usr-*")
	f.Add("s3:ListBucket", "*", "", "", "", "aws:CurrentTime", "not a date")
	policies := []*Policy{
		MustParse(ResourcePolicy, "tutorial", tutorialS3Policy),
		MustParse(TrustPolicy, "corrected", correctedTrustPolicy),
		MustParse(IdentityPolicy, "conditions", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:PrincipalTag/tenant}-*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":"t*"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/${aws:PrincipalTag/tenant}"}}}]}`),
	}
	nothing := MustParse(IdentityPolicy, "denies", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
	f.Fuzz(func(t *testing.T, action, resource, arn, tagKey, tagValue, key, value string) {
		r := &Request{Action: action, Resource: resource, Principal: Principal{ARN: arn, Tags: map[string]string{tagKey: tagValue}}}
		r.Context.Set(key, value, tagValue)
		for _, p := range policies {
			p.Evaluate(r)
			d := Decide(Input{Request: r, Identity: []*Policy{p}, Resource: p})
			if _, err := json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
		if d := Decide(Input{Request: r, Identity: []*Policy{nothing}}); d.Allowed() {
			t.Fatalf("a deny-everything policy allowed %+v", r)
		}
		if d := Decide(Input{Request: r}); d.Allowed() {
			t.Fatalf("no policy at all allowed %+v", r)
		}
	})
}

// FuzzSimulate: arbitrary input never panics; it either decides or names a field.
func FuzzSimulate(f *testing.F) {
	f.Add([]byte(`{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal":{"arn":"arn:aws:iam::111122223333:user/u"},"context":{"aws:SourceIp":"1.2.3.4","aws:TagKeys":["a","b"]},"identityPolicies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}`))
	f.Add([]byte(`{"action":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Simulate(data)
		if err != nil {
			if ie, ok := err.(*InputError); !ok || ie.Field == "" {
				t.Fatalf("Simulate error %T %v does not name a field", err, err)
			}
			return
		}
		if d.Decision != Allowed && d.Decision != ExplicitDeny && d.Decision != ImplicitDeny {
			t.Fatalf("decision %q", d.Decision)
		}
	})
}
