package sigv4

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestVerifyAcceptsRequestsTheSDKSigned(t *testing.T) {
	stsBody := "Action=GetCallerIdentity&Version=2011-06-15"
	cases := []struct {
		name string
		spec signSpec
		req  func(*testing.T) *http.Request // overrides spec when set
		// wantSigned lists headers that must be among the signed ones.
		wantSigned []string
	}{
		{name: "an STS POST with a form body verifies", spec: signSpec{body: stsBody}},
		{name: "an IAM GET whose path and query need escaping verifies (double-escaped canonical path)", spec: signSpec{
			method: http.MethodGet, service: "iam",
			url: "http://iam.example.test/a%20b/c+d/%C3%BC?Action=ListUsers&PathPrefix=%2Fteam%20a%2F&b=2&b=1&plus=a%2Bb"}},
		{name: "an S3 GET of a key with spaces and unicode verifies (path signed as sent)", spec: signSpec{
			method: http.MethodGet, service: "s3", url: "http://127.0.0.1:4566/bucket/dir/a%20b+%C3%BC.txt?list-type=2&prefix=a%2Fb"}},
		{name: "an S3 PUT with a hex payload hash verifies", spec: signSpec{
			method: http.MethodPut, service: "s3", url: "http://localhost:4566/bucket/key", body: "hello",
			header: http.Header{"Content-Type": {"text/plain"}, "X-Amz-Meta-Tenant": {"acme"}}}},
		{name: "an S3 PUT with UNSIGNED-PAYLOAD verifies whatever the body", spec: signSpec{
			method: http.MethodPut, service: "s3", url: "http://localhost/bucket/key", body: "anything", payloadHash: UnsignedPayload}},
		{name: "an S3 PUT with STREAMING-UNSIGNED-PAYLOAD-TRAILER verifies", spec: signSpec{
			method: http.MethodPut, service: "s3", url: "http://localhost/bucket/key", body: "5\r\nhello\r\n0\r\n\r\n",
			payloadHash: StreamingUnsignedPayloadTrailer}},
		{name: "a request signed with a temporary key and its session token verifies", spec: signSpec{
			body: stsBody, akid: tempAKID, secret: tempSecret, token: tempToken}},
		{name: "a request to a non-default port verifies", spec: signSpec{body: stsBody, url: "http://sts.example.test:8443/"}},
		{name: "a request whose Host keeps port 443 verifies", req: func(t *testing.T) *http.Request {
			s := signSpec{body: stsBody, url: "http://sts.example.test:443/"}.defaults()
			req := s.clientRequest(t)
			req.Host = "sts.example.test:443"
			signWith(t, s, req)
			return toServer(t, req)
		}},
		{name: "a request that signed User-Agent and a repeated header verifies", req: func(t *testing.T) *http.Request {
			s := signSpec{body: stsBody}.defaults()
			req := s.clientRequest(t)
			// Lower-case keys make the SDK sign headers it normally skips.
			req.Header["user-agent"] = []string{"botocore/1.0  spaced"}
			req.Header["x-custom"] = []string{"a", " b "}
			signWith(t, s, req)
			//lint:ignore SA1008 the non-canonical key is the point
			req.Header.Set("User-Agent", req.Header["user-agent"][0])
			delete(req.Header, "user-agent")
			req.Header["X-Custom"] = req.Header["x-custom"]
			delete(req.Header, "x-custom")
			return toServer(t, req)
		}, wantSigned: []string{"user-agent", "x-custom"}},
		{name: "a request 14m59s in the past verifies", spec: signSpec{body: stsBody, at: t0.Add(-15*time.Minute + time.Second)}},
		{name: "a request 14m59s in the future verifies", spec: signSpec{body: stsBody, at: t0.Add(15*time.Minute - time.Second)}},
		{name: "a CloudTrail JSON request with x-amz-content-sha256 verifies", spec: signSpec{
			service: "cloudtrail", body: `{"MaxResults":1}`,
			header: http.Header{"X-Amz-Target": {"CloudTrail_20131101.LookupEvents"}, "Content-Type": {"application/x-amz-json-1.1"},
				"X-Amz-Content-Sha256": {sha256Hex(`{"MaxResults":1}`)}}}},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *http.Request
			if tc.req != nil {
				r = tc.req(t)
			} else {
				r = signed(t, tc.spec)
			}
			res, err := v.Verify(r)
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					t.Fatalf("Verify: %v\ncanonical request:\n%s", err, e.CanonicalRequest)
				}
				t.Fatalf("Verify: %v", err)
			}
			s := tc.spec.defaults()
			if res.Service != s.service && tc.req == nil || res.Region != "us-east-1" || res.Presigned {
				t.Errorf("result = %+v", res)
			}
			if res.Credential.Principal == nil || res.AccessKeyID == "" {
				t.Errorf("result lacks the credential: %+v", res)
			}
			for _, h := range tc.wantSigned {
				if !slices.Contains(res.SignedHeaders, h) {
					t.Errorf("%s not signed: %v", h, res.SignedHeaders)
				}
			}
			// The handler must still be able to read the body.
			if b, _ := io.ReadAll(r.Body); string(b) != s.body && tc.req == nil {
				t.Errorf("body after Verify = %q, want %q", b, s.body)
			}
		})
	}
}

