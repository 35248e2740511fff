package contextproof_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	t0     = time.Unix(1_790_000_000, 0)
	ctx    = contextproof.Context{Method: "POST", Path: "/mcp",
		DecidedRole: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", SourceIdentity: "usr-alice",
		SessionTags: `[{"Key":"tenant","Value":"acme"}]`, Limits: `{"requestsPerMinute":120,"sessionSeconds":900}`}
	nonce = "9f86d081884c7d65"
)

func key(t *testing.T, s []byte) *contextproof.Key {
	t.Helper()
	k, err := contextproof.NewKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, k *contextproof.Key, c contextproof.Context, at time.Time) string {
	t.Helper()
	p, err := k.Sign(c, nonce, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func reason(err error) contextproof.Reason {
	var e *contextproof.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestAProofVerifiesForTheContextItWasSignedFor(t *testing.T) {
	k := key(t, secret)
	value := sign(t, k, ctx, t0)
	if !strings.HasPrefix(value, "v1.1790000000."+nonce+".") {
		t.Errorf("proof %q: want v1.<seconds>.<nonce>.<signature>", value)
	}
	p, err := k.Verify(value, ctx, t0.Add(59*time.Second), contextproof.DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	if p.Nonce != nonce || !p.Issued.Equal(t0) {
		t.Errorf("proof = %+v", p)
	}
}

// The canonical form is fixed: a third-party server that implements the documented algorithm
// must get this very signature (computed with Python's hmac module from the package doc alone).
func TestTheSignatureFollowsTheDocumentedCanonicalForm(t *testing.T) {
	got := sign(t, key(t, secret), ctx, t0)
	const want = "v1.1790000000.9f86d081884c7d65.dZPJmNQlvgCl8mmllzGpGepoxFU0bG8IglF_UHzXX7M"
	if got != want {
		t.Errorf("proof = %s, want %s (the wire format changed: third-party servers would refuse every request)", got, want)
	}
}

func TestEveryChangeToTheSignedContextIsRefused(t *testing.T) {
	k := key(t, secret)
	value := sign(t, k, ctx, t0)
	for name, mutate := range map[string]func(c *contextproof.Context){
		"another role":            func(c *contextproof.Context) { c.DecidedRole = strings.Replace(c.DecidedRole, "acme", "globex", 1) },
		"another source identity": func(c *contextproof.Context) { c.SourceIdentity = "usr-bob" },
		"another tenant tag":      func(c *contextproof.Context) { c.SessionTags = `[{"Key":"tenant","Value":"globex"}]` },
		"other limits":            func(c *contextproof.Context) { c.Limits = `{"requestsPerMinute":100000}` },
		"limits dropped":          func(c *contextproof.Context) { c.Limits = "" },
		"another method":          func(c *contextproof.Context) { c.Method = "DELETE" },
		"another path":            func(c *contextproof.Context) { c.Path = "/mcp/" },
		// Moving bytes between two fields keeps their concatenation: the lengths tell them apart.
		"bytes moved between fields": func(c *contextproof.Context) {
			c.SourceIdentity, c.SessionTags = c.SourceIdentity+c.SessionTags[:1], c.SessionTags[1:]
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := ctx
			mutate(&c)
			if _, err := k.Verify(value, c, t0, contextproof.DefaultWindow); reason(err) != contextproof.ReasonInvalid {
				t.Errorf("Verify = %v, want %s", err, contextproof.ReasonInvalid)
			}
		})
	}
}

func TestProofsThatCannotBeTrustedAreRefusedWithTheirReason(t *testing.T) {
	k := key(t, secret)
	good := sign(t, k, ctx, t0)
	parts := strings.Split(good, ".")
	other := key(t, []byte(strings.Repeat("x", 32)))
	for _, tc := range []struct {
		name, value string
		at          time.Time
		want        contextproof.Reason
	}{
		{"no proof at all", "", t0, contextproof.ReasonMissing},
		{"signed with another secret", sign(t, other, ctx, t0), t0, contextproof.ReasonInvalid},
		{"a signature from another proof", parts[0] + "." + parts[1] + "." + parts[2] + "." + strings.Split(sign(t, k, ctx, t0.Add(time.Second)), ".")[3], t0, contextproof.ReasonInvalid},
		{"the time moved", parts[0] + ".1790000001." + parts[2] + "." + parts[3], t0, contextproof.ReasonInvalid},
		{"the nonce changed", parts[0] + "." + parts[1] + ".9f86d081884c7d66." + parts[3], t0, contextproof.ReasonInvalid},
		{"older than the window", good, t0.Add(61 * time.Second), contextproof.ReasonStale},
		{"from further ahead than the window", good, t0.Add(-61 * time.Second), contextproof.ReasonStale},
		{"another version", "v2." + parts[1] + "." + parts[2] + "." + parts[3], t0, contextproof.ReasonMalformed},
		{"a part missing", parts[0] + "." + parts[1] + "." + parts[3], t0, contextproof.ReasonMalformed},
		{"a part too many", good + ".x", t0, contextproof.ReasonMalformed},
		{"a time with a sign", parts[0] + ".+1790000000." + parts[2] + "." + parts[3], t0, contextproof.ReasonMalformed},
		{"a time with a leading zero", parts[0] + ".01790000000." + parts[2] + "." + parts[3], t0, contextproof.ReasonMalformed},
		{"a time of 13 digits", parts[0] + ".1790000000000." + parts[2] + "." + parts[3], t0, contextproof.ReasonMalformed},
		{"a short nonce", parts[0] + "." + parts[1] + ".abc." + parts[3], t0, contextproof.ReasonMalformed},
		{"a nonce with a character outside A-Z a-z 0-9 _ -", parts[0] + "." + parts[1] + ".9f86d081884c7d6=." + parts[3], t0, contextproof.ReasonMalformed},
		{"a padded signature", good + "=", t0, contextproof.ReasonMalformed},
		{"standard base64 instead of base64url", parts[0] + "." + parts[1] + "." + parts[2] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[3]), t0, contextproof.ReasonMalformed},
		{"a truncated signature", good[:len(good)-2], t0, contextproof.ReasonMalformed},
		{"a huge value", strings.Repeat("v", 4096), t0, contextproof.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Verify(tc.value, ctx, tc.at, contextproof.DefaultWindow)
			if got := reason(err); got != tc.want {
				t.Errorf("Verify(%q) = %v, want %s", tc.value, err, tc.want)
			}
		})
	}
}

func TestSecretsAreAtLeast256Bits(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{strings.Repeat("a", 31), "31 bytes"},
		{"", "0 bytes"},
		{strings.Repeat("a", 32) + "\x00", "non-printable"},
		{strings.Repeat("a", contextproof.MaxSecretBytes+1), "4097 bytes"},
	} {
		if _, err := contextproof.ParseSecret(tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSecret(%.40q) = %v, want an error naming %q", tc.text, err, tc.want)
		}
	}
	got, err := contextproof.ParseSecret("  " + string(secret) + "\n")
	if err != nil || string(got) != string(secret) {
		t.Errorf("ParseSecret of a file's text = %q, %v: surrounding whitespace must go", got, err)
	}
	if s, err := contextproof.ParseSecret(contextproof.NewSecret()); err != nil || len(s) != 64 {
		t.Errorf("NewSecret does not parse: %q %v", s, err)
	}
	if _, err := contextproof.NewKey(secret[:31]); err == nil {
		t.Error("NewKey took a 31-byte secret")
	}
}

