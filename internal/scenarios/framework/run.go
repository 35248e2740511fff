package framework

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"

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

// Result is one spec's line in the report.
type Result struct {
	Spec    string
	Outcome Outcome
	Reason  string
	// Requirement is the requirement the spec checks; nil for a spec without the conformance
	// label, one the catalogue does not place, and the run's own lines (a failed BeforeSuite,
	// a stale baseline line).
	Requirement *Requirement
	// Conformance: the spec carries the conformance label.
	Conformance bool
	// LeftOut: the spec did not run at all, left out by the label filter.
	LeftOut bool
	// Run: the line is about the run itself, not a spec: a failed suite node (BeforeSuite, …)
	// or a known-failures line that matched no spec.
	Run bool
	// Finding is what a failed spec saw, taken from its failure message and report entries.
	Finding Finding
	// Entries are the spec's report entries shown for its outcome, as "name: value".
	Entries []string
}

// Verdict applies the baseline to a report. ok is true when nothing failed unexpectedly and no
// listed failure passed; known-failure entries that match no spec at all are reported too.
func Verdict(r types.Report, known []KnownFailure) (results []Result, ok bool) {
	ok = true
	used := make([]bool, len(known))
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			if sr.State.Is(types.SpecStateFailureStates) {
				f := findingOf(sr)
				results = append(results, Result{Spec: sr.LeafNodeType.String() + " " + sr.LeafNodeText, Outcome: Failed, Reason: f.Why, Finding: f, Run: true})
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
		res := Result{Spec: name, Requirement: RequirementOf(sr), Conformance: IsConformance(sr),
			LeftOut: sr.State == types.SpecStateSkipped && sr.NumAttempts == 0, Entries: entriesOf(sr)}
		switch {
		case sr.State == types.SpecStatePassed && k >= 0:
			res.Outcome, res.Reason, ok = Stale, fmt.Sprintf("known-failures line %d: %s", known[k].Line, known[k].Reason), false
		case sr.State == types.SpecStatePassed:
			res.Outcome = Passed
		case sr.State.Is(types.SpecStateFailureStates) && k >= 0:
			res.Finding = findingOf(sr)
			res.Outcome, res.Reason = Known, known[k].Reason+" (got: "+res.Finding.Why+")"
		case sr.State.Is(types.SpecStateFailureStates):
			res.Finding = findingOf(sr)
			res.Outcome, res.Reason, ok = Failed, res.Finding.Why, false
		case sr.State == types.SpecStateSkipped:
			res.Outcome, res.Reason = Skipped, firstLine(sr.Failure.Message)
		default:
			res.Outcome, res.Reason = Skipped, sr.State.String()
		}
		results = append(results, res)
	}
	for i, kf := range known {
		if !used[i] && len(r.SpecReports) > 0 {
			results = append(results, Result{Spec: kf.Pattern.String(), Outcome: Stale, Run: true,
				Reason: fmt.Sprintf("known-failures line %d matches no spec that ran", kf.Line)})
			ok = false
		}
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Spec < results[j].Spec })
	return results, ok
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
	Verbose     bool
	// Specs, when not nil, are the full names (types.SpecReport.FullText) of the only specs to
	// run; the others are reported skipped without running.
	Specs []string
	// DryRun walks the specs without running any, to list them (Ginkgo's --dry-run).
	DryRun bool
	// Silent prints no progress at all (the report is the caller's to print).
	Silent bool
}

// runDescription is the suite's description, the first word of the text Ginkgo matches a focus
// against.
const runDescription = "mcpsso conformance"

// focusOn is a Ginkgo focus that matches exactly the specs named.
func focusOn(specs []string) string {
	quoted := make([]string, len(specs))
	for i, s := range specs {
		quoted[i] = regexp.QuoteMeta(s)
	}
	// No spec at all must still run nothing: a pattern that matches no name.
	if len(quoted) == 0 {
		return `^\z.`
	}
	return "^" + regexp.QuoteMeta(runDescription) + " (?:" + strings.Join(quoted, "|") + ")$"
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
	reporter.Succinct = !cfg.Verbose
	reporter.Verbose = cfg.Verbose
	reporter.NoColor = true
	if cfg.Specs != nil {
		suite.FocusStrings = []string{focusOn(cfg.Specs)}
	}
	suite.DryRun = cfg.DryRun
	if cfg.Silent {
		reporter.Succinct, reporter.Verbose, reporter.SilenceSkips = true, false, true
	}
	var rec failRecorder
	ginkgo.RunSpecs(&rec, runDescription, suite, reporter)
	reportMu.Lock()
	defer reportMu.Unlock()
	return lastReport, nil
}
