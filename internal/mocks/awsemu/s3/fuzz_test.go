package s3

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

// objectActions are the IAM actions whose resource is an object ARN; every other action the
// classifier returns applies to a bucket (or to "*", for ListAllMyBuckets).
var objectActions = map[string]bool{"s3:GetObject": true, "s3:GetObjectVersion": true, "s3:PutObject": true,
	"s3:DeleteObject": true, "s3:DeleteObjectVersion": true, "s3:AbortMultipartUpload": true, "s3:ListMultipartUploadParts": true}

// FuzzClassify: whatever the method, path, query and x-amz-copy-source, the classified
// operation is coherent — an IAM action is an s3: action on the resource its bucket and key
// name (an object ARN exactly for object actions), it is read-only exactly when the method is
// GET or HEAD, an unimplemented subresource carries no action, and a parsed copy source
// re-encodes to itself.
func FuzzClassify(f *testing.F) {
	for _, s := range [][4]string{
		{"GET", "/", "", ""},
		{"GET", "/quilt-tenant-acme", "list-type=2&prefix=reports%2F&delimiter=%2F&max-keys=1000", ""},
		{"GET", "/quilt-tenant-acme/reports/q1.csv", "x-id=GetObject", ""},
		{"HEAD", "/quilt-tenant-acme/a b/ü.txt", "versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY", ""},
		{"PUT", "/quilt-tenant-acme/copy.txt", "x-id=CopyObject", "quilt-tenant-acme/reports%2Fq1.csv?versionId=1"},
		{"PUT", "/quilt-tenant-acme/part", "partNumber=2&uploadId=abc", "/src/key"},
		{"POST", "/quilt-tenant-acme/big.bin", "uploads=", ""},
		{"POST", "/quilt-tenant-acme", "delete=", ""},
		{"PUT", "/quilt-tenant-acme", "policy=", ""},
		{"GET", "/quilt-tenant-acme", "tagging=", ""},
		{"PUT", "/quilt-tenant-acme/k", "acl", ""},
		{"DELETE", "/quilt-tenant-acme/k", "uploadId=x", ""},
		{"OPTIONS", "/quilt-tenant-acme/k", "", ""},
		{"PUT", "/b/k", "", "%zz"},
		{"PUT", "/b/k", "", "/onlybucket"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, method, path, rawQuery, copySrc string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
		if copySrc != "" {
			r.Header.Set("x-amz-copy-source", copySrc)
		}
		bucket, key := pathStyle(path)
		o := classify(r, bucket, key)
		if o.name == "" {
			t.Fatalf("%s %s?%s: no operation name", method, path, rawQuery)
		}
		if o.action != "" {
			// An authorized operation acts on exactly the bucket and key the path names.
			if o.bucket != bucket || o.key != key {
				t.Fatalf("%s %s: %s on bucket %q key %q, but the path names bucket %q key %q", method, path, o.name, o.bucket, o.key, bucket, key)
			}
			if want := map[bool]string{true: "*", false: "arn:aws:s3:::" + o.bucket}[o.bucket == ""]; o.key == "" && o.resource() != want {
				t.Fatalf("%s: resource %q, want %q", o.name, o.resource(), want)
			}
			if o.key != "" && o.resource() != "arn:aws:s3:::"+o.bucket+"/"+o.key {
				t.Fatalf("%s: resource %q for object %q/%q", o.name, o.resource(), o.bucket, o.key)
			}
		}
		if o.unsupported != "" && o.action != "" {
			t.Fatalf("%s: unsupported %q yet authorized as %s", o.name, o.unsupported, o.action)
		}
		if o.action != "" {
			if !strings.HasPrefix(o.action, "s3:") {
				t.Fatalf("%s: action %q is not an s3: action", o.name, o.action)
			}
			if readMethod := method == http.MethodGet || method == http.MethodHead; o.readOnly != readMethod {
				t.Fatalf("%s %s classified as %s with readOnly=%v", method, path, o.name, o.readOnly)
			}
			if objectActions[o.action] != (o.key != "") {
				t.Fatalf("%s: action %s on resource %s", o.name, o.action, o.resource())
			}
		}

		// Classify, the exported form, agrees with the handler's own classification.
		out := Classify(r)
		if out.Name != o.name || out.Action != o.action || out.Bucket != o.bucket || out.Key != o.key || out.Resource != o.resource() {
			t.Fatalf("Classify %+v differs from classify %+v", out, o)
		}
		if o.name == "CopyObject" || o.name == "UploadPartCopy" {
			sb, sk, ok := copySource(copySrc)
			if out.CopySourceBucket != sb || out.CopySourceKey != sk {
				t.Fatalf("copy source %q: Classify says %q/%q, copySource %q/%q", copySrc, out.CopySourceBucket, out.CopySourceKey, sb, sk)
			}
			if ok {
				if strings.Contains(sb, "/") {
					t.Fatalf("copy source %q: bucket %q contains a slash", copySrc, sb)
				}
				// What the SDK sends: bucket/key, URL-encoded, with a version.
				again := url.PathEscape(sb) + "/" + strings.ReplaceAll(url.PathEscape(sk), "%2F", "/") + "?versionId=v1"
				if b2, k2, ok2 := copySource(again); !ok2 || b2 != sb || k2 != sk {
					t.Fatalf("copy source %q → %q/%q re-encoded as %q parses to %q/%q (%v)", copySrc, sb, sk, again, b2, k2, ok2)
				}
			}
		}
	})
}

