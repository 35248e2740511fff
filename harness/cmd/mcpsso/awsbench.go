package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	awsemu "github.com/mcpsso/mcpsso/mocks/aws"
	"github.com/mcpsso/mcpsso/mocks/aws/moto"
)

type awsBenchFlags struct {
	endpoint    string
	vs          string
	iterations  int
	concurrency int
	jsonOut     bool
}

func newAWSBenchCommand() *cobra.Command {
	var f awsBenchFlags
	cmd := &cobra.Command{
		Use:   "bench [--endpoint URL] [--vs URL|moto] [--iterations N] [--concurrency C]",
		Short: "Measure AssumeRole+GetCallerIdentity against the emulator and another endpoint",
		Long: `Run the same loop against the emulator and, with --vs, another AWS-compatible endpoint, and
print both rates and their ratio. One iteration is the per-request work of an MCP server acting
for a user: sts:AssumeRole of a role, then sts:GetCallerIdentity with the credentials it returned.

Each endpoint is set up through its IAM API with the admin key test/test: a fresh role whose
trust policy lets the account assume it. Without --endpoint the emulator runs in this process
on a loopback port. --vs moto starts moto_server (if it is installed) on a free port.`,
		Example: `  # The emulator against moto_server, side by side
  mcpsso aws bench --vs moto

  # A running emulator against LocalStack, 5000 iterations on 8 workers, as JSON
  mcpsso aws bench --endpoint http://127.0.0.1:4566 --vs http://127.0.0.1:4567 --iterations 5000 --concurrency 8 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAWSBench(cmd, f) },
	}
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "emulator endpoint (default: start one in this process)")
	cmd.Flags().StringVar(&f.vs, "vs", "", `endpoint to compare with, or "moto" to start moto_server`)
	cmd.Flags().IntVar(&f.iterations, "iterations", 2000, "iterations per endpoint")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "concurrent workers")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the results as JSON")
	return cmd
}

// benchResult is one endpoint's measurement.
type benchResult struct {
	Name          string  `json:"name"`
	Endpoint      string  `json:"endpoint"`
	Iterations    int     `json:"iterations"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"iterationsPerSecond"`
	P50Millis     float64 `json:"p50Millis"`
	P99Millis     float64 `json:"p99Millis"`
	StartupMillis float64 `json:"startupMillis,omitempty"`
}

func runAWSBench(cmd *cobra.Command, f awsBenchFlags) error {
	if f.iterations < 1 || f.iterations > 1_000_000 {
		return fmt.Errorf("--iterations %d: must be between 1 and 1000000", f.iterations)
	}
	if f.concurrency < 1 || f.concurrency > 256 {
		return fmt.Errorf("--concurrency %d: must be between 1 and 256", f.concurrency)
	}
	ctx := cmd.Context()
	var results []benchResult

	endpoint, name, startup := f.endpoint, "mcpsso", time.Duration(0)
	if endpoint == "" {
		t0 := time.Now()
		s, err := awsemu.Start(ctx)
		if err != nil {
			return failure{err}
		}
		startup = time.Since(t0)
		defer s.Close()
		endpoint, name = s.Endpoint(), "mcpsso (in-process)"
	}
	r, err := benchEndpoint(ctx, name, endpoint, f.iterations, f.concurrency)
	if err != nil {
		return failure{fmt.Errorf("%s at %s: %w", name, endpoint, err)}
	}
	r.StartupMillis = float64(startup.Microseconds()) / 1000
	results = append(results, r)

	if f.vs != "" {
		vs, vsName := f.vs, f.vs
		if f.vs == "moto" {
			m, err := moto.Start(ctx)
			if err != nil {
				return failure{err}
			}
			defer m.Close()
			vs, vsName = m.Endpoint(), "moto_server"
		}
		r, err := benchEndpoint(ctx, vsName, vs, f.iterations, f.concurrency)
		if err != nil {
			return failure{fmt.Errorf("%s at %s: %w", vsName, vs, err)}
		}
		results = append(results, r)
	}

	out := cmd.OutOrStdout()
	if f.jsonOut {
		doc := map[string]any{"results": results}
		if len(results) == 2 {
			doc["ratio"] = results[0].PerSecond / results[1].PerSecond
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printBench(out, results)
	return nil
}

func printBench(w io.Writer, results []benchResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\titerations\tseconds\titerations/s\tp50 ms\tp99 ms")
	for _, r := range results {
		fmt.Fprintf(tw, "%s %s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\n", r.Name, r.Endpoint, r.Iterations, r.Seconds, r.PerSecond, r.P50Millis, r.P99Millis)
	}
	_ = tw.Flush()
	if results[0].StartupMillis > 0 {
		fmt.Fprintf(w, "emulator start-up: %.1f ms\n", results[0].StartupMillis)
	}
	if len(results) == 2 {
		fmt.Fprintf(w, "ratio: %s does %.1fx the iterations/s of %s\n", results[0].Name, results[0].PerSecond/results[1].PerSecond, results[1].Name)
	}
}

// benchEndpoint sets up a role on endpoint and runs the AssumeRole+GetCallerIdentity loop.
func benchEndpoint(ctx context.Context, name, endpoint string, n, workers int) (benchResult, error) {
	cfg := aws.Config{
		Region:       awsemu.DefaultRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}},
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}},
	}
	stsc := sts.NewFromConfig(cfg)
	who, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return benchResult{}, fmt.Errorf("GetCallerIdentity with test/test: %w", err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	roleName := "mcpsso-bench-" + hex.EncodeToString(suffix[:])
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + *who.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(roleName), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return benchResult{}, fmt.Errorf("CreateRole: %w", err)
	}
	one := func() error {
		out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("bench")})
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
	}
	for i := 0; i < min(10, n); i++ { // warm connections and caches
		if err := one(); err != nil {
			return benchResult{}, err
		}
	}

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
	return benchResult{Name: name, Endpoint: endpoint, Iterations: n, Seconds: elapsed.Seconds(),
		PerSecond: float64(n) / elapsed.Seconds(), P50Millis: ms(latencies[n/2]), P99Millis: ms(latencies[n*99/100])}, nil
}
