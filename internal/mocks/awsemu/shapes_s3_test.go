package awsemu_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// S3 checks of the recorded-shape suite (see shapes_test.go).

func (e *shapeEnv) bucketWithObject(t *testing.T, bucket, key string, hdr map[string]string) {
	t.Helper()
	if w := e.s3(t, http.MethodPut, "/"+bucket, nil, nil); w.status != 200 {
		setupFailed("CreateBucket %s: %d %s", bucket, w.status, w.body)
	}
	if key == "" {
		return
	}
	if w := e.s3(t, http.MethodPut, "/"+bucket+"/"+key, hdr, []byte("shape body")); w.status != 200 {
		setupFailed("PutObject %s/%s: %d %s", bucket, key, w.status, w.body)
	}
}

// NoSuchKey (404) carries Message "The specified key does not exist." and the Key.
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (NoSuchKey) and
// API_GetObject.html.
func checkNoSuchKey(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-nosuchkey", "", nil)
	w := e.s3(t, http.MethodGet, "/shape-nosuchkey/missing/key.txt", nil, nil)
	return e.expect("GetObject of a missing key", w, 404, s3Error("NoSuchKey", "The specified key does not exist.", "Key", "missing/key.txt"))
}

const enableVersioning = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`

// On a versioned bucket DeleteObject without a version creates a delete marker: 204 with
// x-amz-delete-marker: true and x-amz-version-id naming the marker; GetObject then answers 404
// NoSuchKey with x-amz-delete-marker: true, while the old version stays readable by its ID.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html.
func checkDeleteObjectVersioned(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-versioned", "", nil)
	if w := e.s3(t, http.MethodPut, "/shape-versioned?versioning", nil, []byte(enableVersioning)); w.status != 200 {
		setupFailed("PutBucketVersioning: %d %s", w.status, w.body)
	}
	put := e.s3(t, http.MethodPut, "/shape-versioned/k", nil, []byte("v1"))
	out := expectHeader("PutObject", put, "x-amz-version-id", "{{any}}")
	del := e.s3(t, http.MethodDelete, "/shape-versioned/k", nil, nil)
	if del.status != http.StatusNoContent {
		out = append(out, fmt.Sprintf("DeleteObject: status %d, want 204", del.status))
	}
	out = append(out, expectHeader("DeleteObject", del, "x-amz-delete-marker", "true")...)
	out = append(out, expectHeader("DeleteObject", del, "x-amz-version-id", "{{any}}")...)
	if m, v := del.header.Get("x-amz-version-id"), put.header.Get("x-amz-version-id"); m != "" && m == v {
		out = append(out, "DeleteObject: x-amz-version-id is the object's version, want the new delete marker's")
	}
	get := e.s3(t, http.MethodGet, "/shape-versioned/k", nil, nil)
	out = append(out, e.expect("GetObject behind a delete marker", get, 404, s3Error("NoSuchKey", "The specified key does not exist.", "Key", "k"))...)
	out = append(out, expectHeader("GetObject behind a delete marker", get, "x-amz-delete-marker", "true")...)
	if v := put.header.Get("x-amz-version-id"); v != "" {
		if old := e.s3(t, http.MethodGet, "/shape-versioned/k?versionId="+url.QueryEscape(v), nil, nil); old.status != 200 || string(old.body) != "v1" {
			out = append(out, fmt.Sprintf("GetObject of the old version: %d %q", old.status, old.body))
		}
	}
	return out
}

// On a bucket that never had versioning, DeleteObject answers 204 with no x-amz-delete-marker and
// no x-amz-version-id header at all (they describe versioned deletes only), whether or not the
// key existed. https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html.
func checkDeleteObjectUnversioned(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-unversioned", "k", nil)
	var out []string
	for _, key := range []string{"k", "never-there"} {
		w := e.s3(t, http.MethodDelete, "/shape-unversioned/"+key, nil, nil)
		if w.status != http.StatusNoContent {
			out = append(out, fmt.Sprintf("DeleteObject %s: status %d, want 204", key, w.status))
		}
		out = append(out, expectHeader("DeleteObject "+key, w, "x-amz-delete-marker", "")...)
		out = append(out, expectHeader("DeleteObject "+key, w, "x-amz-version-id", "")...)
	}
	return out
}

// User metadata keys are stored and returned in lower case: "Amazon S3 stores user-defined
// metadata keys in lowercase", so x-amz-meta-CamelCase comes back as x-amz-meta-camelcase.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html.
func checkMetadataCasing(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-meta", "k", map[string]string{"x-amz-meta-CamelCase": "v", "Content-Type": "text/plain"})
	w := e.s3(t, http.MethodHead, "/shape-meta/k", nil, nil)
	var out []string
	var keys []string
	for _, l := range w.rawHeaders {
		name, _, _ := strings.Cut(l, ":")
		if strings.HasPrefix(strings.ToLower(name), "x-amz-meta-") {
			keys = append(keys, name[len("x-amz-meta-"):])
		}
	}
	if len(keys) != 1 || keys[0] != "camelcase" {
		out = append(out, fmt.Sprintf("HeadObject: user metadata keys %q, want [\"camelcase\"]", keys))
	}
	return append(out, expectHeader("HeadObject", w, "x-amz-meta-camelcase", "v")...)
}

// An object stored without a Content-Type is served as binary/octet-stream.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (Content-Type: "Default:
// binary/octet-stream").
func checkDefaultContentType(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-ctype", "k", nil)
	out := expectHeader("HeadObject", e.s3(t, http.MethodHead, "/shape-ctype/k", nil, nil), "Content-Type", "binary/octet-stream")
	return append(out, expectHeader("GetObject", e.s3(t, http.MethodGet, "/shape-ctype/k", nil, nil), "Content-Type", "binary/octet-stream")...)
}

// On the us-east-1 regional endpoint: no LocationConstraint creates the bucket in us-east-1,
// which HeadBucket reports in x-amz-bucket-region; LocationConstraint us-east-1 is
// InvalidLocationConstraint (with the constraint echoed); another region's constraint is
// IllegalLocationConstraintException, worded as recorded from AWS.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html,
// API_HeadBucket.html (x-amz-bucket-region).
func checkCreateBucketLocation(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-location", "", nil)
	head := e.s3(t, http.MethodHead, "/shape-location", nil, nil)
	var out []string
	if head.status != 200 {
		out = append(out, fmt.Sprintf("HeadBucket: status %d", head.status))
	}
	out = append(out, expectHeader("HeadBucket", head, "x-amz-bucket-region", "us-east-1")...)
	cfg := func(region string) []byte {
		return []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` + region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	out = append(out, e.expect("CreateBucket with LocationConstraint us-east-1", e.s3(t, http.MethodPut, "/shape-location-east", nil, cfg("us-east-1")), 400,
		s3Error("InvalidLocationConstraint", "The specified location-constraint is not valid", "LocationConstraint", "us-east-1"))...)
	return append(out, e.expect("CreateBucket with LocationConstraint eu-west-1", e.s3(t, http.MethodPut, "/shape-location-west", nil, cfg("eu-west-1")), 400,
		s3Error("IllegalLocationConstraintException", "The eu-west-1 location constraint is incompatible for the region specific endpoint this request was sent to."))...)
}

