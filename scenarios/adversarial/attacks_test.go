package adversarial

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/harness/stack"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// The table's tokens, against the reference authorizer directly: each is denied for its
// signature (invalid_signature: an algorithm not allowed, or a kid it does not know), not
// because it is malformed or its claims are wrong — so the specs refuse what they name, and a
// verifier with the weakness would take them: the alg-confusion tokens are correct HS256 over
// the public key's bytes, and the other tokens carry the valid token's claims unchanged.
func TestEachAttackIsRefusedForItsSignature(t *testing.T) {
	ctx := context.Background()
	s, err := stack.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	raw, err := s.TokenFor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	jwk, pub, err := fetchPublishedKey(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	a, err := startAttacker()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.srv.Close)
	if d, err := s.Authorizer().Decide(ctx, authorizer.Request{RequestID: "control", Authorization: []string{"Bearer " + raw}}); err != nil || !d.Allow {
		t.Fatalf("the valid token itself: %+v %v", d, err)
	}
	for group, attacks := range map[string][]tokenAttack{"alg confusion": algConfusion, "kid injection": kidInjection, "named keys": namedKeys} {
		for _, at := range attacks {
			t.Run(group+"/"+at.name, func(t *testing.T) {
				tok, err := at.make(v, a, jwk, pub)
				if err != nil {
					t.Fatal(err)
				}
				parts := strings.Split(tok, ".")
				if len(parts) != 3 || parts[1] != strings.Split(raw, ".")[1] {
					t.Fatalf("the attack changed the claims or the shape: %q", tok)
				}
				if group == "alg confusion" {
					key, _ := keyEncoding(at.name, jwk, pub)
					m := hmac.New(sha256.New, key)
					m.Write([]byte(parts[0] + "." + parts[1]))
					if got, _ := b64.DecodeString(parts[2]); !hmac.Equal(got, m.Sum(nil)) {
						t.Fatal("not a valid HS256 signature with the public key's bytes: no verifier would take it, the spec would prove nothing")
					}
				}
				d, err := s.Authorizer().Decide(ctx, authorizer.Request{RequestID: "attack", Authorization: []string{"Bearer " + tok}})
				if err != nil || d.Allow || d.Reason != authorizer.ReasonInvalidSignature {
					t.Errorf("Decide = allow %v, reason %s (%s), %v; want a deny for the signature (%s)", d.Allow, d.Reason, d.Detail, err, authorizer.ReasonInvalidSignature)
				}
			})
		}
	}
	if n := a.hits.Load(); n != 0 {
		t.Errorf("the authorizer made %d requests to the attacker's server", n)
	}
}
