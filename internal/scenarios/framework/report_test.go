package framework

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// gomegaStatus is the failure message of Expect(403).To(Equal(401), "status (body …)").
const gomegaStatus = "status (body {\"message\":\"Forbidden\"})\nExpected\n    <int>: 403\nto equal\n    <int>: 401"

func TestFindingReadsTheFailureMessage(t *testing.T) {
	for _, tc := range []struct {
		name, msg                string
		why, seen, expected      string
		more                     []string
		location, locationWanted string
	}{
		{name: "an annotated Gomega comparison gives the answer seen and what was expected",
			msg: gomegaStatus, why: `status (body {"message":"Forbidden"})`, seen: "403", expected: "to equal 401"},
		{name: "an empty string is shown as one",
			msg: "a 401 without WWW-Authenticate gives an MCP client nothing to bootstrap from\nExpected\n    <string>: \nnot to be empty",
			why: "a 401 without WWW-Authenticate gives an MCP client nothing to bootstrap from", seen: `""`, expected: "not to be empty"},
		{name: "an unexpected error gives the error's text, not its fields",
			msg: "alice could not connect\nUnexpected error:\n    <*fmt.wrapError | 0xc000123>: \n    mcpcall: MCP initialize: 403\n    {\n        msg: \"mcpcall: MCP initialize: 403\",\n    }\noccurred",
			why: "alice could not connect", seen: "mcpcall: MCP initialize: 403", expected: "no error"},
		{name: "a matcher with a list",
			msg: "http://x/mcp answered HTTP 200\nExpected\n    <int>: 200\nto be an element of\n    <[]int | len:2, cap:2>: [401, 403]",
			why: "http://x/mcp answered HTTP 200", seen: "200", expected: "to be an element of [401, 403]"},
		{name: "a timeout names what did not happen, then when it gave up",
			msg: "Timed out after 2.001s.\nthe counter did not grow\nExpected\n    <float64>: 0\nto be >\n    <float64>: 0",
			why: "the counter did not grow (Timed out after 2.001s)", seen: "0", expected: "to be > 0"},
		{name: "a spec's own multi-line message keeps its first lines",
			msg: "no discovery URL served a JSON document without a token:\n  http://h/.well-known/a → 401\n  http://h/.well-known/b → 401\n  c\n  d\n  e",
			why: "no discovery URL served a JSON document without a token:", more: []string{"http://h/.well-known/a → 401", "http://h/.well-known/b → 401", "c", "d"}},
		{name: "a bare Gomega comparison has no first line of its own",
			msg: "Expected\n    <bool>: false\nto be true", seen: "false", expected: "to be true"},
		{name: "the location is the suite's folder and file",
			msg: "boom", why: "boom", location: "/build/mcpsso/scenarios/bootstrap/helpers.go", locationWanted: "bootstrap/helpers.go:83"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := types.SpecReport{State: types.SpecStateFailed, Failure: types.Failure{Message: tc.msg}}
			if tc.location != "" {
				sr.Failure.Location = types.CodeLocation{FileName: tc.location, LineNumber: 83}
			}
			f := findingOf(sr)
			if f.Why != tc.why || f.Seen != tc.seen || f.Expected != tc.expected || !slices.Equal(f.More, tc.more) || f.Location != tc.locationWanted {
				t.Errorf("findingOf = %+v\nwant why %q, seen %q, expected %q, more %q, location %q", f, tc.why, tc.seen, tc.expected, tc.more, tc.locationWanted)
			}
		})
	}
}

// specIn is a spec of the synthetic report, in a container, with its labels.
func specIn(container, text string, state types.SpecState, msg string, labels ...string) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, ContainerHierarchyTexts: []string{container}, LeafNodeText: text,
		LeafNodeLabels: labels, State: state, NumAttempts: 1, Failure: types.Failure{Message: msg}}
}

