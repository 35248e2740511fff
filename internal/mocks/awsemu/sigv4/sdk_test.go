package sigv4

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// miniEmulator is the smallest endpoint that behaves like the emulator
// will: verify, route by the scope's service, answer in that service's
// protocol.
type miniEmulator struct {
	v        *Verifier
	clock    func() time.Time
	attempts atomic.Int32
	last     atomic.Pointer[Result]
}

func (m *miniEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.attempts.Add(1)
	if m.clock != nil {
		// The SDK corrects its clock from the Date header; an emulator
		// with a shifted clock must report that clock.
		w.Header().Set("Date", m.clock().UTC().Format(http.TimeFormat))
	}
	service := "sts"
	if sc, err := ParseScope(r); err == nil {
		service = sc.Service
	}
	res, err := m.v.Verify(r)
	if err == nil {
		err = res.CheckScope(service, "us-east-1")
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeAWSError(w, e.ForService(service))
		return
	}
	m.last.Store(res)
	_, _ = io.Copy(io.Discard, r.Body)
	switch service {
	case "cloudtrail":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"Events":[]}`)
	case "iam":
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><Users/>`+
			`<IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListUsersResponse>`)
	default:
		w.Header().Set("Content-Type", "text/xml")
		_, _ = fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::111122223333:%s</Arn><UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
			xmlText(fmt.Sprint(res.Credential.Principal)))
	}
}

