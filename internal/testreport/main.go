// Command testreport reads `go test -json` on standard input and makes CI's log readable and
// honest: it prints each package's result as it ends and the whole output of every failed test,
// then the packages by time, the ten slowest tests, every skipped test with its reason, and a
// closing "N passed, N failed, N skipped" line. With -cover it also prints each package's
// statement coverage and, from the profile, the total.
//
// It also holds the skip rule: a test may skip only for a missing optional tool, and then its
// reason names the variable that would require the tool ("set MCPSSO_REQUIRE_DOCKER=1 to fail
// instead"). A skip that names no such variable, or names one that is set to 1, is a
// violation, and testreport exits 1. So under CI, where the variables are set, nothing they
// name can skip unseen. Build failures and failed tests also make it exit 1.
//
//	go test -json ./... | go run ./internal/testreport [-json-out FILE] [-allow-short] [-cover-profile FILE]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// requirement is how a skip names the variable that would have made it a failure.
var requirement = regexp.MustCompile(`set (MCPSSO_REQUIRE_[A-Z0-9_]+)=1`)

// coverageLine is what go test -cover prints for a package.
var coverageLine = regexp.MustCompile(`coverage: ([0-9.]+)% of statements`)

type key struct{ pkg, test string }

type result struct {
	action  string
	elapsed float64
}

type report struct {
	out        io.Writer
	allowShort bool
	getenv     func(string) string

	output   map[key]*strings.Builder // each test's output so far (a package's under test "")
	tests    map[key]result
	packages map[string]result
	order    []key
	coverage map[string]string // package → percentage, from -cover
}

func newReport(out io.Writer, allowShort bool, getenv func(string) string) *report {
	return &report{out: out, allowShort: allowShort, getenv: getenv,
		output: map[key]*strings.Builder{}, tests: map[key]result{}, packages: map[string]result{},
		coverage: map[string]string{}}
}

// add takes one line of input; a line that is not a test2json event (a build error printed
// before the events) is printed as it is.
func (r *report) add(line []byte) {
	var e event
	if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
		fmt.Fprintln(r.out, string(line))
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output", "build-output":
		b := r.output[k]
		if b == nil {
			b = &strings.Builder{}
			r.output[k] = b
		}
		b.WriteString(e.Output)
		if m := coverageLine.FindStringSubmatch(e.Output); m != nil && e.Test == "" {
			r.coverage[e.Package] = m[1]
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			r.packages[e.Package] = result{e.Action, e.Elapsed}
			r.packageDone(e)
			return
		}
		if _, seen := r.tests[k]; !seen {
			r.order = append(r.order, k)
		}
		r.tests[k] = result{e.Action, e.Elapsed}
		if e.Action == "fail" && !r.hasFailedSubtest(k) {
			fmt.Fprintf(r.out, "--- FAIL %s %s (%.1fs)\n%s", short(e.Package), e.Test, e.Elapsed, r.text(k))
		}
	}
}

// hasFailedSubtest reports whether a failed subtest of k was printed already (its parent's
// output would repeat nothing useful).
func (r *report) hasFailedSubtest(k key) bool {
	for t, res := range r.tests {
		if t.pkg == k.pkg && res.action == "fail" && strings.HasPrefix(t.test, k.test+"/") {
			return true
		}
	}
	return false
}

func (r *report) packageDone(e event) {
	word := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "?   "}[e.Action]
	fmt.Fprintf(r.out, "%s %s %.1fs\n", word, short(e.Package), e.Elapsed)
	if e.Action == "fail" {
		// A package that failed without a failed test failed to build, panicked or timed out:
		// its own output says why.
		failedTest := false
		for k, res := range r.tests {
			failedTest = failedTest || (k.pkg == e.Package && res.action == "fail")
		}
		if !failedTest {
			fmt.Fprint(r.out, lastLines(r.text(key{e.Package, ""}), 40))
		}
	}
}

func (r *report) text(k key) string {
	if b := r.output[k]; b != nil {
		return b.String()
	}
	return ""
}

// skipReason is the t.Skip message of a skipped test: its output from the first "file_test.go:N:"
// line on (what the test itself logged; libraries' log lines before it are left out), minus
// the run and skip markers.
func (r *report) skipReason(k key) string {
	var lines []string
	started := false
	for _, l := range strings.Split(r.text(k), "\n") {
		t := strings.TrimSpace(l)
		started = started || testLine.MatchString(t)
		if !started || t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		lines = append(lines, t)
	}
	return strings.Join(lines, " ")
}

// testLine is the start of a line a test logged with t.Log, t.Skip and the like.
var testLine = regexp.MustCompile(`^\S+\.go:\d+: `)

// violation says why a skip breaks the rule, or "" when it keeps it.
func (r *report) violation(reason string) string {
	if r.allowShort && strings.Contains(reason, "-short") {
		return ""
	}
	names := requirement.FindAllStringSubmatch(reason, -1)
	if len(names) == 0 {
		return "the reason names no MCPSSO_REQUIRE_* variable: a test skips only for a missing optional tool, and says which variable requires it"
	}
	for _, n := range names {
		if r.getenv(n[1]) == "1" {
			return n[1] + "=1 is set: what it names must run"
		}
	}
	return ""
}

