package sigv4

import (
	"net/http/httptest"
	"testing"
)

// The string to sign follows S3's SigV2 rules: Content-MD5 and Content-Type lines, Expires,
// x-amz-* headers and query parameters lower-cased, sorted and comma-joined, then the resource
// with only the subresources S3 lists, in their order.
func TestSigV2StringToSign(t *testing.T) {
	r := httptest.NewRequest("GET", "http://127.0.0.1:4566/b/some%20key.txt?versionId=v1&response-content-type=text%2Fplain&foo=bar&x-amz-security-token=tok&Expires=1700000000&AWSAccessKeyId=AKIA&Signature=x", nil)
	r.Header.Set("Content-Type", "text/csv")
	r.Header.Set("X-Amz-Meta-B", " two ")
	r.Header.Add("X-Amz-Meta-A", "1")
	r.Header.Add("X-Amz-Meta-A", "2")
	got := SigV2StringToSign(r, "/b/some%20key.txt")
	want := "GET\n\ntext/csv\n1700000000\n" +
		"x-amz-meta-a:1,2\nx-amz-meta-b:two\nx-amz-security-token:tok\n" +
		"/b/some%20key.txt?response-content-type=text/plain&versionId=v1"
	if got != want {
		t.Errorf("string to sign\n got %q\nwant %q", got, want)
	}
	if spacedHex("AW") != "41 57" || spacedHex("") != "" {
		t.Errorf("spacedHex: %q %q", spacedHex("AW"), spacedHex(""))
	}
}
