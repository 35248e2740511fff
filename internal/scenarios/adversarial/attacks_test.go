package adversarial

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
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
	jwk, pub, err := fetchPublishedKey(ctx, s.MCPURL(), v)
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

// The keyless forgeries, against the reference authorizer directly: each is denied as a token
// whose signature does not verify (or that has none), never for a claim, and each changes what
// its name says and nothing else, so the spec refuses what it names. (That a verifier which
// skips the signature takes them is shown by the weakened variants of internal/scenarios/all.)
func TestEachKeylessForgeryIsRefusedForItsSignature(t *testing.T) {
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
	bob, err := s.TokenFor(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bobToken, _ := parseToken(bob)
	bobSub, _ := bobToken.subject()
	a, err := startAttacker()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.srv.Close)
	f := forger{v: v, a: a, tenant: "acme", victimSub: bobSub, victimTenant: "globex"}
	original, _ := v.claimMap()
	parts := strings.Split(raw, ".")

	groups := map[string][]keylessForgery{"unsigned": unsigned, "other keys": otherKeys, "changed claims": changedClaims, "stripped": stripped}
	for group, forgeries := range groups {
		for _, kf := range forgeries {
			t.Run(group+"/"+kf.name, func(t *testing.T) {
				tok, err := kf.make(f)
				if err != nil {
					t.Fatal(err)
				}
				got := strings.Split(tok, ".")
				forged, err := parseToken(strings.Join(append(got[:2:2], ""), "."))
				if err != nil {
					t.Fatalf("the forgery is not a JWS's header and payload: %v", err)
				}
				claims, _ := forged.claimMap()
				changed := changedKeys(original, claims)
				switch group {
				case "unsigned":
					if alg, _ := forged.header["alg"].(string); !strings.EqualFold(alg, "none") || len(changed) > 0 {
						t.Errorf("alg %v, claims changed %v: want alg none and the claims unchanged", forged.header["alg"], changed)
					}
				case "other keys":
					if want := []string{"iss"}; strings.Contains(kf.name, "issuer") && (!slices.Equal(changed, want) || claims["iss"] != a.srv.URL) {
						t.Errorf("claims changed %v (iss %v); want iss alone, the attacker's issuer %s", changed, claims["iss"], a.srv.URL)
					} else if !strings.Contains(kf.name, "issuer") && len(changed) > 0 {
						t.Errorf("claims changed %v; want none", changed)
					}
					if len(got) != 3 || got[2] == "" || got[2] == parts[2] {
						t.Errorf("want a signature of its own: %q", tok)
					}
				case "changed claims":
					if len(got) != 3 || got[0] != parts[0] || got[2] != parts[2] {
						t.Errorf("the IdP's header and signature must stay: %q", tok)
					}
					want := map[string]string{"sub": "sub", "the tenant claim": "tenant", "aud": "aud", "exp": "exp"}
					for prefix, claim := range want {
						if strings.HasPrefix(kf.name, prefix) && !slices.Equal(changed, []string{claim}) {
							t.Errorf("claims changed %v; want %s alone", changed, claim)
						}
					}
				case "stripped":
					if got[0] != parts[0] || got[1] != parts[1] || (len(got) == 3 && got[2] != "") {
						t.Errorf("want the valid token's header and payload without a signature: %q", tok)
					}
				}
				d, err := s.Authorizer().Decide(ctx, authorizer.Request{RequestID: "forgery", Authorization: []string{"Bearer " + tok}})
				want := authorizer.ReasonInvalidSignature
				if len(got) < 3 {
					want = authorizer.ReasonMalformedToken // no signature part: not a JWS at all
				}
				if err != nil || d.Allow || d.Reason != want {
					t.Errorf("Decide = allow %v, reason %s (%s), %v; want a deny for the signature (%s)", d.Allow, d.Reason, d.Detail, err, want)
				}
			})
		}
	}
	if n := a.hits.Load(); n != 0 {
		t.Errorf("the authorizer made %d requests to the attacker's server", n)
	}
}

// changedKeys are the claims whose values differ between a and b, sorted.
func changedKeys(a, b map[string]any) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok || !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestVictimIsAnotherTenantsUserWhenThereIsOne(t *testing.T) {
	alice := fw.User{Name: "alice", Tenant: "acme"}
	subs := func(name string) (string, error) { return "sub-of-" + name, nil }
	for _, tc := range []struct {
		name        string
		users       []fw.User
		sub, tenant string
	}{
		{"a user of another tenant, even listed after one of the same tenant", []fw.User{alice, {Name: "dave", Tenant: "acme"}, {Name: "carol"}, {Name: "bob", Tenant: "globex"}}, "sub-of-bob", "globex"},
		{"a user of the same tenant, with a made-up tenant", []fw.User{alice, {Name: "dave", Tenant: "acme"}}, "sub-of-dave", "acme-forged"},
		{"made-up values when no other user is mapped", []fw.User{alice, {Name: "carol"}}, "mcpsso-forged-subject", "acme-forged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, tenant, err := victim(tc.users, alice, subs)
			if err != nil || sub != tc.sub || tenant != tc.tenant {
				t.Errorf("victim = %q, %q, %v; want %q, %q", sub, tenant, err, tc.sub, tc.tenant)
			}
		})
	}
}
