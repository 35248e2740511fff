package gosdkserver

import (
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri, bucket, key string
		ok               bool
	}{
		{"s3://quilt-tenant-acme/README.md", "quilt-tenant-acme", "README.md", true},
		{"s3://b.example/a/b/c.txt", "b.example", "a/b/c.txt", true},
		{"s3://quilt-tenant-acme/dir/", "quilt-tenant-acme", "dir/", true},
		{"s3://quilt-tenant-acme", "", "", false},
		{"s3://quilt-tenant-acme/", "", "", false},
		{"s3:///key", "", "", false},
		{"S3://quilt-tenant-acme/key", "", "", false},
		{"https://quilt-tenant-acme.s3.amazonaws.com/key", "", "", false},
		{"s3://Quilt/key", "", "", false},
		{"s3://a:b@host/key", "", "", false},
		{"s3://{tenant}/key", "", "", false},
	} {
		bucket, key, err := parseURI(tc.uri)
		if (err == nil) != tc.ok || bucket != tc.bucket || key != tc.key {
			t.Errorf("parseURI(%q) = %q, %q, %v", tc.uri, bucket, key, err)
		}
	}
}

func TestSessionNameKeepsToSTSRule(t *testing.T) {
	for in, want := range map[string]string{
		"usr-alice@acme.example": "usr-alice@acme.example",
		"usr-a|b":                "usr-a_b",
		"x":                      "x_",
		"usr-ü":                  "usr-_",
	} {
		if got := sessionName(in); got != want {
			t.Errorf("sessionName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sessionName("usr-" + strings.Repeat("a", 80)); len(got) != 64 {
		t.Errorf("a long source identity gives a session name of %d characters, want 64", len(got))
	}
}