// syntheticReport has a spec of each kind the report groups: met, failed, known, stale, skipped,
// left out, a non-conformance spec, a conformance spec the catalogue does not place, a failed
// suite node, and a baseline line that matches nothing.
func syntheticReport(t *testing.T) (types.Report, []KnownFailure) {
	t.Helper()
	known, err := ParseKnownFailures("k", strings.NewReader(
		"garbage bearer token -- mistake 5: 403 instead of a 401 challenge\n"+
			"in the query string -- listed, but passes\n"+
			"matches nothing at all -- stale\n"))
	if err != nil {
		t.Fatal(err)
	}
	const bootstrap = "The 401 bootstrap [bootstrap]"
	leftOut := specIn("Attacks refused [adversarial]", "refuse a request with two Authorization headers: the same valid token twice", types.SpecStateSkipped, "", "conformance")
	leftOut.NumAttempts = 0
	withEntry := specIn("The MCP transport [transport]", "never lets a session id carry one user's identity to another [conformance]", types.SpecStatePassed, "", "conformance")
	withEntry.ReportEntries = types.ReportEntries{{Name: "sessions", Visibility: types.ReportEntryVisibilityAlways}}
	withEntry.ReportEntries[0].Value = types.WrapEntryValue("the server is stateless")
	failedWithInput := specIn(bootstrap, "answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata [auth] [conformance]",
		types.SpecStateFailed, gomegaStatus, "conformance")
	failedWithInput.ReportEntries = types.ReportEntries{{Name: "sent", Visibility: types.ReportEntryVisibilityFailureOrVerbose}, {Name: "debug", Visibility: types.ReportEntryVisibilityNever}}
	failedWithInput.ReportEntries[0].Value = types.WrapEntryValue("POST http://x/mcp with no extra headers")
	failedWithInput.ReportEntries[1].Value = types.WrapEntryValue("never shown")
	r := types.Report{SuiteDescription: "synthetic", SpecReports: types.SpecReports{
		specIn(bootstrap, "names in its challenge a resource metadata URL that serves, without a token, the metadata of the MCP URL [auth] [conformance]", types.SpecStatePassed, "", "conformance"),
		failedWithInput,
		specIn(bootstrap, "answers a garbage bearer token with 401 and an invalid_token challenge naming the resource metadata [auth] [conformance]", types.SpecStateFailed, gomegaStatus, "conformance"),
		specIn(bootstrap, "ignores a valid token in the query string, answering 401 with a challenge naming the resource metadata [auth] [conformance]", types.SpecStatePassed, "", "conformance"),
		specIn(bootstrap, "is reached over HTTPS, plain HTTP only on a loopback host [auth] [conformance]", types.SpecStateSkipped, "target lacks capability \"https\"", "conformance"),
		specIn(bootstrap, "reports the tutorial's challenge as non-compliant [tutorial]", types.SpecStatePassed, "", "tutorial"),
		specIn(bootstrap, "does something no requirement names [conformance]", types.SpecStatePassed, "", "conformance"),
		withEntry,
		leftOut,
		{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "the stack did not start"}},
	}}
	return r, known
}

