package framework

import (
	"encoding/xml"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// WriteJUnit writes the run to path as JUnit XML: Ginkgo's test case of each spec (name, time,
// failure text, output), regrouped as one <testsuite> per requirement group, named by the
// requirement's ID and title, in the report's order; each test case's classname is the
// requirement's ID and its properties carry the requirement, its reference and the outcome. The
// cases are judged by the baseline as the verdict is: a known failure is <skipped> with the
// baseline's reason, and a spec that passes although the baseline lists it is a <failure>, so a
// CI test viewer agrees with the exit status. A last suite, "run", holds the suite nodes and
// Ginkgo's run properties (seed, label filter).
func WriteJUnit(path string, r types.Report, results []Result) error {
	// Ginkgo renders the cases; they are read back and regrouped.
	if err := reporters.GenerateJUnitReportWithConfig(r, path, reporters.JunitReportConfig{}); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ginkgoSuites reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &ginkgoSuites); err != nil {
		return fmt.Errorf("reading back Ginkgo's JUnit report %s: %w", path, err)
	}
	if len(ginkgoSuites.TestSuites) != 1 || len(ginkgoSuites.TestSuites[0].TestCases) != len(r.SpecReports) {
		return fmt.Errorf("the JUnit report Ginkgo wrote to %s has not one case per spec report", path)
	}
	ginkgoSuite := ginkgoSuites.TestSuites[0]
	cases := ginkgoSuite.TestCases

	// The cases of It specs, by full text (what results name); suite nodes go to the run suite.
	byName := map[string][]int{}
	for i, sr := range r.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			byName[sr.FullText()] = append(byName[sr.FullText()], i)
		}
	}
	placed := make([]bool, len(cases))
	var suites []reporters.JUnitTestSuite
	run := reporters.JUnitTestSuite{Name: "run: " + runGroup, Properties: ginkgoSuite.Properties}
	for _, g := range Groups(results) {
		id, props := groupIdentity(g)
		suite := reporters.JUnitTestSuite{Name: id + ": " + g.Name, Properties: reporters.JUnitProperties{Properties: props}}
		for _, res := range g.Results {
			if res.Run && res.Outcome == Stale {
				// A baseline line that matched no spec: a case of its own, failed.
				run.TestCases = append(run.TestCases, reporters.JUnitTestCase{Name: "known-failures line: " + res.Spec, Classname: "run",
					Status: string(Stale), Failure: &reporters.JUnitFailure{Message: res.Reason, Type: "stale baseline entry"}})
				continue
			}
			for _, i := range byName[res.Spec] {
				if placed[i] {
					continue
				}
				placed[i] = true
				suite.TestCases = append(suite.TestCases, judged(cases[i], res, id, props))
			}
		}
		if len(suite.TestCases) > 0 {
			suites = append(suites, suite)
		}
	}
	for i, c := range cases {
		if !placed[i] {
			c.Classname = "run"
			run.TestCases = append(run.TestCases, c)
		}
	}
	suites = append(suites, run)

	out := reporters.JUnitTestSuites{Time: ginkgoSuites.Time}
	for i := range suites {
		s := &suites[i]
		s.Package, s.Timestamp = ginkgoSuite.Package, ginkgoSuite.Timestamp
		for _, c := range s.TestCases {
			s.Tests++
			s.Time += c.Time
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil && c.Skipped.Message == "pending":
				s.Disabled++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Disabled += s.Disabled + s.Skipped
	}
	out.TestSuites = suites
	x, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(x, '\n')...), 0o644)
}

// groupIdentity is the short ID of a group (the requirement's, or what the last groups hold)
// and its properties.
func groupIdentity(g Group) (string, []reporters.JUnitProperty) {
	if req := g.Requirement; req != nil {
		props := []reporters.JUnitProperty{{Name: "requirement", Value: req.ID}, {Name: "requirement_title", Value: req.Title},
			{Name: "reference", Value: req.Reference}}
		if req.URL != "" {
			props = append(props, reporters.JUnitProperty{Name: "reference_url", Value: req.URL})
		}
		return req.ID, append(props, reporters.JUnitProperty{Name: "requirement_status", Value: string(g.Status())})
	}
	switch g.Name {
	case unplacedGroup:
		return "unplaced", []reporters.JUnitProperty{{Name: "requirement", Value: "none (a conformance spec the catalogue does not place)"}}
	case runGroup:
		return "run", nil
	}
	return "other", []reporters.JUnitProperty{{Name: "requirement", Value: "none (not a conformance spec)"}}
}

// judged is a Ginkgo test case with the requirement's properties and the baseline's judgment.
func judged(c reporters.JUnitTestCase, res Result, id string, props []reporters.JUnitProperty) reporters.JUnitTestCase {
	c.Classname = id
	own := []reporters.JUnitProperty{}
	for _, p := range props {
		if p.Name != "requirement_status" {
			own = append(own, p)
		}
	}
	own = append(own, reporters.JUnitProperty{Name: "outcome", Value: string(res.Outcome)})
	if c.Properties != nil {
		own = append(own, c.Properties.Properties...) // the spec's report entries
	}
	c.Properties = &reporters.JUnitProperties{Properties: own}
	switch res.Outcome {
	case Known:
		c.Status, c.Failure, c.Error = string(Known), nil, nil
		c.Skipped = &reporters.JUnitSkipped{Message: "known failure: " + res.Reason}
	case Stale:
		c.Status = string(Stale)
		c.Failure = &reporters.JUnitFailure{Message: res.Reason, Type: "stale baseline entry",
			Description: "the spec passed, but the known-failures baseline lists it as failing: remove or fix the line"}
	}
	return c
}