func signWith(t *testing.T, s signSpec, req *http.Request) {
	t.Helper()
	s = s.defaults()
	if err := newSDKSigner(s).SignHTTP(t.Context(), s.creds(), req, s.payloadHash, s.service, s.region, s.at); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyReportsWhoSignedAndWhen(t *testing.T) {
	v := newTestVerifier(t)
	at := t0.Add(-time.Minute)
	res, err := v.Verify(signed(t, signSpec{body: "Action=GetCallerIdentity", akid: tempAKID, secret: tempSecret, token: tempToken, region: "eu-west-1", at: at}))
	if err != nil {
		t.Fatal(err)
	}
	if res.AccessKeyID != tempAKID || res.Region != "eu-west-1" || res.Service != "sts" || !res.SignedAt.Equal(at) ||
		res.Credential.Principal != "role/session" || res.Credential.SessionToken != tempToken || res.PayloadHash != sha256Hex("Action=GetCallerIdentity") {
		t.Errorf("result = %+v", res)
	}
	if err := res.CheckScope("sts", "us-east-1"); err == nil {
		t.Error("CheckScope accepted eu-west-1 for an us-east-1 endpoint")
	}
}

// TestVerifyRejectsTamperedRequests signs a request, changes one thing the
// signature covers, and expects SignatureDoesNotMatch.
func TestVerifyRejectsTamperedRequests(t *testing.T) {
	base := signSpec{
		method: http.MethodPut, service: "iam", url: "http://iam.example.test/path/x?Action=A&b=1", body: "original",
		header: http.Header{"X-Amz-Meta-Owner": {"alice"}, "Content-Type": {"text/plain"}},
	}
	cases := []struct {
		name   string
		tamper func(*http.Request)
	}{
		{"a changed body is refused", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("tampered")) }},
		{"a changed signed header is refused", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Owner", "mallory") }},
		{"a removed signed header is refused", func(r *http.Request) { r.Header.Del("Content-Type") }},
		{"a changed path is refused", func(r *http.Request) { r.URL.Path = "/path/y"; r.RequestURI = "/path/y?Action=A&b=1" }},
		{"a changed query value is refused", func(r *http.Request) { setQuery(r, "b", "2") }},
		{"an added query parameter is refused", func(r *http.Request) { setQuery(r, "extra", "1") }},
		{"a changed method is refused", func(r *http.Request) { r.Method = http.MethodPost }},
		{"a changed host is refused", func(r *http.Request) { r.Host = "evil.example.test" }},
		{"a changed X-Amz-Date is refused", func(r *http.Request) { r.Header.Set("X-Amz-Date", amzTime(t0.Add(time.Second))) }},
		{"a SignedHeaders list with a header dropped is refused", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;", "", 1))
		}},
		{"a signature with one hex digit changed is refused", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
		}},
		{"an upper-case signature is refused", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
		}},
	}
	v := newTestVerifier(t)
	if _, err := v.Verify(signed(t, base)); err != nil {
		t.Fatalf("untampered request: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(t, base)
			tc.tamper(r)
			_, err := v.Verify(r)
			e := wantKind(t, err, KindSignatureMismatch)
			if e.Code != "SignatureDoesNotMatch" || e.StatusCode != http.StatusForbidden || e.Message != msgQueryMismatch {
				t.Errorf("error = %+v", e)
			}
		})
	}
}

func TestVerifySignatureMismatchCarriesTheCanonicalRequest(t *testing.T) {
	v := newTestVerifier(t)
	r := signed(t, signSpec{method: http.MethodGet, service: "s3", url: "http://localhost/b/k", secret: "wrong", akid: testAKID})
	_, err := v.Verify(r)
	e := wantKind(t, err, KindSignatureMismatch)
	if e.Code != "SignatureDoesNotMatch" || e.Message != msgS3Mismatch || !strings.HasPrefix(e.CanonicalRequest, "GET\n/b/k\n") ||
		!strings.HasPrefix(e.StringToSign, "AWS4-HMAC-SHA256\n") {
		t.Errorf("error = %+v", e)
	}
	names := map[string]bool{}
	for _, f := range e.Fields {
		names[f.Name] = true
	}
	for _, n := range []string{"AWSAccessKeyId", "SignatureProvided", "StringToSign", "CanonicalRequest"} {
		if !names[n] {
			t.Errorf("S3 error lacks <%s>: %+v", n, e.Fields)
		}
	}
}

