package baselines

import (
	"testing"

	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

func TestEveryShippedBaselineParses(t *testing.T) {
	for _, name := range Names() {
		r, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		known, err := framework.ParseKnownFailures(name, r)
		r.Close()
		if err != nil || len(known) == 0 {
			t.Fatalf("%s: %d entries, %v", name, len(known), err)
		}
	}
	if _, err := Open("nope"); err == nil {
		t.Fatal("an unknown baseline opened")
	}
}
