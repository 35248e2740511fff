package framework

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func spec(text string, state types.SpecState, msg string) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state, Failure: types.Failure{Message: msg}}
}

func TestVerdictAppliesTheBaseline(t *testing.T) {
	known, err := ParseKnownFailures("k", strings.NewReader("# comment\n\nsets the source identity -- mistake 2\nnever listed -- stale entry\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := types.Report{SpecReports: types.SpecReports{
		spec("passes", types.SpecStatePassed, ""),
		spec("sets the source identity", types.SpecStateFailed, "AccessDenied\nmore"),
		spec("fails", types.SpecStateFailed, "boom"),
		spec("skipped", types.SpecStateSkipped, "target lacks capability"),
	}}
	results, ok := Verdict(r, known)
	if ok {
		t.Fatal("an unexpected failure and a stale entry must fail the verdict")
	}
	got := map[string]Outcome{}
	for _, res := range results {
		got[res.Spec] = res.Outcome
	}
	want := map[string]Outcome{"passes": Passed, "sets the source identity": Known, "fails": Failed, "skipped": Skipped, "never listed": Stale}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	// A listed spec that passes is stale.
	r = types.Report{SpecReports: types.SpecReports{spec("sets the source identity", types.SpecStatePassed, "")}}
	if results, ok := Verdict(r, known[:1]); ok || results[0].Outcome != Stale {
		t.Fatalf("%v %v", results, ok)
	}
}

func TestKnownFailuresFileErrorsNameTheLine(t *testing.T) {
	for _, in := range []string{"no separator here", "([ -- bad regexp", "pattern -- "} {
		if _, err := ParseKnownFailures("f.txt", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "f.txt:1") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestLabelFiltersNameOnlyKnownLabels(t *testing.T) {
	for _, ok := range []string{"", "abac", "abac && !tutorial", "(trust || abac) && needs:cloudtrail"} {
		if err := CheckLabelFilter(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"abc", "needs:everything", "trust || tenancy"} {
		if err := CheckLabelFilter(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEntryLabelsMatchWhatItGivesASpec(t *testing.T) {
	if got, want := EntryText("reads", CapAWSAdmin, Spoofing), "reads [needs:"+string(CapAWSAdmin)+"] [spoofing]"; got != want {
		t.Errorf("EntryText = %q, want %q", got, want)
	}
	for _, bad := range []any{Label("tenancy"), Capability("everything"), "abac"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Labels(%#v) did not panic", bad)
				}
			}()
			Labels(bad)
		}()
	}
}
