package main

import (
	"strings"
	"testing"
)

func TestTheSkipRule(t *testing.T) {
	env := map[string]string{"MCPSSO_REQUIRE_DOCKER": "1"}
	for _, tc := range []struct {
		name, reason string
		short        bool
		violation    string // a part of the violation, "" for none
	}{
		{"a missing tool whose variable is not set", "no moto_server (set MCPSSO_REQUIRE_MOTO=1 to fail instead)", false, ""},
		{"a missing tool whose variable is set", "no Docker engine (set MCPSSO_REQUIRE_DOCKER=1 to fail instead)", false, "MCPSSO_REQUIRE_DOCKER=1 is set"},
		{"a skip that names no variable", "KNOWN CONFLICT: the page says Allow", false, "names no MCPSSO_REQUIRE_"},
		{"-short without -allow-short", "builds the binary; skipped with -short", false, "names no MCPSSO_REQUIRE_"},
		{"-short with -allow-short", "builds the binary; skipped with -short", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReport(&strings.Builder{}, tc.short, func(k string) string { return env[k] })
			got := r.violation(tc.reason)
			if (tc.violation == "") != (got == "") || !strings.Contains(got, tc.violation) {
				t.Fatalf("violation(%q) = %q, want one containing %q", tc.reason, got, tc.violation)
			}
		})
	}
}

// A stream as go test -json writes it: a passing test, a failing one (printed in full), a
// skip that breaks the rule and one that keeps it, and a package that failed to build.
func TestTheReportOfAStream(t *testing.T) {
	stream := `{"Action":"run","Package":"m/a","Test":"TestOK"}
{"Action":"pass","Package":"m/a","Test":"TestOK","Elapsed":1.5}
{"Action":"output","Package":"m/a","Test":"TestBad","Output":"    a_test.go:9: got 1, want 2\n"}
{"Action":"fail","Package":"m/a","Test":"TestBad","Elapsed":0.1}
{"Action":"output","Package":"m/a","Test":"TestSkipBad","Output":"2026/12/06 a library's log line\n"}
{"Action":"output","Package":"m/a","Test":"TestSkipBad","Output":"    a_test.go:12: disagrees with the docs\n"}
{"Action":"skip","Package":"m/a","Test":"TestSkipBad","Elapsed":0}
{"Action":"output","Package":"m/a","Test":"TestSkipOK","Output":"    a_test.go:20: no node (set MCPSSO_REQUIRE_NODE=1 to fail instead)\n"}
{"Action":"skip","Package":"m/a","Test":"TestSkipOK","Elapsed":0}
{"Action":"fail","Package":"m/a","Elapsed":2}
# m/b
b.go:3:1: syntax error
{"Action":"output","Package":"m/b","Output":"FAIL\tm/b [build failed]\n"}
{"Action":"fail","Package":"m/b","Elapsed":0}
`
	var out strings.Builder
	r := newReport(&out, false, func(string) string { return "" })
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		r.add([]byte(line))
	}
	if r.finish() {
		t.Fatal("a run with a failure, a build failure and a forbidden skip finished green")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL m/a TestBad", "got 1, want 2",
		"b.go:3:1: syntax error", "FAIL m/b",
		"m/a TestSkipBad: a_test.go:12: disagrees with the docs\n    NOT ALLOWED",
		"m/a TestSkipOK: a_test.go:20: no node",
		"1 skip(s) broke the skip rule", "2 package(s) failed",
		"1 passed, 1 failed, 2 skipped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "a library's log line") {
		t.Errorf("the skip reason kept a log line printed before the test's own:\n%s", got)
	}
}

func TestCoverageIsReportedPerPackageAndInTotal(t *testing.T) {
	var out strings.Builder
	r := newReport(&out, false, func(string) string { return "" })
	for _, line := range []string{
		`{"Action":"pass","Package":"m/a","Test":"TestOK","Elapsed":1}`,
		`{"Action":"output","Package":"m/a","Output":"coverage: 71.3% of statements\n"}`,
		`{"Action":"pass","Package":"m/a","Elapsed":1}`,
	} {
		r.add([]byte(line))
	}
	r.finish()
	if !strings.Contains(out.String(), "== statement coverage\n   71.3% m/a") {
		t.Errorf("no coverage line for m/a:\n%s", out.String())
	}
	profile := "mode: atomic\nm/a/x.go:1.1,2.2 3 1\nm/a/x.go:3.1,4.2 1 0\nm/a/x.go:3.1,4.2 1 2\nm/a/y.go:1.1,2.2 4 0\n"
	total, err := totalCoverage(strings.NewReader(profile))
	if err != nil || total != 50 {
		t.Errorf("totalCoverage = %v, %v; want 50 (4 of 8 statements; a block covered by either run counts once)", total, err)
	}
	if _, err := totalCoverage(strings.NewReader("mode: set\nnot a block\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a malformed line: %v, want an error naming line 2", err)
	}
}
