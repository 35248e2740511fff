package iam

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// Bodies as the aws-sdk-go-v2 iam client sends them (form-encoded, Action and Version first),
// for every action the handler serves, with a few that must be refused.
var iamSeeds = []string{
	"Action=CreateRole&Version=2010-05-08&RoleName=new-role&Path=%2Fapp%2F&Description=d&MaxSessionDuration=7200" +
		"&AssumeRolePolicyDocument=" + url.QueryEscape(trustECS) + "&Tags.member.1.Key=tenant&Tags.member.1.Value=acme",
	"Action=CreateRole&Version=2010-05-08&RoleName=app&AssumeRolePolicyDocument=" + url.QueryEscape(trustECS),
	"Action=CreateRole&Version=2010-05-08&RoleName=b&AssumeRolePolicyDocument=%7B%7D&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp",
	"Action=GetRole&Version=2010-05-08&RoleName=app",
	"Action=ListRoles&Version=2010-05-08&PathPrefix=%2F&MaxItems=1",
	"Action=ListRoles&Version=2010-05-08&Marker=TGlzdFJvbGVzAGFwcA",
	"Action=DeleteRole&Version=2010-05-08&RoleName=app",
	"Action=DeleteRole&Version=2010-05-08&RoleName=bare",
	"Action=UpdateAssumeRolePolicy&Version=2010-05-08&RoleName=app&PolicyDocument=" + url.QueryEscape(trustECS),
	"Action=PutRolePolicy&Version=2010-05-08&RoleName=app&PolicyName=extra&PolicyDocument=" +
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/tenant}/*"}]}`),
	"Action=GetRolePolicy&Version=2010-05-08&RoleName=app&PolicyName=main",
	"Action=DeleteRolePolicy&Version=2010-05-08&RoleName=app&PolicyName=main",
	"Action=ListRolePolicies&Version=2010-05-08&RoleName=app&MaxItems=1000",
	"Action=AttachRolePolicy&Version=2010-05-08&RoleName=bare&PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp",
	"Action=DetachRolePolicy&Version=2010-05-08&RoleName=app&PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp",
	"Action=ListAttachedRolePolicies&Version=2010-05-08&RoleName=app",
	"Action=TagRole&Version=2010-05-08&RoleName=app&Tags.member.1.Key=team&Tags.member.1.Value=x&Tags.member.2.Key=cost&Tags.member.2.Value=",
	"Action=UntagRole&Version=2010-05-08&RoleName=app&TagKeys.member.1=tenant",
	"Action=ListRoleTags&Version=2010-05-08&RoleName=app",
	"Action=CreatePolicy&Version=2010-05-08&PolicyName=p2&Path=%2F&Description=x&PolicyDocument=" +
		url.QueryEscape(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`),
	"Action=GetPolicy&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp",
	"Action=GetPolicyVersion&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp&VersionId=v1",
	"Action=DeletePolicy&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fmp",
	"Action=CreateUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v",
	"Action=GetUser&Version=2010-05-08",
	"Action=GetUser&Version=2010-05-08&UserName=reader",
	"Action=CreateAccessKey&Version=2010-05-08&UserName=reader",
	"Action=PutUserPolicy&Version=2010-05-08&UserName=reader&PolicyName=more&PolicyDocument=" +
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`),
	"Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp" +
		"&ActionNames.member.1=s3%3AGetObject&ResourceArns.member.1=arn%3Aaws%3As3%3A%3A%3Ab%2Facme%2Fx" +
		"&ContextEntries.member.1.ContextKeyName=aws%3APrincipalTag%2Ftenant&ContextEntries.member.1.ContextKeyType=string" +
		"&ContextEntries.member.1.ContextKeyValues.member.1=acme&MaxItems=10",
	"Action=SimulateCustomPolicy&Version=2010-05-08&PolicyInputList.member.1=" +
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`) +
		"&ActionNames.member.1=s3%3APutObject&ContextEntries.member.1.ContextKeyName=aws%3ACurrentTime" +
		"&ContextEntries.member.1.ContextKeyType=date&ContextEntries.member.1.ContextKeyValues.member.1=2026-11-26T12%3A00%3A00Z",
	"Action=GetRole&Version=2010-05-08&RoleName=app&Bogus=1",
	"Action=TagRole&Version=2010-05-08&RoleName=app&Tags.member.1.Key=k",
	"Action=ListRoles&Version=2010-05-08&MaxItems=0&Marker=%25",
	"Action=GetRole&Version=2009-01-01&RoleName=app",
}

const fuzzAccount = testAccount

var fuzzT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fuzzStore is a fresh account with role "app" (inline policy "main", tag tenant=acme, managed
// policy "mp" attached), role "bare", and user "reader", who may only read IAM (Get*, List*,
// Simulate*). It returns the admin and reader callers.
func fuzzStore(t *testing.T) (*Store, *Caller, *Caller) {
	s := NewStore(WithClock(func() time.Time { return fuzzT0 }))
	adminKey, err := s.AddAccount(fuzzAccount)
	if err != nil {
		t.Fatal(err)
	}
	fail := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.CreateRole(fuzzAccount, RoleInput{Name: "app", TrustPolicy: trustECS, Tags: []Tag{{Key: "tenant", Value: "acme"}}})
	fail(err)
	_, err = s.CreateRole(fuzzAccount, RoleInput{Name: "bare", TrustPolicy: trustECS})
	fail(err)
	fail(s.PutRolePolicy(fuzzAccount, "app", "main", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	mp, err := s.CreatePolicy(fuzzAccount, "mp", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`, "")
	fail(err)
	fail(s.AttachRolePolicy(fuzzAccount, "app", mp.ARN))
	_, err = s.CreateUser(fuzzAccount, "reader", "/", nil)
	fail(err)
	fail(s.PutUserPolicy(fuzzAccount, "reader", "read", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Simulate*"],"Resource":"*"}]}`))
	readerKey, err := s.CreateAccessKey(fuzzAccount, "reader")
	fail(err)
	admin, err := s.Caller(adminKey.ID)
	fail(err)
	reader, err := s.Caller(readerKey.ID)
	fail(err)
	return s, admin, reader
}

// snapshot renders everything an IAM action can change. Policies are shown by identity, so a
// document replaced by another shows.
func (s *Store) snapshot() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b strings.Builder
	sorted := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	ids := map[string]bool{}
	for id := range s.accounts {
		ids[id] = true
	}
	for _, id := range sorted(ids) {
		a := s.accounts[id]
		names := map[string]bool{}
		for k := range a.roles {
			names[k] = true
		}
		for _, k := range sorted(names) {
			r := a.roles[k]
			fmt.Fprintf(&b, "role %s %s %s %s %q %d trust=%p tags=%v boundary=%s attached=%v\n", r.Name, r.Path, r.ARN, r.ID,
				r.Description, r.MaxSessionDuration, r.TrustPolicy, r.Tags, r.BoundaryARN, r.Attached)
			for pn, p := range r.Inline {
				fmt.Fprintf(&b, "  inline %s=%p\n", pn, p)
			}
		}
		clear(names)
		for k := range a.users {
			names[k] = true
		}
		for _, k := range sorted(names) {
			u := a.users[k]
			fmt.Fprintf(&b, "user %s %s %s tags=%v attached=%v\n", u.Name, u.Path, u.ID, u.Tags, u.Attached)
			for pn, p := range u.Inline {
				fmt.Fprintf(&b, "  inline %s=%p\n", pn, p)
			}
		}
		clear(names)
		for k := range a.policies {
			names[k] = true
		}
		for _, k := range sorted(names) {
			p := a.policies[k]
			fmt.Fprintf(&b, "policy %s %s doc=%p attachments=%d tags=%v\n", p.ARN, p.ID, p.Document, p.Attachments, p.Tags)
		}
	}
	keys := map[string]bool{}
	for id := range s.keys {
		keys[id] = true
	}
	fmt.Fprintf(&b, "keys %v\n", sorted(keys))
	return b.String()
}

// FuzzServe runs fuzzer-shaped IAM Query requests, from the account's admin or from a user who
// may only read IAM, and checks what the handler promises: a refusal is a 4xx AWS error (an
// unknown parameter is named, and was in the request) and changes nothing; the read-only user
// never changes anything; a success consumed every parameter and renders as the XML result.
func FuzzServe(f *testing.F) {
	for _, s := range iamSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, asReader bool) { fuzzServeOnce(t, body, asReader) })
}

// fuzzServeOnce runs one FuzzServe input and reports whether IAM accepted it.
func fuzzServeOnce(t *testing.T, body string, asReader bool) (accepted bool) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	p, err := query.Parse(r)
	if err != nil {
		return false
	}
	store, admin, reader := fuzzStore(t)
	caller := admin
	if asReader {
		caller = reader
	}
	before := store.snapshot()
	res, err := NewHandler(store).Serve(&Call{Caller: caller, Params: p, RequestID: "fuzz", SourceIP: "192.0.2.1", Region: "us-east-1", Time: fuzzT0})
	after := store.snapshot()
	if err != nil {
		var ae *awserr.Error
		if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 || ae.Code == "" || ae.Message == "" {
			t.Fatalf("%q: %#v is not a 4xx AWS error", body, err)
		}
		if ae.Code == "InvalidParameter" {
			name, _ := strings.CutSuffix(strings.TrimPrefix(ae.Message, "parameter "), " is not a parameter of "+p.Action)
			if v, _ := url.ParseQuery(body); !v.Has(name) {
				t.Fatalf("%q: %q names a parameter the request does not have", body, ae.Message)
			}
		}
		if after != before {
			t.Fatalf("%q was refused (%v) yet changed the store:\nbefore:\n%s\nafter:\n%s", body, err, before, after)
		}
		return false
	}
	if asReader && after != before {
		t.Fatalf("%q from a read-only user changed the store:\nbefore:\n%s\nafter:\n%s", body, before, after)
	}
	if err := p.CheckUnknown(); err != nil {
		t.Fatalf("%q succeeded without reading every parameter: %v", body, err)
	}
	rec := httptest.NewRecorder()
	query.WriteResult(rec, p.Action, XMLNS, "fuzz", res) // panics on a result that cannot be encoded
	dec := xml.NewDecoder(rec.Body)
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%q: the result is not XML: %v", body, err)
		}
	}
	return true
}

func TestFuzzServeSeedsReachAcceptance(t *testing.T) {
	for i, s := range iamSeeds[:len(iamSeeds)-4] {
		if i == 1 || i == 2 || i == 6 || i == 22 { // refused: the role exists, an empty trust policy, still attached (DeleteConflict)
			continue
		}
		if !fuzzServeOnce(t, s, false) {
			t.Errorf("seed %d was refused, so FuzzServe would not start from an accepted %s", i, strings.SplitN(s, "&", 2)[0])
		}
	}
}
