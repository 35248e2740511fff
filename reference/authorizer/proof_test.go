package authorizer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

var proofSecret = []byte("authorizer-tests-context-proof-secret-0123")

// verifier stands for the MCP server: it checks each request's context proof as the
// reference server does, over what it receives.
type verifier struct {
	mu      sync.Mutex
	key     *contextproof.Key
	now     func() time.Time
	results []error
	nonces  []string
	proofs  []string
}

func startVerifier(t *testing.T, now func() time.Time) (*verifier, string) {
	k, err := contextproof.NewKey(proofSecret)
	if err != nil {
		t.Fatal(err)
	}
	v := &verifier{key: k, now: now}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := k.Verify(r.Header.Get("X-Context-Proof"), contextproof.Context{Method: r.Method, Path: r.URL.Path,
			DecidedRole: r.Header.Get("X-Decided-Role"), SourceIdentity: r.Header.Get("X-Source-Identity"),
			SessionTags: r.Header.Get("X-Session-Tags"), Limits: r.Header.Get("X-Limits")}, now(), contextproof.DefaultWindow)
		v.mu.Lock()
		v.results, v.nonces, v.proofs = append(v.results, err), append(v.nonces, p.Nonce), append(v.proofs, r.Header.Get("X-Context-Proof"))
		v.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return v, srv.URL
}

// last is the newest request's nonce, proof, the verifier's verdict on it, and the count.
func (v *verifier) last() (string, string, int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(v.results)
	if n == 0 {
		return "", "", 0, errors.New("no request reached the server")
	}
	return v.nonces[n-1], v.proofs[n-1], n, v.results[n-1]
}

