package sigv4

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// shape is one service's expected wording of a failure.
type shape struct {
	code   string
	status int
	msg    string // substring of the message; "" skips the check
}

func TestVerifyFailuresAreWordedAsEachServiceWordsThem(t *testing.T) {
	stsBody := "Action=GetCallerIdentity&Version=2011-06-15"
	sts := func(s signSpec) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			if s.body == "" {
				s.body = stsBody
			}
			return signed(t, s)
		}
	}
	withAuth := func(auth string) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := signed(t, signSpec{body: stsBody})
			r.Header.Set("Authorization", auth)
			return r
		}
	}
	editAuth := func(old, new string) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := signed(t, signSpec{body: stsBody})
			a := r.Header.Get("Authorization")
			if !strings.Contains(a, old) {
				t.Fatalf("%q not in %q", old, a)
			}
			r.Header.Set("Authorization", strings.Replace(a, old, new, 1))
			return r
		}
	}
	s3put := func(edit func(*signSpec), after func(*http.Request)) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			s := signSpec{method: http.MethodPut, service: "s3", url: "http://localhost/b/k", body: "data"}
			if edit != nil {
				edit(&s)
			}
			r := signed(t, s)
			if after != nil {
				after(r)
			}
			return r
		}
	}
	cases := []struct {
		name               string
		req                func(*testing.T) *http.Request
		kind               Kind
		sts, s3, cloudtail shape
	}{
		{
			name: "a request without any authentication is anonymous",
			req: func(t *testing.T) *http.Request {
				return toServer(t, must(http.NewRequest("GET", "http://localhost/b/k", nil)))
			},
			kind: KindMissingAuthentication,
			sts:  shape{"MissingAuthenticationToken", 403, "Request is missing Authentication Token"},
			s3:   shape{"AccessDenied", 403, ""}, cloudtail: shape{"MissingAuthenticationTokenException", 400, ""},
		},
		{
			name: "a bearer token instead of SigV4 is an incomplete signature",
			req:  withAuth("Bearer eyJhbGciOi"), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter."},
			s3:  shape{"AuthorizationHeaderMalformed", 400, "requires three components"}, cloudtail: shape{"IncompleteSignatureException", 400, ""},
		},
		{
			name: "a header without Credential is an incomplete signature",
			req:  withAuth("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc"), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "requires 'Credential' parameter"}, s3: shape{"AuthorizationHeaderMalformed", 400, ""},
		},
		{
			name: "a header without SignedHeaders is an incomplete signature",
			req:  withAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sts/aws4_request, Signature=abc"),
			kind: KindIncompleteSignature, sts: shape{"IncompleteSignature", 400, "requires 'SignedHeaders' parameter"},
		},
		{
			name: "a header without Signature is an incomplete signature",
			req:  withAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date"),
			kind: KindIncompleteSignature, sts: shape{"IncompleteSignature", 400, "requires 'Signature' parameter"},
		},
		{
			name: "a parameter without an equal sign is an incomplete signature",
			req:  editAuth("SignedHeaders=", "SignedHeaders "), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "not a valid key=value pair (missing equal-sign)"},
		},
		{
			name: "a credential with four elements is an incomplete signature",
			req:  editAuth("/aws4_request", ""), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "Credential must have exactly 5 slash-delimited elements"},
			s3:  shape{"AuthorizationHeaderMalformed", 400, "the Credential is mal-formed"},
		},
		{
			name: "a credential with a wrong terminator is an incomplete signature",
			req:  editAuth("/aws4_request", "/aws5_request"), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "valid terminator"},
		},
		{
			name: "a credential date that is not a date is an incomplete signature",
			req:  editAuth("/20261126/", "/20261399/"), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "yyyyMMdd"},
		},
		{
			name: "a signature that does not sign host is an incomplete signature",
			req:  editAuth(";host;", ";"),
			kind: KindIncompleteSignature, sts: shape{"IncompleteSignature", 400, "'Host' or ':authority' must be a 'SignedHeader'"},
		},
		{
			name: "a request without X-Amz-Date is an incomplete signature (S3: AccessDenied)",
			req: func(t *testing.T) *http.Request {
				r := signed(t, signSpec{body: stsBody})
				r.Header.Del("X-Amz-Date")
				return r
			},
			kind: KindIncompleteSignature,
			sts:  shape{"IncompleteSignature", 400, "requires existence of either a 'X-Amz-Date' or a 'Date' header"},
			s3:   shape{"AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header"},
		},
		{
			name: "an X-Amz-Date that is not signed is an incomplete signature",
			req:  editAuth(";x-amz-date", ""), kind: KindIncompleteSignature,
			sts: shape{"IncompleteSignature", 400, "'X-Amz-Date' must be a 'SignedHeader'"},
		},
		{
			name: "an X-Amz-Date in the wrong format is an incomplete signature",
			req: func(t *testing.T) *http.Request {
				r := signed(t, signSpec{body: stsBody})
				r.Header.Set("X-Amz-Date", "2026-11-26T12:00:00Z")
				return r
			},
			kind: KindIncompleteSignature, sts: shape{"IncompleteSignature", 400, "ISO-8601 'basic format'"},
		},
		{
			name: "a credential scope dated another day than X-Amz-Date is refused",
			req:  editAuth("/20261126/", "/20261125/"), kind: KindCredentialDateMismatch,
			sts: shape{"SignatureDoesNotMatch", 403, "Date in Credential scope does not match YYYYMMDD"},
			s3:  shape{"AuthorizationHeaderMalformed", 400, "Invalid credential date. Date is not the same as X-Amz-Date."},
		},
		{
			name: "SigV4a is not supported",
			req:  editAuth("AWS4-HMAC-SHA256 ", "AWS4-ECDSA-P256-SHA256 "), kind: KindUnsupportedAuthentication,
			sts: shape{"IncompleteSignature", 400, "AWS4-ECDSA-P256-SHA256"}, s3: shape{"InvalidRequest", 400, "Please use AWS4-HMAC-SHA256"},
		},
		{
			name: "SigV2 is not supported",
			req:  withAuth("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), kind: KindUnsupportedAuthentication,
			s3: shape{"InvalidRequest", 400, "not supported"},
		},
		{
			name: "an Authorization header and presigning parameters together are refused",
			req: func(t *testing.T) *http.Request {
				r := signed(t, signSpec{body: stsBody})
				setQuery(r, "X-Amz-Signature", "abc")
				return r
			},
			kind: KindUnsupportedAuthentication, s3: shape{"InvalidArgument", 400, "Only one auth mechanism allowed"},
		},
		{
			name: "an unknown access key is an invalid client token",
			req:  sts(signSpec{akid: "AKIDUNKNOWN", secret: "x"}), kind: KindInvalidAccessKeyID,
			sts: shape{"InvalidClientTokenId", 403, "The security token included in the request is invalid."},
			s3:  shape{"InvalidAccessKeyId", 403, "does not exist in our records"}, cloudtail: shape{"UnrecognizedClientException", 400, ""},
		},
		{
			name: "a temporary key without its session token is an unknown key",
			req:  sts(signSpec{akid: tempAKID, secret: tempSecret}), kind: KindInvalidAccessKeyID,
			sts: shape{"InvalidClientTokenId", 403, ""}, s3: shape{"InvalidAccessKeyId", 403, ""},
		},
		{
			name: "a temporary key with another session's token is an invalid token",
			req:  sts(signSpec{akid: tempAKID, secret: tempSecret, token: tempToken + "x"}), kind: KindInvalidToken,
			sts: shape{"InvalidClientTokenId", 403, "is invalid"}, s3: shape{"InvalidToken", 400, "malformed or otherwise invalid"},
		},
		{
			name: "a long-term key carrying a session token is an invalid token",
			req:  sts(signSpec{token: tempToken}), kind: KindInvalidToken,
			sts: shape{"InvalidClientTokenId", 403, ""}, s3: shape{"InvalidToken", 400, ""},
		},
		{
			name: "an expired session is an expired token",
			req:  sts(signSpec{akid: oldAKID, secret: tempSecret, token: tempToken}), kind: KindExpiredToken,
			sts: shape{"ExpiredToken", 403, "The security token included in the request is expired"},
			s3:  shape{"ExpiredToken", 400, "The provided token has expired."}, cloudtail: shape{"ExpiredTokenException", 400, ""},
		},
		{
			name: "a request signed with the wrong secret does not match",
			req:  sts(signSpec{secret: "not-the-secret"}), kind: KindSignatureMismatch,
			sts: shape{"SignatureDoesNotMatch", 403, msgQueryMismatch}, s3: shape{"SignatureDoesNotMatch", 403, msgS3Mismatch},
			cloudtail: shape{"InvalidSignatureException", 400, ""},
		},
		{
			name: "a request signed 15m01s ago has an expired signature",
			req:  sts(signSpec{at: t0.Add(-15*time.Minute - time.Second)}), kind: KindRequestTimeTooSkewed,
			sts:       shape{"SignatureDoesNotMatch", 403, "Signature expired: 20261126T114459Z is now earlier than 20261126T114500Z (20261126T120000Z - 15 min.)"},
			s3:        shape{"RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."},
			cloudtail: shape{"InvalidSignatureException", 400, "Signature expired"},
		},
		{
			name: "a request signed 15m01s ahead is not yet current",
			req:  sts(signSpec{at: t0.Add(15*time.Minute + time.Second)}), kind: KindRequestTimeTooSkewed,
			sts: shape{"SignatureDoesNotMatch", 403, "Signature not yet current: 20261126T121501Z is still later than 20261126T121500Z (20261126T120000Z + 15 min.)"},
			s3:  shape{"RequestTimeTooSkewed", 403, ""},
		},
		{
			name: "a failing credential store is an internal failure, never an unknown key",
			req:  sts(signSpec{akid: brokenAKID, secret: "x"}), kind: KindInternal,
			sts: shape{"InternalFailure", 500, ""}, s3: shape{"InternalError", 500, ""}, cloudtail: shape{"InternalFailure", 500, ""},
		},
		{
			name: "an S3 request without x-amz-content-sha256 is an invalid request",
			req:  s3put(func(s *signSpec) { s.noContentSHA = true }, nil), kind: KindMissingContentSHA256,
			s3: shape{"InvalidRequest", 400, "Missing required header for this request: x-amz-content-sha256"},
		},
		{
			name: "an S3 request with an unsigned x-amz-content-sha256 is an invalid request",
			req: s3put(nil, func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "x-amz-content-sha256;", "", 1))
			}),
			kind: KindMissingContentSHA256, s3: shape{"InvalidRequest", 400, "must be included in signature"},
		},
		{
			name: "an x-amz-content-sha256 that is no hash is an invalid argument",
			req:  s3put(func(s *signSpec) { s.payloadHash = "not-a-hash" }, nil), kind: KindInvalidContentSHA256,
			s3: shape{"InvalidArgument", 400, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD"},
		},
		{
			name: "a signed aws-chunked upload is not implemented",
			req:  s3put(func(s *signSpec) { s.payloadHash = StreamingSignedPayload }, nil), kind: KindNotImplemented,
			s3: shape{"NotImplemented", 501, ""}, sts: shape{"NotImplemented", 501, StreamingSignedPayload},
		},
		{
			name: "an S3 body that does not hash to x-amz-content-sha256 is a content mismatch",
			req:  s3put(nil, func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("dXta")) }), kind: KindContentSHA256Mismatch,
			s3: shape{"XAmzContentSHA256Mismatch", 400, "does not match what was computed"}, sts: shape{"SignatureDoesNotMatch", 403, ""},
		},
		{
			name: "an STS body that does not hash to x-amz-content-sha256 does not match",
			req:  sts(signSpec{header: http.Header{"X-Amz-Content-Sha256": {sha256Hex("other")}}, payloadHash: sha256Hex("other")}),
			kind: KindContentSHA256Mismatch, sts: shape{"SignatureDoesNotMatch", 403, ""},
		},
		{
			name: "an S3 request with an unsigned x-amz-* header is refused",
			req:  s3put(nil, func(r *http.Request) { r.Header.Set("X-Amz-Meta-Sneaky", "1") }), kind: KindUnsignedHeaders,
			s3: shape{"AccessDenied", 403, "There were headers present in the request which were not signed"},
		},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.req(t))
			e := wantKind(t, err, tc.kind)
			for svc, want := range map[string]shape{"sts": tc.sts, "s3": tc.s3, "cloudtrail": tc.cloudtail} {
				if want.code == "" {
					continue
				}
				got := e.ForService(svc)
				if got.Code != want.code || got.StatusCode != want.status || !strings.Contains(got.Message, want.msg) {
					t.Errorf("%s: got %s %d %q, want %s %d containing %q", svc, got.Code, got.StatusCode, got.Message, want.code, want.status, want.msg)
				}
				if got.Service != svc || (svc != "s3" && len(got.Fields) > 0) {
					t.Errorf("%s: service %q, fields %v", svc, got.Service, got.Fields)
				}
			}
			if IsAnonymous(err) != (tc.kind == KindMissingAuthentication) {
				t.Errorf("IsAnonymous = %v", IsAnonymous(err))
			}
		})
	}
}

