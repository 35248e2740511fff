package query

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// assumeRoleForm is an AssumeRole body as aws-sdk-go-v2 sends it (a source identity and a
// session tag).
const assumeRoleForm = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fquilt-mcp-target-acme" +
	"&RoleSessionName=usr-alice&SourceIdentity=usr-alice&Tags.member.1.Key=tenant&Tags.member.1.Value=acme&Version=2011-06-15"

// replayBody is a request body a benchmark can rewind without allocating.
type replayBody struct{ strings.Reader }

// Close does nothing: the body is read from memory.
func (*replayBody) Close() error { return nil }

// BenchmarkParse is the Query decoding of one STS request: the form body read and parsed.
func BenchmarkParse(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	body := &replayBody{}
	r.Body = body
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(assumeRoleForm)
		if _, err := Parse(r); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a ResponseWriter that keeps nothing: the benchmark measures the encoding.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) WriteHeader(int)             {}
func (discard) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkWriteResult is the XML encoding of an AssumeRole answer.
func BenchmarkWriteResult(b *testing.B) {
	type result struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string
			SessionToken    string
			Expiration      string
		}
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string
		}
		PackedPolicySize *int   `xml:",omitempty"`
		SourceIdentity   string `xml:",omitempty"`
	}
	var res result
	res.Credentials.AccessKeyID = "ASIAEXAMPLEEXAMPLE12"
	res.Credentials.SecretAccessKey = strings.Repeat("s", 40)
	res.Credentials.SessionToken = strings.Repeat("t", 400)
	res.Credentials.Expiration = "2026-12-07T06:00:00Z"
	res.AssumedRoleUser.AssumedRoleID = "AROAEXAMPLEEXAMPLE12:usr-alice"
	res.AssumedRoleUser.Arn = "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/usr-alice"
	n := 3
	res.PackedPolicySize = &n
	res.SourceIdentity = "usr-alice"
	w := discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		WriteResult(w, "AssumeRole", "https://sts.amazonaws.com/doc/2011-06-15/", "0c9a4b8e-6f7d-4a51-9d3c-2b1e5f6a7c8d", res)
	}
}
