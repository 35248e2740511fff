package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVerifyPresignedRequests(t *testing.T) {
	s3get := signSpec{method: http.MethodGet, service: "s3", url: "http://localhost:4566/bucket/dir/a%20b.txt?versionId=3", expires: 3600}
	cases := []struct {
		name        string
		spec        signSpec
		edit        func(*http.Request)
		wantExpires time.Time
	}{
		{name: "an S3 presigned GET verifies until X-Amz-Expires", spec: s3get, wantExpires: t0.Add(time.Hour)},
		{name: "an S3 presigned GET signed 59 minutes ago still verifies", spec: with(s3get, func(s *signSpec) { s.at = t0.Add(-59 * time.Minute) }),
			wantExpires: t0.Add(time.Minute)},
		{name: "an S3 presigned URL may live a whole week", spec: with(s3get, func(s *signSpec) { s.expires = 604800; s.at = t0.Add(-6 * 24 * time.Hour) }),
			wantExpires: t0.Add(24 * time.Hour)},
		{name: "an S3 presigned PUT with a signed Content-Type verifies when the header goes along", spec: signSpec{
			method: http.MethodPut, service: "s3", url: "http://localhost/bucket/k", body: "data", expires: 60,
			header: http.Header{"Content-Type": {"image/png"}}}, wantExpires: t0.Add(time.Minute)},
		{name: "an S3 presigned GET with temporary credentials verifies (token in the query)", spec: with(s3get, func(s *signSpec) {
			s.akid, s.secret, s.token = tempAKID, tempSecret, tempToken
		}), wantExpires: t0.Add(time.Hour)},
		{name: "an STS presigned GetCallerIdentity verifies for 15 minutes whatever X-Amz-Expires says", spec: signSpec{
			method: http.MethodGet, url: "http://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15", expires: 60,
			at: t0.Add(-10 * time.Minute)}, wantExpires: t0.Add(5 * time.Minute)},
		{name: "an STS presigned request without X-Amz-Expires verifies", spec: signSpec{
			method: http.MethodGet, url: "http://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15"},
			wantExpires: t0.Add(15 * time.Minute)},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := presigned(t, tc.spec)
			if tc.edit != nil {
				tc.edit(r)
			}
			res, err := v.Verify(r)
			if err != nil {
				if e, ok := err.(*Error); ok {
					t.Fatalf("Verify: %v\n%s", err, e.CanonicalRequest)
				}
				t.Fatal(err)
			}
			if !res.Presigned || !res.Expires.Equal(tc.wantExpires) {
				t.Errorf("presigned=%v expires=%v, want %v", res.Presigned, res.Expires, tc.wantExpires)
			}
		})
	}
}

