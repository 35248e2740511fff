package sts

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// What the aws-sdk-go-v2 sts client sends for AssumeRole, and variations on it.
var assumeRoleSeeds = []string{
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=alice",
	"Action=AssumeRole&DurationSeconds=900&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=alice%40example.com" +
		"&SourceIdentity=alice%40example.com&Tags.member.1.Key=tenant&Tags.member.1.Value=acme&Tags.member.2.Key=sub&Tags.member.2.Value=0001" +
		"&TransitiveTagKeys.member.1=tenant&Version=2011-06-15",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1" +
		"&Policy=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22*%22%7D%5D%7D" +
		"&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fread-only&ExternalId=ext-1234",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&DurationSeconds=43201",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&Tags.member.1.Key=aws%3Atenant&Tags.member.1.Value=x",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&Tags.member.1.Key=A&Tags.member.1.Value=1&Tags.member.2.Key=a&Tags.member.2.Value=2",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&Tags.member.2.Key=k&Tags.member.2.Value=v",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&TransitiveTagKeys.member.1=nope",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=a&SourceIdentity=aws%3Ax&DurationSeconds=1&ExternalId=%20",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&SerialNumber=x&Tags=",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&Unknown=1",
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=s1&PolicyArns.member.1.arn=",
	"Action=GetCallerIdentity&Version=2011-06-15",
	"Action=GetCallerIdentity&Version=2011-06-15&Extra=1",
	"Action=AssumeRole&Version=2011-06-15",
}

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

var memberRe = regexp.MustCompile(`at '([a-zA-Z]+)(\.\d+\.member(\.(key|value|arn))?)?'`)

// checkRefusal: a refused AssumeRole is a 4xx AWS error, and a ValidationError names each
// member it faults with a member STS has.
func checkRefusal(t *testing.T, body string, err error) {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 || ae.Code == "" || ae.Message == "" {
		t.Fatalf("%q: %#v is not a 4xx AWS error", body, err)
	}
	if ae.Code != "ValidationError" || !strings.Contains(ae.Message, "validation error") {
		return
	}
	members := map[string]bool{"roleArn": true, "roleSessionName": true, "sourceIdentity": true, "durationSeconds": true, "tags": true,
		"transitiveTagKeys": true, "policy": true, "policyArns": true, "externalId": true}
	found := memberRe.FindAllStringSubmatch(ae.Message, -1)
	if len(found) == 0 {
		t.Fatalf("%q: %q names no member", body, ae.Message)
	}
	for _, m := range found {
		if !members[m[1]] {
			t.Fatalf("%q: %q names %q, not an AssumeRole member", body, ae.Message, m[1])
		}
	}
}

// encode renders an accepted input as the SDK would send it.
func encode(in AssumeRoleInput) string {
	v := url.Values{"Action": {"AssumeRole"}, "Version": {APIVersion}, "RoleArn": {in.RoleARN}, "RoleSessionName": {in.SessionName}}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("SourceIdentity", in.SourceIdentity)
	set("ExternalId", in.ExternalID)
	set("Policy", in.Policy)
	if in.DurationGiven {
		v.Set("DurationSeconds", strconv.Itoa(in.DurationSeconds))
	}
	for i, tag := range in.Tags {
		v.Set("Tags.member."+strconv.Itoa(i+1)+".Key", tag.Key)
		v.Set("Tags.member."+strconv.Itoa(i+1)+".Value", tag.Value)
	}
	for i, k := range in.TransitiveTagKeys {
		v.Set("TransitiveTagKeys.member."+strconv.Itoa(i+1), k)
	}
	for i, a := range in.PolicyARNs {
		v.Set("PolicyArns.member."+strconv.Itoa(i+1)+".arn", a)
	}
	return v.Encode()
}

