package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
)

// TestAWSBenchServeMeasuresBothServersCPU runs the built binary's `aws bench --serve --vs moto`:
// the emulator as its own `aws serve` process and moto_server, each measured by the CPU its
// process group used, and the served emulator's CPU profile written when it stops.
func TestAWSBenchServeMeasuresBothServersCPU(t *testing.T) {
	needMotoServer(t)
	bin := buildBinary(t)
	profile := filepath.Join(t.TempDir(), "emulator.pprof")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "aws", "bench", "--serve", "--vs", "moto", "--workload", "sts", "--workload", "s3-get-1k",
		"--iterations", "200", "--concurrency", "2", "--json", "--cpuprofile", profile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var out struct {
		Results         []benchResult      `json:"results"`
		ServerCPURatios map[string]float64 `json:"serverCPURatios"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if len(out.Results) != 4 {
		t.Fatalf("want sts and s3-get-1k for both servers, got %+v", out.Results)
	}
	for _, r := range out.Results {
		if r.Error != "" || r.Iterations != 200 || r.PerSecond <= 0 || r.P99Millis < r.P50Millis {
			t.Errorf("%+v", r)
		}
	}
	// 200 AssumeRole + GetCallerIdentity pairs take each server well over one 10 ms clock tick.
	emu, moto := out.Results[0], out.Results[1]
	if emu.Name != "mcpsso (served)" || moto.Name != "moto_server" || emu.ServerCPUMicros <= 0 || moto.ServerCPUMicros <= 0 {
		t.Fatalf("sts rows without both servers' CPU: %+v, %+v", emu, moto)
	}
	if emu.Connection != connectionShared || moto.Connection != connectionShared || out.Results[2].Connection != "" {
		t.Errorf("want the sts rows (only) to carry the default connection model, shared: %+v", out.Results)
	}
	if got, want := out.ServerCPURatios["sts"], moto.ServerCPUMicros/emu.ServerCPUMicros; got != want {
		t.Errorf("serverCPURatios[sts] = %v, want moto's CPU over the emulator's, %v", got, want)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("the served emulator's CPU profile was not written: %v", err)
	}
}

func TestParseProcStatCountsFromTheCommandsLastParenthesis(t *testing.T) {
	line := "4242 (moto (server) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 3 0 100 0 0\n"
	pgrp, ticks, ok := parseProcStat(line)
	if !ok || pgrp != 4242 || ticks != 1234+56 {
		t.Fatalf("got pgrp %d, ticks %d, ok %v; want 4242, 1290, true", pgrp, ticks, ok)
	}
	if _, _, ok := parseProcStat("4242 (short) S 1"); ok {
		t.Fatal("a truncated stat line parsed")
	}
}

func TestAWSBenchServePerPairConnectionsIsInTheOutput(t *testing.T) {
	bin := buildBinary(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "aws", "bench", "--serve", "--connection", "per-pair", "--iterations", "50", "--concurrency", "2", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var out struct {
		Results []benchResult `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if len(out.Results) != 1 || out.Results[0].Connection != connectionPerPair || out.Results[0].Error != "" || out.Results[0].Iterations != 50 {
		t.Fatalf("want one sts row with connection per-pair: %+v", out.Results)
	}
}

// TestFreshClientSTSWorkloadConnections counts the TCP connections the emulator accepts: the
// shared model reuses kept-alive connections, per-pair opens one (or more) per pair.
func TestFreshClientSTSWorkloadConnections(t *testing.T) {
	for _, tc := range []struct {
		name          string
		newConnection bool
	}{{"shared", false}, {"per-pair", true}} {
		t.Run(tc.name, func(t *testing.T) {
			emu, err := awsemu.New()
			if err != nil {
				t.Fatal(err)
			}
			var accepted atomic.Int64
			srv := httptest.NewUnstartedServer(emu)
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					accepted.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			cfg := aws.Config{
				Region:       awsemu.DefaultRegion,
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}},
				HTTPClient:   &http.Client{Transport: &http.Transport{}},
			}
			ctx := context.Background()
			one, err := freshClientSTSWorkload(ctx, cfg, "conns-"+tc.name, tc.newConnection)
			if err != nil {
				t.Fatal(err)
			}
			before := accepted.Load()
			const pairs = 20
			for range pairs {
				if err := one(); err != nil {
					t.Fatal(err)
				}
			}
			got := accepted.Load() - before
			// net/http's transport puts a connection back in its pool only after the body's
			// end has been read, in a goroutine of its own: a request sent just before that
			// dials anew. So the shared model opens some connections, never one per pair.
			if tc.newConnection && got < pairs {
				t.Errorf("per-pair: %d connections for %d pairs, want at least one per pair", got, pairs)
			}
			if !tc.newConnection && got >= pairs {
				t.Errorf("shared: %d new connections for %d pairs, want the kept-alive ones reused", got, pairs)
			}
		})
	}
}
