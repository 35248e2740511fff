package awsemu_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

var fuzzT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var fuzzAdmin = aws.Credentials{AccessKeyID: "test", SecretAccessKey: awsemu.AdminSecret}

// fuzzSign signs req for service as the default account's admin, at fuzzT0.
func fuzzSign(req *http.Request, service string, body []byte) error {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	return signer.SignHTTP(context.Background(), fuzzAdmin, req, hash, service, awsemu.DefaultRegion, fuzzT0)
}

// fuzzEmulator is a fresh emulator whose admin has made bucket "acme" with object "a.txt"
// (no bucket policy: anonymous requests get nothing).
func fuzzEmulator(t *testing.T) *awsemu.Emulator {
	e, err := awsemu.New(awsemu.WithClock(func() time.Time { return fuzzT0 }))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ path, body string }{{"/acme", ""}, {"/acme/a.txt", "alpha"}} {
		req := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:4566"+s.path, strings.NewReader(s.body))
		req.Header.Set("Content-Length", fmt.Sprint(len(s.body)))
		if err := fuzzSign(req, "s3", []byte(s.body)); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("seeding PUT %s: %d %s", s.path, rec.Code, rec.Body)
		}
	}
	return e
}

// errorCode reads the error code of a response in service's protocol: S3's <Error>, the Query
// protocol's <ErrorResponse> (STS, IAM, and services the emulator does not serve), or JSON 1.1
// (CloudTrail).
func errorCode(service string, body []byte) (string, error) {
	switch service {
	case "s3":
		var doc struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
		}
		err := xml.Unmarshal(body, &doc)
		return doc.Code, err
	case "cloudtrail":
		var doc struct {
			Type string `json:"__type"`
		}
		err := json.Unmarshal(body, &doc)
		return doc.Type, err
	}
	var doc struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct{ Code string }
	}
	err := xml.Unmarshal(body, &doc)
	return doc.Error.Code, err
}

var fuzzServices = []string{"sts", "iam", "s3", "cloudtrail"}

// FuzzServeHTTP sends fuzzer-shaped requests — signed by the admin for STS, IAM, S3, CloudTrail
// or a service the emulator does not serve, or unsigned — through the emulator's router and
// checks the dispatch: no 5xx but S3's 501 for a subresource it declines; an error comes in
// the protocol of the service the request was routed to (S3 XML, Query XML, JSON 1.1) with a
// code; at most one CloudTrail record, from that service, failed exactly when the client saw
// a failure and with the code it saw; and an unsigned request gets nothing but the health
// check (no bucket policy lets anyone in).
func FuzzServeHTTP(f *testing.F) {
	form := "application/x-www-form-urlencoded; charset=utf-8"
	f.Add("POST", "/", "", "Content-Type", form, []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(0))
	f.Add("POST", "/", "", "Content-Type", form, []byte("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fnone&RoleSessionName=s"), uint8(0))
	f.Add("POST", "/", "", "Content-Type", form, []byte("Action=ListRoles&Version=2010-05-08&MaxItems=1"), uint8(1))
	f.Add("POST", "/", "", "Content-Type", form, []byte("Action=ListRoles&Version=2011-06-15"), uint8(0))
	f.Add("GET", "/", "Action=GetUser&Version=2010-05-08", "", "", []byte{}, uint8(1))
	f.Add("GET", "/", "", "", "", []byte{}, uint8(2))
	f.Add("GET", "/acme", "list-type=2&prefix=a", "", "", []byte{}, uint8(2))
	f.Add("GET", "/acme/a.txt", "x-id=GetObject", "Range", "bytes=0-1", []byte{}, uint8(2))
	f.Add("PUT", "/acme/b.txt", "x-id=PutObject", "Content-Type", "text/plain", []byte("beta"), uint8(2))
	f.Add("GET", "/acme", "acl=", "", "", []byte{}, uint8(2))
	f.Add("HEAD", "/nope/x", "", "", "", []byte{}, uint8(2))
	f.Add("POST", "/", "", "X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
		[]byte(`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"PutObject"}],"MaxResults":5}`), uint8(3))
	f.Add("POST", "/", "", "X-Amz-Target", "CloudTrail_20131101.DescribeTrails", []byte(`{}`), uint8(3))
	f.Add("POST", "/", "", "X-Amz-Target", "DynamoDB_20120810.ListTables", []byte(`{}`), uint8(8))
	f.Add("GET", "/acme/a.txt", "", "", "", []byte{}, uint8(4))
	f.Add("GET", "/", "", "", "", []byte{}, uint8(4))
	f.Add("POST", "/", "", "Content-Type", form, []byte("Action=GetCallerIdentity&Version=2011-06-15"), uint8(4))
	f.Add("GET", "/acme/a.txt", "", "Authorization", "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", []byte{}, uint8(4))
	f.Add("GET", "/_localstack/health", "", "", "", []byte{}, uint8(4))

	f.Fuzz(func(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) {
		fuzzServeOnce(t, method, path, rawQuery, hName, hValue, body, mode)
	})
}

