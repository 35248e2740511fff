package framework

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// Finding is what a failed spec saw, for a deployment owner: why it failed, and, where the
// failure is Gomega's "Expected <actual> <matcher> <expected>", the answer seen and what was
// expected. The suites write their failure messages as "X answered Y: …", so the first line
// usually names the input sent as well; specs that record their input (Sent) add it.
type Finding struct {
	// Why is the failure message's first line (for Eventually, the line after "Timed out …").
	Why string
	// Seen and Expected are the actual value and the matcher with its expected value of a
	// Gomega failure ("403"; "to equal 401"), or empty.
	Seen, Expected string
	// More are the lines after the first that are not Gomega's block, at most maxMoreLines.
	More []string
	// Location is where the failure happened: folder/file.go:line.
	Location string
}

// Lines are the finding's lines as the report prints them, after Why.
func (f Finding) Lines() []string {
	out := append([]string(nil), f.More...)
	if f.Seen != "" || f.Expected != "" {
		out = append(out, "seen:     "+f.Seen, "expected: "+f.Expected)
	}
	return out
}

const (
	maxLineRunes = 240
	maxMoreLines = 4
)

// gomegaType is the "<int>: " Gomega puts before a formatted value.
var gomegaType = regexp.MustCompile(`^<[^>]*>: ?`)

// findingOf reads a failed spec's report.
func findingOf(sr types.SpecReport) Finding {
	f := Finding{}
	if loc := sr.Failure.Location; loc.FileName != "" {
		// The suite's folder and file: the kit's absolute build path says nothing to a reader.
		f.Location = fmt.Sprintf("%s/%s:%d", filepath.Base(filepath.Dir(loc.FileName)), filepath.Base(loc.FileName), loc.LineNumber)
	}
	msg := strings.TrimSpace(sr.Failure.Message)
	if sr.Failure.ForwardedPanic != "" && msg == "" {
		msg = "panic: " + sr.Failure.ForwardedPanic
	}
	lines := strings.Split(msg, "\n")
	timedOut := ""
	if len(lines) > 1 && (strings.HasPrefix(lines[0], "Timed out after") || strings.HasPrefix(lines[0], "Told to stop")) {
		timedOut, lines = lines[0], lines[1:]
	}
	rest := lines[1:]
	f.Why = lines[0]
	if f.Why == "Expected" { // no annotation: the block starts at once
		f.Why, rest = "", lines
	}
	if timedOut != "" {
		f.Why = strings.TrimSpace(f.Why + " (" + strings.TrimSuffix(timedOut, ".") + ")")
	}
	f.Why = clip(f.Why)
	for i, l := range rest {
		switch l {
		case "Expected":
			seen, j := indented(rest, i+1)
			if j < len(rest) {
				want, _ := indented(rest, j+1)
				f.Seen, f.Expected = seen, strings.TrimSpace(rest[j]+" "+want)
			}
		case "Unexpected error:":
			f.Seen, f.Expected = errorText(rest[i+1:]), "no error"
		default:
			continue
		}
		rest = rest[:i]
		break
	}
	for _, l := range rest {
		if l = strings.TrimSpace(l); l != "" && len(f.More) < maxMoreLines {
			f.More = append(f.More, clip(l))
		}
	}
	if f.Why == "" && f.Seen == "" {
		f.Why = "failed, with no message"
	}
	return f
}

// indented joins the value Gomega indents under "Expected" or a matcher, from line i, and
// returns the index of the first line after it.
func indented(lines []string, i int) (string, int) {
	var parts []string
	for ; i < len(lines) && strings.HasPrefix(lines[i], "    "); i++ {
		parts = append(parts, strings.TrimSpace(lines[i]))
	}
	if len(parts) == 0 {
		return "", i
	}
	parts[0] = gomegaType.ReplaceAllString(parts[0], "")
	v := strings.TrimSpace(strings.Join(parts, " "))
	if v == "" {
		v = `""`
	}
	return clip(v), i
}

// errorText is the error's text in Gomega's "Unexpected error:" block: after the "<*T | 0x…>: "
// line, up to the dump of the error's fields.
func errorText(lines []string) string {
	var parts []string
	for i, l := range lines {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		l = strings.TrimSpace(l)
		if i == 0 {
			l = gomegaType.ReplaceAllString(l, "")
		} else if strings.HasPrefix(l, "{") || strings.HasPrefix(l, "<") {
			break
		}
		if l != "" {
			parts = append(parts, l)
		}
	}
	return clip(strings.Join(parts, " "))
}

