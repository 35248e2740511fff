package framework

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// KnownFailure is one line of a known-failures file: specs whose full name matches Pattern are
// expected to fail, for Reason.
type KnownFailure struct {
	Pattern *regexp.Regexp
	Reason  string
	Line    int
}

// ParseKnownFailures reads a known-failures file: one entry per line, a regular expression
// matching the spec's full name, " -- ", and the reason it fails; blank lines and lines
// starting with # are ignored.
func ParseKnownFailures(name string, r io.Reader) ([]KnownFailure, error) {
	var out []KnownFailure
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pat, reason, ok := strings.Cut(line, " -- ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want \"<spec regexp> -- <reason>\"", name, n)
		}
		re, err := regexp.Compile(strings.TrimSpace(pat))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		out = append(out, KnownFailure{Pattern: re, Reason: strings.TrimSpace(reason), Line: n})
	}
	return out, sc.Err()
}

// Outcome of one spec after the known-failures baseline is applied.
type Outcome string

// Outcomes.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "FAILED"
	Skipped Outcome = "skipped"
	// KnownFailure: failed, and the baseline expects it to.
	Known Outcome = "known failure"
	// Stale: passed although the baseline lists it as failing; the baseline must be updated.
	Stale Outcome = "PASSED BUT LISTED AS A KNOWN FAILURE"
)

// Result is one spec's line in the summary.
type Result struct {
	Spec    string
	Outcome Outcome
	Reason  string
}

// Verdict applies the baseline to a report. ok is true when nothing failed unexpectedly and no
// listed failure passed; known-failure entries that match no spec at all are reported too.
func Verdict(r types.Report, known []KnownFailure) (results []Result, ok bool) {
	ok = true
	used := make([]bool, len(known))
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			if sr.State.Is(types.SpecStateFailureStates) {
				results = append(results, Result{Spec: sr.LeafNodeType.String() + " " + sr.LeafNodeText, Outcome: Failed, Reason: firstLine(sr.Failure.Message)})
				ok = false
			}
			continue
		}
		name := sr.FullText()
		k := -1
		for i, kf := range known {
			if kf.Pattern.MatchString(name) {
				k, used[i] = i, true
				break
			}
		}
		res := Result{Spec: name}
		switch {
		case sr.State == types.SpecStatePassed && k >= 0:
			res.Outcome, res.Reason, ok = Stale, fmt.Sprintf("known-failures line %d: %s", known[k].Line, known[k].Reason), false
		case sr.State == types.SpecStatePassed:
			res.Outcome = Passed
		case sr.State.Is(types.SpecStateFailureStates) && k >= 0:
			res.Outcome, res.Reason = Known, known[k].Reason+" (got: "+firstLine(sr.Failure.Message)+")"
		case sr.State.Is(types.SpecStateFailureStates):
			res.Outcome, res.Reason, ok = Failed, firstLine(sr.Failure.Message), false
		case sr.State == types.SpecStateSkipped:
			res.Outcome, res.Reason = Skipped, firstLine(sr.Failure.Message)
		default:
			res.Outcome, res.Reason = Skipped, sr.State.String()
		}
		results = append(results, res)
	}
	for i, kf := range known {
		if !used[i] && len(r.SpecReports) > 0 {
			results = append(results, Result{Spec: kf.Pattern.String(), Outcome: Stale,
				Reason: fmt.Sprintf("known-failures line %d matches no spec that ran", kf.Line)})
			ok = false
		}
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Spec < results[j].Spec })
	return results, ok
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

// PrintSummary writes the results as a table and a closing line.
func PrintSummary(w io.Writer, results []Result, ok bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "result\tspec\treason")
	counts := map[Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Outcome, r.Spec, r.Reason)
	}
	_ = tw.Flush()
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d skipped, %d known failures, %d stale baseline entries\n", verdict,
		counts[Passed], counts[Failed], counts[Skipped], counts[Known], counts[Stale])
}

// lastReport is the report of the latest run, captured by the suite-level reporter below.
var (
	reportMu   sync.Mutex
	lastReport types.Report
)

var _ = ginkgo.ReportAfterSuite("mcpsso verdict", func(r ginkgo.Report) {
	reportMu.Lock()
	defer reportMu.Unlock()
	lastReport = r
})

// failRecorder is the GinkgoTestingT of a run outside `go test`.
type failRecorder struct{ failed bool }

func (f *failRecorder) Fail() { f.failed = true }

// RunConfig configures a conformance run outside `go test`.
type RunConfig struct {
	LabelFilter string
	JUnitReport string
	Verbose     bool
}

// RunAll runs every spec linked into the binary against t (already current) and returns the
// report. It can run once per process (Ginkgo's rule).
func RunAll(t Target, cfg RunConfig) (types.Report, error) {
	if err := CheckLabelFilter(cfg.LabelFilter); err != nil {
		return types.Report{}, err
	}
	SetCurrent(t)
	gomega.RegisterFailHandler(ginkgo.Fail)
	suite, reporter := ginkgo.GinkgoConfiguration()
	suite.LabelFilter = cfg.LabelFilter
	reporter.JUnitReport = cfg.JUnitReport
	reporter.Succinct = !cfg.Verbose
	reporter.Verbose = cfg.Verbose
	reporter.NoColor = true
	var rec failRecorder
	ginkgo.RunSpecs(&rec, "mcpsso conformance", suite, reporter)
	reportMu.Lock()
	defer reportMu.Unlock()
	return lastReport, nil
}
