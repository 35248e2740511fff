package enforce

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

var fuzzT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// The session the fuzzed requests are signed with: role "reader" may read objects under
// acme/public/, list acme under public/ and nothing else.
var fuzzSession = iam.Session{AccessKeyID: "ASIAFUZZFUZZFUZZFUZZ", SecretAccessKey: "fuzz-secret", SessionToken: "fuzz-token",
	Issued: fuzzT0, Expiration: fuzzT0.Add(time.Hour), Account: DefaultAccount, RoleARN: "arn:aws:iam::000000000000:role/reader",
	RoleName: "reader", RoleID: "AROAFUZZREADER", SessionName: "fuzz"}

var fuzzRole = &iam.Role{Account: DefaultAccount, Name: "reader", Path: "/", ARN: fuzzSession.RoleARN, ID: fuzzSession.RoleID,
	MaxSessionDuration: 3600,
	TrustPolicy: iampolicy.MustParse(iampolicy.TrustPolicy, "trust policy of reader",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	Inline: map[string]*iampolicy.Policy{"main": iampolicy.MustParse(iampolicy.IdentityPolicy, "main", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme/public/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::acme","Condition":{"StringLike":{"s3:prefix":"public/*"}}}]}`)}}

// relayed is what the fake upstream received from the fuzzed caller.
type relayed struct {
	mu   sync.Mutex
	reqs []*http.Request
}

// fuzzUpstream stands for LocalStack: it answers every request with an empty success (and the
// proxy's own admin reads with an error, so that nothing but the cache decides) and keeps
// what the fuzzed session sent.
var fuzzRelayed = &relayed{}

var fuzzUpstreamURL = sync.OnceValue(func() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if sc, err := sigv4.ParseScope(r); err == nil && sc.AccessKeyID == DefaultAdminKey {
			http.Error(w, "the fuzzed proxy must not need the upstream", http.StatusInternalServerError)
			return
		}
		// A copy: net/http still reads r once the handler has returned, and the checks
		// re-read the body.
		kept := r.Clone(context.Background())
		kept.Body = io.NopCloser(bytes.NewReader(body))
		fuzzRelayed.mu.Lock()
		fuzzRelayed.reqs = append(fuzzRelayed.reqs, kept)
		fuzzRelayed.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	return srv.URL // lives as long as the test process
})

func fuzzProxy(t *testing.T) *Proxy {
	p, err := New(fuzzUpstreamURL(), WithClock(func() time.Time { return fuzzT0 }), WithCacheTTL(24*time.Hour), WithLocalBucketPolicies(),
		WithAccount(DefaultAccount, ""))
	if err != nil {
		t.Fatal(err)
	}
	p.roles["reader"] = roleEntry{role: fuzzRole, at: fuzzT0}
	p.learn(fuzzSession)
	return p
}

// permitted says whether the reader session may do what the upstream was asked to do, judged
// from the request as the upstream received it.
func permitted(r *http.Request) (string, bool) {
	sc, err := sigv4.ParseScope(r)
	if err != nil {
		return "unsigned", false
	}
	switch sc.Service {
	case "s3":
		// The query as Python (LocalStack, moto) reads it: a pair Go drops may name a
		// subresource there.
		py := url.Values(pyParseQS(r.URL.RawQuery))
		r = r.Clone(r.Context())
		r.URL.RawQuery = py.Encode()
		op := s3.Classify(r)
		desc := fmt.Sprintf("s3 %s %s on %s", op.Name, op.Action, op.Resource)
		switch op.Action {
		case "s3:GetObject":
			return desc, op.Bucket == "acme" && strings.HasPrefix(op.Key, "public/") && op.Unsupported == ""
		case "s3:ListBucket":
			return desc, op.Bucket == "acme" && op.Key == "" && strings.HasPrefix(r.URL.Query().Get("prefix"), "public/")
		}
		return desc, false
	case "sts", "iam":
		// GetCallerIdentity needs no permission; it is all the role may call. Both readings
		// of the request must agree on it.
		moto := motoAction(r)
		p, err := query.Parse(r)
		if err != nil {
			return sc.Service + " unparsable: " + err.Error(), false
		}
		desc := fmt.Sprintf("%s %s (moto reads %s)", sc.Service, p.Action, moto)
		return desc, sc.Service == "sts" && p.Action == "GetCallerIdentity" && moto == "GetCallerIdentity"
	}
	return sc.Service, false
}

// FuzzProxy signs fuzzer-shaped requests (any method, path, query, header and body, for S3,
// STS, IAM, CloudTrail or another service, path- or virtual-hosted-style, header or presigned)
// as a session whose role may only read acme/public/, sends them through the proxy, and checks
// every request that reaches the upstream as the upstream sees it: it must be one the role
// allows. What the proxy authorized and what it relayed cannot differ. A tampered signature
// never reaches the upstream and is a 4xx.
func FuzzProxy(f *testing.F) {
	f.Add("GET", "acme/public/report.csv", "x-id=GetObject", "", "", []byte{}, uint8(0))
	f.Add("HEAD", "public/a b/ü.txt", "", "", "", []byte{}, uint8(0|8))
	f.Add("GET", "acme", "list-type=2&prefix=public%2F&delimiter=%2F", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme", "list-type=2&prefix=private%2F", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme/private/x", "", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme/public/../private/x", "", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme/public/x", "acl=", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme/public/x", "versionId=1", "", "", []byte{}, uint8(0))
	f.Add("PUT", "acme/public/x", "x-id=PutObject", "Content-Type", "text/plain", []byte("data"), uint8(0))
	f.Add("PUT", "acme/public/copy", "", "X-Amz-Copy-Source", "acme/private/x", []byte{}, uint8(0))
	f.Add("GET", "/acme/public/x", "", "", "", []byte{}, uint8(0))
	f.Add("GET", "acme/public/x", "", "", "", []byte{}, uint8(0|4))
	f.Add("GET", "acme/public/x", "", "", "", []byte{}, uint8(0|16))
	f.Add("POST", "", "", "Content-Type", "application/x-www-form-urlencoded; charset=utf-8", []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(1))
	f.Add("POST", "", "", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Freader&RoleSessionName=x"), uint8(1))
	f.Add("GET", "", "Action=GetCallerIdentity&Version=2011-06-15", "", "", []byte{}, uint8(1))
	f.Add("POST", "", "Action=CreateRole", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(1))
	f.Add("POST", "", "", "X-Amz-Target", "AWSSecurityTokenServiceV20110615.AssumeRole", []byte(`{"RoleArn":"arn:aws:iam::000000000000:role/x","x":"&Action=GetCallerIdentity&Version=2011-06-15&"}`), uint8(1))
	f.Add("POST", "", "", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=ListRoles&Version=2010-05-08"), uint8(2))
	f.Add("POST", "", "", "X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", []byte(`{}`), uint8(3))
	f.Add("POST", "", "", "X-Amz-Target", "DynamoDB_20120810.ListTables", []byte(`{}`), uint8(32))

	f.Fuzz(func(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) {
		fuzzProxyOnce(t, method, path, rawQuery, hName, hValue, body, mode)
	})
}

var fuzzServices = []string{"s3", "sts", "iam", "cloudtrail"}

// fuzzProxyOnce runs one FuzzProxy input: mode's low 2 bits choose the service (32: a service
// the proxy does not model), 4 presigns, 8 addresses the bucket acme virtual-hosted-style, 16
// tampers with the signature, 64 appends rawQuery once more after signing, as written (the
// signer canonicalizes it; what it drops is not signed). It reports what the upstream
// received from the session.
func fuzzProxyOnce(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) []*http.Request {
	service := fuzzServices[mode&3]
	if mode&32 != 0 {
		service = "dynamodb"
	}
	presign, virtual, tamper := mode&4 != 0, mode&8 != 0 && service == "s3", mode&16 != 0
	host := "localhost.localstack.cloud:4566"
	if virtual {
		host = "acme.s3.amazonaws.com"
	}
	u := &url.URL{Scheme: "http", Host: host, Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: rawQuery}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil
	}
	if hName != "" {
		req.Header[hName] = []string{hValue}
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if service == "s3" {
		if presign {
			hash = sigv4.UnsignedPayload
		} else {
			req.Header.Set("X-Amz-Content-Sha256", hash)
		}
	}
	creds := aws.Credentials{AccessKeyID: fuzzSession.AccessKeyID, SecretAccessKey: fuzzSession.SecretAccessKey, SessionToken: fuzzSession.SessionToken}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if presign {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", "300")
		req.URL.RawQuery = q.Encode()
		uri, hdr, err := signer.PresignHTTP(context.Background(), creds, req, hash, service, DefaultRegion, fuzzT0)
		if err != nil {
			return nil
		}
		if tamper {
			uri = strings.Replace(uri, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
		}
		if req, err = http.NewRequest(method, uri, bytes.NewReader(body)); err != nil {
			return nil
		}
		for k, vs := range hdr {
			if k != "Host" {
				req.Header[k] = vs
			}
		}
	} else {
		if err := signer.SignHTTP(context.Background(), creds, req, hash, service, DefaultRegion, fuzzT0); err != nil {
			return nil
		}
		if tamper {
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Signature=", "Signature=0", 1))
		}
	}
	if mode&64 != 0 && rawQuery != "" {
		if req.URL.RawQuery != "" {
			req.URL.RawQuery += "&"
		}
		req.URL.RawQuery += rawQuery
	}
	var wire bytes.Buffer
	if req.Write(&wire) != nil {
		return nil
	}
	in, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		return nil
	}

	fuzzRelayed.mu.Lock()
	fuzzRelayed.reqs = nil
	fuzzRelayed.mu.Unlock()
	p := fuzzProxy(t)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, in)
	fuzzRelayed.mu.Lock()
	got := fuzzRelayed.reqs
	fuzzRelayed.mu.Unlock()

	desc := fmt.Sprintf("%s %s %s (%s) → %d %.300s", service, in.Method, in.URL.RequestURI(), in.Host, rec.Code, rec.Body)
	if tamper {
		if len(got) > 0 {
			t.Fatalf("%s: a tampered signature reached the upstream", desc)
		}
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("%s: a tampered signature", desc)
		}
	}
	for _, r := range got {
		if what, ok := permitted(r); !ok {
			t.Fatalf("%s: the upstream was asked for %s (%s %s, Host %s, X-Amz-Target %q), which the role does not allow",
				desc, what, r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Amz-Target"))
		}
	}
	return got
}

// motoAction is the action moto_server runs for a Query request (moto/core/responses.py,
// BaseResponse.setup_class and _get_action, over werkzeug): the parameters are the body parsed
// as a form whenever the Content-Type says form, whatever the method; else the URL query;
// else the body parsed as a query string — each parsed as Python does; the action is the
// first Action among them, else the last part of X-Amz-Target.
func motoAction(r *http.Request) string {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var params map[string][]string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		params = pyParseQS(string(body))
	} else if mt == "multipart/form-data" {
		return "(a multipart form)"
	}
	if len(params) == 0 {
		params = pyParseQS(r.URL.RawQuery)
	}
	if len(params) == 0 {
		params = pyParseQS(string(body))
	}
	if a := params["Action"]; len(a) > 0 && a[0] != "" {
		return a[0]
	}
	t := r.Header.Get("X-Amz-Target")
	return t[strings.LastIndexByte(t, '.')+1:]
}

// pyParseQS is Python's urllib.parse.parse_qs(s, keep_blank_values=True): pairs split on "&"
// only, "+" is a space, and a malformed escape is kept as written rather than dropping the
// pair (as Go does).
func pyParseQS(s string) map[string][]string {
	unquote := func(v string) string {
		v = strings.ReplaceAll(v, "+", " ")
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
				n, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
				b.WriteByte(byte(n))
				i += 2
				continue
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	out := map[string][]string{}
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		out[unquote(k)] = append(out[unquote(k)], unquote(v))
	}
	return out
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func TestFuzzProxyHarnessReachesTheUpstream(t *testing.T) {
	for _, c := range []struct {
		method, path, query string
		mode                uint8
	}{
		{"GET", "acme/public/report.csv", "", 0},
		{"GET", "acme/public/report.csv", "", 4},
		{"GET", "public/report.csv", "", 8},
		{"GET", "acme", "list-type=2&prefix=public%2F", 0},
		{"GET", "", "Action=GetCallerIdentity&Version=2011-06-15", 1},
	} {
		if got := fuzzProxyOnce(t, c.method, c.path, c.query, "", "", nil, c.mode); len(got) != 1 {
			t.Errorf("%s %s?%s (mode %d): %d requests reached the upstream, want 1, so FuzzProxy would test nothing", c.method, c.path, c.query, c.mode, len(got))
		}
	}
}

// GetCallerIdentity needs no permission, and the policy engine reads action names without case,
// as policies are read; but AWS runs only the exact spelling, so another one must not pass as
// it and reach an upstream that may read it otherwise (make fuzz found this).
func TestAnotherSpellingOfGetCallerIdentityNeverReachesTheUpstream(t *testing.T) {
	for _, action := range []string{"getcalleridentity", "GETCALLERIDENTITY", "GetCAllerIdentitY"} {
		body := []byte("Action=" + action + "&Version=2011-06-15")
		if got := fuzzProxyOnce(t, "POST", "", "", "Content-Type", "application/x-www-form-urlencoded", body, 1); len(got) != 0 {
			t.Errorf("Action=%s: %d requests reached the upstream, want none (AWS answers InvalidAction)", action, len(got))
		}
	}
}

func TestCheckQueryShape(t *testing.T) {
	const form = "application/x-www-form-urlencoded; charset=utf-8"
	for _, c := range []struct {
		name, method, query, contentType, target, body string
		ok                                             bool
	}{
		{"the SDK's form POST passes", "POST", "", form, "", "Action=GetCallerIdentity&Version=2011-06-15", true},
		{"a presigned GET passes", "GET", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=00", "", "", "", true},
		{"a POST with presigning parameters in the URL passes", "POST", "X-Amz-Date=20261126T120000Z", form, "", "Action=X", true},
		{"X-Amz-Target is refused", "POST", "", form, "AWSSecurityTokenServiceV20110615.AssumeRole", "Action=GetCallerIdentity", false},
		{"a POST that is not a form is refused", "POST", "", "text/plain", "", "Action=GetCallerIdentity", false},
		{"a POST with parameters in the URL is refused", "POST", "RoleName=x", form, "", "Action=GetRole", false},
		{"a GET with a body is refused", "GET", "Action=GetCallerIdentity", form, "", "Action=AssumeRole", false},
	} {
		r := httptest.NewRequest(c.method, "/?"+c.query, strings.NewReader(c.body))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		if c.target != "" {
			r.Header.Set("X-Amz-Target", c.target)
		}
		if err := checkQueryShape(r, []byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
