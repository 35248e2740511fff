package iampolicy

// Shared helpers for the docs_*_test.go tables: every case there is drawn from an example on an
// AWS documentation page (cited above each group) or from the tutorial's policies
// (reference/policies/seed) and their corrections (reference/policies/reference). Helpers carry
// a "dx" prefix so they cannot collide with the engine's own identifiers or with other test
// files in this package.

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	dxAcct  = "111122223333" // the account that owns the resources
	dxOther = "444455556666" // a second account (cross-account cases)
)

func dxUserARN(acct, name string) string { return "arn:aws:iam::" + acct + ":user/" + name }
func dxRoleARN(acct, name string) string { return "arn:aws:iam::" + acct + ":role/" + name }
func dxSessionARN(acct, role, session string) string {
	return "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session
}

// dxOpt modifies a request under construction.
type dxOpt func(*Request)

// dxReq builds a request; options are applied in order.
func dxReq(action, resource string, opts ...dxOpt) *Request {
	r := &Request{Action: action, Resource: resource, Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// dxBy sets the caller's ARN (an IAM user, role session, root, ...).
func dxBy(arn string) dxOpt { return func(r *Request) { r.Principal.ARN = arn } }

// dxUser makes the caller IAM user name of dxAcct.
func dxUser(name string) dxOpt { return dxBy(dxUserARN(dxAcct, name)) }

// dxSession makes the caller a session of role in dxAcct.
func dxSession(role, session string) dxOpt { return dxBy(dxSessionARN(dxAcct, role, session)) }

func dxRoleOf(arn string) dxOpt  { return func(r *Request) { r.Principal.RoleARN = arn } }
func dxUserID(id string) dxOpt   { return func(r *Request) { r.Principal.UserID = id } }
func dxSrcID(s string) dxOpt     { return func(r *Request) { r.Principal.SourceIdentity = s } }
func dxService(s string) dxOpt   { return func(r *Request) { r.Principal.Service = s } }
func dxFederated(s string) dxOpt { return func(r *Request) { r.Principal.Federated = s } }
func dxKey(k string, v ...string) dxOpt {
	return func(r *Request) { r.Context.Set(k, v...) }
}

// dxTag adds a principal tag (aws:PrincipalTag/<k>).
func dxTag(k, v string) dxOpt {
	return func(r *Request) {
		if r.Principal.Tags == nil {
			r.Principal.Tags = map[string]string{}
		}
		r.Principal.Tags[k] = v
	}
}

// dxAt sets the request time from RFC 3339.
func dxAt(ts string) dxOpt {
	return func(r *Request) {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			panic(err)
		}
		r.Time = t
	}
}

// dxDoc wraps statements (JSON objects, comma-separated) in a 2012-10-17 document.
func dxDoc(statements string) string {
	return `{"Version":"2012-10-17","Statement":[` + statements + `]}`
}

// dxDoc2008 wraps statements in a 2008-10-17 document (no policy variables).
func dxDoc2008(statements string) string {
	return `{"Version":"2008-10-17","Statement":[` + statements + `]}`
}

// dxAllowIf is an identity policy allowing every action on every resource under condition c
// (the inside of a "Condition" object).
func dxAllowIf(c string) string {
	return dxDoc(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{` + c + `}}`)
}

// dxDenyIf is the Deny counterpart of dxAllowIf.
func dxDenyIf(c string) string {
	return dxDoc(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{` + c + `}}`)
}

// dxEvalCase is one Policy.Evaluate case.
type dxEvalCase struct {
	name   string
	kind   Kind // zero means IdentityPolicy
	policy string
	req    *Request
	want   Effect
}

func dxEffectName(e Effect) string {
	switch e {
	case NoMatch:
		return "NoMatch"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Effect(?)"
}

func dxRunEval(t *testing.T, cases []dxEvalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == 0 {
				kind = IdentityPolicy
			}
			p, err := Parse(kind, "doc-example", []byte(tc.policy))
			if err != nil {
				t.Fatalf("Parse: %v\npolicy: %s", err, tc.policy)
			}
			got := p.Evaluate(tc.req)
			if got.Effect != tc.want {
				t.Errorf("Evaluate = %s (statement %d %q), want %s\npolicy: %s\nrequest: %s",
					dxEffectName(got.Effect), got.Statement, got.Sid, dxEffectName(tc.want), tc.policy, dxDescribe(tc.req))
			}
		})
	}
}

func dxDescribe(r *Request) string {
	var b strings.Builder
	b.WriteString(r.Action + " on " + r.Resource + " by " + r.Principal.ARN)
	if r.Principal.RoleARN != "" {
		b.WriteString(" (role " + r.Principal.RoleARN + ")")
	}
	if r.Principal.Account != "" {
		b.WriteString(" account=" + r.Principal.Account)
	}
	for k, v := range r.Principal.Tags {
		b.WriteString(" tag:" + k + "=" + v)
	}
	if r.Principal.SourceIdentity != "" {
		b.WriteString(" sourceIdentity=" + r.Principal.SourceIdentity)
	}
	if r.Principal.UserID != "" {
		b.WriteString(" userid=" + r.Principal.UserID)
	}
	for _, k := range r.Context.Keys() {
		v, _ := r.Context.Get(k)
		b.WriteString(" " + k + "=[" + strings.Join(v, ",") + "]")
	}
	return b.String()
}

