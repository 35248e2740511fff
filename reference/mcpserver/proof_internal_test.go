package mcpserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// When the replay guard is full of proofs still within their window, the server refuses with
// 503 rather than forget one (a forgotten nonce could be replayed).
func TestAFullReplayGuardRefusesWith503(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	h, err := New(awsCfg, WithContextProofSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(t.Context())
	h.replay = contextproof.NewReplayGuard(1)
	key, _ := contextproof.NewKey(secret)
	send := func() (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("MCP-Protocol-Version", "2025-11-25")
		r.Header.Set(HeaderDecidedRole, "arn:aws:iam::111122223333:role/quilt-mcp-target-acme")
		r.Header.Set(HeaderSourceIdentity, "usr-alice")
		r.Header.Set(HeaderSessionTags, `{"tenant":"acme"}`)
		p, err := key.Sign(contextproof.Context{Method: r.Method, Path: r.URL.Path, DecidedRole: r.Header.Get(HeaderDecidedRole),
			SourceIdentity: r.Header.Get(HeaderSourceIdentity), SessionTags: r.Header.Get(HeaderSessionTags)}, contextproof.NewNonce(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set(HeaderContextProof, p)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct{ Error string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body.Error
	}
	if code, reason := send(); code != http.StatusOK {
		t.Fatalf("the first proven request: %d %s", code, reason)
	}
	if code, reason := send(); code != http.StatusServiceUnavailable || reason != string(contextproof.ReasonFull) {
		t.Errorf("with the guard full: %d %s; want 503 %s", code, reason, contextproof.ReasonFull)
	}
}
