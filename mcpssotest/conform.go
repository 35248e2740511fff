package mcpssotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpsso/mcpsso/internal/probe"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/all" // the suites Conform runs
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// ConformOption configures Conform.
type ConformOption func(*conformConfig) error

type conformConfig struct {
	probes      *Probes
	known       []framework.KnownFailure
	junit       string
	labelFilter string
}

// WithProbes maps the suites' operations onto your server's tools (default: the reference
// server's tools whoami, get_object, list_objects and put_object). A spec that needs an
// operation you do not map is skipped and says so.
func WithProbes(p Probes) ConformOption {
	return func(c *conformConfig) error {
		if _, err := p.set(); err != nil {
			return fmt.Errorf("mcpssotest: WithProbes: %w", err)
		}
		c.probes = &p
		return nil
	}
}

// WithKnownFailures reads a known-failures baseline from the file at path: one line per spec
// expected to fail, "<regular expression on the spec's full name> -- <reason>", # for
// comments. A listed spec that fails passes the test (its subtest logs the reason); one that
// passes, or a line that matches no spec, fails it, so the baseline stays exact.
func WithKnownFailures(path string) ConformOption {
	return func(c *conformConfig) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("mcpssotest: WithKnownFailures: %w", err)
		}
		known, err := framework.ParseKnownFailures(path, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("mcpssotest: WithKnownFailures: %w", err)
		}
		c.known = append(c.known, known...)
		return nil
	}
}

// WithJUnit also writes a JUnit XML report to path, one test suite per requirement, as
// `mcpsso conform --junit` does.
func WithJUnit(path string) ConformOption {
	return func(c *conformConfig) error {
		if path == "" {
			return errors.New("mcpssotest: WithJUnit: empty path")
		}
		c.junit = path
		return nil
	}
}

// WithLabelFilter runs only the specs whose labels match a Ginkgo label filter, such as
// "auth" or "!cloudtrail" (docs/conformance.md lists the labels).
func WithLabelFilter(expr string) ConformOption {
	return func(c *conformConfig) error {
		if err := framework.CheckLabelFilter(expr); err != nil {
			return fmt.Errorf("mcpssotest: WithLabelFilter: %w", err)
		}
		if _, err := types.ParseLabelFilter(expr); err != nil {
			return fmt.Errorf("mcpssotest: WithLabelFilter(%q): %w", expr, err)
		}
		c.labelFilter = expr
		return nil
	}
}

// Probes map the operations the suites need onto your server's tools. Leave an operation nil
// when no tool does it.
type Probes struct {
	// Whoami answers who the server acts as for the caller (Probe.Fields says where).
	Whoami *Probe
	// Read reads one object, List lists keys under a prefix, Write writes one object, Delete
	// deletes one.
	Read, List, Write, Delete *Probe
}

// Probe is one operation mapped onto a tool, as a target file's probes: section
// (docs/targets.md) declares it.
type Probe struct {
	// Tool is the tool's name as tools/list gives it.
	Tool string
	// Arguments are the tool's arguments; strings in them are templates with the
	// placeholders {bucket}, {key}, {uri} (s3://bucket/key), {prefix} and {content}.
	Arguments map[string]any
	// Fields say where the whoami operation's answers are in the tool's structured or JSON
	// text result: paths such as "session.sourceIdentity" (whoami only).
	Fields *WhoamiFields
	// Content is the path to the object's content in the result (read only); "" is the
	// result's whole text.
	Content string
	// Keys is the path to the listed keys (list only), e.g. "objects[].key".
	Keys string
	// DeniedBy is how a denial looks: "toolError" (the default: the result's isError),
	// "rpcError" (a JSON-RPC error) or "text" (an answer whose text matches DeniedMatch).
	DeniedBy string
	// DeniedMatch is a regular expression the denial's text must match, e.g. "AccessDenied".
	DeniedMatch string
}

