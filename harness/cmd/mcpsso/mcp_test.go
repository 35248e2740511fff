package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
	"github.com/mcpsso/mcpsso/reference/policies"
)

// startMCPWorld starts the emulator with a task role and acme's target role (reference
// policies) and a task-role endpoint; it returns the environment a server process needs.
func startMCPWorld(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	emu, err := awsemu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	admin, _ := emu.AdminCredentials(awsemu.DefaultAccount)
	c := iam.NewFromConfig(aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials: credentials.StaticCredentialsProvider{Value: admin}})
	vars := map[string]string{"acct": awsemu.DefaultAccount, "ecsTaskRole": "ecsTaskRole", "tenant": "acme"}
	doc := func(name string) *string {
		b, err := policies.Load(policies.Reference, name, vars)
		if err != nil {
			t.Fatal(err)
		}
		return aws.String(string(b))
	}
	for _, r := range []struct{ name, trust, policy string }{
		{"ecsTaskRole", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, "task-role-policy"},
		{"quilt-mcp-target-acme", *doc("target-role-trust-policy"), "target-role-policy"},
	} {
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String("p"), PolicyDocument: doc(r.policy)}); err != nil {
			t.Fatal(err)
		}
	}
	ep, err := emu.StartTaskRoleEndpoint(ctx, "arn:aws:iam::"+awsemu.DefaultAccount+":role/ecsTaskRole")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	none := filepath.Join(t.TempDir(), "none")
	return append(ep.Env(), "AWS_ENDPOINT_URL="+emu.Endpoint(), "AWS_REGION="+awsemu.DefaultRegion,
		"AWS_CONFIG_FILE="+none, "AWS_SHARED_CREDENTIALS_FILE="+none, "AWS_EC2_METADATA_DISABLED=true", "HOME="+t.TempDir())
}

