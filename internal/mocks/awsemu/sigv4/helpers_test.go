package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tempAKID   = "ASIATEMPEXAMPLE"
	tempSecret = "temporary-secret"
	tempToken  = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDA=="
	oldAKID    = "ASIAOLDEXAMPLE"
	brokenAKID = "AKIDBROKENSTORE"
)

// t0 is the verifier's "now" in every test that does not say otherwise.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var errStoreDown = errors.New("store is down")

func testStore() CredentialStore {
	static := StaticCredentials{
		testAKID: {SecretAccessKey: testSecret, Principal: "user/alice"},
		tempAKID: {SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: t0.Add(time.Hour), Principal: "role/session"},
		oldAKID:  {SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: t0.Add(-time.Second)},
	}
	return CredentialStoreFunc(func(ctx context.Context, id string) (Credential, error) {
		if id == brokenAKID {
			return Credential{}, errStoreDown
		}
		return static.LookupAccessKey(ctx, id)
	})
}

func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(testStore(), append([]Option{WithClock(func() time.Time { return t0 })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sha256Hex(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// signSpec describes one request for the SDK signer to sign.
type signSpec struct {
	method, url, body string
	service, region   string
	at                time.Time
	akid, secret      string
	token             string
	header            http.Header
	payloadHash       string // default: sha256(body); S3 also sends it as X-Amz-Content-Sha256
	noContentSHA      bool   // S3: do not send X-Amz-Content-Sha256
	expires           int    // presigned: X-Amz-Expires (0: leave out)
}

func (s signSpec) defaults() signSpec {
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.url == "" {
		s.url = "http://sts.example.test/"
	}
	if s.service == "" {
		s.service = "sts"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.at.IsZero() {
		s.at = t0
	}
	if s.akid == "" {
		s.akid = testAKID
	}
	if s.secret == "" {
		s.secret = testSecret
	}
	if s.payloadHash == "" {
		s.payloadHash = sha256Hex(s.body)
		if s.service == "s3" && s.expires > 0 {
			s.payloadHash = UnsignedPayload
		}
	}
	return s
}

func (s signSpec) clientRequest(t testing.TB) *http.Request {
	t.Helper()
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequest(s.method, s.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range s.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if s.service == "s3" && !s.noContentSHA && s.expires == 0 {
		req.Header.Set(headerContentSHA, s.payloadHash)
	}
	return req
}

func (s signSpec) creds() aws.Credentials {
	return aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret, SessionToken: s.token}
}

func (s signSpec) signerOpts(o *v4.SignerOptions) { o.DisableURIPathEscaping = s.service == "s3" }

// signed signs s with the SDK (header form) and returns the request as a
// server handler would receive it.
func signed(t testing.TB, s signSpec) *http.Request {
	t.Helper()
	return toServer(t, signedClient(t, s))
}

// signedClient is signed without the trip through the wire, for tests that
// tamper with the client request first.
func signedClient(t testing.TB, s signSpec) *http.Request {
	t.Helper()
	s = s.defaults()
	req := s.clientRequest(t)
	if err := v4.NewSigner(s.signerOpts).SignHTTP(context.Background(), s.creds(), req, s.payloadHash, s.service, s.region, s.at); err != nil {
		t.Fatal(err)
	}
	return req
}

// presigned presigns s with the SDK and returns the request a holder of
// the URL would send (URL plus the headers the signer says must go along).
func presigned(t testing.TB, s signSpec) *http.Request {
	t.Helper()
	return toServer(t, presignedClient(t, s))
}

func presignedClient(t testing.TB, s signSpec) *http.Request {
	t.Helper()
	s = s.defaults()
	req := s.clientRequest(t)
	if s.expires != 0 {
		q := req.URL.Query()
		q.Set(queryExpires, strconv.Itoa(s.expires))
		req.URL.RawQuery = q.Encode()
	}
	uri, hdr, err := v4.NewSigner(s.signerOpts).PresignHTTP(context.Background(), s.creds(), req, s.payloadHash, s.service, s.region, s.at)
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	out, err := http.NewRequest(s.method, uri, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return out
}

// toServer writes req to the wire and reads it back the way net/http's
// server does, so RequestURI, Host, canonical header keys and ContentLength
// are exactly what a handler sees.
func toServer(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

// setQuery replaces one query parameter of a server request, keeping the
// rest of the raw query as it was.
func setQuery(r *http.Request, k, v string) {
	q := r.URL.Query()
	q.Set(k, v)
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.EscapedPath() + "?" + r.URL.RawQuery
}

func newSDKSigner(s signSpec) *v4.Signer { return v4.NewSigner(s.signerOpts) }
