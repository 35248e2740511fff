package framework_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// The specs below are declared through fw's wrappers on the lines recorded next to them; a
// failing spec's report must name those lines, not the framework's.
var (
	_, thisFile, _, _ = runtime.Caller(0)
	describeLine      = line()
	_                 = fw.Describe("located", fw.Bootstrap, func() {
		itLine = line()
		fw.It("by It", func() {})
		conformanceLine = line()
		fw.ConformanceIt("by ConformanceIt", func() {})
	})
	itLine, conformanceLine int
)

func line() int {
	_, _, l, _ := runtime.Caller(1)
	return l + 1 // the declaration follows the call
}

// bareTarget offers nothing; the specs above need nothing.
type bareTarget struct{ fw.NullTarget }

func (bareTarget) Name() string                                  { return "bare" }
func (bareTarget) MCPURL() string                                { return "" }
func (bareTarget) Users() []fw.User                              { return nil }
func (bareTarget) Token(context.Context, string) (string, error) { return "", fw.ErrNotSupported }
func (bareTarget) Capabilities() []fw.Capability                 { return nil }

func TestSpecsReportTheirOwnLine(t *testing.T) {
	gomega.RegisterTestingT(t)
	fw.SetCurrent(bareTarget{})
	got := map[string]types.CodeLocation{}
	ginkgo.ReportAfterEach(func(r ginkgo.SpecReport) {
		got[r.LeafNodeText] = r.LeafNodeLocation
		got["container"] = r.ContainerHierarchyLocations[0]
	})
	ginkgo.RunSpecs(t, "locations")
	for name, want := range map[string]int{"by It": itLine, "by ConformanceIt [conformance]": conformanceLine, "container": describeLine} {
		loc, ok := got[name]
		if !ok {
			t.Errorf("no report for %q (have %v)", name, got)
			continue
		}
		if filepath.Base(loc.FileName) != filepath.Base(thisFile) || loc.LineNumber != want {
			t.Errorf("%s: reported at %s:%d, want %s:%d", name, loc.FileName, loc.LineNumber, filepath.Base(thisFile), want)
		}
	}
}