// TestMCPServeAsASubprocess runs `mcpsso mcp serve` as a script would and sends it the request
// its --help teaches, so the help cannot show a call that does not work.
func TestMCPServeAsASubprocess(t *testing.T) {
	bin := buildBinary(t)
	// Nothing else from this process's environment; the secret as the help exports it.
	env := append(startMCPWorld(t), mcpserver.EnvContextProofSecret+"="+contextproof.NewSecret())
	p := startServe(t, bin, env, "metrics ", "mcp", "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	url, metrics := p.printed("ready "), p.printed("metrics ")
	if !strings.HasSuffix(url, "/mcp") || metrics == "" {
		t.Fatalf("ready %q, metrics %q; stderr %s", url, metrics, p.stderr.String())
	}

	headers, body, proveArgs := helpCurl(t)
	post := func(proof string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		if proof != "" {
			req.Header.Set("x-context-proof", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// The help's request without the proof is what a caller that bypasses the gateway sends.
	if resp := post(""); resp.StatusCode != http.StatusForbidden {
		resp.Body.Close()
		t.Fatalf("the help's request without its proof: %d, want 403", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	prove := exec.Command(bin, append([]string{"mcp", "prove"}, proveArgs...)...)
	prove.Env = env
	proof, err := prove.Output()
	if err != nil {
		t.Fatalf("mcp prove %q: %v", proveArgs, err)
	}
	resp := post(strings.TrimSpace(string(proof)))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `assumed-role/quilt-mcp-target-acme/usr-alice`) {
		t.Fatalf("the help's request: %d %s; stderr %s", resp.StatusCode, answer, p.stderr.String())
	}
	// A browser's Origin that is not listed: the 403 names this command's flag.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	req.Header.Set("Origin", "http://localhost:6274")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	answer, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(answer), "listed with mcpsso mcp serve --allowed-origin") {
		t.Errorf("an unlisted Origin: %d %s", resp.StatusCode, answer)
	}

	resp, err = http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scraped), `tool_calls_total{result="ok",tool="whoami"} 1`) {
		t.Errorf("metrics do not count the call:\n%s", scraped)
	}

	p.interrupt(t)
	stderr := p.stderr.String()
	if !strings.Contains(stderr, `"msg":"tool call"`) || !strings.Contains(stderr, `"source_identity":"usr-alice"`) {
		t.Errorf("no JSON tool-call log line on stderr:\n%s", stderr)
	}
}

// helpCurl extracts the headers and body of the curl example in `mcp serve --help`, and the
// arguments of the `mcpsso mcp prove` that makes its proof.
func helpCurl(t *testing.T) (headers []string, body string, proveArgs []string) {
	t.Helper()
	example := newMCPServeCommand().Example
	before, curl, ok := strings.Cut(example, "curl -s ")
	if !ok {
		t.Fatalf("mcp serve's Example has no curl request:\n%s", example)
	}
	curl, _, _ = strings.Cut(curl, "\n\n")
	for _, m := range regexp.MustCompile(`-H '([^']*)'`).FindAllStringSubmatch(curl, -1) {
		headers = append(headers, m[1])
	}
	d := regexp.MustCompile(`-d '([^']*)'`).FindStringSubmatch(curl)
	if len(headers) < 5 || d == nil || !strings.Contains(curl, `-H "x-context-proof: $PROOF"`) {
		t.Fatalf("cannot read the curl example:\n%s", curl)
	}
	prove := regexp.MustCompile(`(?s)PROOF=\$\(mcpsso mcp prove (.*?)\)\n`).FindStringSubmatch(before)
	if prove == nil {
		t.Fatalf("the example makes no proof with mcpsso mcp prove:\n%s", before)
	}
	for _, m := range regexp.MustCompile(`(--[a-z-]+) '([^']*)'`).FindAllStringSubmatch(prove[1], -1) {
		proveArgs = append(proveArgs, m[1], m[2])
	}
	return headers, d[1], proveArgs
}

func TestMCPServeRefusesToStartWithoutAContextProofChoice(t *testing.T) {
	t.Setenv(mcpserver.EnvContextProofSecret, "")
	os.Unsetenv(mcpserver.EnvContextProofSecret)
	code, stdout, stderr := execute(t, "", "mcp", "serve", "--addr", "127.0.0.1:0")
	if code != exitInput || stdout != "" || !strings.Contains(stderr, "no context proof secret") || !strings.Contains(stderr, "--insecure-unproven-context") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming the secret's sources and the insecure way out", code, stdout, stderr)
	}
}

func TestMCPProveMakesWhatTheServerChecks(t *testing.T) {
	secret := contextproof.NewSecret()
	t.Setenv(mcpserver.EnvContextProofSecret, secret)
	args := []string{"mcp", "prove", "--decided-role", "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
		"--source-identity", "usr-alice", "--session-tags", `{"tenant":"acme"}`, "--limits", `{}`, "--path", "/mcp"}
	code, stdout, stderr := execute(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	k, _ := contextproof.NewKey([]byte(secret))
	if _, err := k.Verify(strings.TrimSpace(stdout), contextproof.Context{Method: "POST", Path: "/mcp",
		DecidedRole: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", SourceIdentity: "usr-alice", SessionTags: `{"tenant":"acme"}`, Limits: "{}"},
		time.Now(), time.Minute); err != nil {
		t.Errorf("the printed proof %q does not verify: %v", stdout, err)
	}
	for _, tc := range []struct {
		env, mention string
		args         []string
	}{
		{secret, "--session-tags", []string{"mcp", "prove", "--decided-role", "r", "--source-identity", "usr-a"}},
		{"short", mcpserver.EnvContextProofSecret, args},
	} {
		t.Setenv(mcpserver.EnvContextProofSecret, tc.env)
		if code, _, stderr := execute(t, "", tc.args...); code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d %q, want exit 2 naming %s", tc.args, code, stderr, tc.mention)
		}
	}
}

func TestMCPServeRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"--addr", "nohost"}, `--addr "nohost"`},
		{[]string{"--metrics-addr", "9090"}, "--metrics-addr"},
		{[]string{"--allowed-origin", "ftp://x"}, "--allowed-origin"},
		{[]string{"--bucket-template", "bucket-without-placeholder"}, "--bucket-template"},
		{[]string{"--request-timeout", "0s"}, "--request-timeout"},
		{[]string{"--max-object-bytes", "0"}, "--max-object-bytes"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--sesions"}, "--sesions"},
		{[]string{"extra"}, `"extra"`},
	} {
		code, stdout, stderr := execute(t, "", append([]string{"mcp", "serve"}, tc.args...)...)
		if code != exitInput || stdout != "" || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %s", tc.args, code, stdout, stderr, tc.mention)
		}
	}
}

func TestMCPServeOnATakenAddressFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(mcpserver.EnvContextProofSecret, contextproof.NewSecret())
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	code, _, stderr := execute(t, "", "mcp", "serve", "--addr", ln.Addr().String())
	if code != exitFailure || !strings.Contains(stderr, "listen") {
		t.Errorf("exit %d, stderr %q; want exit 1 saying it cannot listen", code, stderr)
	}
}
