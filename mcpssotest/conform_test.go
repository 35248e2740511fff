package mcpssotest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

func TestConformOnTheReferenceServer(t *testing.T) {
	s := mcpssotest.Start(t)
	mcpssotest.Conform(t, s)
}

// childEnv makes TestConformChild, in a child process of this test binary, run one of the
// Conform calls whose failure the tests below check (Conform fails the test that calls it, so
// a failing call is watched from outside).
const childEnv = "MCPSSOTEST_TEST_CHILD"

func TestConformChild(t *testing.T) {
	// Outside a child it has nothing to do (and does not skip: a skip is for a missing tool).
	switch os.Getenv(childEnv) {
	case "stale":
		s := mcpssotest.Start(t)
		mcpssotest.Conform(t, s, mcpssotest.WithLabelFilter("auth"), mcpssotest.WithKnownFailures(filepath.Join("testdata", "stale-baseline.txt")))
	case "twice":
		s := mcpssotest.Start(t)
		mcpssotest.Conform(t, s, mcpssotest.WithLabelFilter("auth"))
		mcpssotest.Conform(t, s, mcpssotest.WithLabelFilter("auth"))
	}
}

// runChild runs TestConformChild in mode and returns its output; the child must fail.
func runChild(t *testing.T, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestConformChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child (%s) passed, want it to fail:\n%s", mode, out)
	}
	return string(out)
}

// A known-failures line that passes, or that matches no spec, fails the run: a baseline is
// exact or it fails.
func TestAStaleBaselineFailsTheTest(t *testing.T) {
	out := runChild(t, "stale")
	for _, want := range []string{
		"passed, but the known-failures baseline lists it (known-failures line 3",
		"matches no spec that ran",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
}

// Ginkgo runs its specs once per process: a second Conform says so instead of running nothing.
func TestASecondConformFailsAndSaysWhy(t *testing.T) {
	out := runChild(t, "twice")
	if !strings.Contains(out, "Conform already ran in this test binary") {
		t.Errorf("the child's output lacks the reason:\n%s", out)
	}
}
