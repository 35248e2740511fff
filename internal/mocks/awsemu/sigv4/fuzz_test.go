package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc", true)
	f.Add("AWS4-HMAC-SHA256 Credential=A/20261126/r/s/aws4_request,SignedHeaders=host,Signature=0", false)
	f.Add("AWS4-HMAC-SHA256 Credential=A/2026112/r/s/aws4_request, SignedHeaders=host, Signature=0", true)
	f.Add("AWS4-HMAC-SHA256 Credential=A/20261126/r/s/aws4_request, Credential=B, SignedHeaders=host, Signature=0", true)
	f.Add("AWS4-HMAC-SHA256 Credential", true)
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=A/20261126/s3/aws4_request", true)
	f.Add("AWS AKID:sig", false)
	f.Add("Bearer x.y.z", false)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, h string, hasDate bool) {
		a, err := parseAuthorization(h, hasDate)
		// ParseScope's reading: a scope whenever the full parse has one, the same one.
		sa, serr := parseAuthorizationScope(h, hasDate)
		if full, scoped := err == nil || a.Scope.Service != "", serr == nil || sa.Scope.Service != ""; full != scoped || full && sa.Scope != a.Scope {
			t.Fatalf("%q: the scope alone is %+v (%v), the full parse's %+v (%v)", h, sa.Scope, serr, a.Scope, err)
		}
		if err != nil {
			if err.Kind != KindIncompleteSignature && err.Kind != KindUnsupportedAuthentication {
				t.Fatalf("kind %v for a parse error", err.Kind)
			}
			for _, svc := range []string{"", "sts", "s3", "cloudtrail"} {
				e := err.ForService(svc)
				if e.Code == "" || e.Message == "" || e.StatusCode < 400 {
					t.Fatalf("%s: unworded error %+v", svc, e)
				}
			}
			return
		}
		sc := a.Scope
		if sc.AccessKeyID == "" || len(sc.Date) != 8 || sc.Region == "" || sc.Service == "" || a.Signature == "" {
			t.Fatalf("accepted an incomplete header: %+v", a)
		}
		if strings.Join(a.SignedHeaders, ";") != a.SignedHeadersRaw {
			t.Fatalf("signed headers %q do not rejoin to %q", a.SignedHeaders, a.SignedHeadersRaw)
		}
		host := false
		for _, n := range a.SignedHeaders {
			host = host || strings.EqualFold(n, "host")
		}
		if !host {
			t.Fatalf("accepted a header that does not sign host: %q", h)
		}
		// Re-rendering the parsed header parses to the same thing.
		again, err2 := parseAuthorization(algorithm+" Credential="+sc.AccessKeyID+"/"+sc.Date+"/"+sc.Region+"/"+sc.Service+
			"/aws4_request, SignedHeaders="+a.SignedHeadersRaw+", Signature="+a.Signature, true)
		if err2 != nil || again.Scope != sc || again.Signature != a.Signature {
			t.Fatalf("round trip of %q: %+v, %v", h, again, err2)
		}
	})
}

// FuzzVerify signs a fuzzer-shaped request with the SDK, optionally
// tampers with it, and checks that Verify never panics, that a verifier
// holding any other secret never accepts it, and that a forged signature
// is never accepted even with the right secret.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "", "", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(0))
	f.Add("GET", "bucket/a b/ü", "prefix=a%2Fb&list-type=2", "X-Amz-Meta-A", "1", []byte{}, uint8(1))
	f.Add("PUT", "bucket/key", "", "X-Amz-Date", "20261126T120000Z", []byte("data"), uint8(1|4))
	f.Add("GET", "", "Action=GetCallerIdentity&Version=2011-06-15", "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", []byte{}, uint8(4|1<<3))
	f.Add("POST", "x", "a=1", "X-Custom", "v", []byte("b"), uint8(3|2<<3))
	f.Add("POST", "x", "a=1", "X-Custom", "v", []byte("b"), uint8(2|3<<3))
	f.Add("DELETE", "k", "versionId=1", "Range", "bytes=0-1", []byte{}, uint8(1|4|4<<3))
	f.Add("GET", "k", "", "X-Amz-Date", "20261126T120001Z", []byte{}, uint8(5<<3))
	f.Add("GET", "k", "", "", "", []byte{}, uint8(6<<3))

	f.Fuzz(func(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) {
		fuzzVerifyOnce(t, method, path, rawQuery, hName, hValue, body, mode)
	})
}