func TestVerifyRefusesBadPresignedRequests(t *testing.T) {
	s3get := signSpec{method: http.MethodGet, service: "s3", url: "http://localhost/bucket/k", expires: 3600}
	stsGet := signSpec{method: http.MethodGet, url: "http://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15", expires: 3600}
	cases := []struct {
		name string
		spec signSpec
		edit func(*http.Request)
		kind Kind
		want shape // worded for the scope's service
	}{
		{name: "an S3 presigned URL one second past X-Amz-Expires has expired",
			spec: with(s3get, func(s *signSpec) { s.at = t0.Add(-time.Hour - time.Second) }), kind: KindRequestExpired,
			want: shape{"AccessDenied", 403, "Request has expired"}},
		{name: "an S3 presigned URL dated 16 minutes ahead is not yet valid",
			spec: with(s3get, func(s *signSpec) { s.at = t0.Add(16 * time.Minute) }), kind: KindRequestNotYetValid,
			want: shape{"AccessDenied", 403, "Request is not yet valid"}},
		{name: "an STS presigned URL older than 15 minutes has an expired signature even with X-Amz-Expires=3600",
			spec: with(stsGet, func(s *signSpec) { s.at = t0.Add(-16 * time.Minute) }), kind: KindRequestTimeTooSkewed,
			want: shape{"SignatureDoesNotMatch", 403, "Signature expired"}},
		{name: "an S3 presigned URL without X-Amz-Expires lacks a parameter",
			spec: with(s3get, func(s *signSpec) { s.expires = 0; s.payloadHash = UnsignedPayload }), kind: KindIncompleteSignature,
			want: shape{"AuthorizationQueryParametersError", 400, "requires the X-Amz-Algorithm, X-Amz-Credential"}},
		{name: "X-Amz-Expires over a week is refused", spec: with(s3get, func(s *signSpec) { s.expires = 604801 }),
			kind: KindIncompleteSignature, want: shape{"AuthorizationQueryParametersError", 400, "must be less than a week"}},
		{name: "a negative X-Amz-Expires is refused", spec: with(s3get, func(s *signSpec) { s.expires = -1 }),
			kind: KindIncompleteSignature, want: shape{"AuthorizationQueryParametersError", 400, "non-negative"}},
		{name: "a non-numeric X-Amz-Expires is refused", spec: s3get, edit: func(r *http.Request) { setQuery(r, queryExpires, "soon") },
			kind: KindIncompleteSignature, want: shape{"AuthorizationQueryParametersError", 400, "should be a number"}},
		{name: "a lengthened X-Amz-Expires does not match", spec: s3get, edit: func(r *http.Request) { setQuery(r, queryExpires, "7200") },
			kind: KindSignatureMismatch, want: shape{"SignatureDoesNotMatch", 403, ""}},
		{name: "a changed query parameter does not match", spec: with(s3get, func(s *signSpec) { s.url += "?versionId=1" }),
			edit: func(r *http.Request) { setQuery(r, "versionId", "2") }, kind: KindSignatureMismatch, want: shape{"SignatureDoesNotMatch", 403, ""}},
		{name: "a presigned PUT sent without its signed Content-Type does not match", spec: signSpec{
			method: http.MethodPut, service: "s3", url: "http://localhost/bucket/k", body: "data", expires: 60,
			header: http.Header{"Content-Type": {"image/png"}}}, edit: func(r *http.Request) { r.Header.Del("Content-Type") },
			kind: KindSignatureMismatch, want: shape{"SignatureDoesNotMatch", 403, ""}},
		{name: "a presigned URL used with another method does not match", spec: s3get,
			edit: func(r *http.Request) { r.Method = http.MethodDelete }, kind: KindSignatureMismatch, want: shape{"SignatureDoesNotMatch", 403, ""}},
		{name: "a presigned URL with a swapped session token is an invalid token",
			spec: with(s3get, func(s *signSpec) { s.akid, s.secret, s.token = tempAKID, tempSecret, tempToken }),
			edit: func(r *http.Request) { setQuery(r, queryToken, "forged") }, kind: KindInvalidToken, want: shape{"InvalidToken", 400, ""}},
		{name: "a presigned URL whose algorithm is not AWS4-HMAC-SHA256 is refused", spec: s3get,
			edit: func(r *http.Request) { setQuery(r, queryAlgorithm, "AWS4-HMAC-SHA1") }, kind: KindUnsupportedAuthentication,
			want: shape{"AuthorizationQueryParametersError", 400, `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`}},
		{name: "a presigned URL whose credential date differs from X-Amz-Date is refused", spec: s3get,
			edit: func(r *http.Request) { setQuery(r, queryDate, "20261125T120000Z") }, kind: KindCredentialDateMismatch,
			want: shape{"AuthorizationQueryParametersError", 400, "Invalid credential date"}},
		{name: "a presigned URL with a malformed credential is refused", spec: s3get,
			edit: func(r *http.Request) { setQuery(r, queryCredential, "AKIDEXAMPLE/20261126/us-east-1/s3") }, kind: KindIncompleteSignature,
			want: shape{"IncompleteSignature", 400, "exactly 5 slash-delimited"}},
		{name: "an STS presigned URL missing X-Amz-Signature names the missing parameter", spec: stsGet,
			edit: func(r *http.Request) { delQuery(r, querySignature) }, kind: KindIncompleteSignature,
			want: shape{"IncompleteSignature", 400, "must include 'X-Amz-Signature'"}},
		{name: "a presigned URL with X-Amz-Date twice is refused", spec: s3get,
			edit: func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Date=20261126T120000Z" }, kind: KindIncompleteSignature,
			want: shape{"AuthorizationQueryParametersError", 400, "must appear once"}},
		{name: "a presigned S3 request with an unsigned x-amz-* header is refused", spec: s3get,
			edit: func(r *http.Request) { r.Header.Set("X-Amz-Server-Side-Encryption", "AES256") }, kind: KindUnsignedHeaders,
			want: shape{"AccessDenied", 403, "not signed"}},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := presigned(t, tc.spec)
			if tc.edit != nil {
				tc.edit(r)
			}
			_, err := v.Verify(r)
			e := wantKind(t, err, tc.kind)
			if e.Code != tc.want.code || e.StatusCode != tc.want.status || !strings.Contains(e.Message, tc.want.msg) {
				t.Errorf("got %s %d %q, want %s %d containing %q", e.Code, e.StatusCode, e.Message, tc.want.code, tc.want.status, tc.want.msg)
			}
		})
	}
}