func TestSkewErrorsCarryS3TimeFields(t *testing.T) {
	v := newTestVerifier(t)
	r := signed(t, signSpec{method: http.MethodGet, service: "s3", url: "http://localhost/b/k", at: t0.Add(-time.Hour)})
	_, err := v.Verify(r)
	e := wantKind(t, err, KindRequestTimeTooSkewed)
	want := []Field{{"RequestTime", "20261126T110000Z"}, {"ServerTime", "2026-11-26T12:00:00Z"}, {"MaxAllowedSkewMilliseconds", "900000"}}
	if e.Service != "s3" || len(e.Fields) != 3 || e.Fields[0] != want[0] || e.Fields[1] != want[1] || e.Fields[2] != want[2] {
		t.Errorf("fields = %+v", e.Fields)
	}
}

func TestCheckScopeWordsWrongServiceAndRegion(t *testing.T) {
	res := &Result{Service: "sts", Region: "eu-west-1"}
	if err := res.CheckScope("sts"); err != nil {
		t.Errorf("any region: %v", err)
	}
	if err := res.CheckScope("sts", "us-east-1", "eu-west-1"); err != nil {
		t.Errorf("listed region: %v", err)
	}
	e := wantKind(t, res.CheckScope("sts", "us-east-1"), KindWrongRegion)
	if e.Code != "SignatureDoesNotMatch" || e.Message != "Credential should be scoped to a valid region, not 'eu-west-1'. " {
		t.Errorf("region error = %+v", e)
	}
	e = wantKind(t, res.CheckScope("iam"), KindWrongService)
	if e.Code != "SignatureDoesNotMatch" || !strings.Contains(e.Message, "correct service: 'iam'") {
		t.Errorf("service error = %+v", e)
	}
	s3res := &Result{Service: "s3", Region: "eu-west-1", Presigned: true}
	e = wantKind(t, s3res.CheckScope("s3", "us-east-1"), KindWrongRegion)
	if e.Code != "AuthorizationQueryParametersError" || e.Fields[0] != (Field{"Region", "us-east-1"}) {
		t.Errorf("S3 region error = %+v", e)
	}
}