func TestVerifyBodyTooLargeIsRefusedBeforeReading(t *testing.T) {
	v := newTestVerifier(t, WithMaxBodyBytes(8))
	_, err := v.Verify(signed(t, signSpec{body: "Action=GetCallerIdentity"}))
	wantKind(t, err, KindBodyTooLarge)
}

func TestVerifyS3LargeBodyMismatchSurfacesWhenTheHandlerReads(t *testing.T) {
	body := strings.Repeat("x", s3EagerCheckBytes+1)
	r := signed(t, signSpec{method: http.MethodPut, service: "s3", url: "http://localhost/b/k", body: body})
	r.Body = io.NopCloser(strings.NewReader(strings.Repeat("y", len(body))))
	v := newTestVerifier(t)
	if _, err := v.Verify(r); err != nil {
		t.Fatalf("Verify: %v (the large body should be checked while it streams)", err)
	}
	_, err := io.ReadAll(r.Body)
	e := wantKind(t, err, KindContentSHA256Mismatch)
	if e.Code != "XAmzContentSHA256Mismatch" || e.StatusCode != http.StatusBadRequest {
		t.Errorf("error = %+v", e)
	}

	ok := signed(t, signSpec{method: http.MethodPut, service: "s3", url: "http://localhost/b/k", body: body})
	if _, err := v.Verify(ok); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(ok.Body); err != nil || len(b) != len(body) {
		t.Fatalf("reading a matching large body: %d bytes, %v", len(b), err)
	}
}

func TestCheckContentSHA256(t *testing.T) {
	r := signed(t, signSpec{method: http.MethodPut, service: "s3", url: "http://localhost/b/k", body: "abc"})
	if err := CheckContentSHA256(r); err != nil {
		t.Fatalf("matching body: %v", err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "abc" {
		t.Fatalf("body not restored: %q", b)
	}
	r.Body = io.NopCloser(strings.NewReader("abd"))
	wantKind(t, CheckContentSHA256(r), KindContentSHA256Mismatch)
	r.Header.Set(headerContentSHA, UnsignedPayload)
	if err := CheckContentSHA256(r); err != nil {
		t.Fatalf("UNSIGNED-PAYLOAD: %v", err)
	}
}

func TestNewVerifierValidatesOptions(t *testing.T) {
	for name, opts := range map[string][]Option{
		"a nil clock is refused":           {WithClock(nil)},
		"a zero skew is refused":           {WithMaxSkew(0)},
		"a negative body limit is refused": {WithMaxBodyBytes(-1)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewVerifier(testStore(), opts...); err == nil {
				t.Error("NewVerifier accepted the option")
			}
		})
	}
	if _, err := NewVerifier(nil); err == nil {
		t.Error("NewVerifier accepted a nil store")
	}
}

func wantKind(t *testing.T, err error, kind Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error of kind %v", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %v (%v), want %v", e.Kind, e, kind)
	}
	return e
}

// TestVerifyPutsTheBodyBackWhole: the handler reads the body Verify hashed, or takes it whole.
func TestVerifyPutsTheBodyBackWhole(t *testing.T) {
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	v := newTestVerifier(t)
	r := signed(t, signSpec{body: body, akid: tempAKID, secret: tempSecret, token: tempToken})
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 7)
	if n, err := io.ReadFull(r.Body, first); n != 7 || err != nil || string(first) != body[:7] {
		t.Fatalf("read %q, %v", first[:n], err)
	}
	taker, ok := r.Body.(interface{ TakeBytes() []byte })
	if !ok {
		t.Fatalf("the body put back is a %T, which cannot be taken whole", r.Body)
	}
	if got := string(taker.TakeBytes()); got != body[7:] {
		t.Fatalf("TakeBytes after 7 bytes read = %q, want the rest, %q", got, body[7:])
	}
	if n, err := r.Body.Read(first); n != 0 || err != io.EOF {
		t.Fatalf("after TakeBytes: read %d, %v; want EOF", n, err)
	}
	if err := r.Body.Close(); err != nil {
		t.Fatal(err)
	}
}