func TestPresignExpiredCarriesS3Fields(t *testing.T) {
	v := newTestVerifier(t)
	_, err := v.Verify(presigned(t, signSpec{method: http.MethodGet, service: "s3", url: "http://localhost/b/k", expires: 60, at: t0.Add(-time.Hour)}))
	e := wantKind(t, err, KindRequestExpired)
	want := []Field{{"X-Amz-Expires", "60"}, {"Expires", "2026-11-26T11:01:00Z"}, {"ServerTime", "2026-11-26T12:00:00Z"}}
	if len(e.Fields) != 3 || e.Fields[0] != want[0] || e.Fields[1] != want[1] || e.Fields[2] != want[2] {
		t.Errorf("fields = %+v", e.Fields)
	}
}

func TestParseScopeReadsTheScopeWithoutVerifying(t *testing.T) {
	cases := []struct {
		name string
		req  func(*testing.T) *http.Request
		want Scope
		kind Kind // 0: no error
	}{
		{name: "the header form yields its scope", req: func(t *testing.T) *http.Request {
			return signed(t, signSpec{service: "iam", region: "us-east-1", secret: "anything"})
		}, want: Scope{AccessKeyID: testAKID, Date: "20261126", Region: "us-east-1", Service: "iam"}},
		{name: "the presigned form yields its scope", req: func(t *testing.T) *http.Request {
			return presigned(t, signSpec{method: http.MethodGet, service: "s3", region: "eu-west-1", url: "http://localhost/b/k", expires: 1})
		}, want: Scope{AccessKeyID: testAKID, Date: "20261126", Region: "eu-west-1", Service: "s3", Presigned: true}},
		{name: "a header with a scope but no signature still yields the scope", req: func(t *testing.T) *http.Request {
			r := must(http.NewRequest("POST", "http://x/", nil))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/cloudtrail/aws4_request, SignedHeaders=x-amz-date, Signature=0")
			return r
		}, want: Scope{AccessKeyID: "AKID", Date: "20261126", Region: "us-east-1", Service: "cloudtrail"}},
		{name: "no authentication is anonymous", req: func(t *testing.T) *http.Request {
			return must(http.NewRequest("GET", "http://x/b?prefix=a%2F", nil))
		}, kind: KindMissingAuthentication},
		{name: "a malformed credential is an incomplete signature", req: func(t *testing.T) *http.Request {
			r := must(http.NewRequest("GET", "http://x/", nil))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/sts, SignedHeaders=host, Signature=0")
			return r
		}, kind: KindIncompleteSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScope(tc.req(t))
			if tc.kind != 0 {
				wantKind(t, err, tc.kind)
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseScope = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func with(s signSpec, edit func(*signSpec)) signSpec {
	edit(&s)
	return s
}

func delQuery(r *http.Request, k string) {
	q := r.URL.Query()
	q.Del(k)
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.EscapedPath() + "?" + r.URL.RawQuery
}
