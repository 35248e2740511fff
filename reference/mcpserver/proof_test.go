package mcpserver_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

const whoamiCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// serveDirect serves a server with opts on a port nothing signs for: what a caller that
// bypasses the gateway reaches.
func (w *world) serveDirect(t *testing.T, opts ...mcpserver.Option) (*mcpserver.Handler, string) {
	t.Helper()
	h, err := mcpserver.New(w.awsCfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = h.Close(t.Context())
	})
	return h, srv.URL + h.Path()
}

// signFor is the proof the authorizer would make for a request with headers h.
func signFor(t *testing.T, secret []byte, method, path string, h http.Header, nonce string, at time.Time) string {
	t.Helper()
	k, err := contextproof.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.Sign(contextproof.Context{Method: method, Path: path, DecidedRole: h.Get(mcpserver.HeaderDecidedRole),
		SourceIdentity: h.Get(mcpserver.HeaderSourceIdentity), SessionTags: h.Get(mcpserver.HeaderSessionTags), Limits: h.Get(mcpserver.HeaderLimits)}, nonce, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func assumeRoles(w *world) int {
	return len(w.emu.Trail().Events(cloudtrail.Filter{EventName: "AssumeRole"}))
}

// The attack: a POST to the server's own port with globex's decided headers and no
// token. Refused before any AWS call, counted, and logged with the reason.
func TestForgedDecidedHeadersWithoutAProofAreRefusedBeforeAnyAWSCall(t *testing.T) {
	w := newWorld(t)
	logger, logs := jsonLogger()
	h, url := w.serveDirect(t, mcpserver.WithContextProofSecret(proofSecret), mcpserver.WithLogger(logger))
	before := assumeRoles(w)
	resp, body := do(t, http.MethodPost, url, gatewayHeader("globex", "usr-mallory"), whoamiCall)
	if resp.StatusCode != http.StatusForbidden || body["error"] != "missing_context_proof" || body["header"] != "x-context-proof" {
		t.Fatalf("direct POST with forged headers: %d %v; want 403 missing_context_proof", resp.StatusCode, body)
	}
	if n := assumeRoles(w) - before; n != 0 {
		t.Errorf("%d AssumeRole calls reached STS for the refused request", n)
	}
	if m := scrape(t, h); !strings.Contains(m, `http_requests_refused_total{reason="missing_context_proof"} 1`) || !strings.Contains(m, `sts_assume_role_total{result="ok"} 0`) {
		t.Errorf("metrics:\n%s", grepMetrics(m))
	}
	var refused bool
	for _, l := range logLines(t, logs) {
		if l["msg"] == "request refused" && l["reason"] == "missing_context_proof" && l["status"] == float64(403) && l["request_id"] != "" {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no decision log line with reason missing_context_proof:\n%s", logs)
	}
}

// The weakness put back: without proofs the same request acts as globex. This is what the
// suites' direct-mcp spec must catch (internal/scenarios/spoofing).
func TestWithoutContextProofsAnyCallerThatReachesThePortIsBelieved(t *testing.T) {
	w := newWorld(t)
	_, url := w.serveDirect(t, mcpserver.WithoutContextProof())
	c := connect(t, clients[0], url, modern, gateway("globex", "usr-mallory"))
	r := c.call(t, "whoami", nil)
	if r.isError || !strings.Contains(r.text, "quilt-mcp-target-globex/usr-mallory") {
		t.Fatalf("whoami without a proof: %+v; the unproven server should have acted as globex", r)
	}
}

func TestProofsThatDoNotProveThisRequestAreRefused(t *testing.T) {
	w := newWorld(t)
	h, url := w.serveDirect(t, mcpserver.WithContextProofSecret(proofSecret))
	now := time.Now()
	acme := gatewayHeader("acme", "usr-alice")
	for _, tc := range []struct {
		name   string
		header func() http.Header
		want   string
		status int
	}{
		{"signed with another secret", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, []byte(strings.Repeat("k", 32)), "POST", "/mcp", h, contextproof.NewNonce(), now))
			return h
		}, "invalid_context_proof", 403},
		{"signed for acme, sent with globex's headers", func() http.Header {
			h := gatewayHeader("globex", "usr-alice")
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/mcp", acme, contextproof.NewNonce(), now))
			return h
		}, "invalid_context_proof", 403},
		{"signed without x-limits, sent with one added", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/mcp", h, contextproof.NewNonce(), now))
			h.Set(mcpserver.HeaderLimits, `{"requestsPerMinute":100000}`)
			return h
		}, "invalid_context_proof", 403},
		{"signed for another method", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "DELETE", "/mcp", h, contextproof.NewNonce(), now))
			return h
		}, "invalid_context_proof", 403},
		{"signed for another path", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/other", h, contextproof.NewNonce(), now))
			return h
		}, "invalid_context_proof", 403},
		{"signed two minutes ago", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/mcp", h, contextproof.NewNonce(), now.Add(-2*time.Minute)))
			return h
		}, "stale_context_proof", 403},
		{"garbage", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, "trust-me")
			return h
		}, "malformed_context_proof", 403},
		{"two proofs", func() http.Header {
			h := acme.Clone()
			p := signFor(t, proofSecret, "POST", "/mcp", h, contextproof.NewNonce(), now)
			h.Add(mcpserver.HeaderContextProof, p)
			h.Add(mcpserver.HeaderContextProof, p)
			return h
		}, "malformed_context_proof", 403},
		{"a decided header twice", func() http.Header {
			h := acme.Clone()
			h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/mcp", h, contextproof.NewNonce(), now))
			h.Add(mcpserver.HeaderDecidedRole, "arn:aws:iam::"+acct+":role/quilt-mcp-target-globex")
			return h
		}, "malformed_header", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := assumeRoles(w)
			resp, body := do(t, http.MethodPost, url, tc.header(), whoamiCall)
			if resp.StatusCode != tc.status || body["error"] != tc.want {
				t.Errorf("%d %v; want %d %s", resp.StatusCode, body, tc.status, tc.want)
			}
			if n := assumeRoles(w) - before; n != 0 {
				t.Errorf("%d AssumeRole calls reached STS", n)
			}
		})
	}
	if m := scrape(t, h); !strings.Contains(m, `sts_assume_role_total{result="ok"} 0`) {
		t.Errorf("an AssumeRole was made:\n%s", grepMetrics(m))
	}
}

