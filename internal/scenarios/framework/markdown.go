package framework

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// The emoji and word a Markdown summary shows for an outcome, and for a group's status.
var (
	outcomeMark = map[Outcome]string{
		Passed:  "✅ passed",
		Failed:  "❌ FAILED",
		Skipped: "⏭️ skipped",
		Known:   "⚠️ known failure",
		Stale:   "❌ passed, but listed as a known failure",
	}
	statusMark = map[GroupStatus]string{
		GroupMet:        "✅ met",
		GroupFailed:     "❌ FAILED",
		GroupKnown:      "⚠️ known failure",
		GroupNotChecked: "⏭️ not checked",
		GroupLeftOut:    "➖ left out",
	}
)

// WriteMarkdown writes the results as a Markdown summary fit for a CI job summary (GitHub's
// $GITHUB_STEP_SUMMARY): the verdict and counts, then a table per requirement group — groups
// with failures first, open, each failure's details (why, the answer seen, what was expected,
// what was sent, where) in a <details>; the other groups folded, those with known failures first. about says what ran against
// what (the target, its MCP URL, the time taken).
func WriteMarkdown(w io.Writer, about string, results []Result, ok bool) error {
	var b strings.Builder
	verdict := "✅ PASS"
	if !ok {
		verdict = "❌ FAIL"
	}
	groups := Groups(results)
	fmt.Fprintf(&b, "## mcpsso conform: %s\n\n", verdict)
	if about != "" {
		fmt.Fprintf(&b, "%s\n\n", inline(about))
	}
	fmt.Fprintf(&b, "**%s**\n\n", inline(VerdictLine(results, ok)))
	fmt.Fprintf(&b, "%s\n\n", inline(upperFirst(RequirementsLine(groups))))

	// Failures first, then known failures, then the rest in catalogue order.
	rank := func(g Group) int {
		switch g.Status() {
		case GroupFailed:
			return 0
		case GroupKnown:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(groups, func(a, c Group) int { return rank(a) - rank(c) })
	var leftOut []Group
	for _, g := range groups {
		if g.Status() == GroupLeftOut {
			leftOut = append(leftOut, g)
			continue
		}
		markdownGroup(&b, g, rank(g) == 0)
	}
	if len(leftOut) > 0 {
		fmt.Fprintf(&b, "➖ Left out by the label filter: %s.\n", inline(leftOutList(leftOut)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownGroup(b *strings.Builder, g Group, open bool) {
	status := g.Status()
	title := inline(g.Name)
	ref := ""
	if g.Requirement != nil {
		title = fmt.Sprintf("%s · %s <code>%s</code>", statusMark[status], title, inline(g.Requirement.ID))
		ref = "Reference: " + inline(g.Requirement.Reference)
		if g.Requirement.URL != "" {
			ref += fmt.Sprintf(` (<a href="%s">%s</a>)`, attr(g.Requirement.URL), inline(g.Requirement.URL))
		}
	}
	var shown []Result
	leftOut := 0
	for _, r := range g.Results {
		if r.LeftOut {
			leftOut++
		} else {
			shown = append(shown, r)
		}
	}
	counts := CountResults(shown)
	var tally []string
	for _, o := range []Outcome{Failed, Stale, Known, Passed, Skipped} {
		if counts[o] > 0 {
			tally = append(tally, fmt.Sprintf("%d %s", counts[o], strings.ToLower(string(o))))
		}
	}
	if leftOut > 0 {
		tally = append(tally, fmt.Sprintf("%d left out by the label filter", leftOut))
	}
	if open {
		fmt.Fprintf(b, "### %s\n\n", title)
		if ref != "" {
			fmt.Fprintf(b, "%s\n\n", ref)
		}
	} else {
		fmt.Fprintf(b, "<details><summary>%s (%s)</summary>\n\n", title, strings.Join(tally, ", "))
		if ref != "" {
			fmt.Fprintf(b, "%s\n\n", ref)
		}
	}
	if len(shown) > 0 {
		b.WriteString("| result | spec | reason |\n|---|---|---|\n")
		for _, r := range shown {
			reason := r.Reason
			if r.Outcome == Failed {
				reason = strings.Join(append([]string{r.Finding.Why}, r.Finding.Lines()...), " · ")
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", outcomeMark[r.Outcome], inline(r.Spec), inline(reason))
		}
		b.WriteString("\n")
	}
	for _, r := range shown {
		if r.Outcome != Failed && r.Outcome != Known {
			continue
		}
		lines := detailLines(r)
		if r.Outcome == Known {
			lines = append(lines, r.Finding.Lines()...)
		}
		if r.Finding.Location != "" {
			lines = append(lines, "at "+r.Finding.Location)
		}
		fmt.Fprintf(b, "<details><summary>%s: %s</summary>\n\n%s\n\n</details>\n\n", outcomeMark[r.Outcome], inline(r.Spec), codeBlock(lines))
	}
	if !open {
		b.WriteString("</details>\n\n")
	}
}

// inline makes text safe inside a Markdown table cell, a heading or an HTML element: no line
// breaks, no table pipes, no HTML (Gomega's "<int>" would vanish as a tag).
func inline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`).Replace(s)
}

// attr makes a URL safe in a double-quoted HTML attribute.
func attr(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeBlock fences lines as a text block, with a fence longer than any run of backticks in them.
func codeBlock(lines []string) string {
	text := strings.Join(lines, "\n")
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + "text\n" + text + "\n" + fence
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