// Through the shipped reference REST API: an allow reaches the server with a proof of exactly
// the headers, method and path it receives, whose nonce is the gateway's request id; a proof a
// client sends itself never reaches the server.
func TestAllowsCarryAContextProofTheMCPServerVerifies(t *testing.T) {
	e := newEnv(t, authorizer.WithContextProofSecret(proofSecret))
	cfg, err := gateway.ShippedConfig("reference")
	if err != nil {
		t.Fatal(err)
	}
	v, upURL := startVerifier(t, e.clock.Now)
	gw, err := gateway.Start(context.Background(), gateway.WithConfig(cfg), gateway.WithAuthorizer("", gateway.RESTAuthorizer(e.az.REST)),
		gateway.WithIntegrationURL(upURL), gateway.WithIssuerURL(e.idp.IssuerURL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	resp := get(t, gw.URL()+"/mcp", map[string]string{"Authorization": "Bearer " + e.token(t, "alice"), "X-Context-Proof": "v1.1.forged-by-the-client.AAAA"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	nonce, proof, _, err := v.last()
	if err != nil {
		t.Fatalf("the MCP server could not verify the forwarded proof %q: %v", proof, err)
	}
	if rid := resp.Header.Get("X-Amzn-Requestid"); nonce != rid {
		t.Errorf("the proof's nonce is %q, want the gateway's request id %q", nonce, rid)
	}

	// Without a secret the authorizer makes no proof, and the client's own is deleted all the same.
	plain := newEnv(t)
	gw2, err := gateway.Start(context.Background(), gateway.WithConfig(cfg), gateway.WithAuthorizer("", gateway.RESTAuthorizer(plain.az.REST)),
		gateway.WithIntegrationURL(upURL), gateway.WithIssuerURL(plain.idp.IssuerURL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw2.Close() })
	if resp := get(t, gw2.URL()+"/mcp", map[string]string{"Authorization": "Bearer " + plain.token(t, "alice"), "X-Context-Proof": proof}); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, forwarded, _, _ := v.last(); forwarded != "" {
		t.Errorf("the gateway forwarded a client's x-context-proof %q", forwarded)
	}
}

// Each adapter signs the method and path its event names; denies carry no proof.
func TestEveryAdapterProvesTheRequestItsEventNames(t *testing.T) {
	e := newEnv(t, authorizer.WithContextProofSecret(proofSecret))
	k, _ := contextproof.NewKey(proofSecret)
	ctx := context.Background()
	alice, carol := "Bearer "+e.token(t, "alice"), "Bearer "+e.token(t, "carol")
	verify := func(t *testing.T, c map[string]any, method, path string) {
		t.Helper()
		proof, _ := c["contextProof"].(string)
		str := func(k string) string { s, _ := c[k].(string); return s }
		if _, err := k.Verify(proof, contextproof.Context{Method: method, Path: path, DecidedRole: str("decidedRole"), SourceIdentity: str("sourceIdentity"),
			SessionTags: str("sessionTags"), Limits: str("limits")}, e.clock.Now(), time.Minute); err != nil {
			t.Errorf("contextProof %q does not verify for %s %s and the context %v: %v", proof, method, path, c, err)
		}
	}
	t.Run("HTTP API", func(t *testing.T) {
		ev := httpEvent(alice)
		ev.RawPath = "/prod/mcp"
		r, err := e.az.HTTPAPI(ctx, ev)
		if err != nil || !r.IsAuthorized {
			t.Fatalf("%+v %v", r, err)
		}
		verify(t, r.Context, "POST", "/prod/mcp")
		if r, _ := e.az.HTTPAPI(ctx, httpEvent(carol)); r.Context["contextProof"] != nil {
			t.Errorf("a deny carries a proof: %v", r.Context)
		}
	})
	t.Run("REST REQUEST", func(t *testing.T) {
		r, err := e.az.REST(ctx, restEvent(alice))
		if err != nil {
			t.Fatal(err)
		}
		verify(t, r.Context, "POST", "/mcp")
		if r, _ := e.az.REST(ctx, restEvent(carol)); r.Context["contextProof"] != nil {
			t.Errorf("a deny carries a proof: %v", r.Context)
		}
	})
	t.Run("REST TOKEN, from the method ARN", func(t *testing.T) {
		r, err := e.az.Token(ctx, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: alice,
			MethodArn: "arn:aws:execute-api:us-east-1:111122223333:abc123/prod/DELETE/mcp/sessions"})
		if err != nil {
			t.Fatal(err)
		}
		verify(t, r.Context, "DELETE", "/mcp/sessions")
	})
	t.Run("without a secret, no proof", func(t *testing.T) {
		plain := newEnv(t)
		r, err := plain.az.REST(ctx, restEvent("Bearer "+plain.token(t, "alice")))
		if err != nil || r.Context["contextProof"] != nil || r.Context["authStatus"] != "ok" {
			t.Errorf("%v %v", r.Context, err)
		}
	})
}

// A proof that cannot be made (a clock beyond the format's range) is a 500, never an allow
// without it.
func TestAnAllowThatCannotBeProvenIsUnavailable(t *testing.T) {
	e := newEnv(t, authorizer.WithContextProofSecret(proofSecret))
	e.clock.Advance(time.Until(time.Date(33700, 1, 1, 0, 0, 0, 0, time.UTC)) - time.Until(e.clock.Now()))
	d, err := e.az.Decide(context.Background(), bearer(e.token(t, "alice")))
	var u *authorizer.UnavailableError
	if !errors.As(err, &u) || d.Allow || d.Reason != authorizer.ReasonContextProofError {
		t.Fatalf("Decide = %+v, %v; want unavailable, %s", d, err, authorizer.ReasonContextProofError)
	}
	if _, err := e.az.REST(context.Background(), restEvent("Bearer "+e.token(t, "alice"))); err == nil {
		t.Error("the REST adapter answered; want an error (API Gateway: 500)")
	}
}

func TestTheSecretComesFromTheEnvironmentOrAFile(t *testing.T) {
	base := []string{"MCPSSO_AUTHORIZER_ISSUER=https://idp.example", "MCPSSO_AUTHORIZER_ROLE_STORE=dynamodb:t"}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, append(slices.Clone(proofSecret), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{{"MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET=" + string(proofSecret)}, {"MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET_FILE=" + file}} {
		c, err := authorizer.ConfigFromEnv(append(slices.Clone(base), env...))
		if err != nil || string(c.ContextProofSecret) != string(proofSecret) {
			t.Errorf("%v: secret %q, %v", env, c.ContextProofSecret, err)
		}
	}
	if c, err := authorizer.ConfigFromEnv(base); err != nil || c.ContextProofSecret != nil {
		t.Errorf("without the variables: %q %v; want no secret", c.ContextProofSecret, err)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET=short"}, "MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET: context proof secret: 5 bytes"},
		{[]string{"MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET=" + string(proofSecret), "MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET_FILE=" + file}, "give the secret once"},
		{[]string{"MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET_FILE=/no/such/file"}, "MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET_FILE"},
	} {
		if _, err := authorizer.ConfigFromEnv(append(slices.Clone(base), tc.env...)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.env, err, tc.want)
		}
	}
}