// fuzzServeOnce runs one FuzzServeHTTP input (mode: the low 2 bits choose the service, 4
// leaves the request unsigned, 8 signs for a service the emulator does not serve) and returns
// the status (0: not a request the fuzzer can send).
func fuzzServeOnce(t *testing.T, method, path, rawQuery, hName, hValue string, body []byte, mode uint8) int {
	service := fuzzServices[mode&3]
	if mode&8 != 0 {
		service = "dynamodb"
	}
	unsigned := mode&4 != 0
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:4566", Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: rawQuery}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0
	}
	if hName != "" {
		req.Header[hName] = []string{hValue}
	}
	// What the SDK always sends besides.
	switch {
	case service == "s3" && req.Header.Get("Content-Length") == "":
		req.Header.Set("Content-Length", fmt.Sprint(len(body)))
	case service == "cloudtrail" && req.Header.Get("Content-Type") == "":
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	if !unsigned && fuzzSign(req, service, body) != nil {
		return 0
	}
	var wire bytes.Buffer
	if req.Write(&wire) != nil {
		return 0
	}
	in, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		return 0
	}
	e := fuzzEmulator(t)
	seeded := map[string]bool{}
	for _, ev := range e.Trail().Events(cloudtrail.Filter{}) {
		seeded[ev.EventID] = true
	}
	routed := service
	if unsigned {
		routed = "sts"
		if sc, err := sigv4.ParseScope(in); err == nil {
			routed = sc.Service
		} else if sigv4.IsAnonymous(err) && !in.URL.Query().Has("Action") &&
			!(in.Method == http.MethodPost && strings.HasPrefix(in.Header.Get("Content-Type"), "application/x-www-form-urlencoded")) {
			routed = "s3"
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, in)
	desc := fmt.Sprintf("%s %s %s (routed to %s, unsigned %v) → %d %.400s", service, in.Method, in.URL.RequestURI(), routed, unsigned, rec.Code, rec.Body)

	if in.URL.Path == awsemu.HealthPath || in.URL.Path == awsemu.LocalStackHealthPath {
		if rec.Code != http.StatusOK || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s: health check", desc)
		}
		return rec.Code
	}
	if rec.Code >= 500 && !(routed == "s3" && rec.Code == http.StatusNotImplemented) {
		t.Fatalf("%s: server error", desc)
	}
	if unsigned && rec.Code < 300 {
		t.Fatalf("%s: an unsigned request succeeded", desc)
	}
	var code string
	if rec.Code >= 300 && rec.Code != http.StatusNotModified && in.Method != http.MethodHead {
		if code, err = errorCode(routed, rec.Body.Bytes()); err != nil || code == "" {
			t.Fatalf("%s: not a %s error (%v)", desc, routed, err)
		}
	}
	var added []cloudtrail.Event
	for _, ev := range e.Trail().Events(cloudtrail.Filter{}) {
		if !seeded[ev.EventID] {
			added = append(added, ev)
		}
	}
	switch len(added) {
	case 0:
	case 1:
		ev := added[0]
		if ev.EventSource != routed+".amazonaws.com" {
			t.Fatalf("%s: recorded as %s %s", desc, ev.EventSource, ev.EventName)
		}
		if (ev.ErrorCode != "") != (rec.Code >= 300) || code != "" && ev.ErrorCode != code {
			t.Fatalf("%s: recorded with error code %q", desc, ev.ErrorCode)
		}
	default:
		t.Fatalf("%s: %d CloudTrail records for one request", desc, len(added))
	}
	return rec.Code
}

func TestFuzzServeHTTPHarnessIsServed(t *testing.T) {
	form := "application/x-www-form-urlencoded; charset=utf-8"
	for _, c := range []struct {
		method, path, query, hName, hValue, body string
		mode                                     uint8
	}{
		{"POST", "/", "", "Content-Type", form, "Action=GetCallerIdentity&Version=2011-06-15", 0},
		{"POST", "/", "", "Content-Type", form, "Action=ListRoles&Version=2010-05-08", 1},
		{"GET", "/acme/a.txt", "", "", "", "", 2},
		{"POST", "/", "", "X-Amz-Target", "CloudTrail_20131101.LookupEvents", "{}", 3},
	} {
		if got := fuzzServeOnce(t, c.method, c.path, c.query, c.hName, c.hValue, []byte(c.body), c.mode); got != http.StatusOK {
			t.Errorf("%s (mode %d): status %d, so FuzzServeHTTP would never reach %s", c.body+c.path, c.mode, got, fuzzServices[c.mode])
		}
	}
}
