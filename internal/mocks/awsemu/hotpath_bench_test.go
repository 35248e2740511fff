package awsemu

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
)

// BenchmarkDecisionLog is one request's decision log line, JSON at level info into io.Discard
// (as `mcpsso aws serve` logs), and the same with the level off.
func BenchmarkDecisionLog(b *testing.B) {
	call := &iam.Call{RequestID: "0c9a4b8e-6f7d-4a51-9d3c-2b1e5f6a7c8d", SourceIP: "127.0.0.1",
		Caller: &iam.Caller{Kind: iam.CallerSession, ARN: "arn:aws:sts::111122223333:assumed-role/r/usr-alice", Account: "111122223333",
			Session: &iam.Session{SourceIdentity: "usr-alice"}},
		Decision: &iampolicy.Decision{Decision: iampolicy.Allowed, Reason: "allowed by the identity policy"}}
	for _, lvl := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		e := &Emulator{log: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: lvl}))}
		b.Run("level="+lvl.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.logDecision("sts", "GetCallerIdentity", call, nil)
			}
		})
	}
}

// BenchmarkS3RequestParse is an S3 GetObject request's classification (path, operation, ARN).
func BenchmarkS3RequestParse(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/bench/some/key.txt", nil)
	b.ReportAllocs()
	for b.Loop() {
		if op := s3.Classify(r); op.Name != "GetObject" {
			b.Fatal(op.Name)
		}
	}
}

// BenchmarkPolicyContext is a call's policy request with the global condition keys.
func BenchmarkPolicyContext(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	call := iam.NewCall(r, "id", DefaultRegion, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		_ = call.Request("s3:GetObject", "arn:aws:s3:::bench/k")
	}
}
