package contextproof_test

import (
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// FuzzVerify feeds the header parser what reaches the MCP server's port: it must never panic,
// and it may accept nothing but a proof that signs exactly the context given.
func FuzzVerify(f *testing.F) {
	k, err := contextproof.NewKey(secret)
	if err != nil {
		f.Fatal(err)
	}
	good, err := k.Sign(ctx, nonce, t0)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, "", "v1", "v1...", "v1.0.0000000000000000.", good + "=", "v1.1790000000." + nonce + ".AAAA"} {
		f.Add(seed, "arn:aws:iam::111122223333:role/quilt-mcp-target-acme")
	}
	f.Fuzz(func(t *testing.T, value, role string) {
		c := ctx
		c.DecidedRole = role
		p, err := k.Verify(value, c, t0, time.Minute)
		if err != nil {
			return
		}
		want, err := k.Sign(c, p.Nonce, p.Issued)
		if err != nil || want != value {
			t.Fatalf("Verify accepted %q for role %q, which signs as %q (%v)", value, role, want, err)
		}
	})
}