// An x-amz-expected-bucket-owner that is not a 12-digit account ID is 400
// InvalidBucketOwnerAWSAccountID, message as recorded from AWS.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html.
func checkExpectedBucketOwnerMalformed(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-owner", "k", nil)
	w := e.s3(t, http.MethodGet, "/shape-owner/k", map[string]string{"x-amz-expected-bucket-owner": "abcd"}, nil)
	return e.expect("GetObject with ExpectedBucketOwner abcd", w, 400,
		s3Error("InvalidBucketOwnerAWSAccountID", "The value of the expected bucket owner parameter must be an AWS Account ID... [abcd]"))
}

const (
	msgS3SignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	hexBytes               = "{{re:[0-9a-f]{2}( [0-9a-f]{2})*}}"
)

// spacedHex is S3's …Bytes form: each byte as two hex digits, separated by spaces.
func spacedHex(s string) string {
	parts := make([]string, len(s))
	for i := range len(s) {
		parts[i] = hex.EncodeToString([]byte{s[i]})
	}
	return strings.Join(parts, " ")
}

// bytesFormsAgree checks that each …Bytes element spells its sibling's text.
func bytesFormsAgree(what string, body []byte, names ...string) []string {
	doc, err := parseXML(body)
	if err != nil {
		return nil // already reported by expect
	}
	text := map[string]string{}
	for _, k := range doc.kids {
		text[k.name] = k.text
	}
	var out []string
	for _, n := range names {
		if b, ok := text[n+"Bytes"]; ok && b != spacedHex(text[n]) {
			out = append(out, fmt.Sprintf("%s: %sBytes does not spell %s", what, n, n))
		}
	}
	return out
}

