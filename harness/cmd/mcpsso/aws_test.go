package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAWSServeAsASubprocess runs `mcpsso aws serve` as a script would: wait for the ready
// line, call it with the SDK and the printed credentials, stop it with SIGINT.
func TestAWSServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	trail := filepath.Join(t.TempDir(), "trail.jsonl")
	p := startServe(t, bin, nil, "export ", "aws", "serve", "--addr", "127.0.0.1:0", "--account", "444455556666", "--trail", trail)
	endpoint := p.require(t, "ready ")
	if !strings.Contains(strings.Join(p.lines, "\n"), "account 444455556666 admin: AWS_ACCESS_KEY_ID=444455556666 AWS_SECRET_ACCESS_KEY=test") {
		t.Errorf("the second account's credentials are not printed: %q", p.lines)
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
	// The decision log is written in batches, yet while the emulator serves, not at its end.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stderr.String(), `"action":"GetCallerIdentity"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no decision log line while serving: %q", p.stderr.String())
		}
	}

	p.interrupt(t)
	stderr := p.stderr.String()

	var logged struct {
		Action   string `json:"action"`
		Decision string `json:"decision"`
		Caller   string `json:"caller"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(stderr, "\n", 2)[0]), &logged); err != nil || logged.Action != "GetCallerIdentity" || logged.Decision != "allow" {
		t.Errorf("first decision log line %q (%v)", strings.SplitN(stderr, "\n", 2)[0], err)
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

// TestAWSServeLocalStackConventions: the default account from $MCPSSO_DEFAULT_ACCOUNT holds the
// "test" key, and an undeclared account's 12-digit ID is its key, with any secret.
func TestAWSServeLocalStackConventions(t *testing.T) {
	bin := buildBinary(t)
	env := append(os.Environ(), "MCPSSO_DEFAULT_ACCOUNT=000000000000")
	p := startServe(t, bin, env, "export ", "aws", "serve", "--addr", "127.0.0.1:0")
	endpoint := p.require(t, "ready ")
	if !strings.Contains(strings.Join(p.lines, "\n"), "account 000000000000 admin: AWS_ACCESS_KEY_ID=000000000000") {
		t.Errorf("the default account from the environment is not printed: %q", p.lines)
	}
	for key, want := range map[string]string{"test": "000000000000", "444455556666": "444455556666"} {
		cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(key, "any-secret-"+key, "")}
		if key == "test" {
			cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "test", "")
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("key %s: %v", key, err)
		}
		if *out.Account != want {
			t.Errorf("key %s: Account = %s, want %s", key, *out.Account, want)
		}
	}
	p.interrupt(t)
}

func TestAWSServeSeedsAFixture(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, nil, "export ", "aws", "serve", "--addr", "127.0.0.1:0", "--config", "default", "--profile", "reference")
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.require(t, "ready ")),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(t.Context(),
		&s3.GetObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("README.md")})
	if err != nil {
		t.Fatalf("%v; stderr %s", err, p.stderr.String())
	}
	out.Body.Close()
	if !strings.Contains(strings.Join(p.lines, "\n"), "account 444455556666 admin") {
		t.Errorf("the fixture's second account is not declared: %q", p.lines)
	}
}

// TestAWSServeRestartsOnItsSeededDataDirectory: seeding is idempotent, so `aws serve
// --config default --data DIR` starts twice; a change someone made is listed and fails the
// start, and --reseed puts the fixture's back.
func TestAWSServeRestartsOnItsSeededDataDirectory(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"aws", "serve", "--addr", "127.0.0.1:0", "--config", "default", "--data", dir}
	first := startServe(t, bin, nil, "ready ", args...)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(first.require(t, "ready ")),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(t.Context(),
		&s3.PutObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("README.md"), Body: strings.NewReader("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	first.interrupt(t)

	changed := exec.Command(bin, args...)
	out, err := changed.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "object README.md differs") || !strings.Contains(string(out), "--reseed") {
		t.Fatalf("restart over a changed object: %v\n%s\nwant exit 1 naming the object and --reseed", err, out)
	}
	reseeded := startServe(t, bin, nil, "ready ", append(args, "--reseed")...)
	reseeded.interrupt(t)
	again := startServe(t, bin, nil, "ready ", args...)
	again.interrupt(t)
}

// TestAWSServeTaskRole serves the fixture's task role on an ECS container-credentials
// endpoint, as the container topology uses it, and gets its credentials the way the SDK does.
func TestAWSServeTaskRole(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, nil, "export ", "aws", "serve", "--addr", "127.0.0.1:0", "--config", "default", "--task-role", "ecsTaskRole",
		"--task-role-path", "/v2/credentials/x", "--task-role-token", "tok-123")
	endpoint := p.require(t, "ready ")
	var url string
	for _, l := range p.lines {
		if rest, ok := strings.CutPrefix(l, "task-role "); ok {
			url, _, _ = strings.Cut(rest, " ")
			if !strings.HasSuffix(rest, "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok-123") {
				t.Errorf("task-role line %q does not name the token", l)
			}
		}
	}
	if !strings.HasSuffix(url, "/v2/credentials/x") {
		t.Fatalf("no task-role line with the path: %q", p.lines)
	}
	creds := endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = "tok-123" })
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.NewCredentialsCache(creds)}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("%v; stderr %s", err, p.stderr.String())
	}
	if !strings.Contains(aws.ToString(id.Arn), ":assumed-role/ecsTaskRole/") {
		t.Errorf("caller %s; want the task role", aws.ToString(id.Arn))
	}
	code, _, stderr := execute(t, "", "aws", "serve", "--addr", "127.0.0.1:0", "--task-role", "no-such-role")
	if code == 0 || !strings.Contains(stderr, "no-such-role") {
		t.Errorf("--task-role no-such-role: exit %d, stderr %q", code, stderr)
	}
}

