package authorizer

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

// The standard-library path decodes tokens into reused buffers and claim maps: a verified
// token must hold copies of what it read, so that the next token, decoded into the same
// memory, cannot change it.
func TestVerifiedTokensKeepTheirValuesWhenBuffersAreReused(t *testing.T) {
	v := diffVerifier(t, WithRequiredScopes("read"))
	ctx := context.Background()
	tokenOf := func(i int) string {
		return sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(map[string]any{
			"sub": fmt.Sprintf("user-%03d", i), "email": fmt.Sprintf("u%03d@example.com", i),
			"tenant": fmt.Sprintf("t%03d", i), "scope": fmt.Sprintf("read s%03d", i),
			"agent_type": fmt.Sprintf("agent-%03d", i), "delegator_sub": fmt.Sprintf("d-%03d", i),
			"agent_capabilities": []string{fmt.Sprintf("c%03d", i)},
		}), "RS256", "rsa")
	}
	const n = 8
	var got, want [n]verifiedToken
	for i := range n {
		raw := tokenOf(i)
		var dn *denial
		if want[i], dn = v.verifyGeneral(ctx, raw); dn != nil {
			t.Fatalf("go-oidc's path denies token %d: %s", i, dn.detail)
		}
		if got[i], dn = v.verify(ctx, raw); dn != nil {
			t.Fatalf("token %d: %s", i, dn.detail)
		}
	}
	// Every token of the same length and shape went through the same buffers in turn.
	for i := range n {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("token %d after %d more verifications: %+v, want %+v", i, n-1-i, got[i], want[i])
		}
	}
}

// Authorizer.decide skips the b64token scan for tokens parseCompact takes: every one of them
// must be a b64token (RFC 6750 §2.1), or a malformed header would reach verification.
func FuzzCompactTokensAreB64Tokens(f *testing.F) {
	f.Add(sign(f, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(nil), "RS256", "rsa"))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30=.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e3 0.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2l+")
	f.Add("eyJhbGciOiJSUzI1NiJ9\r\n.e30.c2ln")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, ok := parseCompact(raw)
		tok.release()
		if ok {
			if dn := checkB64Token(raw); dn != nil {
				t.Errorf("parseCompact takes %q, which is not a b64token: %s", raw, dn.detail)
			}
		}
	})
}

// otherStore is a RoleStore that is not a StaticStore, for the general path.
type otherStore struct{ s *StaticStore }

func (o otherStore) Lookup(ctx context.Context, sub, tenant string) (Mapping, error) {
	return o.s.Lookup(ctx, sub, tenant)
}

// A StaticStore's tags are sorted once, when it is built: a decision lists them, the
// tenant's tag inserted in its place, exactly as from any other store.
func TestStaticStoreTagsAreListedAsAnyStoresAre(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/mcp-user"
	static, err := NewStaticStore(
		StoreEntry{Sub: "alice", Mapping: Mapping{RoleARN: role, Tags: map[string]string{"zeta": "1", "alpha": "2", "team": "x", "u": "3"}}},
		StoreEntry{Sub: "bob", Mapping: Mapping{RoleARN: role, Tags: map[string]string{"tenant": "acme", "b": "1", "a": "2"}}},
		StoreEntry{Sub: "carol", Mapping: Mapping{RoleARN: role}},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Tag{
		"alice": {{"alpha", "2"}, {"team", "x"}, {"tenant", "acme"}, {"u", "3"}, {"zeta", "1"}},
		"bob":   {{"a", "2"}, {"b", "1"}, {"tenant", "acme"}},
		"carol": {{"tenant", "acme"}},
	}
	for name, store := range map[string]RoleStore{"static": static, "other": otherStore{static}} {
		a := diffAuthorizer(t, WithRoleStore(store))
		for sub, tags := range want {
			raw := sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(map[string]any{"sub": sub}), "RS256", "rsa")
			d, err := a.Decide(context.Background(), Request{RequestID: "r", Authorization: []string{"Bearer " + raw}})
			if err != nil || !d.Allow {
				t.Fatalf("%s store, %s: %+v, %v", name, sub, d, err)
			}
			if !reflect.DeepEqual(d.Tags, tags) {
				t.Errorf("%s store, %s: tags %v, want %v", name, sub, d.Tags, tags)
			}
		}
	}
}

// smallUint reads dates without strconv: where it reads a number, strconv reads the same.
func FuzzSmallUintAsStrconv(f *testing.F) {
	for _, s := range []string{"0", "1796628353", "007", "-1", "1.5", "1e3", "999999999999999999", "9999999999999999999", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := smallUint(b)
		if !ok {
			return
		}
		want, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || n != want {
			t.Errorf("smallUint(%q) = %d; strconv: %d, %v", b, n, want, err)
		}
	})
}