// SignatureDoesNotMatch (403) names the access key and shows what S3 computed: StringToSign,
// SignatureProvided, StringToSignBytes, CanonicalRequest and CanonicalRequestBytes.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-troubleshooting.html (error documents
// in "Signature calculations for the Authorization header").
func checkSignatureDoesNotMatch(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-sig", "k", nil)
	// An IAM user's key: the account's own 12-digit key takes any secret, as on LocalStack.
	bad := e.userCreds(t, "shape-sig-user")
	bad.SecretAccessKey = "not-the-secret"
	w := send(t, e.signed(t, "s3", http.MethodGet, "/shape-sig/k", nil, nil, bad))
	out := e.expect("GetObject signed with the wrong secret", w, 403, s3Error("SignatureDoesNotMatch", msgS3SignatureMismatch,
		"AWSAccessKeyId", bad.AccessKeyID, "StringToSign", "{{re:AWS4-HMAC-SHA256\n(.|\n)+}}", "SignatureProvided", "{{re:[0-9a-f]{64}}}",
		"StringToSignBytes", hexBytes, "CanonicalRequest", "{{re:GET\n/shape-sig/k\n(.|\n)+}}", "CanonicalRequestBytes", hexBytes))
	out = append(out, bytesFormsAgree("SignatureDoesNotMatch", w.body, "StringToSign", "CanonicalRequest")...)
	// The elements in the order of S3's example answer, which is how a developer reads them.
	const order = "Code,Message,AWSAccessKeyId,StringToSign,SignatureProvided,StringToSignBytes,CanonicalRequest,CanonicalRequestBytes,RequestId,HostId"
	if doc, err := parseXML(w.body); err == nil && len(out) == 0 && kidNames(doc) != order {
		out = append(out, "SignatureDoesNotMatch: elements in the order "+kidNames(doc)+", want "+order)
	}
	return out
}

// userCreds creates an IAM user with an access key and returns the key.
func (e *shapeEnv) userCreds(t *testing.T, name string) aws.Credentials {
	t.Helper()
	c := iam.NewFromConfig(cfgFor(e.endpoint, e.creds))
	if _, err := c.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		setupFailed("CreateUser %s: %v", name, err)
	}
	k, err := c.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		setupFailed("CreateAccessKey %s: %v", name, err)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
}

// sigV2URL presigns a GET with Signature Version 2 query-string authentication: Signature is
// base64(HMAC-SHA1(secret, "GET\n\n\n<Expires>\n/<bucket>/<key>")).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth
func (e *shapeEnv) sigV2URL(path, akid, secret string, expires int64) (u, stringToSign, sig string) {
	stringToSign = "GET\n\n\n" + strconv.FormatInt(expires, 10) + "\n" + path
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	sig = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	q := url.Values{"AWSAccessKeyId": {akid}, "Expires": {strconv.FormatInt(expires, 10)}, "Signature": {sig}}
	return e.endpoint + path + "?" + q.Encode(), stringToSign, sig
}

func getURL(t *testing.T, u string) wire {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

// A SigV2 presigned GET that is right and not expired is served like a SigV4 one.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
func checkSigV2Accepted(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-sigv2", "k", nil)
	u, _, _ := e.sigV2URL("/shape-sigv2/k", e.creds.AccessKeyID, e.creds.SecretAccessKey, time.Now().Add(10*time.Minute).Unix())
	if w := getURL(t, u); w.status != 200 || string(w.body) != "shape body" {
		return []string{fmt.Sprintf("SigV2 presigned GET: %d %q, want 200 \"shape body\"", w.status, w.body)}
	}
	return nil
}

// A wrong SigV2 signature, an expired URL and an unknown key get S3's error documents (never a
// Query-protocol error): SignatureDoesNotMatch with StringToSign, SignatureProvided and
// StringToSignBytes; AccessDenied "Request has expired" with Expires and ServerTime;
// InvalidAccessKeyId with the key. https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html.
func checkSigV2Errors(t *testing.T, e *shapeEnv) []string {
	e.bucketWithObject(t, "shape-sigv2-errors", "k", nil)
	later := time.Now().Add(10 * time.Minute).Unix()
	user := e.userCreds(t, "shape-sigv2-user")
	u, sts, sig := e.sigV2URL("/shape-sigv2-errors/k", user.AccessKeyID, "not-the-secret", later)
	w := getURL(t, u)
	out := e.expect("SigV2 with the wrong secret", w, 403, s3Error("SignatureDoesNotMatch", msgS3SignatureMismatch,
		"AWSAccessKeyId", user.AccessKeyID, "StringToSign", sts, "SignatureProvided", sig, "StringToSignBytes", spacedHex(sts)))
	u, _, _ = e.sigV2URL("/shape-sigv2-errors/k", e.creds.AccessKeyID, e.creds.SecretAccessKey, time.Now().Add(-time.Minute).Unix())
	out = append(out, e.expect("expired SigV2 URL", getURL(t, u), 403, s3Error("AccessDenied", "Request has expired", "Expires", "{{date}}", "ServerTime", "{{date}}"))...)
	u, _, _ = e.sigV2URL("/shape-sigv2-errors/k", "AKIANOSUCHKEY0000000", "x", later)
	return append(out, e.expect("SigV2 with an unknown key", getURL(t, u), 403, s3Error("InvalidAccessKeyId",
		"The AWS Access Key Id you provided does not exist in our records.", "AWSAccessKeyId", "AKIANOSUCHKEY0000000"))...)
}
