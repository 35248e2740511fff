package authorizer_test

import (
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestOnlyOKIsAnAllow guards the outcome table: every reason but ok denies, and a reason the
// table does not know is forbidden, never allowed.
func TestOnlyOKIsAnAllow(t *testing.T) {
	seen := map[authorizer.Reason]bool{}
	for _, r := range authorizer.Reasons() {
		if seen[r] {
			t.Errorf("reason %s is listed twice", r)
		}
		seen[r] = true
		if (r.Outcome() == authorizer.Allowed) != (r == authorizer.ReasonOK) {
			t.Errorf("reason %s has outcome %s", r, r.Outcome())
		}
		d := authorizer.Decision{Reason: r, Allow: r == authorizer.ReasonOK}
		if c := d.Context(); c["authStatus"] != string(r) {
			t.Errorf("reason %s: authStatus %v", r, c["authStatus"])
		}
	}
	if o := authorizer.Reason("something_new").Outcome(); o != authorizer.Forbidden {
		t.Errorf("an unknown reason has outcome %s, want forbidden", o)
	}
}
