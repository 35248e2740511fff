package awsemu_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SigV2 presigned URLs are enforced by the same policies as SigV4 ones: a tenant session reads
// its own object through one and is denied the other tenant's; the session's key without its
// token is an unknown key, as S3 answers it.
func TestSigV2PresignedURLsAreEnforced(t *testing.T) {
	w := newTenantWorld(t, "reference")
	creds, err := w.session(t, "acme", "usr-alice").Options().Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	presign := func(path string, withToken bool) string {
		return sigV2URL(w.s.Endpoint(), path, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, withToken)
	}
	if code, body := httpGet(t, presign("/quilt-tenant-acme/data.csv", true)); code != 200 || body != "acme data" {
		t.Errorf("own object through SigV2: %d %q", code, body)
	}
	if code, body := httpGet(t, presign("/quilt-tenant-globex/data.csv", true)); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("the other tenant's object through SigV2: %d %s", code, body)
	}
	if code, body := httpGet(t, presign("/quilt-tenant-acme/data.csv", false)); code != 403 || !strings.Contains(body, "<Code>InvalidAccessKeyId</Code>") {
		t.Errorf("a session key without its token: %d %s", code, body)
	}
}

// The common bucket policy that refuses Signature Version 2 (a Deny on s3:signatureversion other
// than AWS4-HMAC-SHA256) stops SigV2 URLs, even the account admin's, and lets SigV4 ones through.
func TestBucketPolicyCanRefuseSigV2(t *testing.T) {
	s := startEmulator(t)
	admin := adminCfg(t, s, acct)
	c := s3Client(admin)
	ctx := t.Context()
	must(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("v4-only")}))
	if err := putObject(ctx, c, "v4-only", "k", "body"); err != nil {
		t.Fatal(err)
	}
	must(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("v4-only"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"SigV4Only","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::v4-only/*","Condition":{"StringNotEquals":{"s3:signatureversion":"AWS4-HMAC-SHA256"}}}]}`)}))
	creds := must(admin.Credentials.Retrieve(ctx))
	if code, body := httpGet(t, sigV2URL(s.Endpoint(), "/v4-only/k", creds.AccessKeyID, creds.SecretAccessKey, "", false)); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("SigV2 URL under a SigV4-only bucket policy: %d %s", code, body)
	}
	v4 := must(s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v4-only"), Key: aws.String("k")}))
	if code, body := httpGet(t, v4.URL); code != 200 || body != "body" {
		t.Errorf("SigV4 URL under a SigV4-only bucket policy: %d %q", code, body)
	}
}

// sigV2URL presigns a GET of path with Signature Version 2, carrying the session token as
// botocore does (an x-amz-security-token query parameter, signed as an x-amz header).
func sigV2URL(endpoint, path, akid, secret, token string, withToken bool) string {
	exp := strconv.FormatInt(time.Now().Add(5*time.Minute).Unix(), 10)
	q := url.Values{"AWSAccessKeyId": {akid}, "Expires": {exp}}
	toSign := "GET\n\n\n" + exp + "\n"
	if withToken {
		q.Set("x-amz-security-token", token)
		toSign += "x-amz-security-token:" + token + "\n"
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign + path))
	q.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return endpoint + path + "?" + q.Encode()
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
