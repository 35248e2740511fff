package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

type awsBenchFlags struct {
	endpoint    string
	vs          string
	workloads   []string
	iterations  int
	concurrency int
	jsonOut     bool
	serve       bool
	cpuProfile  string
	connection  string
}

// Connection models of the served sts workload (--connection).
const (
	// connectionShared: a new SDK client per pair, with the user's new credentials, over one
	// HTTP client whose connections are kept alive, as reference/mcpserver's clients share
	// one (its newAWSHTTPClient).
	connectionShared = "shared"
	// connectionPerPair: a new SDK client on a new HTTP transport, so a new TCP connection,
	// per pair: a server that keeps no connection pool.
	connectionPerPair = "per-pair"
)

// workloadNames are the loops `aws bench` can run, in the order it runs them.
var workloadNames = []string{"sts", "s3-get-1k", "s3-put-1k", "s3-get-1m", "s3-put-1m"}

func newAWSBenchCommand() *cobra.Command {
	var f awsBenchFlags
	cmd := &cobra.Command{
		Use:   "bench [--endpoint URL | --serve [--connection shared|per-pair] [--cpuprofile F]] [--vs URL|moto] [--workload W]... [--iterations N] [--concurrency C]",
		Short: "Measure the emulator against another endpoint, side by side",
		Long: `Run the same loops against the emulator and, with --vs, another AWS-compatible endpoint, and
print both rates and their ratio. Workloads (--workload, repeatable, or "all"):
  sts        the per-request work of an MCP server acting for a user: sts:AssumeRole of a role,
             then sts:GetCallerIdentity with the credentials it returned (the default)
  s3-get-1k  GetObject of a 1 KiB object      s3-put-1k  PutObject of a 1 KiB object
  s3-get-1m  GetObject of a 1 MiB object      s3-put-1m  PutObject of a 1 MiB object

Each endpoint is set up through its own APIs with the admin key test/test: a fresh role whose
trust policy lets the account assume it, a fresh bucket. Without --endpoint the emulator runs in
this process on a loopback port. --vs moto starts moto_server (if it is installed) on a free
port.

--serve runs the emulator as a separate process instead ("mcpsso aws serve" of this binary), so
that it and moto_server are measured alike: each server's CPU (user+system, from /proc/<pid>/stat,
over the timed loop only) per iteration is printed beside the rates, with the ratio of the two.
The sts workload then makes a new client for every pair, as an MCP server does with each user's
new credentials; --connection says how its requests reach the server, the same for both:
  shared     (the default) the new client goes through one HTTP client that keeps its
             connections alive, as the reference MCP server's per-user clients share one
             (reference/mcpserver, newAWSHTTPClient)
  per-pair   every pair opens a new TCP connection, as a server without a connection pool does`,
		Example: `  # The emulator against moto_server, side by side
  mcpsso aws bench --vs moto

  # Every workload, S3 included
  mcpsso aws bench --vs moto --workload all --iterations 500

  # Server CPU per AssumeRole + GetCallerIdentity pair, emulator and moto_server each a process
  mcpsso aws bench --serve --vs moto --workload sts

  # The same with a new TCP connection for every pair
  mcpsso aws bench --serve --vs moto --workload sts --connection per-pair

  # The same, keeping a CPU profile of the served emulator for go tool pprof
  mcpsso aws bench --serve --vs moto --cpuprofile emulator.pprof

  # A running emulator against LocalStack, 5000 iterations on 8 workers, as JSON
  mcpsso aws bench --endpoint http://127.0.0.1:4566 --vs http://127.0.0.1:4567 --iterations 5000 --concurrency 8 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAWSBench(cmd, f) },
	}
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "emulator endpoint (default: start one in this process)")
	cmd.Flags().StringVar(&f.vs, "vs", "", `endpoint to compare with, or "moto" to start moto_server`)
	cmd.Flags().StringArrayVar(&f.workloads, "workload", []string{"sts"}, "workload to run (repeatable): "+strings.Join(workloadNames, ", ")+", or all")
	cmd.Flags().IntVar(&f.iterations, "iterations", 2000, "iterations per endpoint")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "concurrent workers")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the results as JSON")
	cmd.Flags().BoolVar(&f.serve, "serve", false, "run the emulator as a separate `aws serve` process and report each server's CPU per iteration")
	cmd.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "with --serve: write the served emulator's CPU profile to this file")
	cmd.Flags().StringVar(&f.connection, "connection", connectionShared, "with --serve, the sts workload's connections: shared (one kept-alive HTTP client, as reference/mcpserver) or per-pair (a new TCP connection per pair)")
	return cmd
}

// benchResult is one endpoint's measurement.
type benchResult struct {
	Workload    string  `json:"workload"`
	Name        string  `json:"name"`
	Endpoint    string  `json:"endpoint"`
	Iterations  int     `json:"iterations"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"iterationsPerSecond"`
	MBPerSecond float64 `json:"mbPerSecond,omitempty"`
	// Error says why the loop did not finish; the other endpoint's rows still count.
	Error string `json:"error,omitempty"`
	// Connection is the served sts workload's connection model (--serve): shared or per-pair.
	Connection string `json:"connection,omitempty"`
	// ServerCPUMicros is the server process's CPU per iteration (--serve).
	ServerCPUMicros float64 `json:"serverCPUMicrosPerIteration,omitempty"`
	P50Millis       float64 `json:"p50Millis"`
	P99Millis       float64 `json:"p99Millis"`
	StartupMillis   float64 `json:"startupMillis,omitempty"`
}

func runAWSBench(cmd *cobra.Command, f awsBenchFlags) error {
	if f.iterations < 1 || f.iterations > 1_000_000 {
		return fmt.Errorf("--iterations %d: must be between 1 and 1000000", f.iterations)
	}
	if f.concurrency < 1 || f.concurrency > 256 {
		return fmt.Errorf("--concurrency %d: must be between 1 and 256", f.concurrency)
	}
	var workloads []string
	for _, w := range f.workloads {
		switch {
		case w == "all":
			workloads = workloadNames
		case slices.Contains(workloadNames, w):
			if !slices.Contains(workloads, w) {
				workloads = append(workloads, w)
			}
		default:
			return fmt.Errorf("--workload %q: must be one of %s, or all", w, strings.Join(workloadNames, ", "))
		}
	}
	switch {
	case f.serve && f.endpoint != "":
		return errors.New("--serve: starts its own emulator; leave out --endpoint")
	case f.cpuProfile != "" && !f.serve:
		return errors.New("--cpuprofile: profiles the served emulator; only with --serve")
	case f.connection != connectionShared && f.connection != connectionPerPair:
		return fmt.Errorf("--connection %q: must be %s or %s", f.connection, connectionShared, connectionPerPair)
	case cmd.Flags().Changed("connection") && !f.serve:
		return errors.New("--connection: the served sts workload's connection model; only with --serve")
	}
	connection := "" // the in-process sts workload is one client, without this choice
	if f.serve {
		connection = f.connection
	}
	ctx := cmd.Context()

	endpoint, name, startup := f.endpoint, "mcpsso", time.Duration(0)
	pids := map[string]int{} // --serve: endpoint -> server process (group) to read CPU from
	switch {
	case f.serve:
		t0 := time.Now()
		e, err := startServedEmulator(ctx, f.cpuProfile)
		if err != nil {
			return failure{err}
		}
		startup = time.Since(t0)
		defer func() {
			if err := e.Close(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "mcpsso: stopping the served emulator: %v\n", err)
			}
		}()
		endpoint, name = e.endpoint, "mcpsso (served)"
		pids[endpoint] = e.cmd.Process.Pid
	case endpoint == "":
		t0 := time.Now()
		s, err := awsemu.Start(ctx)
		if err != nil {
			return failure{err}
		}
		startup = time.Since(t0)
		defer s.Close()
		endpoint, name = s.Endpoint(), "mcpsso (in-process)"
	}
	targets := []struct{ name, endpoint string }{{name, endpoint}}
	if f.vs != "" {
		vs, vsName := f.vs, f.vs
		if f.vs == "moto" {
			m, err := moto.Start(ctx)
			if err != nil {
				return failure{err}
			}
			defer m.Close()
			vs, vsName = m.Endpoint(), "moto_server"
			pids[vs] = m.PID()
		}
		targets = append(targets, struct{ name, endpoint string }{vsName, vs})
	}

	var results []benchResult
	for _, w := range workloads {
		for _, tg := range targets {
			r, err := benchEndpoint(ctx, w, tg.name, tg.endpoint, f.iterations, f.concurrency, connection, pids[tg.endpoint])
			if err != nil {
				if tg.endpoint == endpoint {
					return failure{fmt.Errorf("%s at %s, workload %s: %w", tg.name, tg.endpoint, w, err)}
				}
				// The other endpoint failing (moto_server does under concurrent 1 MiB puts)
				// is a result to report, not a reason to stop.
				r = benchResult{Workload: w, Name: tg.name, Endpoint: tg.endpoint, Error: err.Error()}
			}
			results = append(results, r)
		}
	}
	results[0].StartupMillis = float64(startup.Microseconds()) / 1000

	out := cmd.OutOrStdout()
	if f.jsonOut {
		doc := map[string]any{"results": results}
		if len(targets) == 2 {
			ratios, cpu := map[string]float64{}, map[string]float64{}
			for i := 0; i+1 < len(results); i += 2 {
				if results[i+1].Error == "" {
					ratios[results[i].Workload] = results[i].PerSecond / results[i+1].PerSecond
					if results[i].ServerCPUMicros > 0 && results[i+1].ServerCPUMicros > 0 {
						cpu[results[i].Workload] = results[i+1].ServerCPUMicros / results[i].ServerCPUMicros
					}
				}
			}
			doc["ratios"] = ratios
			if f.serve {
				// How many times the emulator's server CPU per iteration the other server uses.
				doc["serverCPURatios"] = cpu
			}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printBench(out, results, len(targets))
	if connection != "" && slices.Contains(workloads, "sts") {
		fmt.Fprintf(out, "sts connections: %s\n", connectionDescriptions[connection])
	}
	return nil
}

// connectionDescriptions are the text output's words for each connection model.
var connectionDescriptions = map[string]string{
	connectionShared:  "shared (a new client per pair over one kept-alive HTTP client, as reference/mcpserver)",
	connectionPerPair: "per-pair (a new client on a new TCP connection per pair)",
}

func printBench(w io.Writer, results []benchResult, perWorkload int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tendpoint\titerations\tseconds\titerations/s\tMB/s\tp50 ms\tp99 ms\tserver CPU µs/iteration")
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s %s\tfailed: %s\n", r.Workload, r.Name, r.Endpoint, r.Error)
			continue
		}
		mb := "-"
		if r.MBPerSecond > 0 {
			mb = fmt.Sprintf("%.1f", r.MBPerSecond)
		}
		cpu := "-"
		if r.ServerCPUMicros > 0 {
			cpu = fmt.Sprintf("%.0f", r.ServerCPUMicros)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%d\t%.2f\t%.0f\t%s\t%.2f\t%.2f\t%s\n", r.Workload, r.Name, r.Endpoint, r.Iterations, r.Seconds, r.PerSecond, mb, r.P50Millis, r.P99Millis, cpu)
	}
	_ = tw.Flush()
	if results[0].StartupMillis > 0 {
		fmt.Fprintf(w, "emulator start-up: %.1f ms\n", results[0].StartupMillis)
	}
	if perWorkload == 2 {
		for i := 0; i+1 < len(results); i += 2 {
			if results[i+1].Error != "" {
				continue
			}
			fmt.Fprintf(w, "ratio %s: %s does %.1fx the iterations/s of %s\n", results[i].Workload, results[i].Name, results[i].PerSecond/results[i+1].PerSecond, results[i+1].Name)
			if results[i].ServerCPUMicros > 0 && results[i+1].ServerCPUMicros > 0 {
				fmt.Fprintf(w, "server CPU %s: %s uses %.1fx the CPU per iteration of %s (%.0f µs vs %.0f µs)\n", results[i].Workload, results[i+1].Name,
					results[i+1].ServerCPUMicros/results[i].ServerCPUMicros, results[i].Name, results[i+1].ServerCPUMicros, results[i].ServerCPUMicros)
			}
		}
	}
}

// benchEndpoint sets up the workload on endpoint and runs its loop. With a connection model,
// the sts workload makes a new client per pair, connected as the model says; with a server
// pid, the CPU of its process group over the loop is measured.
func benchEndpoint(ctx context.Context, workload, name, endpoint string, n, workers int, connection string, pid int) (benchResult, error) {
	cfg := aws.Config{
		Region:       awsemu.DefaultRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}},
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}},
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	unique := "mcpsso-bench-" + hex.EncodeToString(suffix[:])
	var one func() error
	var size int
	var err error
	switch workload {
	case "sts":
		if connection != "" {
			one, err = freshClientSTSWorkload(ctx, cfg, unique, connection == connectionPerPair)
		} else {
			one, err = stsWorkload(ctx, cfg, unique)
		}
	default:
		one, size, err = s3Workload(ctx, cfg, workload, unique)
	}
	if err != nil {
		return benchResult{}, err
	}
	for i := 0; i < min(10, n); i++ { // warm connections and caches
		if err := one(); err != nil {
			return benchResult{}, err
		}
	}
	var cpu0 time.Duration
	if pid > 0 {
		if cpu0, err = groupCPU(pid); err != nil {
			return benchResult{}, err
		}
	}
	r, err := runLoop(one, n, workers)
	if err != nil {
		return benchResult{}, err
	}
	if pid > 0 {
		cpu1, err := groupCPU(pid)
		if err != nil {
			return benchResult{}, err
		}
		r.ServerCPUMicros = float64((cpu1 - cpu0).Microseconds()) / float64(n)
	}
	r.Workload, r.Name, r.Endpoint = workload, name, endpoint
	if workload == "sts" {
		r.Connection = connection
	}
	if size > 0 {
		r.MBPerSecond = r.PerSecond * float64(size) / 1e6
	}
	return r, nil
}

// stsWorkload: AssumeRole a fresh role, then GetCallerIdentity with the session.
func stsWorkload(ctx context.Context, cfg aws.Config, roleName string) (func() error, error) {
	stsc := sts.NewFromConfig(cfg)
	roleARN, err := createBenchRole(ctx, cfg, roleName)
	if err != nil {
		return nil, err
	}
	return func() error {
		out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bench")})
		if err != nil {
			return fmt.Errorf("AssumeRole: %w", err)
		}
		c := out.Credentials
		_, err = stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
			o.Credentials = credentials.StaticCredentialsProvider{Value: aws.Credentials{
				AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}}
		})
		if err != nil {
			return fmt.Errorf("GetCallerIdentity with the session: %w", err)
		}
		return nil
	}, nil
}

// createBenchRole creates a role the account may assume and returns its ARN.
func createBenchRole(ctx context.Context, cfg aws.Config, roleName string) (string, error) {
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("GetCallerIdentity with test/test: %w", err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + *who.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(roleName), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return "", fmt.Errorf("CreateRole: %w", err)
	}
	return *role.Role.Arn, nil
}

// s3Workload: GetObject or PutObject of a 1 KiB or 1 MiB object in a fresh bucket.
func s3Workload(ctx context.Context, cfg aws.Config, workload, bucket string) (func() error, int, error) {
	size := 1 << 10
	if strings.HasSuffix(workload, "-1m") {
		size = 1 << 20
	}
	body := bytes.Repeat([]byte("x"), size)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, 0, fmt.Errorf("CreateBucket: %w", err)
	}
	put := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("object"), Body: bytes.NewReader(body)})
		if err != nil {
			return fmt.Errorf("PutObject: %w", err)
		}
		return nil
	}
	if strings.HasPrefix(workload, "s3-put") {
		return put, size, nil
	}
	if err := put(); err != nil {
		return nil, 0, err
	}
	return func() error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("object")})
		if err != nil {
			return fmt.Errorf("GetObject: %w", err)
		}
		defer out.Body.Close()
		if n, err := io.Copy(io.Discard, out.Body); err != nil || n != int64(size) {
			return fmt.Errorf("GetObject read %d bytes of %d: %v", n, size, err)
		}
		return nil
	}, size, nil
}

// runLoop runs one() n times on workers goroutines and measures rate and latency.
func runLoop(one func() error, n, workers int) (benchResult, error) {
	latencies := make([]time.Duration, n)
	var next int
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				t0 := time.Now()
				if err := one(); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return benchResult{}, firstErr
	}
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return benchResult{Iterations: n, Seconds: elapsed.Seconds(), PerSecond: float64(n) / elapsed.Seconds(),
		P50Millis: ms(latencies[n/2]), P99Millis: ms(latencies[n*99/100])}, nil
}