func TestResultsAreGroupedByRequirementInCatalogueOrder(t *testing.T) {
	r, known := syntheticReport(t)
	results, ok := Verdict(r, known)
	if ok {
		t.Fatal("a failure, a stale line and a failed BeforeSuite must fail the verdict")
	}
	var got []string
	for _, g := range Groups(results) {
		id := g.Name
		if g.Requirement != nil {
			id = g.Requirement.ID
		}
		got = append(got, id+"="+string(g.Status()))
	}
	want := []string{"challenge=FAILED", "https=not checked", "bearer-header=FAILED", "invalid-token=known failure",
		"one-authorization=left out", "sessions=met", unplacedGroup + "=met", otherGroup + "=met", runGroup + "=FAILED"}
	if !slices.Equal(got, want) {
		t.Errorf("groups:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestTheReportSaysPerRequirementWhatWasSeenAndExpected(t *testing.T) {
	r, known := syntheticReport(t)
	results, ok := Verdict(r, known)
	var b bytes.Buffer
	PrintReport(&b, results, ok)
	out := b.String()
	const pad = "               " // the outcome column: "known failure" and two spaces
	for _, want := range []string{
		"== FAILED · A request without a token is answered 401 with a Bearer challenge whose resource_metadata serves the MCP URL's metadata [challenge]\n" +
			"   MCP authorization 2025-11-25 §Protected Resource Metadata Discovery Requirements; RFC 9728 §5.1; tutorial mistake 5 <" + mcpAuthz + "#protected-resource-metadata-discovery-requirements>\n" +
			"FAILED         The 401 bootstrap [bootstrap] answers a request without a token with 401",
		"\n" + pad + "status (body {\"message\":\"Forbidden\"})\n" + pad + "seen:     403\n" + pad + "expected: to equal 401\n" + pad + "sent: POST http://x/mcp with no extra headers\n" +
			"passed         The 401 bootstrap [bootstrap] names in its challenge",
		"\nknown failure  The 401 bootstrap [bootstrap] answers a garbage bearer token",
		"\n" + pad + "mistake 5: 403 instead of a 401 challenge (got: status (body",
		"\nPASSED BUT LISTED AS A KNOWN FAILURE  The 401 bootstrap [bootstrap] ignores a valid token in the query string",
		"\n" + pad + "known-failures line 2: listed, but passes\n",
		"\n== not checked · The MCP URL is HTTPS",
		"\nskipped        The 401 bootstrap [bootstrap] is reached over HTTPS",
		"\n" + pad + "target lacks capability \"https\"\n",
		"\n" + pad + "sessions: the server is stateless\n",
		"\n== " + unplacedGroup + "\npassed         The 401 bootstrap [bootstrap] does something no requirement names",
		"\n== " + otherGroup + "\npassed         The 401 bootstrap [bootstrap] reports the tutorial's challenge",
		"\n== " + runGroup + "\nFAILED         BeforeSuite \n" + pad + "the stack did not start\n",
		"\nPASSED BUT LISTED AS A KNOWN FAILURE  matches nothing at all\n" + pad + "known-failures line 3 matches no spec that ran\n",
		"\n== left out by the label filter: 1 specs, under one-authorization\n",
		"\nrequirements: 1 met, 2 failed, 1 with known failures only, 1 not checked (every spec skipped), 1 left out by the label filter\n",
		"\nFAIL: 4 passed, 2 failed, 2 skipped, 1 known failures, 2 stale baseline entries\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never shown") || strings.Contains(out, "the same valid token twice") {
		t.Errorf("the report shows an entry marked never, or a spec the label filter left out:\n%s", out)
	}
}

func TestTheMarkdownSummaryPutsFailuresFirst(t *testing.T) {
	r, known := syntheticReport(t)
	results, ok := Verdict(r, known)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, "Target x <y> | z", results, ok); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	order := []string{
		"## mcpsso conform: ❌ FAIL\n\nTarget x &lt;y&gt; \\| z\n\n**FAIL: 4 passed, 2 failed, 2 skipped, 1 known failures, 2 stale baseline entries**\n\nRequirements: 1 met, 2 failed",
		"### ❌ FAILED · A request without a token is answered 401",
		"Reference: MCP authorization 2025-11-25 §Protected Resource Metadata Discovery Requirements; RFC 9728 §5.1; tutorial mistake 5 (<a href=\"" + mcpAuthz + "#protected-resource-metadata-discovery-requirements\">",
		"| result | spec | reason |\n|---|---|---|\n" +
			"| ❌ FAILED | The 401 bootstrap [bootstrap] answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata [auth] [conformance] | status (body {\"message\":\"Forbidden\"}) · seen: 403 · expected: to equal 401 |\n" +
			"| ✅ passed | The 401 bootstrap [bootstrap] names in its challenge",
		"<details><summary>❌ FAILED: The 401 bootstrap [bootstrap] answers a request without a token",
		"```text\nstatus (body {\"message\":\"Forbidden\"})\nseen:     403\nexpected: to equal 401\nsent: POST http://x/mcp with no extra headers\n```",
		"### ❌ FAILED · A token counts only in the Authorization header",
		"| ❌ passed, but listed as a known failure | The 401 bootstrap [bootstrap] ignores a valid token in the query string",
		"### The run itself",
		"<details><summary>⚠️ known failure · An invalid token",
		"<details><summary>⏭️ not checked · The MCP URL is HTTPS",
		"<details><summary>✅ met · A session id is never a credential",
		"➖ Left out by the label filter: 1 specs, under one-authorization.",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(md[at:], want)
		if i < 0 {
			t.Fatalf("the summary lacks %q after byte %d:\n%s", want, at, md)
		}
		at += i + len(want)
	}
}

func TestJUnitCarriesTheRequirementAndTheBaselinesJudgment(t *testing.T) {
	r, known := syntheticReport(t)
	results, _ := Verdict(r, known)
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnit(path, r, results); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	byName := map[string]reporters.JUnitTestCase{}
	var names []string
	for _, s := range suites.TestSuites {
		names = append(names, s.Name)
		for _, c := range s.TestCases {
			byName[c.Name] = c
		}
	}
	if !strings.HasPrefix(names[0], "challenge: A request without a token") || names[len(names)-1] != "run: "+runGroup {
		t.Errorf("suites %q: want the requirements' first, the run's last", names)
	}
	find := func(part string) reporters.JUnitTestCase {
		t.Helper()
		for n, c := range byName {
			if strings.Contains(n, part) {
				return c
			}
		}
		t.Fatalf("no test case named with %q in %q", part, slices.Collect(func(yield func(string) bool) {
			for n := range byName {
				if !yield(n) {
					return
				}
			}
		}))
		return reporters.JUnitTestCase{}
	}
	failed := find("answers a request without a token")
	if failed.Classname != "challenge" || failed.Failure == nil || failed.Properties.WithName("requirement") != "challenge" ||
		!strings.Contains(failed.Properties.WithName("reference"), "RFC 9728 §5.1") || failed.Properties.WithName("outcome") != string(Failed) {
		t.Errorf("failed case: %+v", failed)
	}
	if k := find("answers a garbage bearer token"); k.Failure != nil || k.Skipped == nil || !strings.Contains(k.Skipped.Message, "known failure: mistake 5") {
		t.Errorf("a known failure must be a skipped case with the baseline's reason: %+v", k)
	}
	if s := find("ignores a valid token in the query string"); s.Failure == nil || s.Failure.Type != "stale baseline entry" {
		t.Errorf("a listed spec that passes must be a failed case: %+v", s)
	}
	if o := find("reports the tutorial's challenge"); o.Classname != "other" {
		t.Errorf("a spec without the conformance label: classname %q, want other", o.Classname)
	}
	if l := find("matches nothing at all"); l.Failure == nil {
		t.Errorf("a baseline line that matches nothing must be a failed case: %+v", l)
	}
	if suites.Tests != len(r.SpecReports)+1 || suites.Failures != 4 {
		t.Errorf("tests %d, failures %d; want %d cases (every spec report and the stale line) and 4 failures (a spec, a stale spec, a stale line, BeforeSuite)",
			suites.Tests, suites.Failures, len(r.SpecReports)+1)
	}
}

func TestPlacementNamesSpecsUnderNoneOrTwoRequirements(t *testing.T) {
	saved := Requirements
	defer func() { Requirements = saved }()
	Requirements = []Requirement{
		requirement("a", "A", "ref a", "", []string{`^S one`, `^S both`}),
		requirement("b", "B", "ref b", "", []string{`^S both`}),
		requirement("c", "C", "ref c", "", []string{`^S gone`}),
	}
	r := types.Report{SpecReports: types.SpecReports{
		specIn("S [abac]", "one [conformance]", types.SpecStatePassed, "", "conformance"),
		specIn("S [abac]", "both [conformance]", types.SpecStatePassed, "", "conformance"),
		specIn("S [abac]", "neither [conformance]", types.SpecStatePassed, "", "conformance"),
		specIn("S [abac]", "not conformance [tutorial]", types.SpecStatePassed, "", "tutorial"),
	}}
	err := CheckPlacement(r)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"S both" (:0) is under 2 requirements (a, b)`, `"S neither" (:0) is under no requirement`, "requirement c matches no spec"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "not conformance") {
		t.Errorf("a spec without the conformance label need not be placed:\n%v", err)
	}
}

func TestSentWithholdsTokensAndNeedsARunningSpec(t *testing.T) {
	Sent("outside a spec: %d", 1) // nothing to record it in; must not fail
	h := http.Header{"Authorization": {"Bearer eyJhbGciOi.secret.sig"}, "X-Decided-Role": {"arn:aws:iam::1:role/r"}}
	got := headerList(h)
	if strings.Contains(got, "secret") || !strings.Contains(got, "Authorization: Bearer (token withheld), X-Decided-Role: arn:aws:iam::1:role/r") {
		t.Errorf("headerList = %q", got)
	}
}

// TestEveryRequirementIsInTheDocs: docs/conformance.md has a row for each requirement of the
// catalogue, so a deployment owner reading the docs sees what the report will name.
func TestEveryRequirementIsInTheDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "conformance.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Requirements {
		if !strings.Contains(string(b), "| `"+r.ID+"` | "+strings.ReplaceAll(r.Title, "|", `\|`)+" |") {
			t.Errorf("docs/conformance.md has no row \"| `%s` | %s | …\" in its requirements table", r.ID, r.Title)
		}
	}
}