func TestIsAnonymousSeesThroughWrapping(t *testing.T) {
	_, err := newTestVerifier(t).Verify(toServer(t, must(http.NewRequest("GET", "http://localhost/b/k", nil))))
	if !IsAnonymous(fmt.Errorf("s3: %w", err)) || IsAnonymous(errStoreDown) || IsAnonymous(nil) {
		t.Error("IsAnonymous misjudged")
	}
}

func TestKindStringNamesEveryKind(t *testing.T) {
	for k := KindMissingAuthentication; k <= KindInternal; k++ {
		if strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if Kind(200).String() != "Kind(200)" {
		t.Error("unknown kind not numbered")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A malformed Authorization header whose Credential parsed is still routed, and its error
// worded, for the Credential's service: an S3 client must get S3's error document.
func TestParseScopeKeepsTheServiceOfAMalformedHeader(t *testing.T) {
	for _, h := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, SignedHeaders=0,;host;x-amz-date, Signature=00",
		"AWS4-HMAC-SHA256 SignedHeaders=host, junk, Credential=AKID/20261126/us-east-1/s3/aws4_request, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, Signature=00, Signature=01, SignedHeaders=host",
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:4566/b/k", nil)
		r.Header.Set("Authorization", h)
		r.Header.Set("X-Amz-Date", "20261126T120000Z")
		sc, err := ParseScope(r)
		if err != nil || sc.Service != "s3" {
			t.Errorf("%q: scope %+v, %v; want the s3 scope", h, sc, err)
		}
	}
}