// fuzzAccount owns the bucket the fuzzed requests are made in; otherAccount owns one they must
// never reach (no bucket policy grants the first account anything in it).
const (
	fuzzAccount  = "111122223333"
	otherAccount = "444455556666"
)

var fuzzT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fuzzStore holds both accounts; S3 never changes it, so the targets share it.
var fuzzStore, fuzzAdmin, fuzzOther = func() (*iam.Store, *iam.Caller, *iam.Caller) {
	s := iam.NewStore(iam.WithClock(func() time.Time { return fuzzT0 }))
	callers := make([]*iam.Caller, 2)
	for i, acct := range []string{fuzzAccount, otherAccount} {
		k, err := s.AddAccount(acct)
		if err != nil {
			panic(err)
		}
		if callers[i], err = s.Caller(k.ID); err != nil {
			panic(err)
		}
	}
	return s, callers[0], callers[1]
}()

// fuzzHandler is a fresh S3 with bucket "acme" (two objects and a bucket policy) owned by
// fuzzAccount and bucket "other" (one object) owned by otherAccount.
func fuzzHandler(t *testing.T) *Handler {
	h, err := New(fuzzStore, WithClock(func() time.Time { return fuzzT0 }))
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::acme"}]}`
	for _, s := range []struct {
		caller       *iam.Caller
		method, path string
		body         string
	}{
		{fuzzAdmin, "PUT", "/acme", ""},
		{fuzzAdmin, "PUT", "/acme/a.txt", "alpha"},
		{fuzzAdmin, "PUT", "/acme/dir/b.txt", "beta"},
		{fuzzAdmin, "PUT", "/acme?policy", policy},
		{fuzzOther, "PUT", "/other", ""},
		{fuzzOther, "PUT", "/other/secret.txt", "secret"},
	} {
		req := httptest.NewRequest(s.method, s.path, strings.NewReader(s.body))
		req.Header.Set("Content-Length", fmt.Sprint(len(s.body)))
		rec := httptest.NewRecorder()
		if out := h.Serve(rec, req, &iam.Call{Caller: s.caller, RequestID: "seed", Time: fuzzT0}, nil); out.Status >= 300 {
			t.Fatalf("seeding %s %s: %d %s %s", s.method, s.path, out.Status, out.ErrorCode, out.ErrorMessage)
		}
	}
	return h
}