// FuzzParseAssumeRoleInput: an accepted AssumeRole satisfies every constraint of the STS API
// reference and re-encodes, as the SDK would send it, to the same input; a refused one is a
// 4xx AWS error whose ValidationError names the members it faults.
func FuzzParseAssumeRoleInput(f *testing.F) {
	for _, s := range assumeRoleSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := query.Parse(post(body))
		if err != nil {
			return // query's own fuzz target covers the form decoding
		}
		in, err := ParseAssumeRoleInput(p)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		bad := func(what string) {
			t.Helper()
			t.Fatalf("%q accepted with %s: %+v", body, what, in)
		}
		if !lengthBetween(in.RoleARN, 20, 2048) {
			bad("a RoleArn of the wrong length")
		}
		if !lengthBetween(in.SessionName, 2, 64) || !sessionNamePattern.MatchString(in.SessionName) {
			bad("an invalid RoleSessionName")
		}
		if _, given := p.Get("SourceIdentity"); given && (!lengthBetween(in.SourceIdentity, 2, 64) || strings.HasPrefix(strings.ToLower(in.SourceIdentity), "aws:")) {
			bad("an invalid SourceIdentity")
		}
		if in.DurationSeconds < 900 || in.DurationSeconds > 43200 {
			bad("DurationSeconds out of range")
		}
		if len(in.Tags) > 50 || len(in.TransitiveTagKeys) > 50 || len(in.PolicyARNs) > 10 {
			bad("too many list members")
		}
		keys := map[string]bool{}
		for _, tag := range in.Tags {
			k := strings.ToLower(tag.Key)
			if keys[k] || strings.HasPrefix(k, "aws:") || !lengthBetween(tag.Key, 1, 128) || !lengthBetween(tag.Value, 0, 256) {
				bad("tag " + tag.Key)
			}
			keys[k] = true
		}
		for _, k := range in.TransitiveTagKeys {
			if !keys[strings.ToLower(k)] {
				bad("transitive key " + k + " that is not a session tag")
			}
		}
		for _, a := range in.PolicyARNs {
			if !lengthBetween(a, 20, 2048) {
				bad("a policy ARN of the wrong length")
			}
		}
		if _, given := p.Get("Policy"); given && !lengthBetween(in.Policy, 1, 2048) {
			bad("a Policy of the wrong length")
		}
		if _, given := p.Get("ExternalId"); given && !lengthBetween(in.ExternalID, 2, 1224) {
			bad("an ExternalId of the wrong length")
		}

		again, err := query.Parse(post(encode(in)))
		if err != nil {
			t.Fatalf("re-encoded %+v does not parse: %v", in, err)
		}
		in2, err := ParseAssumeRoleInput(again)
		if err != nil || !reflect.DeepEqual(in, in2) {
			t.Fatalf("%q: %+v re-encodes to %+v (%v)", body, in, in2, err)
		}
	})
}

const (
	fuzzAccount = "111122223333"
	fuzzRoleARN = "arn:aws:iam::111122223333:role/app"
)

var fuzzT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fuzzSTS is a fresh store with role "app" (trusting its account for AssumeRole, TagSession and
// SetSourceIdentity; up to 2 hours), managed policy "read-only", and two callers: the
// account's admin, and a session of "app" with source identity "alice" and the transitive tag
// tenant=acme (so that assuming with it is role chaining).
func fuzzSTS(t *testing.T) (*Handler, *iam.Store, *iam.Caller, *iam.Caller) {
	s := iam.NewStore(iam.WithClock(func() time.Time { return fuzzT0 }))
	k, err := s.AddAccount(fuzzAccount)
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},` +
		`"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	if _, err := s.CreateRole(fuzzAccount, iam.RoleInput{Name: "app", TrustPolicy: trust, MaxSessionDuration: 7200}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRolePolicy(fuzzAccount, "app", "chain", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePolicy(fuzzAccount, "read-only", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, ""); err != nil {
		t.Fatal(err)
	}
	admin, err := s.Caller(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	role, err := s.GetRole(fuzzAccount, "app")
	if err != nil {
		t.Fatal(err)
	}
	sess := s.AddSession(iam.Session{Issued: fuzzT0, Expiration: fuzzT0.Add(time.Hour), Account: fuzzAccount, RoleARN: role.ARN,
		RoleName: role.Name, RoleID: role.ID, SessionName: "first", SourceIdentity: "alice",
		Tags: []iam.Tag{{Key: "tenant", Value: "acme"}}, TransitiveTagKeys: []string{"tenant"}})
	chained, err := s.Caller(sess.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return NewHandler(s, nil), s, admin, chained
}

// FuzzServe runs fuzzer-shaped STS requests from the admin or from a role session and checks
// what STS promises: a refused request is a 4xx AWS error and issues no session; an accepted
// AssumeRole issues exactly one, consumed every parameter, and gives the session the role,
// name, duration, tags and source identity asked for — keeping a chained caller's source
// identity and transitive tags, and at most an hour; and every result renders as XML.
func FuzzServe(f *testing.F) {
	for _, s := range assumeRoleSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, chainedCaller bool) { fuzzServeOnce(t, body, chainedCaller) })
}