// A proof is good for one request: the gateway's request replayed by whoever saw it in transit
// is refused, though everything in it is genuine.
func TestAReplayedProofIsRefused(t *testing.T) {
	w := newWorld(t)
	_, url := w.serveDirect(t, mcpserver.WithContextProofSecret(proofSecret))
	h := gatewayHeader("acme", "usr-alice")
	h.Set(mcpserver.HeaderContextProof, signFor(t, proofSecret, "POST", "/mcp", h, contextproof.NewNonce(), time.Now()))
	if resp, body := do(t, http.MethodPost, url, h, listTools); resp.StatusCode != http.StatusOK {
		t.Fatalf("the proven request: %d %v", resp.StatusCode, body)
	}
	if resp, body := do(t, http.MethodPost, url, h, listTools); resp.StatusCode != http.StatusForbidden || body["error"] != "replayed_context_proof" {
		t.Errorf("the replay: %d %v; want 403 replayed_context_proof", resp.StatusCode, body)
	}
}

func TestTheProofChoiceIsExplicit(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		opts []mcpserver.Option
		want string
	}{
		{"neither a secret nor WithoutContextProof", nil, "no context proof secret"},
		{"both", []mcpserver.Option{mcpserver.WithContextProofSecret(proofSecret), mcpserver.WithoutContextProof()}, "contradict"},
		{"a short secret", []mcpserver.Option{mcpserver.WithContextProofSecret([]byte("short"))}, "5 bytes"},
		{"a window over ten minutes", []mcpserver.Option{mcpserver.WithContextProofSecret(proofSecret), mcpserver.WithContextProofWindow(time.Hour)}, "WithContextProofWindow(1h0m0s)"},
	} {
		if _, err := mcpserver.New(w.awsCfg, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestTheCommandLineReadsTheSecretFromOneSource(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(string(proofSecret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		env   string // "" leaves the variable unset
		flags mcpserver.Flags
		want  string // "" for success
	}{
		{"the variable", string(proofSecret), mcpserver.Flags{}, ""},
		{"the file", "", mcpserver.Flags{ContextProofSecretFile: file}, ""},
		{"explicitly none", "", mcpserver.Flags{InsecureUnprovenContext: true}, ""},
		{"nothing", "", mcpserver.Flags{}, "no context proof secret"},
		{"both the variable and the file", string(proofSecret), mcpserver.Flags{ContextProofSecretFile: file}, "give the secret once"},
		{"none and a secret", string(proofSecret), mcpserver.Flags{InsecureUnprovenContext: true}, "give one or the other"},
		{"a short secret in the file", "", mcpserver.Flags{ContextProofSecretFile: short}, "--context-proof-secret-file " + short + ": context proof secret: 9 bytes"},
		{"a missing file", "", mcpserver.Flags{ContextProofSecretFile: filepath.Join(t.TempDir(), "nope")}, "--context-proof-secret-file"},
		{"a window of an hour", string(proofSecret), mcpserver.Flags{ContextProofWindow: time.Hour}, "--context-proof-window 1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(mcpserver.EnvContextProofSecret, tc.env)
			} else {
				t.Setenv(mcpserver.EnvContextProofSecret, "")
				os.Unsetenv(mcpserver.EnvContextProofSecret)
			}
			f := tc.flags
			f.Addr, f.Path, f.BucketTemplate, f.LogLevel = "127.0.0.1:0", "/mcp", mcpserver.DefaultBucketTemplate, "info"
			f.RequestTimeout, f.MaxObjectBytes = time.Second, 1024
			if f.ContextProofWindow == 0 {
				f.ContextProofWindow = time.Minute
			}
			_, err := f.Options(&strings.Builder{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Options: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Options = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