// dxDecideCase is one Decide case. Policies are JSON documents; resource is a ResourcePolicy
// unless trust is set.
type dxDecideCase struct {
	name       string
	identity   []string
	resource   string
	trust      bool
	session    []string
	boundary   string
	resAccount string
	req        *Request
	want       Outcome
	ignored    []string // keys that must appear in Decision.IgnoredContextKeys (case-insensitive)
	matchedSid string   // when set, a Match with this Sid must be reported
	noIgnored  bool     // Decision.IgnoredContextKeys must be empty
}

func dxRunDecide(t *testing.T, cases []dxDecideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Request: tc.req, ResourceAccount: tc.resAccount}
			for i, d := range tc.identity {
				in.Identity = append(in.Identity, dxMust(t, IdentityPolicy, "identity-"+string(rune('a'+i)), d))
			}
			if tc.resource != "" {
				k := ResourcePolicy
				if tc.trust {
					k = TrustPolicy
				}
				in.Resource = dxMust(t, k, "resource", tc.resource)
			}
			for i, d := range tc.session {
				in.Session = append(in.Session, dxMust(t, SessionPolicy, "session-"+string(rune('a'+i)), d))
			}
			if tc.boundary != "" {
				in.Boundary = dxMust(t, PermissionsBoundary, "boundary", tc.boundary)
			}
			got := Decide(in)
			if got.Decision != tc.want {
				t.Errorf("Decide = %s (%s; matched %v), want %s\nrequest: %s",
					got.Decision, got.Reason, got.Matched, tc.want, dxDescribe(tc.req))
			}
			for _, k := range tc.ignored {
				found := false
				for _, g := range got.IgnoredContextKeys {
					if strings.EqualFold(g, k) {
						found = true
					}
				}
				if !found {
					t.Errorf("IgnoredContextKeys = %v, want it to list %s", got.IgnoredContextKeys, k)
				}
			}
			if tc.noIgnored && len(got.IgnoredContextKeys) > 0 {
				t.Errorf("IgnoredContextKeys = %v, want none", got.IgnoredContextKeys)
			}
			if tc.matchedSid != "" {
				found := false
				for _, m := range got.Matched {
					if m.Sid == tc.matchedSid {
						found = true
					}
				}
				if !found {
					t.Errorf("Matched = %+v, want a match with Sid %q", got.Matched, tc.matchedSid)
				}
			}
		})
	}
}

func dxMust(t *testing.T, kind Kind, name, doc string) *Policy {
	t.Helper()
	p, err := Parse(kind, name, []byte(doc))
	if err != nil {
		t.Fatalf("Parse %s: %v\npolicy: %s", name, err, doc)
	}
	return p
}

// dxParseCase is one Parse validation case: wantErr says whether the document must be rejected.
type dxParseCase struct {
	name    string
	kind    Kind
	doc     string
	wantErr bool
	stmt    int // expected MalformedPolicyError.Statement when wantErr; dxAnyStmt skips the check
}

const dxAnyStmt = -99

func dxRunParse(t *testing.T, cases []dxParseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == 0 {
				kind = IdentityPolicy
			}
			p, err := Parse(kind, "doc-example", []byte(tc.doc))
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Parse rejected a valid document: %v\npolicy: %s", err, tc.doc)
				}
				if p == nil {
					t.Fatal("Parse returned nil policy and nil error")
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted an invalid document\npolicy: %s", tc.doc)
			}
			var me *MalformedPolicyError
			if !errors.As(err, &me) {
				t.Fatalf("Parse error %T (%v), want *MalformedPolicyError", err, err)
			}
			if me.Problem == "" {
				t.Errorf("MalformedPolicyError.Problem is empty: %+v", me)
			}
			if me.Policy != "doc-example" {
				t.Errorf("MalformedPolicyError.Policy = %q, want the name passed to Parse", me.Policy)
			}
			if tc.stmt != dxAnyStmt && me.Statement != tc.stmt {
				t.Errorf("MalformedPolicyError.Statement = %d, want %d (%+v)", me.Statement, tc.stmt, me)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// TestDocsCaseCount keeps the documentation-derived tables from shrinking unnoticed.
func TestDocsCaseCount(t *testing.T) {
	counts := map[string]int{
		"operators":  len(dxStringCases) + len(dxNumericCases) + len(dxDateCases) + len(dxBoolBinaryCases) + len(dxIPCases) + len(dxArnCases) + len(dxNullIfExistsCases),
		"multivalue": len(dxMultiValueCases) + len(dxLogicCases),
		"variables":  len(dxVariableCases) + len(dxDerivedKeyCases),
		"elements":   len(dxActionCases) + len(dxResourceCases) + len(dxPrincipalCases),
		"decide":     len(dxDecideCases) + len(dxStrictKeyCases),
		"tutorial":   len(dxTutorialCases) + len(dxTutorialDecideCases) + len(dxSessionTagCases),
		"parse":      len(dxParseCases),
	}
	topics := make([]string, 0, len(counts))
	for topic := range counts {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	total := 0
	for _, topic := range topics {
		t.Logf("%-10s %3d cases", topic, counts[topic])
		total += counts[topic]
	}
	t.Logf("total      %3d cases", total)
	if total < 200 {
		t.Errorf("documentation-derived cases = %d, want at least 200", total)
	}
}
