package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
)

// benchReport runs `bench e2e` with args and --json and decodes its report.
func benchReport(t *testing.T, args ...string) (e2eReport, string) {
	t.Helper()
	code, stdout, stderr := execute(t, "", append([]string{"bench", "e2e", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var rep e2eReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, stdout)
	}
	return rep, stderr
}

func TestBenchE2EOnTheEmbeddedStack(t *testing.T) {
	// 300 calls make some 80 profile samples at 100 Hz: enough that the MCP server (a fifth of
	// the servers' CPU) is all but certain to be among the components.
	rep, _ := benchReport(t, "--users", "3", "--calls", "300", "--duration", "0")
	if rep.Calls != 300 || rep.OK != 300 || len(rep.Errors) != 0 {
		t.Fatalf("calls %d, ok %d, errors %v; want 300 calls, all ok (each read the tenant's README)", rep.Calls, rep.OK, rep.Errors)
	}
	if rep.Users != 3 || rep.Mode != "closed loop" || rep.Tool != "get_object" || !strings.Contains(rep.Target, "embedded") {
		t.Errorf("header: %+v", rep)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "rate limit raised") {
		t.Errorf("notes %q: want the raised rate limit said", rep.Notes)
	}
	if rep.CallsPerSec <= 0 || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
		t.Errorf("rate %v, latency %+v: want a rate and p50 ≤ p99 ≤ max", rep.CallsPerSec, rep.Latency)
	}
	c := rep.CPU
	if len(c.ByTenth) != 10 || slices.Min(c.ByTenth) <= 0 {
		t.Errorf("CPU per call by tenth %v: want ten positive numbers", c.ByTenth)
	}
	if !c.ServerMeasured || c.Server == nil || c.Process <= 0 || *c.Server <= 0 || *c.Server+c.LoadGenerator > c.Process*1.0001 || c.Includes == "" {
		t.Errorf("cpu %+v: want the process's CPU per call split into server and load generator", c)
	}
	total := 0.0
	var names []string
	for _, s := range rep.Components {
		total += s.Percent
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "reference/mcpserver") || total < 99.9 || total > 100.1 {
		t.Errorf("components %v add up to %.2f%%; want the MCP server among them and 100%%", rep.Components, total)
	}
}

func TestBenchE2EOpenLoopTableAndProfile(t *testing.T) {
	prof, heap := filepath.Join(t.TempDir(), "e2e.pprof"), filepath.Join(t.TempDir(), "heap.pprof")
	code, stdout, stderr := execute(t, "", "bench", "e2e", "--users", "2", "--rate", "100/s", "--calls", "30", "--duration", "0", "--cpuprofile", prof, "--memprofile", heap)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"open loop at 100 calls/s due", "tool calls         30 in", "errors             none", "CPU per tool call  server", "  each 10%         process ", "memory at the end  live heap ", "CPU profile: " + prof, "heap profile: " + heap} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("--cpuprofile: %v", err)
	}
	if p, err := os.ReadFile(heap); err != nil {
		t.Errorf("--memprofile: %v", err)
	} else if _, err := profile.ParseData(p); err != nil {
		t.Errorf("--memprofile wrote no profile: %v", err)
	}
}

// TestBenchE2EAgainstATargetFile load-tests a stack described by a target file, as a
// deployment owner would theirs: the file's users round-robin, its read probe, and no server CPU.
func TestBenchE2EAgainstATargetFile(t *testing.T) {
	ctx := context.Background()
	s, err := stack.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol"} {
		if tok[u], err = s.TokenFor(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "target.yaml")
	yaml := fmt.Sprintf(`name: bench-me
mcpUrl: %s
tokens: {source: preissued}
users:
  - {name: alice, tenant: acme, token: %s}
  - {name: bob, tenant: globex, token: %s}
  - {name: carol, token: %s}
probes:
  read: {tool: get_object, arguments: {bucket: "{bucket}", key: "{key}"}, denied: {by: toolError, match: AccessDenied}}
`, s.MCPURL(), tok["alice"], tok["bob"], tok["carol"])
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, _ := benchReport(t, "--target", file, "--users", "4", "--calls", "40", "--duration", "0")
	if rep.Calls != 40 || rep.OK != 40 || !strings.Contains(rep.Target, "bench-me") {
		t.Fatalf("calls %d ok %d errors %v target %q", rep.Calls, rep.OK, rep.Errors, rep.Target)
	}
	if rep.CPU.ServerMeasured || rep.CPU.Server != nil || len(rep.Components) != 0 || !strings.Contains(strings.Join(rep.Notes, " "), "cannot be measured") {
		t.Errorf("against a target file the server's CPU cannot be measured, and the report must say so: %+v, notes %q", rep.CPU, rep.Notes)
	}

	// A key the users' buckets do not hold: every call is an error of a named kind, and the
	// command fails since none succeeded.
	code, stdout, _ := execute(t, "", "bench", "e2e", "--target", file, "--key", "no/such/key", "--users", "2", "--calls", "4", "--duration", "0")
	if code != exitFailure || !strings.Contains(stdout, "tool error 4") || !strings.Contains(stdout, "first tool error") {
		t.Errorf("missing key: exit %d\n%s", code, stdout)
	}
}

