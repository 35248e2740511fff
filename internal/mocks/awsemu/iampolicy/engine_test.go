package iampolicy

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

const tutorialTrustPolicy = `{"Version":"2012-10-17","Statement":[{ "Effect":"Allow", "Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"}, "Action":["sts:AssumeRole","sts:TagSession"], "Condition":{ "StringLike":{"sts:SourceIdentity":"usr-*"}, "ForAllValues:StringEquals":{"sts:TagKeys":["tenant"]} } }]}`

// assumeRequest builds the three requests one AssumeRole call authorizes.
func assumeRequest(action, caller, sourceIdentity string, tags map[string]string) *Request {
	r := &Request{Action: action, Resource: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", Principal: Principal{ARN: caller}}
	if sourceIdentity != "" {
		r.Context.Set("sts:SourceIdentity", sourceIdentity)
	}
	var keys []string
	for k, v := range tags {
		keys = append(keys, k)
		r.Context.Set("aws:RequestTag/"+k, v)
	}
	if len(keys) > 0 {
		r.Context.Set("aws:TagKeys", keys...)
	}
	return r
}

// assumeAllowed reports whether every action an AssumeRole with these inputs needs is allowed
// by the trust policy alone (same account, caller named by the trust policy).
func assumeAllowed(trust *Policy, caller, si string, tags map[string]string) (bool, string) {
	actions := []string{"sts:AssumeRole"}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if si != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, a := range actions {
		if d := Decide(Input{Request: assumeRequest(a, caller, si, tags), Resource: trust}); !d.Allowed() {
			return false, d.Reason
		}
	}
	return true, ""
}

func TestTrustPolicyMatrixTutorialVersusCorrected(t *testing.T) {
	tutorial := MustParse(TrustPolicy, "tutorial trust policy", tutorialTrustPolicy)
	corrected := MustParse(TrustPolicy, "corrected trust policy", correctedTrustPolicy)
	callers := map[string]string{
		"task role":     "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/task",
		"other role":    "arn:aws:sts::111122223333:assumed-role/otherRole/x",
		"other account": "arn:aws:sts::444455556666:assumed-role/ecsTaskRole/task",
	}
	sis := map[string]string{"ok": "usr-alice", "bad": "auth0|123", "absent": ""}
	tagSets := map[string]map[string]string{
		"ok": {"tenant": "acme"}, "extra": {"tenant": "acme", "admin": "true"}, "absent": nil,
	}
	for cn, caller := range callers {
		for sn, si := range sis {
			for tn, tags := range tagSets {
				name := "caller " + cn + ", source identity " + sn + ", tags " + tn
				t.Run(name, func(t *testing.T) {
					gotT, _ := assumeAllowed(tutorial, caller, si, tags)
					// The tutorial denies every cell: it lacks sts:SetSourceIdentity, puts
					// sts:SourceIdentity on sts:TagSession (which never sees that key), and
					// without a source identity its StringLike on sts:AssumeRole is false.
					wantT := false
					if gotT != wantT {
						t.Errorf("tutorial: allowed=%v, want %v", gotT, wantT)
					}
					gotC, reason := assumeAllowed(corrected, caller, si, tags)
					wantC := cn == "task role" && sn == "ok" && tn == "ok"
					if gotC != wantC {
						t.Errorf("corrected: allowed=%v, want %v (%s)", gotC, wantC, reason)
					}
				})
			}
		}
	}
}

func TestTutorialTagConditionConstrainsNothing(t *testing.T) {
	p := MustParse(TrustPolicy, "tutorial", tutorialTrustPolicy)
	// sts:AssumeRole with an extra tag key: sts:TagKeys is never in the request, and
	// ForAllValues over an absent key is true, so the extra key is not rejected.
	r := assumeRequest("sts:AssumeRole", "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t", "usr-1", map[string]string{"tenant": "a", "admin": "x"})
	if d := Decide(Input{Request: r, Resource: p}); !d.Allowed() {
		t.Fatalf("tutorial sts:AssumeRole with an extra tag: %s", d.Reason)
	}
	c := MustParse(TrustPolicy, "corrected", correctedTrustPolicy)
	if d := Decide(Input{Request: r, Resource: c}); d.Allowed() {
		t.Fatal("corrected trust policy allowed an extra tag key")
	}
}

func TestDenyReasonsNameTheMissingAllow(t *testing.T) {
	p := MustParse(TrustPolicy, "trust policy of role quilt-mcp-target-acme", tutorialTrustPolicy)
	r := assumeRequest("sts:SetSourceIdentity", "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t", "usr-1", nil)
	d := Decide(Input{Request: r, Resource: p})
	want := "no statement in trust policy of role quilt-mcp-target-acme allows sts:SetSourceIdentity for arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t on arn:aws:iam::111122223333:role/quilt-mcp-target-acme"
	if d.Decision != ImplicitDeny || d.Reason != want {
		t.Fatalf("got %s %q\nwant %q", d.Decision, d.Reason, want)
	}
	r = assumeRequest("sts:TagSession", "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t", "usr-1", map[string]string{"tenant": "a"})
	d = Decide(Input{Request: r, Resource: p})
	if len(d.NearMisses) != 1 || !strings.Contains(d.NearMisses[0].Problem, "AWS does not supply sts:SourceIdentity for sts:TagSession") {
		t.Fatalf("near misses %+v", d.NearMisses)
	}
	if len(d.IgnoredContextKeys) != 1 || d.IgnoredContextKeys[0] != "sts:SourceIdentity" {
		t.Fatalf("ignored keys %v", d.IgnoredContextKeys)
	}
}

func TestSubstitutedTagValuesAreLiteral(t *testing.T) {
	p := MustParse(IdentityPolicy, "abac", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"}]}`)
	for _, tc := range []struct {
		tenant, bucket string
		want           Effect
	}{
		{"acme", "quilt-tenant-acme", Allow},
		{"acme", "quilt-tenant-globex", NoMatch},
		{"*", "quilt-tenant-acme", NoMatch},
		{"*", "quilt-tenant-*", Allow},
		{"ac?e", "quilt-tenant-acme", NoMatch},
	} {
		r := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + tc.bucket + "/k",
			Principal: Principal{ARN: "arn:aws:sts::111122223333:assumed-role/r/s", Tags: map[string]string{"Tenant": tc.tenant}}}
		if got := p.Evaluate(r).Effect; got != tc.want {
			t.Errorf("tenant %q on %s: %v, want %v", tc.tenant, tc.bucket, got, tc.want)
		}
	}
}

func TestDecideAccountRules(t *testing.T) {
	allowAll := MustParse(IdentityPolicy, "allow all", `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}]}`)
	bucket := func(principal string) *Policy {
		return MustParse(ResourcePolicy, "bucket policy", `{"Version":"2012-10-17","Statement":[{"Sid":"Grant","Effect":"Allow","Principal":`+principal+`,"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`)
	}
	session := MustParse(SessionPolicy, "session", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`)
	caller := "arn:aws:sts::111122223333:assumed-role/reader/s1"
	req := func(acct string) *Request {
		return &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Principal: Principal{ARN: strings.Replace(caller, "111122223333", acct, 1)}}
	}
	cases := []struct {
		name string
		in   Input
		want Outcome
	}{
		{"same account: identity allow alone suffices", Input{Request: req("111122223333"), Identity: []*Policy{allowAll}}, Allowed},
		{"same account: a bucket policy naming the role suffices", Input{Request: req("111122223333"), Resource: bucket(`{"AWS":"arn:aws:iam::111122223333:role/reader"}`)}, Allowed},
		{"same account: a bucket policy naming only the account delegates and does not suffice", Input{Request: req("111122223333"), Resource: bucket(`{"AWS":"111122223333"}`)}, ImplicitDeny},
		{"same account: account delegation plus identity allow is allowed", Input{Request: req("111122223333"), Identity: []*Policy{allowAll}, Resource: bucket(`{"AWS":"111122223333"}`)}, Allowed},
		{"same account: a session policy caps a grant to the role", Input{Request: req("111122223333"), Resource: bucket(`{"AWS":"arn:aws:iam::111122223333:role/reader"}`), Session: []*Policy{session}}, ImplicitDeny},
		{"same account: a grant to the exact session is not capped by the session policy", Input{Request: req("111122223333"), Resource: bucket(`{"AWS":"` + caller + `"}`), Session: []*Policy{session}}, Allowed},
		{"cross account: the bucket policy alone does not suffice", Input{Request: req("444455556666"), Resource: bucket(`"*"`), ResourceAccount: "111122223333"}, ImplicitDeny},
		{"cross account: identity alone does not suffice", Input{Request: req("444455556666"), Identity: []*Policy{allowAll}, ResourceAccount: "111122223333"}, ImplicitDeny},
		{"cross account: both sides allowing is allowed", Input{Request: req("444455556666"), Identity: []*Policy{allowAll}, Resource: bucket(`{"AWS":"444455556666"}`), ResourceAccount: "111122223333"}, Allowed},
		{"an anonymous caller gets only what Principal * grants", Input{Request: &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Resource: bucket(`"*"`)}, Allowed},
		{"an anonymous caller without a resource policy is denied", Input{Request: &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Identity: []*Policy{allowAll}}, ImplicitDeny},
		{"no policies at all is an implicit deny", Input{Request: req("111122223333")}, ImplicitDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := Decide(tc.in); d.Decision != tc.want {
				t.Fatalf("got %s (%s), want %s", d.Decision, d.Reason, tc.want)
			}
		})
	}
}

func TestExplicitDenyWinsAndIsNamed(t *testing.T) {
	allow := MustParse(IdentityPolicy, "allow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	deny := MustParse(ResourcePolicy, "bucket policy", `{"Version":"2012-10-17","Statement":[{"Sid":"OutsidersOut","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}]}`)
	r := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Principal: Principal{ARN: "arn:aws:sts::444455556666:assumed-role/x/y"}}
	d := Decide(Input{Request: r, Identity: []*Policy{allow}, Resource: deny, ResourceAccount: "111122223333"})
	if d.Decision != ExplicitDeny || len(d.Matched) != 1 || d.Matched[0].Sid != "OutsidersOut" || !strings.Contains(d.Reason, `"OutsidersOut"`) {
		t.Fatalf("%+v", d)
	}
}

func TestParseErrorsNameStatementAndField(t *testing.T) {
	_, err := Parse(IdentityPolicy, "inline policy p", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Bad","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}]}`))
	var mp *MalformedPolicyError
	if !errors.As(err, &mp) || mp.Statement != 1 || mp.Sid != "Bad" || mp.Field != "Condition" || !strings.Contains(mp.Problem, `"StringEqual"`) {
		t.Fatalf("got %#v", err)
	}
	if !strings.HasPrefix(err.Error(), `MalformedPolicyDocument: inline policy p: Statement[1] (Sid "Bad"): Condition: unknown condition operator "StringEqual"`) {
		t.Fatalf("message %q", err)
	}
}

func TestParseRejectsNotPrincipalWithAllowNamingTheStatement(t *testing.T) {
	_, err := Parse(ResourcePolicy, "bucket policy", []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Everyone","Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`))
	var mp *MalformedPolicyError
	if !errors.As(err, &mp) || mp.Statement != 0 || mp.Sid != "Everyone" || mp.Field != "NotPrincipal" || !strings.Contains(mp.Problem, `Effect "Deny"`) {
		t.Fatalf("got %#v", err)
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	for name, tc := range map[string]struct {
		p *Policy
		r *Request
	}{
		"tutorial S3 policy":     {MustParse(ResourcePolicy, "s3", tutorialS3Policy), benchS3Request()},
		"corrected trust policy": {MustParse(TrustPolicy, "trust", correctedTrustPolicy), benchAssumeRoleRequest()},
	} {
		if n := testing.AllocsPerRun(100, func() { tc.p.Evaluate(tc.r) }); n > 0 {
			t.Errorf("%s: %v allocations per Evaluate, want 0", name, n)
		}
	}
}

func TestConcurrentEvaluationOfOnePolicy(t *testing.T) {
	p := MustParse(TrustPolicy, "trust", correctedTrustPolicy)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := benchAssumeRoleRequest()
			for i := 0; i < 200; i++ {
				if d := Decide(Input{Request: r, Resource: p}); !d.Allowed() {
					t.Error(d.Reason)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSimulateRejectsBadInputNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, in, field string }{
		{"an unknown top-level field", `{"action":"s3:GetObject","resource":"*","bogus":1}`, "bogus"},
		{"an unknown principal field", `{"action":"s3:GetObject","resource":"*","principal":{"arn":"arn:aws:iam::111122223333:user/u","tag":{}}}`, "tag"},
		{"a missing action", `{"resource":"*"}`, "action"},
		{"a wildcard action", `{"action":"s3:Get*","resource":"*"}`, "action"},
		{"a resource that is not an ARN", `{"action":"s3:GetObject","resource":"bucket/key"}`, "resource"},
		{"a context value that is a number", `{"action":"s3:GetObject","resource":"*","context":{"s3:max-keys":5}}`, "context.s3:max-keys"},
		{"a malformed identity policy", `{"action":"s3:GetObject","resource":"*","identityPolicies":[{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}]}`, "identityPolicies[0]"},
		{"an account that disagrees with the ARN", `{"action":"s3:GetObject","resource":"*","principal":{"arn":"arn:aws:iam::111122223333:user/u","account":"444455556666"}}`, "principal.account"},
		{"not JSON", `{"action":`, "(request)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Simulate([]byte(tc.in))
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("got %v, want an InputError for field %q", err, tc.field)
			}
		})
	}
}

func TestSimulateTreatsAResourcelessPolicyAsATrustPolicy(t *testing.T) {
	in := `{"action":"sts:AssumeRole","resource":"arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
	"principal":{"arn":"arn:aws:sts::111122223333:assumed-role/ecsTaskRole/t"},
	"context":{"sts:SourceIdentity":"usr-1","aws:TagKeys":"tenant","aws:RequestTag/tenant":"acme","s3:prefix":"x"},
	"resourcePolicy":` + correctedTrustPolicy + `}`
	d, err := Simulate([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed() || d.Matched[0].Sid != "AssumeForOneUserOfOneTenant" {
		t.Fatalf("%+v", d)
	}
	if len(d.IgnoredContextKeys) != 1 || d.IgnoredContextKeys[0] != "s3:prefix" {
		t.Fatalf("ignored %v", d.IgnoredContextKeys)
	}
}
