package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/pprof/profile"
	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/harness/target"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/probe"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

func newBenchCommand() *cobra.Command {
	cmd := groupCommand("bench", "Load-test a whole deployment: sign-ins, then tool calls",
		`Measure a deployment end to end, the way its users load it: each simulated user signs in, then
calls a tool that reads S3 through the gateway, the authorizer, the MCP server, STS and S3.
For the AWS emulator alone against moto or LocalStack, see "mcpsso aws bench".`)
	cmd.Example = `  mcpsso bench e2e --users 50 --duration 30s
  mcpsso bench e2e --target target.yaml --rate 20/s --duration 1m`
	cmd.AddCommand(newBenchE2ECommand())
	return cmd
}

type benchE2EFlags struct {
	users        int
	duration     time.Duration
	calls        int
	rate         string
	target       string
	key          string
	cpuprofile   string
	memprofile   string
	jsonOut      bool
	sessionCache bool
}

const (
	benchMaxUsers = 2000
	// benchRateLimit is the per-user rate limit the embedded run's users get: the authorizer's
	// maximum, so that the fixture's 30-120 requests/minute do not turn the run into 429s.
	benchRateLimit = 100000
	// benchLabel marks the load generator's goroutines in the CPU profile, so that its CPU can
	// be told from the servers' in the one process.
	benchLabel = "mcpsso_bench"
)