func TestBenchE2ERejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"--users", "0"}, "--users 0"},
		{[]string{"--users", "100000"}, "--users"},
		{[]string{"--rate", "fast"}, "--rate"},
		{[]string{"--rate", "0/s"}, "--rate"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--duration", "0"}, "--calls"},
		{[]string{"--calls", "-5"}, "--calls"},
		{[]string{"--key", "x"}, "--key"},
		{[]string{"--target", "t.yaml", "--session-cache"}, "--session-cache"},
		{[]string{"--target", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{[]string{"extra"}, "extra"},
	} {
		code, _, stderr := execute(t, "", append([]string{"bench", "e2e"}, tc.args...)...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args, code, stderr, tc.mention)
		}
	}
}

func TestBenchE2ETenths(t *testing.T) {
	ms := time.Millisecond
	r := &driveResult{ticks: []tick{{10, 10 * ms}, {50, 60 * ms}, {90, 100 * ms}, {100, 130 * ms}}}
	first, last := r.tenths()
	// First 10%: up to the first sample at 10 calls (1 ms each); last: from 90 calls on.
	if first != 1000 || last != 3000 {
		t.Errorf("tenths %v, %v µs; want 1000 and 3000", first, last)
	}
}

// Each tenth of the calls gets the CPU per call of the samples around it: from the last sample
// at or before its first call to the first at or past its last.
func TestBenchE2EByTenth(t *testing.T) {
	ms := time.Millisecond
	r := &driveResult{ticks: []tick{{50, 50 * ms}, {100, 150 * ms}}}
	got := r.byTenth()
	want := []float64{1000, 1000, 1000, 1000, 1000, 2000, 2000, 2000, 2000, 2000}
	if !slices.Equal(got, want) {
		t.Errorf("byTenth = %v µs, want %v", got, want)
	}
	// A window inside one second's calls spans that whole second.
	r = &driveResult{ticks: []tick{{100, 100 * ms}, {200, 400 * ms}}}
	if got := r.byTenth(); got[0] != 1000 || got[4] != 1000 || got[5] != 3000 || got[9] != 3000 {
		t.Errorf("byTenth = %v µs, want 1000 for the first half and 3000 for the second", got)
	}
	if got := (&driveResult{ticks: []tick{{5, ms}}}).byTenth(); got != nil {
		t.Errorf("byTenth of 5 calls = %v, want none", got)
	}
}

// --session-cache runs the embedded MCP server with its session cache, and the report says so.
func TestBenchE2EWithTheSessionCache(t *testing.T) {
	rep, _ := benchReport(t, "--users", "2", "--calls", "40", "--duration", "0", "--session-cache")
	if rep.Calls != 40 || rep.OK != 40 {
		t.Fatalf("calls %d ok %d errors %v", rep.Calls, rep.OK, rep.Errors)
	}
	if !strings.Contains(rep.Target, "session cache on") || !strings.Contains(strings.Join(rep.Notes, " "), "AssumeRole runs once per user") {
		t.Errorf("target %q, notes %q: want the session cache said", rep.Target, rep.Notes)
	}
}

func TestBenchKitComponent(t *testing.T) {
	for fn, want := range map[string]string{
		"internal/mocks/awsemu/sigv4.Verify":              "internal/mocks/awsemu",
		"internal/harness/stack.(*logBuffer).Write":       "internal/harness/stack",
		"reference/mcpserver.(*Server).getObject.func1":   "reference/mcpserver",
		"reference/authorizer.(*Authorizer).Decide":       "reference/authorizer",
		"internal/mocks/awsemu.(*Server).ServeHTTP":       "internal/mocks/awsemu",
		"internal/scenarios/trust.init":                   "internal/scenarios/trust",
		"internal/serve.Run":                              "internal/serve",
		"reference/gateway/internal/route.(*Table).Match": "reference/gateway",
	} {
		if got := kitComponent(fn); got != want {
			t.Errorf("kitComponent(%q) = %q, want %q", fn, got, want)
		}
	}
}