// state is everything a request can change: each bucket's owner and policy, and its objects.
func (h *Handler) state(t *testing.T) string {
	var b strings.Builder
	buckets, err := h.backend.ListBuckets()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	for _, bi := range buckets {
		meta, _ := h.reg.get(bi.Name)
		fmt.Fprintf(&b, "bucket %s owner=%s policy=%q\n", bi.Name, meta.Owner, meta.Policy)
		list, err := h.backend.ListBucket(bi.Name, nil, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list.Contents {
			fmt.Fprintf(&b, "  %s %s %d\n", c.Key, c.ETag, c.Size)
		}
	}
	h.reg.mu.RLock()
	fmt.Fprintf(&b, "registry: %d buckets\n", len(h.reg.buckets))
	h.reg.mu.RUnlock()
	return b.String()
}

// FuzzServe sends fuzzer-shaped requests, as the account that owns "acme", through the S3
// handler and checks what a client relies on: no 5xx other than 501 for a subresource the
// emulator declines; an error is an S3 <Error> document whose Code is the one recorded for
// CloudTrail, with the status the client saw; a refused request changes nothing; and nothing
// in the other account's bucket is ever read or written.
func FuzzServe(f *testing.F) {
	f.Add("GET", "acme", "list-type=2&prefix=dir%2F&delimiter=%2F", "", "", []byte{})
	f.Add("GET", "acme/a.txt", "x-id=GetObject", "Range", "bytes=0-2", []byte{})
	f.Add("HEAD", "acme/missing", "", "", "", []byte{})
	f.Add("PUT", "acme/new.txt", "x-id=PutObject", "Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg==", []byte("data"))
	f.Add("PUT", "acme/copy.txt", "x-id=CopyObject", "X-Amz-Copy-Source", "acme/dir%2Fb.txt", []byte{})
	f.Add("PUT", "acme/stolen.txt", "x-id=CopyObject", "X-Amz-Copy-Source", "other/secret.txt", []byte{})
	f.Add("GET", "other/secret.txt", "", "", "", []byte{})
	f.Add("DELETE", "other", "", "", "", []byte{})
	f.Add("POST", "acme", "delete=", "Content-Type", "application/xml",
		[]byte(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a.txt</Key></Object><Quiet>true</Quiet></Delete>`))
	f.Add("POST", "acme", "delete=", "", "", []byte(`<Delete><Object><Key>a.txt</Key><VersionId>1</VersionId></Object>`))
	f.Add("POST", "acme/big.bin", "uploads=", "", "", []byte{})
	f.Add("POST", "acme/big.bin", "uploadId=nope", "", "", []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`))
	f.Add("PUT", "acme", "policy=", "", "", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`))
	f.Add("GET", "acme", "policy=", "", "", []byte{})
	f.Add("PUT", "fresh-bucket", "", "", "", []byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`))
	f.Add("PUT", "acme", "tagging=", "", "", []byte(`<Tagging><TagSet><Tag><Key>tenant</Key><Value>acme</Value></Tag></TagSet></Tagging>`))
	f.Add("GET", "", "", "", "", []byte{})
	f.Add("DELETE", "acme", "", "", "", []byte{})
	f.Add("GET", "acme", "versioning=", "X-Amz-Expected-Bucket-Owner", otherAccount, []byte{})

	f.Fuzz(func(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte) {
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:4566", Path: "/" + path, RawQuery: rawQuery}
		built, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if hName != "" {
			built.Header[hName] = []string{hValue}
		}
		// Through the wire and back, so the handler sees what a server would give it.
		var wire bytes.Buffer
		if built.Write(&wire) != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			return
		}
		h := fuzzHandler(t)
		before := h.state(t)
		bucket, key := pathStyle(req.URL.Path)
		op := classify(req, bucket, key)
		srcBucket, _, _ := copySource(req.Header.Get("x-amz-copy-source"))

		rec := httptest.NewRecorder()
		out := h.Serve(rec, req, &iam.Call{Caller: fuzzAdmin, RequestID: "fuzz", Time: fuzzT0}, nil)
		status := rec.Code
		desc := fmt.Sprintf("%s %s → %d %s %s", req.Method, req.URL.RequestURI(), status, out.ErrorCode, out.ErrorMessage)

		if status >= 500 && !(status == http.StatusNotImplemented && out.ErrorCode == "NotImplemented") {
			t.Fatalf("%s: server error", desc)
		}
		if out.Status != status {
			t.Fatalf("%s: outcome records status %d", desc, out.Status)
		}
		if out.Operation == "" {
			t.Fatalf("%s: no operation recorded", desc)
		}
		if status >= 300 && status != http.StatusNotModified {
			if out.ErrorCode == "" {
				t.Fatalf("%s: no error code recorded", desc)
			}
			if req.Method != http.MethodHead {
				var doc struct {
					XMLName xml.Name `xml:"Error"`
					Code    string
				}
				if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Code != out.ErrorCode {
					t.Fatalf("%s: body is not an S3 error with code %s (%v):\n%s", desc, out.ErrorCode, err, rec.Body)
				}
			}
			if after := h.state(t); after != before {
				t.Fatalf("%s: a refused request changed the state\nbefore:\n%s\nafter:\n%s", desc, before, after)
			}
		}
		if status < 300 && (op.bucket == "other" || srcBucket == "other" && (op.name == "CopyObject" || op.name == "UploadPartCopy")) {
			t.Fatalf("%s: reached the other account's bucket", desc)
		}
	})
}