func TestFixtureCommands(t *testing.T) {
	code, stdout, _ := execute(t, "", "fixture", "print")
	if code != 0 || !strings.Contains(stdout, "taskRole: ecsTaskRole") {
		t.Fatalf("print: exit %d\n%s", code, stdout)
	}
	path := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := execute(t, "", "fixture", "check", path); code != 0 || !strings.HasPrefix(stdout, "ok: 2 accounts, 2 tenants, 4 users (3 mapped), 4 roles, 2 buckets") {
		t.Fatalf("check: exit %d %q %q", code, stdout, stderr)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(stdout, "  - user: bob", "  - user: robert", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := execute(t, "", "fixture", "check", path); code != exitInput || !strings.Contains(stderr, "mappings[1].user") {
		t.Fatalf("bad fixture: exit %d %q", code, stderr)
	}
	if code, _, stderr := execute(t, "", "aws", "serve", "--config", "default", "--profile", "tutorial"); code != exitInput || !strings.Contains(stderr, "--profile") {
		t.Fatalf("bad profile: exit %d %q", code, stderr)
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
		{[]string{"aws", "bench", "--serve", "--endpoint", "http://127.0.0.1:1"}, "--serve"},
		{[]string{"aws", "bench", "--cpuprofile", "x.pprof"}, "--cpuprofile"},
		{[]string{"aws", "bench", "--serve", "--connection", "keep-alive"}, "per-pair"},
		{[]string{"aws", "bench", "--connection", "per-pair"}, "--serve"},
		{[]string{"aws", "serve", "--addr", "nohost"}, "nohost"},
		{[]string{"aws", "serve", "--account", "12"}, "12"},
		{[]string{"aws", "serve", "--default-account", "0000"}, "12 digits"},
		{[]string{"aws", "serve", "--log-level", "loud"}, "--log-level"},
	} {
		code, _, stderr := execute(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args, code, stderr, tc.mention)
		}
	}
}
