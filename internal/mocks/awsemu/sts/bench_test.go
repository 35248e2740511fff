package sts

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// replayBody is a request body a benchmark can rewind without allocating.
type replayBody struct{ strings.Reader }

func (*replayBody) Close() error { return nil }

// BenchmarkParseAssumeRoleRequest is an STS request's parsing: the Query form decoded and
// AssumeRole's parameters read and validated, as aws-sdk-go-v2 sends them with a source
// identity and a session tag.
func BenchmarkParseAssumeRoleRequest(b *testing.B) {
	const form = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fquilt-mcp-target-acme" +
		"&RoleSessionName=usr-alice&SourceIdentity=usr-alice&Tags.member.1.Key=tenant&Tags.member.1.Value=acme&Version=2011-06-15"
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	body := &replayBody{}
	r.Body = body
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(form)
		p, err := query.Parse(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parseAssumeRole(p); err != nil {
			b.Fatal(err)
		}
	}
}
