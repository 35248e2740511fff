package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// signers are the two signature checks the benchmarks compare: ours and
// the SDK signer the verifier used before (benchstat -col /signer).
var signers = []struct {
	name string
	opts []Option
}{{"ours", nil}, {"sdk", []Option{withSDKSigner()}}}

// BenchmarkVerify measures a typical STS call: a form-encoded POST signed
// with a long-term key, body hashed by the verifier.
func BenchmarkVerify(b *testing.B) {
	body := "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ftenant-acme&RoleSessionName=alice"
	r := signed(b, signSpec{body: body, header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}})
	raw := []byte(body)
	for _, s := range signers {
		b.Run("signer="+s.name, func(b *testing.B) {
			v := newTestVerifier(b, s.opts...)
			b.ReportAllocs()
			for b.Loop() {
				r.Body = io.NopCloser(bytes.NewReader(raw))
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyPresignedS3 measures an S3 presigned GET.
func BenchmarkVerifyPresignedS3(b *testing.B) {
	r := presigned(b, signSpec{method: http.MethodGet, service: "s3", url: "http://localhost:4566/bucket/tenant-acme/report.csv", expires: 900})
	for _, s := range signers {
		b.Run("signer="+s.name, func(b *testing.B) {
			v := newTestVerifier(b, s.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyS3Get measures an S3 GetObject in the header form.
func BenchmarkVerifyS3Get(b *testing.B) {
	r := signed(b, signSpec{method: http.MethodGet, service: "s3", url: "http://localhost:4566/bucket/tenant-acme/report.csv?x-id=GetObject"})
	for _, s := range signers {
		b.Run("signer="+s.name, func(b *testing.B) {
			v := newTestVerifier(b, s.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeriveSigningKey is the first request of every STS session: its secret is new, so
// its signing key is derived (four HMACs) rather than found in the cache.
func BenchmarkDeriveSigningKey(b *testing.B) {
	sc := Scope{Date: "20261207", Region: "us-east-1", Service: "sts"}
	b.ReportAllocs()
	for b.Loop() {
		_ = deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sc)
	}
}
