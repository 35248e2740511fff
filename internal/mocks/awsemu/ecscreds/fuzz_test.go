package ecscreds

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	fuzzToken = "Zm9vYmFyLXRhc2stdG9rZW4tMjAyNg"
	fuzzPath  = "/v2/credentials/6f1c2a77-8a4e-4c1b-9d0e-2b5f3c7d9e10"
)

var fuzzCreds = Credentials{AccessKeyID: "ASIAFUZZFUZZFUZZFUZZ", SecretAccessKey: "fuzz-secret-access-key", SessionToken: "fuzz-session-token",
	Expiration: time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC), RoleArn: testRole}

// FuzzServeHTTP sends raw HTTP requests with fuzzer-chosen method, request target and
// Authorization headers (none, one or two) and checks that credentials are served exactly to
// a GET of the configured path carrying the token once, as the SDK sends it; anything else is
// a 4xx JSON error that asked the Source for nothing and carries no part of the credentials.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", fuzzPath, fuzzToken, "", uint8(1))                                                 // what the aws-sdk-go-v2 endpointcreds provider sends
	f.Add("GET", fuzzPath+"?x=1", fuzzToken, "", uint8(1))                                          // the query is not part of the path
	f.Add("GET", "http://169.254.170.2"+fuzzPath, fuzzToken, "", uint8(1))                          // absolute form
	f.Add("GET", "/v2/credentials/6f1c2a77%2D8a4e-4c1b-9d0e-2b5f3c7d9e10", fuzzToken, "", uint8(1)) // escaped
	f.Add("GET", fuzzPath, "", "", uint8(0))
	f.Add("GET", fuzzPath, "", fuzzToken, uint8(2))
	f.Add("GET", fuzzPath, fuzzToken, fuzzToken, uint8(2))
	f.Add("GET", fuzzPath, "Bearer "+fuzzToken, "", uint8(1))
	f.Add("GET", fuzzPath, " "+fuzzToken+"\t", "", uint8(1))
	f.Add("POST", fuzzPath, fuzzToken, "", uint8(1))
	f.Add("HEAD", fuzzPath, fuzzToken, "", uint8(1))
	f.Add("GET", fuzzPath+"/", fuzzToken, "", uint8(1))
	f.Add("GET", "/v2/credentials/../credentials/6f1c2a77-8a4e-4c1b-9d0e-2b5f3c7d9e10", fuzzToken, "", uint8(1))
	f.Add("GET", "/v2/metadata", fuzzToken, "", uint8(1))
	f.Add("GET", "*", fuzzToken, "", uint8(1))

	f.Fuzz(func(t *testing.T, method, target, auth1, auth2 string, nAuth uint8) {
		fuzzServeOnce(t, method, target, auth1, auth2, nAuth)
	})
}

// fuzzServeOnce runs one FuzzServeHTTP input and reports whether credentials were served.
func fuzzServeOnce(t *testing.T, method, target, auth1, auth2 string, nAuth uint8) (served bool) {
	var calls int
	h, err := New(SourceFunc(func(context.Context) (Credentials, error) { calls++; return fuzzCreds, nil }),
		WithAuthorizationToken(fuzzToken), WithPath(fuzzPath), WithClock(func() time.Time { return fuzzCreds.Expiration.Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	raw := method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:51678\r\nUser-Agent: aws-sdk-go-v2/1.30.0\r\n"
	auths := []string{auth1, auth2}[:min(int(nAuth), 2)]
	for _, a := range auths {
		raw += "Authorization: " + a + "\r\n"
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		return false // not a request a server would hand the handler
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)

	// HTTP ignores white space around a header value.
	sent := r.Header.Values("Authorization")
	authorized := r.Method == http.MethodGet && r.URL.Path == fuzzPath && len(sent) == 1 && sent[0] == fuzzToken
	desc := method + " " + target + " " + strings.Join(sent, " | ")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", desc, ct)
	}
	if authorized {
		var got credentialsBody
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.AccessKeyID != fuzzCreds.AccessKeyID ||
			got.SecretAccessKey != fuzzCreds.SecretAccessKey || got.Token != fuzzCreds.SessionToken || got.Expiration != "2026-11-26T18:00:00Z" ||
			got.RoleArn != testRole || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: an authorized request got %d %s", desc, rec.Code, rec.Body)
		}
		return true
	}
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("%s: refused with %d %s", desc, rec.Code, rec.Body)
	}
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("%s: error body %q (%v)", desc, rec.Body, err)
	}
	if calls != 0 {
		t.Fatalf("%s: a refused request asked the Source for credentials", desc)
	}
	for _, secret := range []string{fuzzCreds.AccessKeyID, fuzzCreds.SecretAccessKey, fuzzCreds.SessionToken, fuzzToken} {
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatalf("%s: a refusal carries %q", desc, secret)
		}
	}
	return false
}

func TestFuzzServeHTTPSeedsAreServed(t *testing.T) {
	for _, target := range []string{fuzzPath, fuzzPath + "?x=1", "http://169.254.170.2" + fuzzPath} {
		if !fuzzServeOnce(t, "GET", target, fuzzToken, "", 1) {
			t.Errorf("GET %s with the token was not served, so FuzzServeHTTP would never reach the credentials", target)
		}
	}
}