// clip keeps a line to maxLineRunes.
func clip(s string) string {
	if r := []rune(s); len(r) > maxLineRunes {
		return string(r[:maxLineRunes]) + "…"
	}
	return s
}

// firstLine is a message's first line, clipped.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return clip(s)
}

// entriesOf are the spec's report entries its outcome shows: Ginkgo's visibility rules (an
// entry marked for failures only shows on a failure; one marked never, never).
func entriesOf(sr types.SpecReport) []string {
	var out []string
	for _, e := range sr.ReportEntries {
		switch e.Visibility {
		case types.ReportEntryVisibilityNever:
			continue
		case types.ReportEntryVisibilityFailureOrVerbose:
			if !sr.State.Is(types.SpecStateFailureStates) {
				continue
			}
		}
		out = append(out, clip(e.Name+": "+strings.Join(strings.Fields(e.StringRepresentation()), " ")))
	}
	return out
}

// Sent records, in the running spec's report, an input the spec sent to the deployment
// (a request, a token's kind): the report shows it under the spec when it fails. Outside a
// running spec it does nothing.
func Sent(format string, args ...any) {
	if ginkgo.CurrentSpecReport().LeafNodeType == types.NodeTypeInvalid {
		return // not in a running spec: nowhere to record it
	}
	ginkgo.AddReportEntry("sent", fmt.Sprintf(format, args...), ginkgo.ReportEntryVisibilityFailureOrVerbose, ginkgo.Offset(1))
}

// GroupStatus says how a group's requirement fared.
type GroupStatus string

// Group statuses, worst first.
const (
	GroupFailed     GroupStatus = "FAILED"
	GroupKnown      GroupStatus = "known failure"
	GroupMet        GroupStatus = "met"
	GroupNotChecked GroupStatus = "not checked"
	GroupLeftOut    GroupStatus = "left out"
)

// Group is a unit of the report: a requirement and the results of its specs, or one of the last
// groups (Requirement nil): conformance specs the catalogue does not place, specs that check no
// requirement, and the run's own lines.
type Group struct {
	Requirement *Requirement
	// Name is the requirement's title, or what the last group holds.
	Name    string
	Results []Result
}

// The last groups' names.
const (
	unplacedGroup = "Conformance specs under no requirement (the catalogue in internal/scenarios/framework/requirements.go lacks them)"
	otherGroup    = "Other specs, not requirements of the pattern: the tutorial's illustrations, controls, further metrics"
	runGroup      = "The run itself: suite setup and the known-failures baseline"
)

// Status is how the group fared: FAILED when a spec failed or a baseline line went stale; known
// failure when every failure is in the baseline; met when a spec passed and none failed; not
// checked when every spec that ran skipped; left out when none ran (the label filter).
func (g Group) Status() GroupStatus {
	var failed, known, passed, skipped bool
	for _, r := range g.Results {
		switch {
		case r.Outcome == Failed || r.Outcome == Stale:
			failed = true
		case r.Outcome == Known:
			known = true
		case r.Outcome == Passed:
			passed = true
		case !r.LeftOut:
			skipped = true
		}
	}
	switch {
	case failed:
		return GroupFailed
	case known:
		return GroupKnown
	case passed:
		return GroupMet
	case skipped:
		return GroupNotChecked
	}
	return GroupLeftOut
}