// WhoamiFields are paths into the whoami tool's result.
type WhoamiFields struct {
	// ARN is the caller ARN the tools run as (STS GetCallerIdentity's Arn); required.
	ARN string
	// SourceIdentity, Tenant and Role (the assumed role's ARN) are optional; a spec that
	// checks one the probe does not map is skipped.
	SourceIdentity, Tenant, Role string
}

func (p Probes) set() (*probe.Set, error) {
	conv := func(q *Probe) *probe.Probe {
		if q == nil {
			return nil
		}
		out := &probe.Probe{Tool: q.Tool, Arguments: q.Arguments, Content: q.Content, Keys: q.Keys,
			Denied: probe.Denial{By: q.DeniedBy, Match: q.DeniedMatch}}
		if f := q.Fields; f != nil {
			out.Fields = &probe.Fields{ARN: f.ARN, SourceIdentity: f.SourceIdentity, Tenant: f.Tenant, Role: f.Role}
		}
		return out
	}
	s := &probe.Set{Whoami: conv(p.Whoami), Read: conv(p.Read), List: conv(p.List), Write: conv(p.Write), Delete: conv(p.Delete)}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// conformed is set by the first Conform of the process: Ginkgo runs specs once per process.
var conformed atomic.Bool

// Conform runs the scenario suites against s as subtests of t, one per spec, named
// "<suite>/<spec>", so that go test's -run selects specs and -json reports each. The specs run
// while Conform runs; their subtests report once t's function returns. It can run once per
// test binary (see the package doc): a second call fails t and says why.
func Conform(t *testing.T, s *Stack, opts ...ConformOption) {
	t.Helper()
	var c conformConfig
	for _, o := range opts {
		if err := o(&c); err != nil {
			t.Fatal(err)
		}
	}
	if !conformed.CompareAndSwap(false, true) {
		t.Fatal("mcpssotest: Conform already ran in this test binary: Ginkgo, which runs the suites, runs its specs once per process. " +
			"Call Conform from one test per package; put another Conform (another server, a defect, another profile) in a package of its own")
	}
	ctx := context.Background()
	if c.probes != nil {
		set, err := c.probes.set()
		if err != nil {
			t.Fatal(err)
		}
		s.target.probes = set
	}
	// The specs are listed by a dry run in a child process (the one run of this process is the
	// real one), begun by Start.
	probeErr := framework.CheckProbes(ctx, s.target)
	specs, listErr := specList()
	if listErr != nil {
		t.Fatalf("mcpssotest: listing the specs: %v", listErr)
	}
	if probeErr != nil {
		t.Fatalf("mcpssotest: %v (WithProbes maps the operations onto your tools)", probeErr)
	}
	match := func([]string) bool { return true }
	if c.labelFilter != "" {
		f, err := types.ParseLabelFilter(c.labelFilter)
		if err != nil {
			t.Fatalf("mcpssotest: WithLabelFilter: %v", err)
		}
		match = f
	}

	// A spec that needs a capability the stack lacks is left out, as a label filter leaves a
	// spec out, and said once: it cannot run against this stack, so a subtest would only skip.
	lacking := map[framework.Capability]int{}
	needsLacking := func(labels []string) bool {
		for _, l := range labels {
			if c, ok := strings.CutPrefix(l, "needs:"); ok && !framework.Has(s.target, framework.Capability(c)) {
				lacking[framework.Capability(c)]++
				return true
			}
		}
		return false
	}

	// Each selected spec's subtest records itself and waits, parallel, for the run below.
	results := map[string]framework.Result{}
	done := make(chan struct{})
	var mu sync.Mutex
	selected := []string{}
	for _, sp := range specs {
		if !match(sp.Labels) || needsLacking(sp.Labels) {
			continue
		}
		full := sp.Full
		t.Run(sp.testName(), func(st *testing.T) {
			mu.Lock()
			selected = append(selected, full)
			mu.Unlock()
			st.Parallel()
			<-done
			mu.Lock()
			res, ok := results[full]
			mu.Unlock()
			deliver(st, res, ok)
		})
	}
	defer close(done)
	for _, c := range slices.Sorted(maps.Keys(lacking)) {
		t.Logf("mcpssotest: %d spec(s) left out: they need the capability %q, which this stack does not offer", lacking[c], c)
	}
	report, err := framework.RunAll(s.target, framework.RunConfig{LabelFilter: c.labelFilter, Specs: selected, Silent: true})
	if err != nil {
		t.Fatalf("mcpssotest: %v", err)
	}
	verdict, _ := framework.Verdict(report, c.known)
	mu.Lock()
	for _, r := range verdict {
		if r.Run {
			if r.Outcome == framework.Failed || r.Outcome == framework.Stale {
				t.Errorf("%s: %s: %s", r.Spec, r.Outcome, r.Reason)
			}
			continue
		}
		results[r.Spec] = r
	}
	mu.Unlock()
	if c.junit != "" {
		if err := framework.WriteJUnit(c.junit, report, verdict); err != nil {
			t.Errorf("mcpssotest: WithJUnit: %v", err)
		}
	}
}

// deliver reports one spec's result on its subtest.
func deliver(st *testing.T, r framework.Result, ok bool) {
	if !ok {
		st.Fatal("mcpssotest: the spec was selected but did not run")
	}
	switch r.Outcome {
	case framework.Passed:
	case framework.Known:
		st.Logf("known failure: %s", r.Reason)
	case framework.Skipped:
		st.Skip(r.Reason)
	case framework.Stale:
		st.Errorf("passed, but the known-failures baseline lists it (%s): remove the line", r.Reason)
	default:
		lines := r.Finding.Lines()
		if len(lines) == 0 {
			lines = []string{r.Reason}
		}
		if r.Requirement != nil {
			lines = append([]string{"requirement " + r.Requirement.ID + ": " + r.Requirement.Title}, lines...)
		}
		st.Error(strings.Join(lines, "\n"))
	}
}

// listedSpec is one spec as the dry run lists it.
type listedSpec struct {
	Containers []string `json:"containers"`
	Leaf       string   `json:"leaf"`
	Full       string   `json:"full"`
	Labels     []string `json:"labels"`
}

// testName is the subtest's name: the suite (the outer container, tags left out), then the
// rest of the spec's name; a / in a text would make a level of its own, so it becomes -.
func (sp listedSpec) testName() string {
	texts := append(append([]string{}, sp.Containers...), sp.Leaf)
	for i, s := range texts {
		if j := strings.Index(s, " ["); j > 0 && strings.HasSuffix(s, "]") {
			s = s[:j]
		}
		texts[i] = strings.ReplaceAll(s, "/", "-")
	}
	return texts[0] + "/" + strings.Join(texts[1:], " ")
}

// listEnv names the file a child process of the test binary writes the spec list to.
const listEnv = "MCPSSOTEST_LIST_SPECS_TO"

func init() {
	// The child process of listSpecs: list and exit before the tests start.
	if path := os.Getenv(listEnv); path != "" {
		os.Exit(writeSpecList(path))
	}
}

func writeSpecList(path string) int {
	report, err := framework.RunAll(nil, framework.RunConfig{DryRun: true, Silent: true})
	if err == nil {
		var out []listedSpec
		for _, sr := range report.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			out = append(out, listedSpec{Containers: sr.ContainerHierarchyTexts, Leaf: sr.LeafNodeText, Full: sr.FullText(), Labels: sr.Labels()})
		}
		var data []byte
		if data, err = json.Marshal(out); err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcpssotest: listing the specs:", err)
		return 1
	}
	return 0
}

// specList is the list of the specs, made once per process; Start begins it, so that the
// child process runs while the stack starts.
var specList = sync.OnceValues(listSpecs)

// listSpecs runs the test binary again to list the specs without running them.
func listSpecs() ([]listedSpec, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mcpssotest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "specs.json")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), listEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", exe, err, strings.TrimSpace(stderr.String()))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []listedSpec
	if err := json.Unmarshal(data, &specs); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errors.New("the test binary holds no specs")
	}
	return specs, nil
}
