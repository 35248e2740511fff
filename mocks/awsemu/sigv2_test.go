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
		exp := strconv.FormatInt(time.Now().Add(5*time.Minute).Unix(), 10)
		q := url.Values{"AWSAccessKeyId": {creds.AccessKeyID}, "Expires": {exp}}
		toSign := "GET\n\n\n" + exp + "\n"
		if withToken {
			q.Set("x-amz-security-token", creds.SessionToken)
			toSign += "x-amz-security-token:" + creds.SessionToken + "\n"
		}
		mac := hmac.New(sha1.New, []byte(creds.SecretAccessKey))
		mac.Write([]byte(toSign + path))
		q.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		return w.s.Endpoint() + path + "?" + q.Encode()
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(presign("/quilt-tenant-acme/data.csv", true)); code != 200 || body != "acme data" {
		t.Errorf("own object through SigV2: %d %q", code, body)
	}
	if code, body := get(presign("/quilt-tenant-globex/data.csv", true)); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("the other tenant's object through SigV2: %d %s", code, body)
	}
	if code, body := get(presign("/quilt-tenant-acme/data.csv", false)); code != 403 || !strings.Contains(body, "<Code>InvalidAccessKeyId</Code>") {
		t.Errorf("a session key without its token: %d %s", code, body)
	}
}
