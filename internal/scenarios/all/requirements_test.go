package all_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// TestEveryConformanceSpecHasOneRequirement walks the registered suites' spec tree without
// running a spec (Ginkgo's preview, on a copy of the tree, so Example_spec's run later in this
// process is unaffected) and checks the requirement catalogue against it: every spec labelled
// conformance is under exactly one requirement, and every requirement has a spec. A new spec
// fails here until it is placed in internal/scenarios/framework/requirements.go.
func TestEveryConformanceSpecHasOneRequirement(t *testing.T) {
	report := ginkgo.PreviewSpecs("mcpsso conformance (preview)")
	its, conformance := 0, 0
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			its++
			if fw.IsConformance(sr) {
				conformance++
			}
		}
	}
	if conformance == 0 {
		t.Fatalf("the preview holds %d specs and none labelled conformance: the suites are not registered", its)
	}
	if err := fw.CheckPlacement(report); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d specs, %d of them conformance specs, each under one of %d requirements", its, conformance, len(fw.Requirements))
}