// Groups sorts results into groups: the catalogue's requirements in its order (those with a
// result), then the specs under no requirement, then the run's own lines. Results keep their
// order within a group.
func Groups(results []Result) []Group {
	byRequirement := map[*Requirement][]Result{}
	var unplaced, other, run []Result
	for _, r := range results {
		switch {
		case r.Run:
			run = append(run, r)
		case r.Requirement != nil:
			byRequirement[r.Requirement] = append(byRequirement[r.Requirement], r)
		case r.Conformance:
			unplaced = append(unplaced, r)
		default:
			other = append(other, r)
		}
	}
	var groups []Group
	for i := range Requirements {
		req := &Requirements[i]
		if rs := byRequirement[req]; len(rs) > 0 {
			groups = append(groups, Group{Requirement: req, Name: req.Title, Results: rs})
		}
	}
	for _, g := range []Group{{Name: unplacedGroup, Results: unplaced}, {Name: otherGroup, Results: other}, {Name: runGroup, Results: run}} {
		if len(g.Results) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// Counts are the outcomes of a run, as the verdict line gives them.
type Counts map[Outcome]int

// CountResults counts the results by outcome.
func CountResults(results []Result) Counts {
	c := Counts{}
	for _, r := range results {
		c[r.Outcome]++
	}
	return c
}

// VerdictLine is the report's closing line, "PASS: N passed, …" (CI and the docs grep for it).
func VerdictLine(results []Result, ok bool) string {
	c := CountResults(results)
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %d passed, %d failed, %d skipped, %d known failures, %d stale baseline entries", verdict,
		c[Passed], c[Failed], c[Skipped], c[Known], c[Stale])
}

// RequirementsLine counts the requirements by status: "requirements: 30 met, 1 failed", and
// those with known failures only, not checked or left out, if any.
func RequirementsLine(groups []Group) string {
	n := map[GroupStatus]int{}
	for _, g := range groups {
		if g.Requirement != nil {
			n[g.Status()]++
		}
	}
	line := fmt.Sprintf("requirements: %d met, %d failed", n[GroupMet], n[GroupFailed])
	for _, extra := range []struct {
		status GroupStatus
		what   string
	}{{GroupKnown, "with known failures only"}, {GroupNotChecked, "not checked (every spec skipped)"}, {GroupLeftOut, "left out by the label filter"}} {
		if n[extra.status] > 0 {
			line += fmt.Sprintf(", %d %s", n[extra.status], extra.what)
		}
	}
	return line
}

// PrintReport writes the results grouped by requirement — each group headed by its status,
// requirement, ID and reference, then one line per spec (outcome, spec) and, under a spec that
// did not pass, why: for a failure its first line, the answer seen and what was expected, and
// what it recorded sending — then the requirements' tally and the verdict line.
func PrintReport(w io.Writer, results []Result, ok bool) {
	// The outcome column fits the outcomes present, but for the long stale one, which stands
	// out by its length.
	width := len("skipped") + 2
	for _, r := range results {
		if r.Outcome != Stale {
			width = max(width, len(r.Outcome)+2)
		}
	}
	pad := strings.Repeat(" ", width)
	groups := Groups(results)
	var leftOut []Group
	for _, g := range groups {
		if g.Status() == GroupLeftOut {
			leftOut = append(leftOut, g)
			continue
		}
		header(w, g)
		n := 0
		for _, r := range g.Results {
			if r.LeftOut {
				n++
				continue
			}
			fmt.Fprintf(w, "%-*s%s\n", max(width, len(r.Outcome)+2), r.Outcome, r.Spec)
			for _, l := range detailLines(r) {
				fmt.Fprintf(w, "%s%s\n", pad, l)
			}
		}
		if n > 0 {
			fmt.Fprintf(w, "%s(%d more left out by the label filter)\n", pad, n)
		}
		fmt.Fprintln(w)
	}
	if len(leftOut) > 0 {
		fmt.Fprintf(w, "== left out by the label filter: %s\n\n", leftOutList(leftOut))
	}
	fmt.Fprintln(w, RequirementsLine(groups))
	fmt.Fprintf(w, "\n%s\n", VerdictLine(results, ok))
}

// leftOutList names the groups the label filter left out whole, with their spec count.
func leftOutList(groups []Group) string {
	specs := 0
	var names []string
	for _, g := range groups {
		specs += len(g.Results)
		if g.Requirement != nil {
			names = append(names, g.Requirement.ID)
		} else {
			names = append(names, "other specs")
		}
	}
	return fmt.Sprintf("%d specs, under %s", specs, strings.Join(names, ", "))
}

func header(w io.Writer, g Group) {
	if g.Requirement == nil {
		fmt.Fprintf(w, "== %s\n", g.Name)
		return
	}
	ref := g.Requirement.Reference
	if g.Requirement.URL != "" {
		ref += " <" + g.Requirement.URL + ">"
	}
	fmt.Fprintf(w, "== %s · %s [%s]\n   %s\n", g.Status(), g.Requirement.Title, g.Requirement.ID, ref)
}

// detailLines are the lines under a result that did not pass.
func detailLines(r Result) []string {
	var out []string
	switch r.Outcome {
	case Passed:
	case Failed:
		if r.Finding.Why != "" {
			out = append(out, r.Finding.Why)
		}
		out = append(out, r.Finding.Lines()...)
	case Known:
		out = append(out, r.Reason)
	default:
		if r.Reason != "" {
			out = append(out, r.Reason)
		}
	}
	return append(out, r.Entries...)
}