func writeAWSError(w http.ResponseWriter, e *Error) {
	if e.Service == "cloudtrail" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(e.StatusCode)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.StatusCode)
	_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
		`<Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, xmlText(e.Code), xmlText(e.Message))
}

func xmlText(s string) string {
	var b []byte
	w := &sliceWriter{&b}
	_ = xml.EscapeText(w, []byte(s))
	return string(b)
}

type sliceWriter struct{ b *[]byte }

func (s *sliceWriter) Write(p []byte) (int, error) { *s.b = append(*s.b, p...); return len(p), nil }

func startEmulator(t *testing.T, opts ...Option) (*miniEmulator, *httptest.Server) {
	t.Helper()
	v, err := NewVerifier(testStore(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	m := &miniEmulator{v: v}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func sdkConfig(srv *httptest.Server, akid, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		HTTPClient:       srv.Client(),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	}
}

// The tests below use the wall clock: the SDK signs with time.Now, and the
// stored temporary keys expire relative to t0, so they use long-term keys
// or a store of their own where expiry matters.

func TestRealSTSClientRequestsVerify(t *testing.T) {
	m, srv := startEmulator(t)
	out, err := sts.NewFromConfig(sdkConfig(srv, testAKID, testSecret, "")).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Arn) != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("Arn = %q", aws.ToString(out.Arn))
	}
	res := m.last.Load()
	if res.Service != "sts" || res.Region != "us-east-1" || res.AccessKeyID != testAKID || res.Presigned {
		t.Errorf("result = %+v", res)
	}
}

func TestRealSTSClientWithSessionTokenVerifies(t *testing.T) {
	store := StaticCredentials{tempAKID: {SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: time.Now().Add(time.Hour), Principal: "assumed-role/r/s"}}
	v := must(NewVerifier(store))
	srv := httptest.NewServer(&miniEmulator{v: v})
	defer srv.Close()
	client := sts.NewFromConfig(sdkConfig(srv, tempAKID, tempSecret, tempToken))
	out, err := client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Arn) != "arn:aws:iam::111122223333:assumed-role/r/s" {
		t.Errorf("Arn = %q", aws.ToString(out.Arn))
	}
	_, err = sts.NewFromConfig(sdkConfig(srv, tempAKID, tempSecret, "stolen-"+tempToken)).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", http.StatusForbidden)
}

func TestRealSDKClientsSeeAWSShapedFailures(t *testing.T) {
	_, srv := startEmulator(t)
	ctx := t.Context()
	cases := []struct {
		name   string
		call   func(aws.Config) error
		cfg    aws.Config
		code   string
		status int
	}{
		{"STS with the wrong secret gets SignatureDoesNotMatch", stsCall, sdkConfig(srv, testAKID, "wrong", ""), "SignatureDoesNotMatch", 403},
		{"STS with an unknown key gets InvalidClientTokenId", stsCall, sdkConfig(srv, "AKIDNOBODY", "x", ""), "InvalidClientTokenId", 403},
		{"STS signed for another region gets SignatureDoesNotMatch", stsCall, func() aws.Config {
			c := sdkConfig(srv, testAKID, testSecret, "")
			c.Region = "eu-west-1"
			return c
		}(), "SignatureDoesNotMatch", 403},
		{"IAM with the wrong secret gets SignatureDoesNotMatch", func(c aws.Config) error {
			_, err := iam.NewFromConfig(c).ListUsers(ctx, &iam.ListUsersInput{})
			return err
		}, sdkConfig(srv, testAKID, "wrong", ""), "SignatureDoesNotMatch", 403},
		{"CloudTrail with an unknown key gets UnrecognizedClientException", ctCall, sdkConfig(srv, "AKIDNOBODY", "x", ""), "UnrecognizedClientException", 400},
		{"CloudTrail with the wrong secret gets InvalidSignatureException", ctCall, sdkConfig(srv, testAKID, "wrong", ""), "InvalidSignatureException", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, tc.call(tc.cfg), tc.code, tc.status)
		})
	}
}

func TestRealIAMAndCloudTrailClientRequestsVerify(t *testing.T) {
	m, srv := startEmulator(t)
	cfg := sdkConfig(srv, testAKID, testSecret, "")
	if _, err := iam.NewFromConfig(cfg).ListUsers(t.Context(), &iam.ListUsersInput{PathPrefix: aws.String("/team a/")}); err != nil {
		t.Fatalf("IAM ListUsers: %v", err)
	}
	if m.last.Load().Service != "iam" {
		t.Errorf("service = %q", m.last.Load().Service)
	}
	if err := ctCall(cfg); err != nil {
		t.Fatalf("CloudTrail LookupEvents: %v", err)
	}
	if m.last.Load().Service != "cloudtrail" {
		t.Errorf("service = %q", m.last.Load().Service)
	}
}

// TestRealSTSClientRecoversFromClockSkew shows the skew error is one the
// SDK recognises: it reads the emulator's Date, corrects its clock, retries,
// and the retry verifies.
func TestRealSTSClientRecoversFromClockSkew(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(20 * time.Minute) }
	m, srv := startEmulator(t, WithClock(ahead))
	m.clock = ahead
	cfg := sdkConfig(srv, testAKID, testSecret, "")
	cfg.RetryMaxAttempts = 3
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity with a skewed emulator: %v", err)
	}
	if n := m.attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2 (one skewed, one corrected)", n)
	}
}

func TestRealSTSPresignedGetCallerIdentityVerifies(t *testing.T) {
	m, srv := startEmulator(t)
	client := sts.NewFromConfig(sdkConfig(srv, testAKID, testSecret, ""))
	p, err := sts.NewPresignClient(client).PresignGetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), p.Method, p.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range p.SignedHeader {
		if k != "Host" {
			req.Header[k] = vs
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned GetCallerIdentity: %d %s", resp.StatusCode, body)
	}
	if res := m.last.Load(); !res.Presigned || res.Service != "sts" {
		t.Errorf("result = %+v", res)
	}
}

func stsCall(c aws.Config) error {
	_, err := sts.NewFromConfig(c).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

func ctCall(c aws.Config) error {
	_, err := cloudtrail.NewFromConfig(c).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)})
	return err
}

func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	var re *awshttp.ResponseError
	if ae.ErrorCode() != code || !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error = %v, want %s (%d)", err, code, status)
	}
}
