package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The verifier signs on its own (checkSignature); these tests hold it to
// aws-sdk-go-v2's signer, which it used before (sdkCheck): every request the
// SDK signs verifies, and every change fails with the very error the
// SDK-backed verifier gives, canonical request and string to sign included.

// wireRequest writes req to the wire once; each call of the returned
// function reads a fresh server request from those bytes.
func wireRequest(t testing.TB, req *http.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readWire(raw []byte) (*http.Request, error) {
	return http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
}

// verifyBoth verifies the request in raw with the verifier under test and
// with the SDK-backed one and fails unless both say the same.
func verifyBoth(t testing.TB, ours, sdk *Verifier, raw []byte) (error, bool) {
	t.Helper()
	r1, err := readWire(raw)
	if err != nil {
		return nil, false
	}
	r2, _ := readWire(raw)
	res1, err1 := ours.Verify(r1)
	res2, err2 := sdk.Verify(r2)
	if !reflect.DeepEqual(err1, err2) {
		var e1, e2 *Error
		errors.As(err1, &e1)
		errors.As(err2, &e2)
		t.Fatalf("verifiers disagree on\n%s\nours: %v\n%+v\nSDK:  %v\n%+v", raw, err1, e1, err2, e2)
	}
	if !reflect.DeepEqual(res1, res2) {
		t.Fatalf("verifiers agree but return different results on\n%s\nours: %+v\nSDK:  %+v", raw, res1, res2)
	}
	return err1, true
}

func differentialVerifiers(t testing.TB) (ours, sdk *Verifier) {
	return newTestVerifier(t), newTestVerifier(t, withSDKSigner())
}

// oneByteChanges are the changes TestOurSignerAgreesWithTheSDK makes to a
// signed request's wire bytes; each returns nil when it does not apply.
var oneByteChanges = map[string]func(raw []byte) []byte{
	"method": func(raw []byte) []byte { return flipAt(raw, 0) },
	"path": func(raw []byte) []byte {
		return insertAt(raw, bytes.IndexByte(raw, '/')+1, 'z')
	},
	"query": func(raw []byte) []byte {
		line := raw[:bytes.IndexByte(raw, '\n')]
		q := bytes.IndexByte(line, '?')
		if q < 0 {
			return nil
		}
		eq := bytes.IndexByte(line[q:], '=')
		if eq < 0 {
			return nil
		}
		return insertAt(raw, q+eq+1, 'z')
	},
	"signed header": func(raw []byte) []byte {
		// The last byte of the first signed header that is not Host,
		// X-Amz-Date or Content-Length (which frames the body).
		signed := signedNamesOf(raw)
		for _, line := range headerLines(raw) {
			name, _, _ := strings.Cut(string(raw[line[0]:line[1]]), ":")
			switch n := strings.ToLower(name); {
			case n == "host", n == "x-amz-date", n == "content-length", !signed[n]:
				continue
			}
			return flipAt(raw, line[1]-1)
		}
		return nil
	},
	"body hash": func(raw []byte) []byte {
		if i := bytes.Index(raw, []byte("X-Amz-Content-Sha256: ")); i >= 0 && isHexSHA256(string(raw[i+22:i+22+64])) {
			return flipAt(raw, i+22+10)
		}
		body := bytes.Index(raw, []byte("\r\n\r\n")) + 4
		if body == len(raw) || bytes.Contains(raw, []byte(UnsignedPayload)) || bytes.Contains(raw, []byte("STREAMING-")) {
			return nil
		}
		return flipAt(raw, len(raw)-1)
	},
	"date": func(raw []byte) []byte {
		for _, p := range []string{"X-Amz-Date: ", "X-Amz-Date="} {
			if i := bytes.Index(raw, []byte(p)); i >= 0 {
				return flipAt(raw, i+len(p)+14) // the last digit of the seconds
			}
		}
		return nil
	},
	"signature": func(raw []byte) []byte {
		for _, p := range []string{"Signature=", "X-Amz-Signature="} {
			if i := bytes.LastIndex(raw, []byte(p)); i >= 0 {
				return flipAt(raw, i+len(p)+63)
			}
		}
		return nil
	},
}

// flipAt changes one byte: a letter's case, a digit to the next digit,
// anything else to 'z'.
func flipAt(raw []byte, i int) []byte {
	out := bytes.Clone(raw)
	switch c := out[i]; {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		out[i] = c ^ 0x20
	case '0' <= c && c <= '8':
		out[i] = c + 1
	case c == '9':
		out[i] = '0'
	default:
		out[i] = 'z'
	}
	return out
}

func insertAt(raw []byte, i int, c byte) []byte {
	return append(append(append([]byte(nil), raw[:i]...), c), raw[i:]...)
}

// headerLines are the [start, end) offsets of each header line (no CRLF).
func headerLines(raw []byte) [][2]int {
	var out [][2]int
	i := bytes.Index(raw, []byte("\r\n")) + 2
	for {
		j := bytes.Index(raw[i:], []byte("\r\n"))
		if j <= 0 {
			return out
		}
		out = append(out, [2]int{i, i + j})
		i += j + 2
	}
}

// signedNamesOf reads the signed header names of a signed request.
func signedNamesOf(raw []byte) map[string]bool {
	r, err := readWire(raw)
	if err != nil {
		return nil
	}
	list := r.URL.Query().Get(querySignedHeaders)
	if a, err := parseAuthorization(r.Header.Get(headerAuthorization), true); err == nil {
		list = a.SignedHeadersRaw
	}
	out := map[string]bool{}
	for _, n := range strings.Split(list, ";") {
		out[n] = true
	}
	return out
}

func TestOurSignerAgreesWithTheSDK(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	stsBody := "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ftenant-acme&RoleSessionName=alice"
	cases := []struct {
		name    string
		spec    signSpec
		presign bool
		// wantErr: the SDK-backed verifier refuses the request too
		// (aws-chunked signatures are not verified, as before).
		wantErr bool
	}{
		{name: "sts form post", spec: signSpec{body: stsBody, header: form}},
		{name: "sts with a session token", spec: signSpec{body: stsBody, header: form, akid: tempAKID, secret: tempSecret, token: tempToken}},
		{name: "sts path with spaces and double slashes is not normalised", spec: signSpec{url: "http://sts.example.test//a b//c/", body: stsBody, header: form}},
		{name: "iam unicode path", spec: signSpec{service: "iam", url: "http://iam.example.test/ü/日本/x~y", body: "Action=ListUsers", header: form}},
		{name: "s3 key with spaces", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/a b/c d.txt"}},
		{name: "s3 unicode key", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/ü/日本/€.csv"}},
		{name: "s3 double slashes", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket//a//b"}},
		{name: "s3 reserved characters in the key", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/a%2Bb%3Dc%25d!'()*"}},
		{name: "repeated keys and empty values", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket?b=2&a=z&a=a&a=&empty=&flag&x-id=ListObjects"}},
		{name: "query sorted after encoding", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket?prefix=a%2Fb&prefix=a-b&q=x+y&t=~*'&%C3%BC=1"}},
		{name: "sts query with repeats", spec: signSpec{method: http.MethodGet, url: "http://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15&x=2&x=1&y="}},
		{name: "headers with runs of spaces and several values", spec: signSpec{service: "s3", method: http.MethodPut, url: "http://localhost:4566/bucket/k", body: "data",
			header: http.Header{"X-Amz-Meta-A": {"  a   b  c "}, "X-Amz-Meta-B": {"1", " 2  3"}, "Content-Type": {"text/plain;  charset=utf-8"}}}},
		{name: "sts custom headers", spec: signSpec{body: stsBody, header: http.Header{"Content-Type": form["Content-Type"], "X-Custom": {"x  y", "z"}, "X-Empty": {""}}}},
		{name: "s3 unsigned payload", spec: signSpec{service: "s3", method: http.MethodPut, url: "http://localhost:4566/bucket/k", body: "data", payloadHash: UnsignedPayload}},
		{name: "s3 empty body", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/k"}},
		{name: "host on port 443", spec: signSpec{method: http.MethodGet, url: "http://sts.example.test:443/?Action=GetCallerIdentity&Version=2011-06-15"}},
		{name: "host on port 80", spec: signSpec{method: http.MethodGet, url: "http://sts.example.test:80/?Action=GetCallerIdentity&Version=2011-06-15"}},
		{name: "presigned s3 get", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/a b/ü.csv?versionId=1&x=", expires: 900}, presign: true},
		{name: "presigned s3 with a token", spec: signSpec{service: "s3", method: http.MethodGet, url: "http://localhost:4566/bucket/k", expires: 60,
			akid: tempAKID, secret: tempSecret, token: tempToken}, presign: true},
		{name: "presigned sts", spec: signSpec{method: http.MethodGet, url: "http://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15"}, presign: true},
		{name: "presigned s3 put with a signed header", spec: signSpec{service: "s3", method: http.MethodPut, url: "http://localhost:4566/bucket/k", expires: 300,
			header: http.Header{"Content-Type": {"text/plain"}}}, presign: true},
		{name: "chunked upload", spec: signSpec{service: "s3", method: http.MethodPut, url: "http://localhost:4566/bucket/k", body: "5;chunk-signature=00\r\nhello\r\n",
			payloadHash: StreamingSignedPayload, header: http.Header{"Content-Encoding": {"aws-chunked"}, "X-Amz-Decoded-Content-Length": {"5"}}}, wantErr: true},
		{name: "chunked upload with trailer", spec: signSpec{service: "s3", method: http.MethodPut, url: "http://localhost:4566/bucket/k", body: "0\r\n",
			payloadHash: StreamingSignedPayloadTrailer, header: http.Header{"Content-Encoding": {"aws-chunked"}}}, wantErr: true},
	}
	ours, sdk := differentialVerifiers(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var req *http.Request
			if tc.presign {
				req = presignedClient(t, tc.spec)
			} else {
				req = signedClient(t, tc.spec)
			}
			raw := wireRequest(t, req)
			err, ok := verifyBoth(t, ours, sdk, raw)
			switch {
			case !ok:
				t.Fatalf("the signed request does not parse:\n%s", raw)
			case tc.wantErr && err == nil:
				t.Fatalf("accepted:\n%s", raw)
			case !tc.wantErr && err != nil:
				t.Fatalf("the SDK signed it but it does not verify: %v\n%s", err, raw)
			}
			for change, mutate := range oneByteChanges {
				bad := mutate(raw)
				if bad == nil {
					continue
				}
				err, ok := verifyBoth(t, ours, sdk, bad)
				if !ok {
					t.Logf("%s: the changed request does not parse; nothing to verify", change)
					continue
				}
				if err == nil {
					t.Errorf("%s: a one-byte change verified:\n%s", change, bad)
				}
			}
		})
	}
}

// FuzzVerifyAgainstSDK signs a fuzzer-shaped request with the SDK and
// requires the two verifiers to agree on it, to accept it whenever the
// SDK-backed one does, to refuse it with a changed signature, and to agree
// again (same result, same error) after a one-byte change of the wire
// bytes at a fuzzer-chosen place.
func FuzzVerifyAgainstSDK(f *testing.F) {
	f.Add("POST", "", "", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(0), uint16(0))
	f.Add("GET", "bucket/a b/ü", "prefix=a%2Fb&list-type=2&a=2&a=1&e=", "X-Amz-Meta-A", "  x   y ", []byte{}, uint8(1), uint16(5))
	f.Add("PUT", "bucket//key", "", "X-Amz-Meta-B", "1", []byte("data"), uint8(1|4), uint16(40))
	f.Add("GET", "a//b c", "Action=GetCallerIdentity&Version=2011-06-15", "X-Custom", "v", []byte{}, uint8(4), uint16(300))
	f.Add("DELETE", "k", "versionId=1&x=%7E", "Range", "bytes=0-1", []byte{}, uint8(2), uint16(17))
	f.Fuzz(func(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8, at uint16) {
		service := fuzzServices[mode&3]
		presign := mode&4 != 0
		u := &url.URL{Scheme: "http", Host: "example.test", Path: "/" + path, RawQuery: rawQuery}
		req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if hName != "" {
			req.Header[hName] = []string{hValue}
		}
		hash := sha256Hex(string(body))
		switch {
		case service == "s3" && presign:
			hash = UnsignedPayload
		case service == "s3":
			req.Header.Set(headerContentSHA, hash)
		}
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
		creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
		if presign {
			q := req.URL.Query()
			q.Set(queryExpires, "300")
			req.URL.RawQuery = q.Encode()
			uri, hdr, err := signer.PresignHTTP(context.Background(), creds, req, hash, service, "us-east-1", t0)
			if err != nil {
				return
			}
			if req, err = http.NewRequest(method, uri, bytes.NewReader(body)); err != nil {
				return
			}
			for k, vs := range hdr {
				if k != "Host" {
					req.Header[k] = vs
				}
			}
		} else if err := signer.SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", t0); err != nil {
			return
		}
		var wire bytes.Buffer
		if req.Write(&wire) != nil {
			return
		}
		raw := wire.Bytes()
		ours, sdk := fuzzOurs, fuzzSDK
		err, ok := verifyBoth(t, ours, sdk, raw)
		if !ok {
			return
		}
		if err == nil {
			if bad := oneByteChanges["signature"](raw); bad != nil {
				if err, ok := verifyBoth(t, ours, sdk, bad); ok && err == nil {
					t.Fatalf("a changed signature verified:\n%s", bad)
				}
			}
		}
		if len(raw) > 0 {
			verifyBoth(t, ours, sdk, flipAt(raw, int(at)%len(raw)))
		}
	})
}

var (
	fuzzOurs = must(NewVerifier(testStore(), WithClock(func() time.Time { return t0 })))
	fuzzSDK  = must(NewVerifier(testStore(), WithClock(func() time.Time { return t0 }), withSDKSigner()))
)
