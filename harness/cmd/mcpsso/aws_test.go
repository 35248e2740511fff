package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAWSServeAsASubprocess runs `mcpsso aws serve` as a script would: wait for the ready
// line, call it with the SDK and the printed credentials, stop it with SIGINT.
func TestAWSServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	trail := filepath.Join(t.TempDir(), "trail.jsonl")
	cmd := exec.Command(bin, "aws", "serve", "--addr", "127.0.0.1:0", "--account", "444455556666", "--trail", trail)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	lines := bufio.NewScanner(stdout)
	var endpoint string
	var printed []string
	for lines.Scan() {
		printed = append(printed, lines.Text())
		if ep, ok := strings.CutPrefix(lines.Text(), "ready "); ok {
			endpoint = ep
		}
		if strings.HasPrefix(lines.Text(), "export ") {
			break
		}
	}
	if endpoint == "" {
		t.Fatalf("no ready line; stdout %q, stderr %s", printed, stderr.String())
	}
	if !strings.Contains(strings.Join(printed, "\n"), "account 444455556666 admin: AWS_ACCESS_KEY_ID=444455556666 AWS_SECRET_ACCESS_KEY=test") {
		t.Errorf("the second account's credentials are not printed: %q", printed)
	}

	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("444455556666", "test", "")}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != "444455556666" {
		t.Errorf("Account = %s", *out.Account)
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("aws serve did not stop within 10s of SIGINT")
	}

	var logged struct {
		Action   string `json:"action"`
		Decision string `json:"decision"`
		Caller   string `json:"caller"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(stderr.String(), "\n", 2)[0]), &logged); err != nil || logged.Action != "GetCallerIdentity" || logged.Decision != "allow" {
		t.Errorf("first decision log line %q (%v)", strings.SplitN(stderr.String(), "\n", 2)[0], err)
	}
	recorded, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		EventName    string `json:"eventName"`
		EventSource  string `json:"eventSource"`
		UserIdentity struct {
			AccountID string `json:"accountId"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(recorded))), &rec); err != nil || rec.EventName != "GetCallerIdentity" ||
		rec.EventSource != "sts.amazonaws.com" || rec.UserIdentity.AccountID != "444455556666" {
		t.Errorf("trail %s (%v)", recorded, err)
	}
}

func TestAWSBenchMeasuresTheEmulator(t *testing.T) {
	code, stdout, stderr := execute(t, "", "aws", "bench", "--iterations", "30", "--concurrency", "2", "--json", "--workload", "sts", "--workload", "s3-get-1k")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Results []benchResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if len(out.Results) != 2 || out.Results[0].Workload != "sts" || out.Results[0].Iterations != 30 || out.Results[0].PerSecond <= 0 ||
		out.Results[0].StartupMillis <= 0 || out.Results[1].Workload != "s3-get-1k" || out.Results[1].MBPerSecond <= 0 {
		t.Fatalf("%+v", out.Results)
	}
}

func TestAWSCommandsRejectBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"aws", "bench", "--iterations", "0"}, "--iterations"},
		{[]string{"aws", "bench", "--concurrency", "1000"}, "--concurrency"},
		{[]string{"aws", "bench", "--workload", "s3-get-2k"}, "s3-get-1k"},
		{[]string{"aws", "serve", "--addr", "nohost"}, "nohost"},
		{[]string{"aws", "serve", "--account", "12"}, "12"},
		{[]string{"aws", "serve", "--log-level", "loud"}, "--log-level"},
	} {
		code, _, stderr := execute(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args, code, stderr, tc.mention)
		}
	}
}