func TestSignRefusesANonceVerifyWouldRefuse(t *testing.T) {
	k := key(t, secret)
	for _, n := range []string{"", "short", strings.Repeat("a", 129), "has a space in it!", "dots.are.separators"} {
		if _, err := k.Sign(ctx, n, t0); err == nil {
			t.Errorf("Sign with nonce %q succeeded", n)
		}
	}
	if n := contextproof.NewNonce(); !contextproof.ValidNonce(n) {
		t.Errorf("NewNonce %q is not a valid nonce", n)
	}
}

func TestTheReplayGuardAcceptsEachProofOnce(t *testing.T) {
	k := key(t, secret)
	g := contextproof.NewReplayGuard(0)
	p, err := k.Verify(sign(t, k, ctx, t0), ctx, t0, contextproof.DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(p, contextproof.DefaultWindow, t0); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := g.Admit(p, contextproof.DefaultWindow, t0.Add(59*time.Second)); reason(err) != contextproof.ReasonReplayed {
		t.Errorf("second use = %v, want %s", err, contextproof.ReasonReplayed)
	}
	// Once the proof can no longer verify, its nonce is forgotten.
	if err := g.Admit(contextproof.Proof{Issued: t0.Add(5 * time.Minute), Nonce: "another-nonce-0001"}, contextproof.DefaultWindow, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := g.Len(); n != 1 {
		t.Errorf("the guard remembers %d nonces, want 1 (the expired one forgotten)", n)
	}
}

func TestAFullReplayGuardRefusesRatherThanForget(t *testing.T) {
	g := contextproof.NewReplayGuard(2)
	for i, n := range []string{"nonce-number-0001", "nonce-number-0002"} {
		if err := g.Admit(contextproof.Proof{Issued: t0, Nonce: n}, time.Minute, t0); err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
	if err := g.Admit(contextproof.Proof{Issued: t0, Nonce: "nonce-number-0003"}, time.Minute, t0); reason(err) != contextproof.ReasonFull {
		t.Errorf("third proof = %v, want %s", err, contextproof.ReasonFull)
	}
	if err := g.Admit(contextproof.Proof{Issued: t0.Add(2 * time.Minute), Nonce: "nonce-number-0003"}, time.Minute, t0.Add(2*time.Minute)); err != nil {
		t.Errorf("after the first two expired: %v", err)
	}
}