// finish prints the summary and returns whether the run is green.
func (r *report) finish() bool {
	var passed, failed, skipped int
	for _, res := range r.tests {
		switch res.action {
		case "pass":
			passed++
		case "fail":
			failed++
		case "skip":
			skipped++
		}
	}
	pkgs := make([]string, 0, len(r.packages))
	pkgFailed := 0
	for p, res := range r.packages {
		pkgs = append(pkgs, p)
		if res.action == "fail" {
			pkgFailed++
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return r.packages[pkgs[i]].elapsed > r.packages[pkgs[j]].elapsed })
	fmt.Fprintln(r.out, "\n== packages by time")
	for _, p := range pkgs {
		fmt.Fprintf(r.out, "%8.1fs %-4s %s\n", r.packages[p].elapsed, r.packages[p].action, short(p))
	}

	var top []key
	for _, k := range r.order {
		if !strings.Contains(k.test, "/") {
			top = append(top, k)
		}
	}
	sort.SliceStable(top, func(i, j int) bool { return r.tests[top[i]].elapsed > r.tests[top[j]].elapsed })
	fmt.Fprintln(r.out, "\n== slowest tests")
	for _, k := range top[:min(10, len(top))] {
		fmt.Fprintf(r.out, "%8.1fs %s %s\n", r.tests[k].elapsed, short(k.pkg), k.test)
	}

	if len(r.coverage) > 0 {
		fmt.Fprintln(r.out, "\n== statement coverage")
		covered := make([]string, 0, len(r.coverage))
		for p := range r.coverage {
			covered = append(covered, p)
		}
		sort.Strings(covered)
		for _, p := range covered {
			fmt.Fprintf(r.out, "%7s%% %s\n", r.coverage[p], short(p))
		}
	}

	violations := 0
	fmt.Fprintf(r.out, "\n== skipped tests (%d)\n", skipped)
	for _, k := range r.order {
		if r.tests[k].action != "skip" {
			continue
		}
		reason := r.skipReason(k)
		fmt.Fprintf(r.out, "  %s %s: %s\n", short(k.pkg), k.test, reason)
		if v := r.violation(reason); v != "" {
			violations++
			fmt.Fprintf(r.out, "    NOT ALLOWED: %s\n", v)
		}
	}
	fmt.Fprintln(r.out)
	if violations > 0 {
		fmt.Fprintf(r.out, "%d skip(s) broke the skip rule\n", violations)
	}
	if pkgFailed > 0 {
		fmt.Fprintf(r.out, "%d package(s) failed\n", pkgFailed)
	}
	fmt.Fprintf(r.out, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return failed == 0 && pkgFailed == 0 && violations == 0 && len(r.packages) > 0
}

func short(pkg string) string { return strings.TrimPrefix(pkg, "github.com/mcpsso/mcpsso/") }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

func main() {
	jsonOut := flag.String("json-out", "", "also write the input, unchanged, to this file")
	allowShort := flag.Bool("allow-short", false, "allow skips whose reason mentions -short (for go test -short)")
	coverProfile := flag.String("cover-profile", "", "after the run, print the total statement coverage of this go test -coverprofile")
	flag.Parse()
	var in io.Reader = os.Stdin
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = io.TeeReader(os.Stdin, f)
	}
	r := newReport(os.Stdout, *allowShort, os.Getenv)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		r.add(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport: reading go test -json:", err)
		os.Exit(2)
	}
	ok := r.finish()
	if *coverProfile != "" {
		f, err := os.Open(*coverProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(2)
		}
		total, err := totalCoverage(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", *coverProfile+":", err)
			os.Exit(2)
		}
		fmt.Printf("total statement coverage: %.1f%%\n", total)
	}
	if !ok {
		os.Exit(1)
	}
}

// totalCoverage reads a coverage profile ("mode: …", then "file:start,end statements count"
// per block) and returns the percentage of statements run at least once. A block listed more
// than once (several test binaries covering one package) counts once, covered if any run
// covered it.
func totalCoverage(profile io.Reader) (float64, error) {
	type block struct {
		stmts   int
		covered bool
	}
	blocks := map[string]*block{}
	sc := bufio.NewScanner(profile)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 && strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		f := strings.Fields(line)
		var stmts, count int
		if len(f) != 3 {
			return 0, fmt.Errorf("line %d: %q is not \"file:range statements count\"", n, line)
		}
		if _, err := fmt.Sscan(f[1], &stmts); err != nil {
			return 0, fmt.Errorf("line %d: statements %q: %v", n, f[1], err)
		}
		if _, err := fmt.Sscan(f[2], &count); err != nil {
			return 0, fmt.Errorf("line %d: count %q: %v", n, f[2], err)
		}
		b := blocks[f[0]]
		if b == nil {
			b = &block{stmts: stmts}
			blocks[f[0]] = b
		}
		b.covered = b.covered || count > 0
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	var all, run int
	for _, b := range blocks {
		all += b.stmts
		if b.covered {
			run += b.stmts
		}
	}
	if all == 0 {
		return 0, errors.New("no statements in the profile")
	}
	return 100 * float64(run) / float64(all), nil
}