func newBenchE2ECommand() *cobra.Command {
	var f benchE2EFlags
	cmd := &cobra.Command{
		Use:   "e2e [--users N] [--duration D | --calls N] [--rate N/s] [--target FILE] [--cpuprofile F] [--memprofile F] [--json]",
		Short: "Sign N users in, then call a tool that reads S3 and report rate, latency and CPU per call",
		Long: `Start the embedded stack in this process (the mock IdP, the AWS emulator, the reference MCP
server, authorizer and gateway; the reference profile), sign N users in - each gets its own
access token from the mock IdP (minted as after a login; the browser flow is not part of the
load) and opens its own MCP session through the gateway - then have
every user call get_object on its tenant's README.md (gateway -> authorizer -> MCP server ->
STS AssumeRole -> S3 GetObject) until --duration is over or --calls calls were made.

The users are created for the run (bench-0001, bench-0002, ...), spread round-robin over the
fixture's tenants and mapped to each tenant's role as the fixture maps its own users, with the
per-user rate limit raised to 100000 requests/minute so that 429s do not dominate; the report
says so.

Load:
  closed loop (the default)  each user calls again as soon as its call answers
  open loop (--rate N/s)     calls are due at a fixed rate whatever the answers; a call's latency
                             is measured from when it was due, not when a user was free to send
                             it, so queueing shows in the latency instead of hiding in a lower
                             rate (with every user busy, due calls wait: raise --users)

The report (a table on stdout, or --json) gives tool calls/s, p50/p99/max latency, errors by
kind, and CPU per tool call: the process's CPU (getrusage) over the calls, split between the
servers and the load generator by a CPU profile taken during the run (the load generator's
goroutines carry a profile label; the garbage collector and runtime work on unlabelled
goroutines count as the servers'). The servers' share is broken down by component: a profile
sample counts for the innermost kit package on its stack (internal/harness/stack, internal/mocks/awsemu,
reference/gateway, reference/authorizer, reference/mcpserver, ...). CPU per call is also given
for the first and the last 10% of the calls, so a run long enough shows whether the cost per
call stays flat. It ends with the memory the run keeps: the live heap after a garbage
collection and the process's peak RSS (--memprofile writes that heap's profile). While it runs,
a progress line goes to stderr once a second.

--target FILE load-tests your own deployment instead (a target file as for "mcpsso conform
--target"): the users are the file's users with a tenant, taken round-robin (their tokens as the
file gives them: preissued or from its token command, one sign-in per user), and the call is the
file's read probe (probes: read; the reference server's get_object without one) on the user's
bucket and --key. Its servers run elsewhere, so only the load generator's CPU is measured.`,
		Example: `  # 50 users back to back for 30 seconds (the defaults)
  mcpsso bench e2e --users 50 --duration 30s

  # Open loop at 500 calls/s; latency counts from each call's due time
  mcpsso bench e2e --rate 500/s --duration 20s

  # A fixed number of calls, with a CPU profile to read with "go tool pprof"
  mcpsso bench e2e --calls 20000 --duration 0 --cpuprofile e2e.pprof

  # Your own deployment, machine-readable
  mcpsso bench e2e --target target.yaml --users 10 --duration 1m --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchE2E(cmd, f) },
	}
	cmd.Flags().IntVar(&f.users, "users", 50, fmt.Sprintf("simulated users, each with its own token and MCP session (1-%d)", benchMaxUsers))
	cmd.Flags().DurationVar(&f.duration, "duration", 30*time.Second, "how long to call tools (0: until --calls calls)")
	cmd.Flags().IntVar(&f.calls, "calls", 0, "stop after this many tool calls (0: no limit, --duration decides)")
	cmd.Flags().StringVar(&f.rate, "rate", "", "open loop: tool calls due per second, as N or N/s (default: closed loop)")
	cmd.Flags().StringVar(&f.target, "target", "", "a target `FILE`: load-test that deployment instead of the embedded stack")
	cmd.Flags().StringVar(&f.key, "key", "README.md", "with --target: the object key the read probe reads in each user's bucket")
	cmd.Flags().StringVar(&f.cpuprofile, "cpuprofile", "", "write the run's CPU profile to `FILE` (go tool pprof reads it)")
	cmd.Flags().StringVar(&f.memprofile, "memprofile", "", "write a heap profile taken when the calls end (after a garbage collection) to `FILE` (go tool pprof -sample_index=inuse_space reads it)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&f.sessionCache, "session-cache", false, "embedded stack: run the MCP server with its session cache (mcp serve --session-cache): one AssumeRole per user and session instead of one per tool call")
	return cmd
}

// e2eReport is what `bench e2e` found; --json prints it as it is.
type e2eReport struct {
	Target     string         `json:"target"`
	Users      int            `json:"users"`
	Mode       string         `json:"mode"`
	RatePerSec float64        `json:"ratePerSecond,omitempty"`
	Tool       string         `json:"tool"`
	Notes      []string       `json:"notes"`
	SignInSecs float64        `json:"signInSeconds"`
	Seconds    float64        `json:"seconds"`
	Calls      int            `json:"calls"`
	OK         int            `json:"ok"`
	Errors     map[string]int `json:"errors"`
	// ErrorExamples holds the first error of each kind, as the client saw it.
	ErrorExamples map[string]string `json:"errorExamples,omitempty"`
	CallsPerSec   float64           `json:"callsPerSecond"`
	Latency       latencyMillis     `json:"latencyMillis"`
	CPU           e2eCPU            `json:"cpu"`
	Components    []shareOf         `json:"components,omitempty"`
	CPUProfile    string            `json:"cpuProfile,omitempty"`
	Memory        e2eMemory         `json:"memory"`
	MemProfile    string            `json:"memProfile,omitempty"`
}

// e2eMemory is the process's memory when the calls end: what a long run keeps shows here.
type e2eMemory struct {
	// HeapLiveMB is the heap in use after a garbage collection, in MiB.
	HeapLiveMB float64 `json:"heapLiveMiB"`
	// MaxRSSMB is the process's peak resident set size (getrusage), in MiB.
	MaxRSSMB float64 `json:"maxRSSMiB"`
}

type latencyMillis struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// e2eCPU is CPU time per tool call, in microseconds.
type e2eCPU struct {
	// Process is the whole process's CPU (servers and load generator) per call.
	Process float64 `json:"processMicrosPerCall"`
	// Server and LoadGenerator split Process by the CPU profile's samples; Server is absent
	// against a target file.
	Server        *float64 `json:"serverMicrosPerCall,omitempty"`
	LoadGenerator float64  `json:"loadGeneratorMicrosPerCall"`
	// ServerMeasured is false against a target file: its servers run elsewhere.
	ServerMeasured bool `json:"serverMeasured"`
	// FirstTenth and LastTenth are the process's CPU per call over the first and the last
	// 10% of the calls (at the one-second samples nearest those points).
	FirstTenth float64 `json:"firstTenthProcessMicrosPerCall"`
	LastTenth  float64 `json:"lastTenthProcessMicrosPerCall"`
	// ByTenth is the process's CPU per call over each tenth of the calls, first to last.
	ByTenth []float64 `json:"byTenthProcessMicrosPerCall,omitempty"`
	// Includes says in words what the numbers count.
	Includes string `json:"includes"`
}

// shareOf is a component's share of the profiled CPU.
type shareOf struct {
	Name    string  `json:"name"`
	Percent float64 `json:"percent"`
}

// benchUser is one simulated user: who it is, its token, and what its call reads.
type benchUser struct {
	name  string
	token string
	args  map[string]any
	want  string // the content the read must return; "" when unknown (a target file)
}

// benchPlan is what the load loop runs: the MCP URL, the users, the read probe.
type benchPlan struct {
	mcpURL string
	users  []benchUser
	read   *probe.Probe
}

func parseRate(s string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || n <= 0 || n > 100000 {
		return 0, fmt.Errorf("--rate %q: must be tool calls per second, N or N/s, with 0 < N ≤ 100000", s)
	}
	return n, nil
}

func runBenchE2E(cmd *cobra.Command, f benchE2EFlags) error {
	switch {
	case f.users < 1 || f.users > benchMaxUsers:
		return fmt.Errorf("--users %d: must be between 1 and %d", f.users, benchMaxUsers)
	case f.duration < 0:
		return fmt.Errorf("--duration %s: must not be negative", f.duration)
	case f.calls < 0:
		return fmt.Errorf("--calls %d: must not be negative (0: no limit)", f.calls)
	case f.duration == 0 && f.calls == 0:
		return errors.New("--duration 0 needs --calls: with neither, the run would never end")
	case f.target == "" && cmd.Flags().Changed("key"):
		return errors.New("--key: only with --target (the embedded run reads each tenant's README.md)")
	case f.target != "" && f.sessionCache:
		return errors.New("--session-cache: only for the embedded stack (a target's MCP server is configured where it runs)")
	}
	rate := 0.0
	if f.rate != "" {
		var err error
		if rate, err = parseRate(f.rate); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	rep := &e2eReport{Users: f.users, Mode: "closed loop", Errors: map[string]int{}}
	if rate > 0 {
		rep.Mode, rep.RatePerSec = "open loop", rate
	}

	var plan *benchPlan
	signIn := time.Now()
	if f.target != "" {
		tf, err := target.Load(f.target)
		if err != nil {
			return err
		}
		if plan, err = targetPlan(ctx, tf, f.users, f.key); err != nil {
			return failure{err}
		}
		rep.Target = "target " + tf.Name + " (" + tf.MCPURL + ")"
		rep.Notes = append(rep.Notes, "the servers run elsewhere: their CPU cannot be measured here; CPU per call is the load generator's")
	} else {
		fx, err := benchFixture(fixture.Default(), f.users)
		if err != nil {
			return failure{err}
		}
		opts := []stack.Option{stack.WithFixture(fx)}
		if f.sessionCache {
			opts = append(opts, stack.WithMCPServerOptions(mcpserver.WithSessionCache(true)))
		}
		s, err := stack.Start(ctx, opts...)
		if err != nil {
			return failure{err}
		}
		defer s.Close()
		rep.Target = "embedded stack (reference profile)"
		if f.sessionCache {
			rep.Target = "embedded stack (reference profile, MCP server session cache on)"
			rep.Notes = append(rep.Notes, "the MCP server's session cache is on: each user's STS session is reused until shortly before it expires, so AssumeRole runs once per user, not once per call (docs/components/mcp-server.md: Session cache)")
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d users created for the run, round-robin over tenants %s; per-user rate limit raised to %d requests/minute (the fixture's users have 30-120) so that 429s do not dominate",
			f.users, strings.Join(fx.TenantNames(), ", "), benchRateLimit))
		signIn = time.Now()
		if plan, err = embeddedPlan(ctx, s, fx, f.users); err != nil {
			return failure{err}
		}
	}
	rep.Tool = plan.read.Tool
	clients, err := connectAll(ctx, plan)
	if err != nil {
		return failure{err}
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	rep.SignInSecs = time.Since(signIn).Seconds()

	res, prof, err := drive(ctx, plan, clients, f.duration, f.calls, rate, cmd.ErrOrStderr())
	if err != nil {
		return failure{err}
	}
	if f.cpuprofile != "" {
		if err := os.WriteFile(f.cpuprofile, prof, 0o644); err != nil {
			return failure{fmt.Errorf("--cpuprofile: %w", err)}
		}
		rep.CPUProfile = f.cpuprofile
	}
	rep.Memory = measureMemory()
	if f.memprofile != "" {
		if err := writeHeapProfile(f.memprofile); err != nil {
			return failure{fmt.Errorf("--memprofile: %w", err)}
		}
		rep.MemProfile = f.memprofile
	}
	res.fill(rep)
	loadShare, comps, err := profileShares(prof)
	if err != nil {
		return failure{fmt.Errorf("reading the run's CPU profile: %w", err)}
	}
	if rep.Calls > 0 {
		rep.CPU.LoadGenerator = rep.CPU.Process * loadShare
		if f.target == "" {
			server := rep.CPU.Process - rep.CPU.LoadGenerator
			rep.CPU.Server, rep.CPU.ServerMeasured = &server, true
			rep.Components = comps
			rep.CPU.Includes = "process CPU (getrusage) over the calls; server = process x the profile's share outside the load generator's labelled goroutines (GC and runtime count as server)"
		} else {
			rep.CPU.Includes = "this process's CPU only (the load generator and its MCP clients); the deployment's is not measured"
		}
	}

	out := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printE2E(out, rep)
	}
	if rep.OK == 0 {
		return failure{errors.New("no tool call succeeded")}
	}
	return nil
}

// benchFixture is f with n users added for the run, spread round-robin over the tenants that
// have a mapped user, each mapped to that user's role and tags with the rate limit raised.
func benchFixture(f *fixture.Fixture, n int) (*fixture.Fixture, error) {
	var templates []fixture.Mapping
	seen := map[string]bool{}
	for _, m := range f.Mappings {
		t := m.Tags["tenant"]
		if t != "" && !seen[t] {
			seen[t] = true
			templates = append(templates, m)
		}
	}
	if len(templates) == 0 {
		return nil, errors.New("bench: the fixture maps no user with a tenant tag to copy")
	}
	out := *f
	out.Users, out.Mappings = slices.Clone(f.Users), slices.Clone(f.Mappings)
	for i := range n {
		tm := templates[i%len(templates)]
		name := fmt.Sprintf("bench-%04d", i+1)
		// A subject as an Okta-like IdP issues one; unique per user, so each token differs.
		sub := fmt.Sprintf("00ubench%012d", i+1)
		tenant := tm.Tags["tenant"]
		out.Users = append(out.Users, fixture.User{Username: name, Sub: sub, Email: name + "@" + tenant + ".example",
			Name: "Bench User " + strconv.Itoa(i+1), Tenant: tenant})
		// The fields validation would fill in (user and subject, account) are set here.
		out.Mappings = append(out.Mappings, fixture.Mapping{User: name, Sub: sub, Role: tm.Role, Account: tm.Account,
			Tags: tm.Tags, Limits: fixture.Limits{RequestsPerMinute: benchRateLimit, SessionSeconds: tm.Limits.SessionSeconds}})
	}
	return &out, nil
}

// embeddedPlan signs the run's users in at the stack's IdP and reads each tenant's README.md.
func embeddedPlan(ctx context.Context, s *stack.Stack, f *fixture.Fixture, n int) (*benchPlan, error) {
	read := probe.Reference().Read
	plan := &benchPlan{mcpURL: s.MCPURL(), read: read}
	readme := map[string]string{}
	for _, b := range f.Buckets {
		for _, o := range b.Objects {
			if o.Key == "README.md" {
				readme[b.Name] = o.Content
			}
		}
	}
	for _, u := range f.Users[len(f.Users)-n:] {
		bucket := ""
		for _, t := range f.Tenants {
			if t.Name == u.Tenant {
				bucket = t.Bucket
			}
		}
		want, ok := readme[bucket]
		if !ok {
			return nil, fmt.Errorf("bench: tenant %s's bucket %q has no README.md seed object to read", u.Tenant, bucket)
		}
		token, err := pprofDo(ctx, func(ctx context.Context) (string, error) { return s.TokenFor(ctx, u.Username) })
		if err != nil {
			return nil, fmt.Errorf("bench: signing %s in: %w", u.Username, err)
		}
		plan.users = append(plan.users, benchUser{name: u.Username, token: token,
			args: read.Args(probe.Vars{Bucket: bucket, Key: "README.md"}), want: want})
	}
	return plan, nil
}

// targetPlan takes the target file's users with a tenant round-robin, one token per user.
func targetPlan(ctx context.Context, tf *target.File, n int, key string) (*benchPlan, error) {
	read := tf.ProbeSet().Read
	if read == nil {
		return nil, errors.New("bench: the target file's probes declare no read probe to call")
	}
	var users []target.User
	for _, u := range tf.Users {
		if u.Tenant != "" {
			users = append(users, u)
		}
	}
	plan := &benchPlan{mcpURL: tf.MCPURL, read: read}
	tokens := map[string]string{}
	for i := range n {
		u := users[i%len(users)]
		tok, ok := tokens[u.Name]
		if !ok {
			var err error
			if tok, err = targetToken(ctx, tf, u); err != nil {
				return nil, err
			}
			tokens[u.Name] = tok
		}
		plan.users = append(plan.users, benchUser{name: u.Name, token: tok, args: read.Args(probe.Vars{Bucket: u.Bucket, Key: key})})
	}
	return plan, nil
}

func targetToken(ctx context.Context, tf *target.File, u target.User) (string, error) {
	if tf.Tokens.Source == "preissued" {
		return u.PreissuedToken()
	}
	var stderr bytes.Buffer
	c := exec.CommandContext(ctx, "sh", "-c", strings.ReplaceAll(tf.Tokens.Command, "{user}", u.Name))
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("bench: tokens.command for user %s: %w: %s", u.Name, err, strings.TrimSpace(stderr.String()))
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" {
		return "", fmt.Errorf("bench: tokens.command for user %s printed no token", u.Name)
	}
	return tok, nil
}

// connectAll opens each user's MCP session (initialize) through the gateway, concurrently.
func connectAll(ctx context.Context, plan *benchPlan) ([]*mcpclient.Client, error) {
	clients := make([]*mcpclient.Client, len(plan.users))
	errs := make([]error, len(plan.users))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, u := range plan.users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			clients[i], errs[i] = pprofDo(ctx, func(ctx context.Context) (*mcpclient.Client, error) {
				return mcpcall.Connect(ctx, plan.mcpURL, map[string]string{"Authorization": "Bearer " + u.token})
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("bench: user %s: opening an MCP session at %s: %w", u.name, plan.mcpURL, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
		return nil, err
	}
	return clients, nil
}

// pprofDo runs fn on this goroutine with the load generator's profile label, which the
// goroutines it starts (the HTTP client's connections) inherit.
func pprofDo[T any](ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	pprof.Do(ctx, pprof.Labels(benchLabel, "loadgen"), func(ctx context.Context) { v, err = fn(ctx) })
	return v, err
}

// cpuNow is the process's CPU time so far (user and system).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tick is one of the once-a-second samples: calls answered and CPU used since the start.
type tick struct {
	calls int64
	cpu   time.Duration
}

// driveResult is the load loop's raw measurement.
type driveResult struct {
	elapsed   time.Duration
	cpu       time.Duration
	latencies []time.Duration
	errors    map[string]int
	examples  map[string]string
	ticks     []tick
}

// drive runs the calls, closed or open loop, and returns the measurement and the run's CPU
// profile.
func drive(ctx context.Context, plan *benchPlan, clients []*mcpclient.Client, duration time.Duration, maxCalls int, rate float64, progress io.Writer) (*driveResult, []byte, error) {
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		return nil, nil, fmt.Errorf("starting the CPU profile (is another one running?): %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, duration)
		defer cancel()
	}
	var issued, done, failed atomic.Int64
	type workerOut struct {
		lat      []time.Duration
		errs     map[string]int
		examples map[string]string
	}
	outs := make([]workerOut, len(clients))
	start, cpu0 := time.Now(), cpuNow()
	interval := time.Duration(0)
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		u := plan.users[i]
		outs[i].errs, outs[i].examples = map[string]int{}, map[string]string{}
		wg.Go(func() {
			pprof.Do(runCtx, pprof.Labels(benchLabel, "loadgen"), func(ctx context.Context) {
				for ctx.Err() == nil {
					n := issued.Add(1)
					if maxCalls > 0 && n > int64(maxCalls) {
						return
					}
					due := time.Now()
					if interval > 0 {
						due = start.Add(time.Duration(n-1) * interval)
						if wait := time.Until(due); wait > 0 {
							select {
							case <-ctx.Done():
								return
							case <-time.After(wait):
							}
						}
					}
					r, err := mcpcall.Call(ctx, c, plan.read.Tool, u.args)
					if ctx.Err() != nil {
						return // the run ended during the call: not a result
					}
					outs[i].lat = append(outs[i].lat, time.Since(due))
					if kind := callOutcome(plan.read, u, r, err); kind != "" {
						if outs[i].errs[kind] == 0 {
							outs[i].examples[kind] = errorText(r, err)
						}
						outs[i].errs[kind]++
						failed.Add(1)
					}
					done.Add(1)
				}
			})
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	var ticks []tick
	var last tick // the previous sample, for the CPU per call of the last second
	t := time.NewTicker(time.Second)
	defer t.Stop()
	// The run ends at the deadline (or Ctrl-C): calls still in flight then are cancelled and
	// not counted, and neither is the time and CPU they take to unwind.
	var end time.Time
	var endCPU time.Duration
	stopped := runCtx.Done()
	for running := true; running; {
		select {
		case <-finished:
			running = false
		case <-stopped:
			end, endCPU, stopped = time.Now(), cpuNow()-cpu0, nil
		case <-t.C:
			if !end.IsZero() {
				continue // winding down: not part of the run
			}
			n, c := done.Load(), cpuNow()-cpu0
			now := tick{calls: n, cpu: c}
			ticks = append(ticks, now)
			el := time.Since(start).Seconds()
			fmt.Fprintf(progress, "bench e2e: %4.0fs  %d calls (%d errors)  %.0f calls/s  CPU/call (process) %.0f µs overall, %.0f µs in the last second\n",
				el, n, failed.Load(), float64(n)/el, perCall(tick{}, now), perCall(last, now))
			last = now
		}
	}
	pprof.StopCPUProfile()
	if end.IsZero() {
		end, endCPU = time.Now(), cpuNow()-cpu0
	}
	res := &driveResult{elapsed: end.Sub(start), cpu: endCPU, errors: map[string]int{}, examples: map[string]string{}}
	res.ticks = append(ticks, tick{calls: done.Load(), cpu: res.cpu})
	for _, o := range outs {
		res.latencies = append(res.latencies, o.lat...)
		for k, v := range o.errs {
			res.errors[k] += v
			if _, ok := res.examples[k]; !ok {
				res.examples[k] = o.examples[k]
			}
		}
	}
	return res, prof.Bytes(), nil
}

var statusRe = regexp.MustCompile(`status (\d{3})`)

// callOutcome classifies one call: "" for a success, else the kind of error.
func callOutcome(read *probe.Probe, u benchUser, r mcpcall.Result, err error) string {
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, transport.ErrUnauthorized):
			return "http 401"
		case statusRe.MatchString(err.Error()):
			return "http " + statusRe.FindStringSubmatch(err.Error())[1]
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			return "timeout"
		}
		return "transport"
	}
	a := probe.Answer{Text: r.Text, Structured: r.Structured, IsError: r.IsError, RPCError: r.RPCError}
	switch {
	case r.RPCError:
		return "JSON-RPC error"
	case read.IsDenial(a):
		return "denied"
	case r.IsError:
		return "tool error"
	}
	if u.want != "" {
		if got, err := read.ReadContent(a); err != nil || got != u.want {
			return "wrong content"
		}
	}
	return ""
}

// errorText is what a failed call said, cut to one line of at most 200 bytes.
func errorText(r mcpcall.Result, err error) string {
	t := r.Text
	if err != nil {
		t = err.Error()
	}
	t = strings.Join(strings.Fields(t), " ")
	if len(t) > 200 {
		t = t[:200] + "…"
	}
	return t
}

// fill puts the measurement into the report.
func (r *driveResult) fill(rep *e2eReport) {
	rep.Seconds = r.elapsed.Seconds()
	rep.Calls = len(r.latencies)
	rep.Errors = r.errors
	if len(r.examples) > 0 {
		rep.ErrorExamples = r.examples
	}
	for _, v := range r.errors {
		rep.OK -= v
	}
	rep.OK += rep.Calls
	if rep.Calls == 0 {
		return
	}
	rep.CallsPerSec = float64(rep.Calls) / rep.Seconds
	slices.Sort(r.latencies)
	at := func(q float64) float64 {
		return millis(r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))])
	}
	rep.Latency = latencyMillis{P50: at(0.50), P99: at(0.99), Max: millis(r.latencies[len(r.latencies)-1])}
	rep.CPU.Process = micros(r.cpu) / float64(rep.Calls)
	rep.CPU.FirstTenth, rep.CPU.LastTenth = r.tenths()
	rep.CPU.ByTenth = r.byTenth()
}

// perCall is the CPU per call between two samples, in microseconds; 0 without calls.
func perCall(from, to tick) float64 {
	if to.calls <= from.calls {
		return 0
	}
	return micros(to.cpu-from.cpu) / float64(to.calls-from.calls)
}

// byTenth is the process's CPU per call over each tenth of the calls, first to last, from the
// once-a-second samples: each window runs from the last sample at or before its start to the
// first at or past its end (so windows shorter than a second's calls overlap). A run whose cost
// per call is flat shows ten close numbers; one whose cost grows with the calls shows them climb.
func (r *driveResult) byTenth() []float64 {
	ticks := append([]tick{{}}, r.ticks...)
	total := ticks[len(ticks)-1].calls
	if total < 10 {
		return nil
	}
	out := make([]float64, 10)
	for i := range out {
		lo, hi := total*int64(i)/10, total*int64(i+1)/10
		var from, to tick
		for _, t := range ticks {
			if t.calls <= lo {
				from = t
			}
		}
		for _, t := range ticks {
			if t.calls >= hi {
				to = t
				break
			}
		}
		out[i] = perCall(from, to)
	}
	return out
}

// tenths is the process's CPU per call over the first and the last 10% of the calls, from the
// once-a-second samples: up to the first sample at or past 10% of the calls, and from the last
// sample at or before 90% of them.
func (r *driveResult) tenths() (first, last float64) {
	total := r.ticks[len(r.ticks)-1]
	if total.calls == 0 {
		return 0, 0
	}
	var a, b tick // a: end of the first window; b: start of the last
	for _, t := range r.ticks {
		if t.calls*10 >= total.calls {
			a = t
			break
		}
	}
	for _, t := range r.ticks {
		if t.calls*10 <= total.calls*9 {
			b = t
		}
	}
	if a.calls > 0 {
		first = micros(a.cpu) / float64(a.calls)
	}
	if n := total.calls - b.calls; n > 0 {
		last = micros(total.cpu-b.cpu) / float64(n)
	}
	return first, last
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// kitModule is the prefix of the kit's own packages in a profile's function names.
const kitModule = "github.com/mcpsso/mcpsso/"

// profileShares reads a CPU profile: the load generator's share of the samples, and each
// server component's share of the rest (largest first). A sample counts for the innermost kit
// package on its stack; internal/mocks/awsemu's subpackages count as internal/mocks/awsemu, and a stack with no
// kit frame counts as the runtime (the GC, the scheduler) or as libraries.
func profileShares(data []byte) (loadShare float64, comps []shareOf, err error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	var total, load int64
	by := map[string]int64{}
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		if slices.Contains(s.Label[benchLabel], "loadgen") {
			load += v
			continue
		}
		by[componentOf(s)] += v
	}
	if total == 0 {
		return 0, nil, nil
	}
	server := total - load
	for name, v := range by {
		comps = append(comps, shareOf{Name: name, Percent: 100 * float64(v) / float64(server)})
	}
	slices.SortFunc(comps, func(a, b shareOf) int {
		if a.Percent != b.Percent {
			if a.Percent > b.Percent {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return float64(load) / float64(total), comps, nil
}

func componentOf(s *profile.Sample) string {
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function != nil {
				if rest, ok := strings.CutPrefix(ln.Function.Name, kitModule); ok {
					return kitComponent(rest)
				}
			}
		}
	}
	// No kit frame: the goroutine's outermost function that is not the runtime's says whose
	// work it is (net/http's server connections before the handler runs, its client
	// connections' read and write loops); none at all is the GC or the scheduler.
	for i := len(s.Location) - 1; i >= 0; i-- {
		lines := s.Location[i].Line
		for j := len(lines) - 1; j >= 0; j-- {
			if f := lines[j].Function; f != nil && !isRuntime(f.Name) {
				return "no kit frame: " + libraryOf(f.Name)
			}
		}
	}
	return "runtime (GC, scheduler)"
}

// isRuntime: the function is the Go runtime's (its packages, or an assembly helper such as
// gcWriteBarrier, which has no package).
func isRuntime(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "runtime/") ||
		strings.HasPrefix(fn, "internal/runtime/") || !strings.Contains(fn, ".")
}

// libraryOf names a library function's package and, for net/http, which side it serves.
func libraryOf(fn string) string {
	switch {
	case strings.HasPrefix(fn, "net/http.(*conn)."):
		return "net/http server connections"
	case strings.HasPrefix(fn, "net/http.(*persistConn)."), strings.HasPrefix(fn, "net/http.(*Transport)."):
		return "net/http client connections"
	// The profiler keeps 64 frames of a stack, too few for the AWS SDK's middleware: in this
	// process only the MCP server calls AWS during the run, and only the gateway proxies.
	case strings.HasPrefix(fn, "github.com/aws/"):
		return "the AWS SDK (reference/mcpserver's calls; stack cut at 64 frames)"
	case strings.HasPrefix(fn, "net/http/httputil."):
		return "net/http/httputil (reference/gateway's proxy)"
	}
	slash := max(strings.LastIndex(fn, "/"), 0)
	if j := strings.IndexByte(fn[slash:], '.'); j >= 0 {
		return fn[:slash+j]
	}
	return fn
}

// kitComponent maps a kit function name without the module prefix
// ("internal/mocks/awsemu/sigv4.Verify") to its component ("internal/mocks/awsemu"): a
// package's first two path elements, three for the kit's own layers under internal/ (harness,
// mocks, scenarios).
func kitComponent(fn string) string {
	pkg := fn
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		if j := strings.IndexByte(fn[i:], '.'); j >= 0 {
			pkg = fn[:i+j]
		}
	} else if j := strings.IndexByte(fn, '.'); j >= 0 {
		pkg = fn[:j]
	}
	parts := strings.Split(pkg, "/")
	n := 2
	if len(parts) > 2 && parts[0] == "internal" && slices.Contains([]string{"harness", "mocks", "scenarios"}, parts[1]) {
		n = 3
	}
	return strings.Join(parts[:min(n, len(parts))], "/")
}

// measureMemory collects the garbage first, so that the heap it reports is what the run keeps
// live (sessions, caches) rather than garbage not yet collected.
func measureMemory() e2eMemory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := e2eMemory{HeapLiveMB: float64(ms.HeapAlloc) / (1 << 20)}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.MaxRSSMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return m
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func printE2E(w io.Writer, r *e2eReport) {
	mode := r.Mode
	if r.RatePerSec > 0 {
		mode += fmt.Sprintf(" at %.0f calls/s due", r.RatePerSec)
	}
	fmt.Fprintf(w, "mcpsso bench e2e: %s, %d users, %s, tool %s\n", r.Target, r.Users, mode, r.Tool)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "sign-in\t%d tokens, MCP sessions opened in %.2f s\n", r.Users, r.SignInSecs)
	fmt.Fprintf(tw, "tool calls\t%d in %.1f s: %.0f calls/s (%d ok)\n", r.Calls, r.Seconds, r.CallsPerSec, r.OK)
	fmt.Fprintf(tw, "latency\tp50 %.2f ms   p99 %.2f ms   max %.2f ms\n", r.Latency.P50, r.Latency.P99, r.Latency.Max)
	if len(r.Errors) == 0 {
		fmt.Fprintf(tw, "errors\tnone\n")
	} else {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for i, k := range kinds {
			kinds[i] = fmt.Sprintf("%s %d", k, r.Errors[k])
		}
		fmt.Fprintf(tw, "errors\t%s\n", strings.Join(kinds, ", "))
		for _, k := range slices.Sorted(maps.Keys(r.ErrorExamples)) {
			fmt.Fprintf(tw, "  first %s\t%s\n", k, r.ErrorExamples[k])
		}
	}
	c := r.CPU
	if c.Server != nil {
		fmt.Fprintf(tw, "CPU per tool call\tserver %.0f µs   load generator %.0f µs   process %.0f µs\n", *c.Server, c.LoadGenerator, c.Process)
	} else {
		fmt.Fprintf(tw, "CPU per tool call\tserver not measured (it runs elsewhere)   load generator %.0f µs\n", c.LoadGenerator)
	}
	fmt.Fprintf(tw, "  first/last 10%%\tprocess %.0f µs → %.0f µs\n", c.FirstTenth, c.LastTenth)
	if len(c.ByTenth) > 0 {
		parts := make([]string, len(c.ByTenth))
		for i, v := range c.ByTenth {
			parts[i] = fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(tw, "  each 10%%\tprocess %s µs\n", strings.Join(parts, " "))
	}
	if c.Includes != "" {
		fmt.Fprintf(tw, "  counts\t%s\n", c.Includes)
	}
	fmt.Fprintf(tw, "memory at the end\tlive heap %.0f MiB   peak RSS %.0f MiB\n", r.Memory.HeapLiveMB, r.Memory.MaxRSSMB)
	_ = tw.Flush()
	if len(r.Components) > 0 {
		fmt.Fprintln(w, "server CPU by component (profile samples, innermost kit package on the stack):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		rest, small := 0.0, 0
		for _, s := range r.Components {
			if s.Percent < 0.5 {
				rest, small = rest+s.Percent, small+1
				continue
			}
			fmt.Fprintf(tw, "  %s\t%5.1f%%\n", s.Name, s.Percent)
		}
		if small > 0 {
			fmt.Fprintf(tw, "  %d others below 0.5%% each (--json lists them)\t%5.1f%%\n", small, rest)
		}
		_ = tw.Flush()
	}
	if r.CPUProfile != "" {
		fmt.Fprintf(w, "CPU profile: %s (go tool pprof -top %s)\n", r.CPUProfile, r.CPUProfile)
	}
	if r.MemProfile != "" {
		fmt.Fprintf(w, "heap profile: %s (go tool pprof -sample_index=inuse_space -top %s)\n", r.MemProfile, r.MemProfile)
	}
}