// fuzzServeOnce runs one FuzzServe input and reports whether STS accepted it.
func fuzzServeOnce(t *testing.T, body string, chainedCaller bool) (accepted bool) {
	p, err := query.Parse(post(body))
	if err != nil {
		return false
	}
	h, store, admin, chained := fuzzSTS(t)
	caller := admin
	if chainedCaller {
		caller = chained
	}
	sessions := store.SessionCount()
	res, err := h.Serve(&iam.Call{Caller: caller, Params: p, RequestID: "fuzz", Time: fuzzT0, Region: "us-east-1"})
	if err != nil {
		checkRefusal(t, body, err)
		if n := store.SessionCount(); n != sessions {
			t.Fatalf("%q was refused (%v) yet %d sessions were issued", body, err, n-sessions)
		}
		return false
	}
	if err := p.CheckUnknown(); err != nil {
		t.Fatalf("%q succeeded without reading every parameter: %v", body, err)
	}
	rec := httptest.NewRecorder()
	query.WriteResult(rec, p.Action, XMLNS, "fuzz", res) // panics on a result that cannot be encoded
	if p.Action != "AssumeRole" {
		return true
	}
	if n := store.SessionCount(); n != sessions+1 {
		t.Fatalf("%q issued %d sessions", body, n-sessions)
	}
	in, err := ParseAssumeRoleInput(p)
	if err != nil {
		t.Fatalf("%q succeeded but its input does not parse: %v", body, err)
	}
	ar := res.(AssumeRoleResult)
	c, err := store.Caller(ar.Credentials.AccessKeyID)
	if err != nil {
		t.Fatalf("issued key %s is unknown: %v", ar.Credentials.AccessKeyID, err)
	}
	sess := c.Session
	if in.RoleARN != fuzzRoleARN || sess.RoleARN != fuzzRoleARN || sess.SessionName != in.SessionName ||
		ar.AssumedRoleUser.Arn != "arn:aws:sts::111122223333:assumed-role/app/"+in.SessionName {
		t.Fatalf("%q: session %+v, result %+v", body, sess, ar)
	}
	if got := sess.Expiration.Sub(fuzzT0); got != time.Duration(in.DurationSeconds)*time.Second {
		t.Fatalf("%q: session lasts %v, asked %ds", body, got, in.DurationSeconds)
	}
	wantTags, wantSI := in.Tags, in.SourceIdentity
	if chainedCaller {
		wantTags, wantSI = append([]iam.Tag{{Key: "tenant", Value: "acme"}}, in.Tags...), "alice"
		if in.DurationSeconds > 3600 || !sess.Chained {
			t.Fatalf("%q: chained session %+v", body, sess)
		}
	}
	if !reflect.DeepEqual(sess.Tags, wantTags) && (len(sess.Tags) != 0 || len(wantTags) != 0) {
		t.Fatalf("%q: session tags %v, want %v", body, sess.Tags, wantTags)
	}
	if sess.SourceIdentity != wantSI || ar.SourceIdentity != wantSI {
		t.Fatalf("%q: source identity %q (result %q), want %q", body, sess.SourceIdentity, ar.SourceIdentity, wantSI)
	}
	return true
}

func TestFuzzServeSeedsReachAcceptance(t *testing.T) {
	for _, c := range []struct {
		seed    int
		chained bool
	}{{0, false}, {0, true}, {1, false}, {2, false}, {12, true}} {
		if !fuzzServeOnce(t, assumeRoleSeeds[c.seed], c.chained) {
			t.Errorf("seed %d (chained %v) was refused, so FuzzServe would not start from an accepted request", c.seed, c.chained)
		}
	}
}