var (
	fuzzRight    = must(NewVerifier(StaticCredentials{testAKID: {SecretAccessKey: "fuzz-secret"}}, WithClock(func() time.Time { return t0 })))
	fuzzWrong    = must(NewVerifier(StaticCredentials{testAKID: {SecretAccessKey: "fuzz-secreT"}}, WithClock(func() time.Time { return t0 })))
	fuzzServices = []string{"sts", "s3", "iam", "cloudtrail"}
)

// fuzzVerifyOnce runs one FuzzVerify input and reports whether the right
// verifier accepted the request.
func fuzzVerifyOnce(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) (accepted bool) {
	service := fuzzServices[mode&3]
	presign := mode&4 != 0
	tamper := mode >> 3 & 7
	u := &url.URL{Scheme: "http", Host: "example.test", Path: "/" + path, RawQuery: rawQuery}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	if hName != "" && tamper != 2 {
		req.Header[hName] = []string{hValue}
	}
	hash := sha256Hex(string(body))
	if service == "s3" {
		if presign {
			hash = UnsignedPayload
		} else {
			req.Header.Set(headerContentSHA, hash)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "fuzz-secret"}
	if presign {
		q := req.URL.Query()
		q.Set(queryExpires, "300")
		req.URL.RawQuery = q.Encode()
		uri, hdr, err := signer.PresignHTTP(context.Background(), creds, req, hash, service, "us-east-1", t0)
		if err != nil {
			return false
		}
		if req, err = http.NewRequest(method, uri, bytes.NewReader(body)); err != nil {
			return false
		}
		for k, vs := range hdr {
			if k != "Host" {
				req.Header[k] = vs
			}
		}
	} else if err := signer.SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", t0); err != nil {
		return false
	}
	forged := false
	switch tamper {
	case 1: // the fuzzer supplies the signature material
		forged = true
		if presign {
			q := req.URL.Query()
			q.Set(querySignature, hValue)
			req.URL.RawQuery = q.Encode()
		} else {
			req.Header.Set(headerAuthorization, hValue)
		}
	case 2:
		if hName != "" {
			req.Header.Add(hName, hValue)
		}
	case 3:
		req.Body = http.NoBody
		req.ContentLength = 0
		if len(body) == 0 {
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader([]byte{0})), 1
		}
		forged = service != "s3" || !presign
	case 4:
		req.URL.RawQuery = rawQuery
	case 5:
		req.Header.Set(headerDate, hValue)
	case 6:
		req.URL.Path += "x"
		forged = true
	}
	var wire bytes.Buffer
	if req.Write(&wire) != nil {
		return false
	}
	raw := wire.Bytes()
	read := func() *http.Request {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil
		}
		return r
	}
	r := read()
	if r == nil {
		return false
	}
	res, err := fuzzRight.Verify(r)
	if err == nil {
		if forged {
			t.Fatalf("accepted a tampered request (mode %d):\n%s", mode, raw)
		}
		if res.AccessKeyID != testAKID || res.Service != service {
			t.Fatalf("result %+v for a %s request", res, service)
		}
	} else if _, ok := err.(*Error); !ok {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if res, err := fuzzWrong.Verify(read()); err == nil {
		t.Fatalf("a verifier with another secret accepted (mode %d) %+v:\n%s", mode, res, raw)
	}
	return err == nil
}

func TestFuzzVerifyHarnessProducesVerifiableRequests(t *testing.T) {
	for mode := uint8(0); mode < 8; mode++ {
		if !fuzzVerifyOnce(t, "POST", "p/a b", "x=1&y=%2F", "X-Amz-Meta-K", "v", []byte("body"), mode) {
			t.Errorf("mode %d: an untampered request did not verify, so the fuzz target would test nothing", mode)
		}
	}
}
