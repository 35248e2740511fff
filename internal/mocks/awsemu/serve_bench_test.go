package awsemu_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
)

// signedRequest is one request signed once and replayed: the server's side of a call without
// the client's (the SDK's middleware, its signing, its response parsing).
type signedRequest struct {
	method, target string
	header         http.Header
	body           string
}

func signRequest(tb testing.TB, creds aws.Credentials, service, method, target, body string) signedRequest {
	tb.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.0 bench")
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if service == "s3" {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hash, service, awsemu.DefaultRegion, time.Now()); err != nil {
		tb.Fatal(err)
	}
	return signedRequest{method: method, target: target, header: r.Header, body: body}
}

// serve replays the request through h and fails unless it is answered 200.
func (s signedRequest) serve(tb testing.TB, h http.Handler, w *discardWriter) {
	r := httptest.NewRequest(s.method, s.target, strings.NewReader(s.body))
	r.Header = s.header
	r.RemoteAddr = "127.0.0.1:40000"
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK {
		tb.Fatalf("%s %s: status %d", s.method, s.target, w.status)
	}
}

// discardWriter is a ResponseWriter that keeps only the status: what net/http's own writer
// costs is the same before and after any change to the emulator.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}
func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// BenchmarkServeHTTP is the emulator's own work per request, with no client and no connection:
// requests signed once are replayed through ServeHTTP, with a JSON decision log at level info
// written to io.Discard (as `mcpsso aws serve` writes its log, to stderr). It is what the
// served benchmark's CPU per pair is made of, less net/http and the kernel.
func BenchmarkServeHTTP(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := startEmulator(b, awsemu.WithLogger(log))
	ctx := context.Background()
	admin := adminCfg(b, s, acct)
	createRole(b, iam.NewFromConfig(admin), "bench-target", accountTrust(acct), nil)
	roleARN := "arn:aws:iam::" + acct + ":role/bench-target"
	out, err := sts.NewFromConfig(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("usr-alice"),
		SourceIdentity: aws.String("usr-alice"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}})
	if err != nil {
		b.Fatal(err)
	}
	session := stsCreds(out.Credentials)
	s3c := s3Client(admin)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("k"), Body: strings.NewReader(strings.Repeat("x", 1024))}); err != nil {
		b.Fatal(err)
	}
	adminCreds, err := s.AdminCredentials(acct)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN}, "RoleSessionName": {"usr-alice"},
		"SourceIdentity": {"usr-alice"}, "Tags.member.1.Key": {"tenant"}, "Tags.member.1.Value": {"acme"}}.Encode()
	cases := []struct {
		name string
		req  signedRequest
	}{
		{"AssumeRole", signRequest(b, adminCreds, "sts", http.MethodPost, "/", form)},
		{"GetCallerIdentity", signRequest(b, session, "sts", http.MethodPost, "/", "Action=GetCallerIdentity&Version=2011-06-15")},
		{"GetObject1KiB", signRequest(b, adminCreds, "s3", http.MethodGet, "/bench/k", "")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.req.serve(b, s, w)
			}
		})
	}
}
